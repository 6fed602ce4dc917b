"""Metrics of one checkpoint (unlearned, retrained or original) for one forget set."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.evaluate import evaluate_job
from amunflow.smk import run


def main(smk, logfile):
    evaluate_job(
        smk.input.model,
        smk.input.data,
        smk.input.split,
        smk.input.get("retrain"),
        list(smk.input.get("refs", [])),
        smk.input.get("keep"),
        dict(smk.params.ident),
        {"rmia": smk.params.rmia, **smk.params.audit},
        smk.params.device,
        smk.output.metrics,
        smk.output.arrays,
        expect_split=smk.params.expect_split,
        expect_model=smk.params.expect_model,
        model_on_split=smk.params.model_on_split,
        original_path=smk.input.get("original"),
    )


run(snakemake, main)  # noqa: F821
