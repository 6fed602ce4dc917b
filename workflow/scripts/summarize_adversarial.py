"""Summary row and final-eps histogram (the paper's Fig. 4) of one D_A file."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.adversarial_summary import summary_job
from amunflow.smk import run


def main(smk, logfile):
    summary_job(smk.input.adv, smk.output.table, smk.output.plot)


run(snakemake, main)  # noqa: F821
