"""The run's aggregate beside the paper's Tables 1-2 (or 10-11), with differences in paper std."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.report import compare_job
from amunflow.smk import run


def main(smk, logfile):
    compare_job(
        smk.input.aggregate,
        smk.params.mia_column,
        smk.params.fractions,
        smk.params.differences,
        smk.output.table,
        smk.output.md,
        smk.output.html,
    )


run(snakemake, main)  # noqa: F821
