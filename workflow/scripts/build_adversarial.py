"""Build D_A (Algorithm 1) for one original model: all training images, or one forget set."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.adversarial import build_job
from amunflow.smk import run, with_speed_keys


def main(smk, logfile):
    build_job(
        model_path=smk.input.model,
        data_path=smk.input.data,
        split_path=smk.input.get("split") or None,
        attack_cfg=with_speed_keys(smk, "attack", smk.params.attack),
        device=smk.params.device,
        out_path=smk.output.adv,
        progress_file=logfile,
        expect_split=smk.params.get("expect_split"),
        expect_model=smk.params.expect_model,
    )


run(snakemake, main)  # noqa: F821
