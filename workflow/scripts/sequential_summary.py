"""All requests' metrics -> the summary CSV and the FR AUC - FT AUC plot (the paper's Fig. 2)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.sequential import summary_job
from amunflow.smk import run


def main(smk, logfile):
    summary_job(smk.input.metrics, smk.output.table, smk.output.plot)


run(snakemake, main)  # noqa: F821
