"""The run's health checks: a table, a green/red page for the report, and with health.strict a failed run."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.health import health_job
from amunflow.smk import run


def main(smk, logfile):
    originals = dict(zip(smk.params.model_seeds, smk.input.originals, strict=True))
    health_job(
        originals,
        list(smk.input.retrains),
        list(smk.input.adversarial),
        list(smk.input.get("references", [])),
        smk.input.runs,
        smk.input.aggregate,
        smk.params.bars,
        smk.output.table,
        smk.output.html,
    )


run(snakemake, main)  # noqa: F821
