"""The report's figures: gap bars, confidence histograms and FT ROC curves."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

import pandas as pd

from amunflow.plots import confidence_histograms, ft_roc_curves, gap_bars
from amunflow.smk import run


def main(smk, logfile):
    settings = smk.params.settings
    gap_bars(pd.read_csv(smk.input.aggregate), settings, smk.output.gap)
    for setting, conf_png, roc_png in zip(settings, smk.output.confidence, smk.output.roc):
        confidence_histograms(smk.params.examples[setting], conf_png)
        ft_roc_curves(smk.params.examples[setting], roc_png)


run(snakemake, main)  # noqa: F821
