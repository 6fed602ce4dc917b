"""One epsilon / KLOM row against the N retrains."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.epsilon import audit_job
from amunflow.smk import run


def main(smk, logfile):
    audit_job(
        smk.input.data,
        smk.input.split,
        smk.input.row,
        smk.input.reference,
        dict(smk.params.ident),
        smk.params.n_models,
        smk.output.audit,
        smk.output.examples,
        include_max=smk.params.include_max,
        expect_split=smk.params.expect_split,
    )


run(snakemake, main)  # noqa: F821
