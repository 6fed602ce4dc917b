"""Train an original model (all of D), a retrained reference (D_R only, when a split is given) or a U-LiRA
shadow original (its row of a keep matrix)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.train import train_job
from amunflow.smk import run, with_speed_keys


def main(smk, logfile):
    train_job(
        data_path=smk.input.data,
        split_path=smk.input.get("split"),
        model_cfg=smk.params.model,
        train_cfg=with_speed_keys(smk, "train", smk.params.train),
        seed=smk.params.seed,
        device=smk.params.device,
        out_model=smk.output.model,
        out_history=smk.output.history,
        kind=smk.params.kind,
        progress_file=logfile,
        expect_split=smk.params.get("expect_split"),
        keep_path=smk.input.get("keep"),
        keep_row=smk.params.get("keep_row"),
    )


run(snakemake, main)  # noqa: F821
