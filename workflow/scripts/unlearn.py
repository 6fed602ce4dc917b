"""One unlearning run of one method instance in one access setting."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.unlearn import unlearn_job
from amunflow.smk import run


def main(smk, logfile):
    unlearn_job(
        model_path=smk.input.model,
        data_path=smk.input.data,
        split_path=smk.input.split,
        adv_path=smk.input.get("adv"),
        mask_path=smk.input.get("mask"),
        instance=smk.params.instance,
        method=smk.params.method,
        setting=smk.params.setting,
        hyper=smk.params.hyper,
        seed=smk.params.seed,
        device=smk.params.device,
        out_model=smk.output.model,
        progress_file=logfile,
        adv_checkpoint=smk.input.get("adv_source"),
        expect_split=smk.params.expect_split,
        expect_model=smk.params.expect_model,
        chain=smk.params.get("chain"),
        record_divergence=smk.params.get("record_divergence", False),
        ref_logits=smk.input.get("refs", ()),
        keep_path=smk.input.get("keep"),
        surrogate_path=smk.input.get("surrogate"),
    )


run(snakemake, main)  # noqa: F821
