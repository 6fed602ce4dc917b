"""The D_A job: build it for an original model (all training images, or one forget set). Its summary
(a table row and the paper's Fig. 4 histogram) is :mod:`amunflow.jobs.adversarial_summary`, so that a
change to the plots reruns the summaries, not the attack."""

from __future__ import annotations

import logging

import numpy as np
import torch

from ..adversarial import build, save_adversarial
from ..attack import summarize
from ..device import pick_device
from ..io import file_hash
from .inputs import open_bundle, open_model, open_split

log = logging.getLogger(__name__)


def build_job(
    model_path,
    data_path,
    split_path,
    attack_cfg: dict,
    device: str,
    out_path,
    progress_file=None,
    expect_split: dict | None = None,
    expect_model: dict | None = None,
) -> dict:
    """Build D_A for all training images (split_path None) or for the split's forget set."""
    data = open_bundle(data_path)
    dev = pick_device(device)
    model, _ = open_model(model_path, data, dev, expect_model)
    if split_path:
        split = open_split(split_path, data, expect_split)
        index, scope = split.forget, f"forget:{split.hash}"
    else:
        index, scope = np.arange(len(data.train_y)), "all"
    x = torch.as_tensor(data.train_x[index])
    adv, attrs = build(model, x, data.train_y[index], index, attack_cfg, dev, progress_file)
    attrs.update(
        scope=scope,
        checkpoint_hash=file_hash(model_path),
        checkpoint=str(model_path),
        dataset_fingerprint=data.fingerprint(),
        dataset=data.name,
        wall_time_s=adv.wall_time_s,
        device=str(dev),
    )
    save_adversarial(out_path, adv, attrs)
    stats = summarize(adv, attrs["attack_eps_init"], attrs["attack_steps"])
    log.info("D_A: %s", stats)
    return stats
