"""Every U-LiRA row in one table."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.ulira import ulira_table_job
from amunflow.smk import run


def main(smk, logfile):
    ulira_table_job(list(smk.input.metrics), smk.output.table, smk.output.md, smk.output.html)


run(snakemake, main)  # noqa: F821
