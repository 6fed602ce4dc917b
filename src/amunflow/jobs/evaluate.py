"""The metrics of one checkpoint (unlearned, retrained or original) on one forget set."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from ..audits import ID_COLUMNS, METRIC_COLUMNS, audit, cost_columns, distance_to_retrain, population, signal
from ..checkpoint import load_checkpoint
from ..device import pick_device
from ..io import atomic_path
from ..predict import predict_logits
from .inputs import open_bundle, open_model, open_split

log = logging.getLogger(__name__)


def evaluate_job(
    ckpt_path,
    data_path,
    split_path,
    retrain_path,
    ref_logit_paths,
    ident: dict,
    rmia_cfg: dict,
    mis_cfg: dict,
    device,
    out_csv,
    out_npz,
) -> dict:
    data = open_bundle(data_path)
    split = open_split(split_path, data)
    dev = pick_device(device)
    model, meta = open_model(ckpt_path, data, dev)
    x, y = population(data)
    logits = predict_logits(model, torch.as_tensor(x), dev).numpy()
    refs = np.stack([signal(np.load(p), y, rmia_cfg) for p in ref_logit_paths]) if ref_logit_paths else None
    row, arrays = audit(logits, y, split, len(data.train_y), refs, rmia_cfg, mis_cfg["seed"])
    r_state, r_meta = load_checkpoint(retrain_path) if retrain_path else (None, None)
    row.update(cost_columns(meta, r_meta), l2_to_retrain=distance_to_retrain(model.state_dict(), r_state))
    row = {**ident, **row}
    with atomic_path(out_csv) as tmp:
        extra = [k for k in ident if k not in ID_COLUMNS]  # e.g. a tuning grid point
        pd.DataFrame([row], columns=ID_COLUMNS + extra + METRIC_COLUMNS).to_csv(tmp, index=False)
    with atomic_path(out_npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    log.info("%s", row)
    return row
