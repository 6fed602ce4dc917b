"""SalUn saliency scores of one original model for one forget set."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.mask import mask_job
from amunflow.smk import run


def main(smk, logfile):
    mask_job(
        smk.input.model,
        smk.input.data,
        smk.input.split,
        smk.params.device,
        smk.output.mask,
        expect_split=smk.params.expect_split,
        expect_model=smk.params.expect_model,
    )


run(snakemake, main)  # noqa: F821
