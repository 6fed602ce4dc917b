"""Evaluation (docs/protocol.md §5): accuracies, the SVC membership attack (MIS), RMIA with reference models
(FT / FR / RT AUC), the average gap to retraining, and parameter distances."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.svm import SVC

# --------------------------------------------------------------------------- RMIA


def taylor_soft_margin(logits: np.ndarray, labels: np.ndarray, temp=2.0, margin=0.6, n=4) -> np.ndarray:
    """Pr(x | theta) of RMIA's taylor-soft-margin signal: with z = logits / temp and the n-term Taylor
    series T(u) = sum_{i<n} u^i / i!, T(z_y - m) / (sum_{c != y} T(z_c) + T(z_y - m))."""
    z = np.asarray(logits, dtype=np.float64) / temp

    def taylor(u):
        out, term = np.ones_like(u), np.ones_like(u)
        for i in range(1, n):
            term = term * u / i
            out = out + term
        return out

    rows = np.arange(len(labels))
    t = taylor(z)
    t_y = taylor(z[rows, labels] - margin)
    others = t.sum(1) - t[rows, labels]
    return t_y / (others + t_y)


def rmia_scores(target_pr: np.ndarray, ref_pr: np.ndarray, gamma: float = 2.0) -> np.ndarray:
    """score(x) = fraction of z in P \\ {x} with ratio(x) / ratio(z) > gamma, where
    ratio(x) = Pr(x | target) / mean_k Pr(x | ref_k) over all reference models (the online prior)."""
    ratio = target_pr / ref_pr.mean(0)
    p = len(ratio)
    if np.all(ratio > 0) and gamma > 0:
        # ratio(x)/ratio(z) > gamma  <=>  ratio(z) < ratio(x)/gamma; x itself never counts (gamma >= 1)
        s = np.sort(ratio)
        count = np.searchsorted(s, ratio / gamma, side="left")
        if gamma < 1:
            count = count - 1
        return count / (p - 1)
    out = np.empty(p)
    for i in range(0, p, 1024):  # general case (non-positive ratios): pairwise in chunks
        r = ratio[i : i + 1024, None] / ratio[None, :]
        hits = (r > gamma).sum(1) - (1 > gamma)
        out[i : i + 1024] = hits / (p - 1)
    return out


def auc_subsamples(n_test: int, n_forget: int, n_retain: int, seeds=(0, 1, 2)):
    """The AMUN code's subsamples for the AUCs (rmia_evaluate.py): n = min of the three sizes; for each
    seed, ``np.random.seed(seed)`` and then, in this order, n test, n forget and n retain positions drawn
    without replacement, each only when the set is larger than n (else all of it, in order). Yields
    (test, forget, retain) position arrays; one draw serves FT, FR and RT AUC."""
    n = min(n_test, n_forget, n_retain)
    for s in seeds:
        rs = np.random.RandomState(s)
        yield tuple(
            rs.choice(size, n, replace=False) if size > n else np.arange(size) for size in (n_test, n_forget, n_retain)
        )


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    return roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])


def rmia_aucs(scores: np.ndarray, forget: np.ndarray, retain: np.ndarray, test: np.ndarray, seeds=(0, 1, 2)) -> dict:
    """FT AUC (D_F as members vs D_T), FR AUC (D_R vs D_F) and RT AUC (D_R vs D_T), each x100 and
    averaged over the subsamples of :func:`auc_subsamples`. ``forget`` is in the split's draw order and
    ``retain`` sorted, as the code's score arrays."""
    f, r, t = scores[forget], scores[retain], scores[test]
    out = {"ft_auc": [], "fr_auc": [], "rt_auc": []}
    for ti, fi, ri in auc_subsamples(len(t), len(f), len(r), seeds):
        out["ft_auc"].append(_auc(f[fi], t[ti]))
        out["fr_auc"].append(_auc(r[ri], f[fi]))
        out["rt_auc"].append(_auc(r[ri], t[ti]))
    return {k: 100.0 * float(np.mean(v)) for k, v in out.items()}


LOW_FPRS = {"ft_tpr_at_1": 0.01, "ft_tpr_at_01": 0.001}  # column -> false positive rate


def tpr_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float) -> float:
    """The highest true positive rate (members ``pos`` flagged) among the ROC's thresholds whose false
    positive rate (non-members ``neg`` flagged) is at most ``fpr`` (Carlini et al. 2022, "Membership
    inference attacks from first principles": an attack is judged by what it finds at low FPR)."""
    f, t, _ = roc_curve(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])
    return float(t[f <= fpr + 1e-12].max())


def rmia_low_fpr(scores: np.ndarray, forget: np.ndarray, retain: np.ndarray, test: np.ndarray, seeds=(0, 1, 2)) -> dict:
    """TPR (x100) of the FT attack (D_F as members vs D_T) at 1% and 0.1% FPR, on the same subsamples
    as the FT AUC of :func:`rmia_aucs`, averaged over them. With n non-members the finest FPR is 1/n:
    at 0.1% below 1,000 test images it counts only thresholds that flag no test image."""
    f, t = scores[forget], scores[test]
    out = {k: [] for k in LOW_FPRS}
    for ti, fi, _ in auc_subsamples(len(t), len(f), len(retain), seeds):
        for k, rate in LOW_FPRS.items():
            out[k].append(tpr_at_fpr(f[fi], t[ti], rate))
    return {k: 100.0 * float(np.mean(v)) for k, v in out.items()}


# --------------------------------------------------------------------------- SVC MIA (MIS)


def true_class_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    p = torch.softmax(torch.as_tensor(logits, dtype=torch.float64), 1).numpy()
    return p[np.arange(len(labels)), labels]


def mis(conf_retain: np.ndarray, conf_test: np.ndarray, conf_forget: np.ndarray, seed: int = 1) -> float:
    """MIS, the SVC attack of the AMUN code (mia_evaluate.py + evaluation/SVC_MIA.py, SalUn's attack):
    after ``np.random.seed(seed)`` (the code's default seed 1), |D_T| members drawn from D_R without
    replacement (all of D_R if it is smaller), the test set as non-members, SVC(C=3, rbf,
    gamma='auto') on the true-class confidence; MIS = % of D_F predicted non-member."""
    rs = np.random.RandomState(seed)
    n_members = min(len(conf_test), len(conf_retain))
    members = conf_retain[rs.choice(len(conf_retain), n_members, replace=False)]
    x = np.r_[members, conf_test][:, None]
    y = np.r_[np.ones(len(members)), np.zeros(len(conf_test))]
    clf = SVC(C=3, gamma="auto", kernel="rbf").fit(x, y)
    return 100.0 * float((clf.predict(conf_forget[:, None]) == 0).mean())


# --------------------------------------------------------------------------- gap and distances


GAP_COLUMNS = ("unlearn_acc", "retain_acc", "test_acc")


def avg_gap(row: dict, retrain_mean: dict, mia_column: str) -> float:
    """Mean |metric - retrain metric| over unlearn, retain and test accuracy and the MIA column."""
    cols = GAP_COLUMNS + (mia_column,)
    return float(np.mean([abs(row[c] - retrain_mean[c]) for c in cols]))
