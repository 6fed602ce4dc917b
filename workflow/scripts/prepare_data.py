"""Materialise the configured dataset (subset applied) as one HDF5 bundle of uint8 arrays."""

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
