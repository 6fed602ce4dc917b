"""Draw one forget/retain split (the paper's legacy-numpy draw, or class-wise) into HDF5."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

import logging

from amunflow.data import load_bundle
from amunflow.smk import run
from amunflow.splits import make_split, save_split


def main(smk, logfile):
    data = load_bundle(smk.input.data)
    split = make_split(smk.params.spec, smk.params.seed, data.train_y, data.classes, role=smk.params.role)
    save_split(smk.output.split, split, data.fingerprint())
    logging.info("%s: %d forget / %d retain, hash %s", split.attrs, len(split.forget), len(split.retain), split.hash)


run(snakemake, main)  # noqa: F821
