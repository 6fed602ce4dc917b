"""The metrics of one checkpoint (unlearned, retrained or original) on one forget set."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from ..audits import ID_COLUMNS, METRIC_COLUMNS, audit, cost_columns, distance_to_retrain
from ..data import population
from ..device import pick_device
from ..io import atomic_path, checksummed_csv
from ..metrics import rf_jsd
from ..predict import accuracy, predict_logits
from ..relearn import relearn_epochs
from .inputs import open_bundle, open_keep, open_model, open_reference_logits, open_split

log = logging.getLogger(__name__)


def evaluate_job(
    ckpt_path,
    data_path,
    split_path,
    retrain_path,
    ref_logit_paths,
    keep_path,
    ident: dict,
    cfg: dict,
    device,
    out_csv,
    out_npz,
    expect_split: dict | None = None,
    expect_model: dict | None = None,
    model_on_split: bool = True,
    original_path=None,
) -> dict:
    """Audit one checkpoint on one split. The split and checkpoint must be those the rule expects
    (``expect_*``); a checkpoint ``model_on_split`` (a retrain or an unlearned model of this forget
    set, not an original or a sequential request's model) must have been made from this very split,
    and so must the retrained reference. ``cfg`` holds the ``rmia`` section, ``lira`` and ``relearn``
    (evaluation.*) and ``mis_seed``; ``keep_path`` is the reference models' keep matrix; with
    ``original_path`` (the original of the model seed) the relearn time is measured against its UA and
    LoTUS's retrain-free JS divergence against its outputs on D_T (an original is its own reference)."""
    data = open_bundle(data_path)
    split = open_split(split_path, data, expect_split)
    dev = pick_device(device)
    same_split = {"split_hash": split.hash} if model_on_split else {}
    model, meta = open_model(ckpt_path, data, dev, {**(expect_model or {}), **same_split})
    if meta.get("diverged"):  # a tuning grid point: no metric, so the selection passes over it
        row = {**ident, "split_hash": split.hash, "code_version": meta.get("code_version")}
        return _write(out_csv, out_npz, row, ident, {"diverged": np.array(True)})
    x, y = population(data)
    logits = predict_logits(model, torch.as_tensor(x), dev).numpy()
    refs = open_reference_logits(ref_logit_paths, data, len(y), data.num_classes)
    keep = open_keep(keep_path, len(refs), len(y)) if refs else None
    r_state, r_meta, r_logits = None, None, logits if meta["kind"] == "retrain" else None
    if retrain_path:
        expect_retrain = {"kind": "retrain", "model_seed": meta["model_seed"], "split_hash": split.hash}
        r_model, r_meta = open_model(retrain_path, data, dev, expect_retrain)
        r_logits = predict_logits(r_model, torch.as_tensor(x), dev).numpy()
        r_state = {k: v.cpu() for k, v in r_model.state_dict().items()}
    row, arrays = audit(logits, y, split, len(data.train_y), np.stack(refs) if refs else None, keep, cfg, r_logits)
    row.update(cost_columns(meta, r_meta), l2_to_retrain=distance_to_retrain(model.state_dict(), r_state))
    row["l2_moved"] = meta.get("l2_moved", 0.0 if meta["kind"] in ("original", "retrain") else np.nan)
    row["relearn_epochs"] = 0.0 if meta["kind"] == "original" else np.nan
    relearn = cfg.get("relearn", {})
    n_train, original, o_test = len(data.train_y), None, None
    if meta["kind"] == "original":
        o_test = logits[n_train:]
    elif original_path:
        expect_original = {"kind": "original", "model_seed": meta["model_seed"]}
        original, _ = open_model(original_path, data, dev, expect_original)
        o_test = predict_logits(original, torch.as_tensor(data.test_x), dev).numpy()
    if o_test is not None:
        row["rf_jsd"] = rf_jsd(logits[split.forget], y[split.forget], o_test, y[n_train:])
    if original is not None and relearn.get("enabled"):
        fx, fy = data.train_x[split.forget], data.train_y[split.forget]
        target = accuracy(original, torch.as_tensor(fx), fy, dev)
        row["relearn_epochs"] = relearn_epochs(model, fx, fy, target, relearn, 0, dev)
        log.info("relearn: %s epochs on D_F to reach the original's %.2f%%", row["relearn_epochs"], target)
    row = {**ident, "split_hash": split.hash, "code_version": meta.get("code_version"), **row}
    return _write(out_csv, out_npz, row, ident, arrays)


def _write(out_csv, out_npz, row: dict, ident: dict, arrays: dict) -> dict:
    """The metric row (columns missing from ``row`` are empty) and the per-sample arrays."""
    with atomic_path(out_csv) as tmp:
        extra = [k for k in ident if k not in ID_COLUMNS]  # e.g. a tuning grid point
        text = pd.DataFrame([row], columns=ID_COLUMNS + extra + METRIC_COLUMNS).to_csv(index=False)
        tmp.write_text(checksummed_csv(text))
    with atomic_path(out_npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    log.info("%s", row)
    return row
