"""Import a user's own original model (config key originals.path) in place of training one."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.train import import_original_job
from amunflow.smk import run


def main(smk, logfile):
    import_original_job(
        smk.input.data,
        smk.params.path,
        smk.params.sha256,
        smk.params.model,
        smk.params.seed,
        smk.params.device,
        smk.output.model,
    )


run(snakemake, main)  # noqa: F821
