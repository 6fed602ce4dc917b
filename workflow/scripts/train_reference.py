"""Train one RMIA reference model on its half of the population and save its logits on all of it."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # noqa: F821  (also without an install, e.g. --sdm conda)

from amunflow.jobs.rmia import reference_job
from amunflow.smk import run, with_speed_keys


def main(smk, logfile):
    train_cfg = with_speed_keys(smk, "train", smk.params.train, overrides=smk.config["rmia"].get("train"))
    reference_job(
        smk.input.data,
        smk.input.keep,
        smk.params.k,
        smk.params.model,
        train_cfg,
        smk.params.seed,
        smk.params.device,
        smk.output.model,
        smk.output.logits,
        progress_file=logfile,
    )


run(snakemake, main)  # noqa: F821
