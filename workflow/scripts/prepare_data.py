"""Materialise the configured dataset (subset applied) as one HDF5 bundle of uint8 arrays."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

import logging

from amunflow.data import prepare
from amunflow.smk import run


def main(smk, logfile):
    data = prepare(smk.params.dataset, smk.output.data, progress_file=logfile)
    logging.info(
        "%s: %d train / %d test images of %s, %d classes, fingerprint %s",
        data.name, len(data.train_y), len(data.test_y), data.train_x.shape[1:], data.num_classes, data.fingerprint(),
    )  # fmt: skip


run(snakemake, main)  # noqa: F821
