"""Materialise the configured dataset (subset applied) as one HDF5 bundle of uint8 arrays."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.data import prepare_job
from amunflow.smk import run


def main(smk, logfile):
    prepare_job(smk.params.dataset, smk.params.source, smk.output.data, progress_file=logfile)


run(snakemake, main)  # noqa: F821
