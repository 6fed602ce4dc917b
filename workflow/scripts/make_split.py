"""Draw one forget/retain split (the paper's legacy-numpy draw, or class-wise) into HDF5."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.data import split_job
from amunflow.smk import run


def main(smk, logfile):
    split_job(
        smk.input.data,
        smk.params.spec,
        smk.params.forget,
        smk.params.seed,
        smk.params.role,
        smk.output.split,
        list(smk.input.get("refs", [])),
        smk.input.get("keep"),
        smk.params.dataset,
    )


run(snakemake, main)  # noqa: F821
