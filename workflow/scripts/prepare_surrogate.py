"""Draw and resize the surrogate images of the config's surrogate section (SCAR's natural images)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.data import surrogate_job
from amunflow.smk import run


def main(smk, logfile):
    surrogate_job(
        smk.input.data, smk.params.surrogate, smk.params.dataset, smk.params.source, smk.output.x, progress_file=logfile
    )


run(snakemake, main)  # noqa: F821
