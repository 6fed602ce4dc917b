"""All runs' metrics -> runs with gaps, the aggregate table, and the paper's tables."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from pathlib import Path

from amunflow.jobs.report import aggregate_job
from amunflow.smk import run


def main(smk, logfile):
    outputs = list(smk.output.tables) + list(smk.output.html) + [smk.output.ranking]
    tables = {Path(p).stem + "_" + Path(p).suffix[1:]: p for p in outputs}
    aggregate_job(
        smk.input.metrics,
        smk.params.mia_column,
        smk.params.settings,
        smk.output.runs,
        smk.output.aggregate,
        tables,
        smk.params.bootstrap,
        smk.params.unlearned_bar,
    )


run(snakemake, main)  # noqa: F821
