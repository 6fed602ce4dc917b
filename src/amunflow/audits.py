"""Audits of one model (docs/protocol.md §5): accuracies on D_F, D_R and D_T, the SVC attack (MIS), RMIA and
LiRA (online and offline) scores, AUCs and low-FPR TPRs against K reference models, the distances to the
retrained model, and the run's cost."""

from __future__ import annotations

import math

import numpy as np

from .metrics import (
    LOW_FPRS,
    ft_attack,
    lira_scores,
    logit_scaled_confidence,
    mis,
    retrain_distances,
    rmia_aucs,
    rmia_scores,
    taylor_soft_margin,
    true_class_confidence,
)
from .models import param_distance
from .splits import Split

LIRA_COLUMNS = [f"lira_{m}_{c}" for m in ("online", "offline") for c in ("auc", "tpr_at_1", "tpr_at_01")]
DISTANCE_COLUMNS = ["js_to_retrain", "act_dist_to_retrain", "class_acc_gap"]
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
    *LIRA_COLUMNS,  # the same three of LiRA online and offline
    "l2_to_retrain",
    *DISTANCE_COLUMNS,
    "relearn_epochs",  # epochs of fine-tuning on D_F until the original's forget accuracy is back
    "rf_jsd",  # LoTUS's retrain-free JS divergence: the model on D_F against the original on D_T
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


def lira_fix_variance(setting, k: int) -> bool:
    """``evaluation.lira.fix_variance``: auto = a global variance below 64 reference models (Carlini et al.)."""
    return k < 64 if setting == "auto" else bool(setting)


def audit(
    logits: np.ndarray,
    y: np.ndarray,
    split: Split,
    n_train: int,
    refs: np.ndarray | None,
    keep: np.ndarray | None,
    cfg: dict,
    retrain_logits: np.ndarray | None = None,
) -> tuple[dict, dict]:
    """Metrics of one model from its logits on the population (training images, then test images):
    (metric row, per-sample arrays for the plots and the difficulty table). ``refs`` (K, P, C) are the
    reference models' logits and ``keep`` their keep matrix, or None without RMIA; ``cfg`` holds the
    ``rmia``, ``lira`` and ``mis_seed`` settings; ``retrain_logits`` those of the retrained reference."""
    rmia_cfg = cfg["rmia"]
    test = np.arange(n_train, len(y))
    pred = logits.argmax(1)

    def acc(idx):
        return float((pred[idx] == y[idx]).mean() * 100)

    row = {"unlearn_acc": acc(split.forget), "retain_acc": acc(split.retain), "test_acc": acc(test)}
    conf = true_class_confidence(logits, y)
    row["mis"] = mis(conf[split.retain], conf[test], conf[split.forget], cfg["mis_seed"])
    phi = logit_scaled_confidence(logits, y)
    seeds = tuple(rmia_cfg["auc_seeds"])
    scores = {k: np.full(len(y), np.nan) for k in ("rmia", "lira_online", "lira_offline")}
    row.update(dict.fromkeys(["ft_auc", "fr_auc", "rt_auc", *LOW_FPRS, *LIRA_COLUMNS], math.nan))
    if refs is not None:
        ref_signals = np.stack([signal(r, y, rmia_cfg) for r in refs])
        scores["rmia"] = rmia_scores(signal(logits, y, rmia_cfg), ref_signals, rmia_cfg["gamma"])
        row.update(rmia_aucs(scores["rmia"], split.forget, split.retain, test, seeds))
        row.update(ft_attack(scores["rmia"], split.forget, test, len(split.retain), seeds, "ft"))
        if cfg["lira"]["enabled"]:
            ref_phi = np.stack([logit_scaled_confidence(r, y) for r in refs])
            lira = lira_scores(phi, ref_phi, keep, lira_fix_variance(cfg["lira"]["fix_variance"], len(refs)))
            for mode, s in lira.items():
                scores[f"lira_{mode}"] = s
                row.update(ft_attack(s, split.forget, test, len(split.retain), seeds, f"lira_{mode}"))
    dist = dict.fromkeys(DISTANCE_COLUMNS, math.nan)
    if retrain_logits is not None:
        dist = retrain_distances(logits, retrain_logits, y, split.forget, test, logits.shape[1])
    row.update(dist)
    arrays = {
        "confidence": conf.astype(np.float32),
        "phi": phi.astype(np.float32),
        "correct": pred == y,
        **{f"{k}_score": v.astype(np.float32) for k, v in scores.items()},
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
