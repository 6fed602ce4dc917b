"""Pick, per method, setting and forget set, the grid point with the smallest average gap."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

import logging

from amunflow.jobs.tuning import select_job
from amunflow.smk import run


def main(smk, logfile):
    chosen = select_job(
        smk.input.metrics,
        smk.params.mia_column,
        smk.params.methods,
        smk.output.grid,
        smk.output.selected,
    )
    logging.info("selected:\n%s", chosen.to_string())


run(snakemake, main)  # noqa: F821
