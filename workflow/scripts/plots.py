"""The report's figures: gap bars, confidence histograms and FT ROC curves."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.report import plots_job
from amunflow.smk import run


def main(smk, logfile):
    plots_job(
        smk.input.aggregate,
        smk.params.settings,
        smk.params.examples,
        smk.output.gap,
        smk.output.confidence,
        smk.output.roc,
    )


run(snakemake, main)  # noqa: F821
