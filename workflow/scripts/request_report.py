"""The page of one deletion request (a `list` forget set)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.requests import request_job
from amunflow.smk import run


def main(smk, logfile):
    request_job(
        smk.wildcards.forget,
        smk.params.spec,
        smk.input.data,
        smk.input.split,
        list(smk.input.metrics),
        list(smk.input.sidecars),
        smk.input.aggregate,
        smk.input.health,
        smk.params.others,
        smk.output.md,
        smk.output.html,
        expect_split=smk.params.expect_split,
    )


run(snakemake, main)  # noqa: F821
