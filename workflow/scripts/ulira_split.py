"""A U-LiRA shadow's split: the target forget set inside the shadow's half of the training set."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.shadows import shadow_split_job
from amunflow.smk import run


def main(smk, logfile):
    shadow_split_job(
        smk.input.data, smk.input.split, smk.input.keep, smk.params.shadow, smk.output.split, smk.params.expect_split
    )


run(snakemake, main)  # noqa: F821
