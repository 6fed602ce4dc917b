"""Every epsilon / KLOM row in tables/epsilon.*, tables/klom.* and the epsilon histograms."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.epsilon import table_job
from amunflow.smk import run


def main(smk, logfile):
    o = smk.output
    out = {
        "epsilon": {"csv": o.epsilon, "md": o.epsilon_md, "html": o.epsilon_html},
        "klom": {"csv": o.klom, "md": o.klom_md, "html": o.klom_html},
    }
    table_job(list(smk.input.audits), list(smk.input.examples), out, o.plot)


run(snakemake, main)  # noqa: F821
