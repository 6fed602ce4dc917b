"""A keep matrix: which points each RMIA reference model (or U-LiRA shadow original) trains on."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.rmia import keep_job
from amunflow.smk import run


def main(smk, logfile):
    keep_job(smk.input.data, smk.params.k, smk.params.seed, smk.output.keep, smk.params.get("points", "population"))


run(snakemake, main)  # noqa: F821
