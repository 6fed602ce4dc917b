"""U-LiRA of one method (or calibration row) on one forget set."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.ulira import ulira_job
from amunflow.smk import run


def main(smk, logfile):
    ulira_job(
        smk.input.data,
        smk.input.split,
        list(smk.input.shadow_splits),
        list(smk.input.shadow_unlearned),
        list(smk.input.shadow_retrains),
        list(smk.input.targets),
        list(smk.input.target_retrains),
        dict(smk.params.ident),
        smk.params.fix_variance,
        smk.params.device,
        smk.output.metrics,
        expect_split=smk.params.expect_split,
        expect_unlearned=smk.params.expect_unlearned,
        unlearned_on_split=smk.params.unlearned_on_split,
        expect_targets=smk.params.expect_targets,
        expect_retrains=smk.params.expect_retrains,
        targets_on_split=smk.params.targets_on_split,
    )


run(snakemake, main)  # noqa: F821
