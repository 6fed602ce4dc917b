"""The scores of one epsilon row's N models on every image."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.epsilon import scores_job
from amunflow.smk import run


def main(smk, logfile):
    scores_job(
        smk.input.data,
        smk.input.split,
        list(smk.input.models),
        list(smk.params.expect),
        smk.params.on_split,
        smk.params.n_models,
        smk.params.device,
        smk.output.scores,
        expect_split=smk.params.expect_split,
    )


run(snakemake, main)  # noqa: F821
