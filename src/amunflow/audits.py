"""Audits of one model (docs/protocol.md §5): accuracies on D_F, D_R and D_T, the SVC attack (MIS), RMIA scores
and AUCs against K reference models, the distance to the retrained model, and the run's cost."""

from __future__ import annotations

import math

import numpy as np

from .metrics import LOW_FPRS, mis, rmia_aucs, rmia_low_fpr, rmia_scores, taylor_soft_margin, true_class_confidence
from .models import param_distance
from .splits import Split

ID_COLUMNS = [
    "method",
    "base_method",
    "setting",
    "forget",
    "split_seed",
    "model_seed",
    "run",
    "split_hash",
    "code_version",
]
METRIC_COLUMNS = [
    "unlearn_acc",
    "retain_acc",
    "test_acc",
    "mis",
    "ft_auc",
    "fr_auc",
    "rt_auc",
    *LOW_FPRS,  # TPR of the FT attack at 1% and 0.1% FPR
    "l2_to_retrain",
    "l2_moved",  # how far unlearning moved the parameters from the model it started from
    # cost, in work first (the same on any machine and under any load), then CPU and wall time (both
    # measured; wall time moves with whatever else the machine is doing)
    "sample_steps",
    "extra_grad_evals",
    "work_vs_retrain",
    "sample_steps_vs_retrain",
    "cpu_time_s",
    "cpu_time_vs_retrain",
    "wall_time_s",
    "wall_time_vs_retrain",
]
REFERENCE_KINDS = ("original", "retrain", "reference")


def signal(logits: np.ndarray, labels: np.ndarray, rmia_cfg: dict) -> np.ndarray:
    """Pr(x | theta) of the configured taylor-soft-margin signal (the AMUN code's signals.py)."""
    return taylor_soft_margin(
        logits, labels, temp=rmia_cfg["temp"], margin=rmia_cfg["margin"], n=rmia_cfg["taylor_terms"]
    )


def audit(
    logits: np.ndarray,
    y: np.ndarray,
    split: Split,
    n_train: int,
    ref_signals: np.ndarray | None,
    rmia_cfg: dict,
    mis_seed: int,
) -> tuple[dict, dict]:
    """Metrics of one model from its logits on the population (training images, then test images):
    (metric row, per-sample arrays for the plots). ``ref_signals`` (K, P) are the reference models'
    signals, or None without RMIA."""
    test = np.arange(n_train, len(y))
    pred = logits.argmax(1)

    def acc(idx):
        return float((pred[idx] == y[idx]).mean() * 100)

    row = {"unlearn_acc": acc(split.forget), "retain_acc": acc(split.retain), "test_acc": acc(test)}
    conf = true_class_confidence(logits, y)
    row["mis"] = mis(conf[split.retain], conf[test], conf[split.forget], mis_seed)
    scores = np.full(len(y), np.nan)
    if ref_signals is not None:
        scores = rmia_scores(signal(logits, y, rmia_cfg), ref_signals, rmia_cfg["gamma"])
        row.update(rmia_aucs(scores, split.forget, split.retain, test, tuple(rmia_cfg["auc_seeds"])))
        row.update(rmia_low_fpr(scores, split.forget, split.retain, test, tuple(rmia_cfg["auc_seeds"])))
    else:
        row.update(ft_auc=math.nan, fr_auc=math.nan, rt_auc=math.nan, **dict.fromkeys(LOW_FPRS, math.nan))
    arrays = {
        "confidence": conf.astype(np.float32),
        "rmia_score": scores.astype(np.float32),
        "forget": split.forget,
        "retain": split.retain,
        "test": test,
    }
    return row, arrays


def distance_to_retrain(state: dict, retrain_state: dict | None) -> float:
    return param_distance({k: v.cpu() for k, v in state.items()}, retrain_state) if retrain_state else math.nan


def cost_columns(meta: dict, retrain_meta: dict | None) -> dict:
    """A checkpoint's cost from its sidecar, and as a multiple of its retrained reference's.

    work = SGD sample-steps + the other forward+backward passes per sample the run needed (building
    its D_A rows, the saliency pass, BS's FGSM); it does not depend on the machine or its load, so
    it is the comparison to read first. CPU time (all threads of the job) and wall time are measured."""
    extra = 0 if meta.get("kind") in REFERENCE_KINDS else meta.get("extra_grad_evals", math.nan)
    out = {
        "sample_steps": meta.get("sample_steps", math.nan),
        "extra_grad_evals": extra,
        "cpu_time_s": meta.get("cpu_time_s", math.nan),
        "wall_time_s": meta.get("wall_time_s", math.nan),
    }
    r = retrain_meta or (meta if meta.get("kind") == "retrain" else {})

    def ratio(a, b):
        return a / b if b and not math.isnan(b) else math.nan

    out["work_vs_retrain"] = ratio(out["sample_steps"] + extra, r.get("sample_steps", math.nan))
    out["sample_steps_vs_retrain"] = ratio(out["sample_steps"], r.get("sample_steps", math.nan))
    out["cpu_time_vs_retrain"] = ratio(out["cpu_time_s"], r.get("cpu_time_s", math.nan))
    out["wall_time_vs_retrain"] = ratio(out["wall_time_s"], r.get("wall_time_s", math.nan))
    return out
