"""UA and the MIA AUCs per group of D_F (by eps in D_A and by memorization score)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.difficulty import difficulty_job
from amunflow.smk import run


def main(smk, logfile):
    difficulty_job(
        list(smk.input.metrics),
        smk.input.data,
        list(smk.input.get("refs", [])),
        smk.input.get("keep"),
        dict(smk.params.eps_inputs),
        dict(zip(smk.params.challenge, smk.input.challenge, strict=True)),
        smk.params.bins,
        smk.output.table,
        smk.output.md,
        smk.output.html,
    )


run(snakemake, main)  # noqa: F821
