"""The tuning report: every instance's selection and grid in one table each, the verdicts, the grid's
gaps, gap against lr."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.tuning_report import tuning_report_job
from amunflow.smk import run


def main(smk, logfile):
    tuning_report_job(
        smk.input.grids,
        smk.input.selected,
        smk.params.unlearned_bar,
        smk.output.html,
        smk.output.png,
        smk.output.grid,
        smk.output.selected,
    )


run(snakemake, main)  # noqa: F821
