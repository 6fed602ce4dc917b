"""Glue for the thin scripts in workflow/scripts: logging to the rule's log file, threads, errors."""

from __future__ import annotations

import logging
import os
import resource
import sys
import traceback

import torch

from .cards import claim_for_job
from .config import SPEED_KEYS
from .io import PROVENANCE


def with_speed_keys(smk, section: str, params: dict, overrides: dict | None = None) -> dict:
    """``params`` plus the speed keys of config section ``section`` (left out of params on purpose),
    with those of ``overrides`` (e.g. rmia.train over train) taking precedence."""
    cfg = {**smk.config.get(section, {}), **(overrides or {})}
    return {**params, **{k: cfg[k] for k in SPEED_KEYS[section] if k in cfg}}


def run(snakemake, main) -> None:
    """Call ``main(snakemake, logfile)`` with logging (and tqdm) going to the rule's log file.

    An exception is written to the log as well and then re-raised, so the job fails visibly.
    """
    logfile = open(snakemake.log[0], "w", buffering=1)
    logging.basicConfig(
        stream=logfile, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    torch.set_num_threads(max(1, int(snakemake.threads)))
    PROVENANCE["code_version"] = snakemake.params.get("code")
    log = logging.getLogger("amunflow.job")
    card = None
    if int(snakemake.resources.get("gpu", 0)) > 0 and snakemake.config.get("device") != "cpu":
        res = snakemake.config["resources"]
        card = claim_for_job(res["gpu_locks"], res["gpu_share"])  # before CUDA starts in this process
        if card is not None:
            PROVENANCE["card"] = card.card
            log.info("card %d (slot %d of %d) of this machine's %s", card.card, card.slot, res["gpu_share"], card.cards)
    log.info(
        "rule %s, wildcards %s, code %s, threads %s, host %s, CUDA_VISIBLE_DEVICES=%s, SLURM_JOB_ID=%s",
        snakemake.rule,
        dict(snakemake.wildcards),
        PROVENANCE["code_version"],
        snakemake.threads,
        os.uname().nodename,
        os.environ.get("CUDA_VISIBLE_DEVICES"),
        os.environ.get("SLURM_JOB_ID"),
    )
    try:
        main(snakemake, logfile)
    except Exception as e:
        logfile.write(traceback.format_exc())
        logfile.flush()
        print(f"amunflow: {e}", file=sys.stderr)
        raise
    finally:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        log.info("done: peak RSS %.0f MB, CPU time %.1f s", ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime)
        if card is not None:
            card.release()
        logfile.close()
