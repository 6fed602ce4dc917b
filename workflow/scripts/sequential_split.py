"""Request k's split (chunk k of the forget set) and the cumulative split after it."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.sequential import split_job
from amunflow.smk import run


def main(smk, logfile):
    split_job(
        smk.input.split,
        smk.params.requests,
        smk.params.k,
        smk.output.request,
        smk.output.cumulative,
        expect=smk.params.expect_split,
    )


run(snakemake, main)  # noqa: F821
