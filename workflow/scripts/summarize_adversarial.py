"""Summary row and final-eps histogram (the paper's Fig. 4) of one D_A file."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

import logging

from amunflow.adversarial import report_job
from amunflow.smk import run


def main(smk, logfile):
    logging.info("%s", report_job(smk.input.adv, smk.output.table, smk.output.plot))


run(snakemake, main)  # noqa: F821
