"""D_A jobs: build it for an original model (all training images, or one forget set), and summarize
it (a table row and the paper's Fig. 4 histogram)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from ..adversarial import build, read_adversarial, save_adversarial
from ..attack import summarize
from ..device import pick_device
from ..io import atomic_path, file_hash
from ..plots import eps_histogram
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


def summary_job(adv_path, out_csv, out_png) -> dict:
    """Summary row (CSV) and the final-eps histogram (the paper's Fig. 4) of one D_A file."""
    adv, attrs = read_adversarial(adv_path)
    eps_init, steps = float(attrs["attack_eps_init"]), int(attrs["attack_steps"])
    stats = summarize(adv, eps_init, steps)
    stats.update(checkpoint=attrs.get("checkpoint"), scope=attrs.get("scope"), device=attrs.get("device"))
    with atomic_path(out_csv) as tmp:
        pd.DataFrame([stats]).to_csv(tmp, index=False)
    eps_histogram(adv.eps, eps_init, stats["mean_delta_norm"], out_png)
    log.info("%s", stats)
    return stats
