"""Evaluation (docs/protocol.md §5): accuracies, the SVC membership attack (MIS), RMIA with reference models
(FT / FR / RT AUC), the average gap to retraining, and parameter distances."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import logsumexp
from scipy.stats import norm
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


def auc_of(pos: np.ndarray, neg: np.ndarray) -> float:
    return roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])


def rmia_aucs(scores: np.ndarray, forget: np.ndarray, retain: np.ndarray, test: np.ndarray, seeds=(0, 1, 2)) -> dict:
    """FT AUC (D_F as members vs D_T), FR AUC (D_R vs D_F) and RT AUC (D_R vs D_T), each x100 and
    averaged over the subsamples of :func:`auc_subsamples`. ``forget`` is in the split's draw order and
    ``retain`` sorted, as the code's score arrays."""
    f, r, t = scores[forget], scores[retain], scores[test]
    out = {"ft_auc": [], "fr_auc": [], "rt_auc": []}
    for ti, fi, ri in auc_subsamples(len(t), len(f), len(r), seeds):
        out["ft_auc"].append(auc_of(f[fi], t[ti]))
        out["fr_auc"].append(auc_of(r[ri], f[fi]))
        out["rt_auc"].append(auc_of(r[ri], t[ti]))
    return {k: 100.0 * float(np.mean(v)) for k, v in out.items()}


LOW_FPRS = {"ft_tpr_at_1": 0.01, "ft_tpr_at_01": 0.001}  # column -> false positive rate


def tpr_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float) -> float:
    """The highest true positive rate (members ``pos`` flagged) among the ROC's thresholds whose false
    positive rate (non-members ``neg`` flagged) is below ``fpr``, strictly, as Carlini et al.'s
    ``do_plot`` reads it (mi_lira_2021/plot.py: ``tpr[np.where(fpr < .001)[0][-1]]``; "Membership
    inference attacks from first principles": an attack is judged by what it finds at low FPR). At
    ``fpr`` 0: the TPR without a false positive."""
    f, t, _ = roc_curve(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])
    return float(t[f < fpr].max() if fpr > 0 else t[f <= 0].max())


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


MIN_DISTANCE = 1.0  # points: below this the original and the retrain do not differ enough to judge a run by


def closed_share(value: float, original: float, retrain: float) -> float:
    """The share of the original-to-retrain distance an unlearned model closed on one metric:
    (original - value) / (original - retrain); 0 = where the original was, 1 = at the retrain, above 1
    past it. NaN when the two are within :data:`MIN_DISTANCE` points (nothing to close)."""
    distance = original - retrain
    if not abs(distance) >= MIN_DISTANCE:  # also NaN
        return float("nan")
    return float((original - value) / distance)


# --------------------------------------------------------------------------- LiRA


def logit_scaled_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """LiRA's statistic phi = log p_y - log sum_{c != y} p_c of the softmax, computed from the logits in
    float64 without forming 1 - p_y (Carlini et al. 2022, their code's ``log(y_true) - log(y_wrong)``)."""
    z = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(labels))
    others = z.copy()
    others[rows, labels] = -np.inf
    return z[rows, labels] - logsumexp(others, axis=1)


def lira_fits(ref_phi: np.ndarray, keep: np.ndarray, fix_variance: bool):
    """Per point, the Gaussians of phi under the reference models that trained on it (IN) and those that did
    not (OUT), as the LiRA code (``generate_ours``): means are medians over the references; standard
    deviations per point, or with ``fix_variance`` one global value (the code's global variance,
    recommended below 64 references): online uses the std of all IN values for both Gaussians, as
    ``generate_ours``; the offline score the std of all OUT values, as ``generate_ours_offline``.
    Returns (mu_in, sd_in, mu_out, sd_out, sd_out_offline), each of shape (P,) (or () when fixed). Every
    point must be IN and OUT at least once."""
    ref_phi, keep = np.asarray(ref_phi, dtype=np.float64), np.asarray(keep, dtype=bool)
    if not (keep.any(0) & (~keep).any(0)).all():
        raise ValueError("LiRA needs every point IN at least one reference model and OUT of another")
    ins = np.where(keep, ref_phi, np.nan)
    outs = np.where(~keep, ref_phi, np.nan)
    mu_in, mu_out = np.nanmedian(ins, 0), np.nanmedian(outs, 0)
    if fix_variance:
        sd_in = sd_out = np.nanstd(ins)
        return mu_in, sd_in, mu_out, sd_out, np.nanstd(outs)
    sd_in, sd_out = np.nanstd(ins, 0), np.nanstd(outs, 0)
    return mu_in, sd_in, mu_out, sd_out, sd_out


def lira_scores(target_phi: np.ndarray, ref_phi: np.ndarray, keep: np.ndarray, fix_variance: bool) -> dict:
    """Per-point LiRA membership scores of a target model (higher = more likely a member): online, the
    log likelihood ratio log N(phi; IN) - log N(phi; OUT); offline, -log N(phi; OUT), the code's
    two-sided test (``generate_ours_offline``: a point far from the OUT Gaussian on either side is
    flagged, which also catches an unlearned model that overshoots)."""
    mu_in, sd_in, mu_out, sd_out, sd_off = lira_fits(ref_phi, keep, fix_variance)
    online = norm.logpdf(target_phi, mu_in, sd_in + 1e-30) - norm.logpdf(target_phi, mu_out, sd_out + 1e-30)
    return {"online": online, "offline": -norm.logpdf(target_phi, mu_out, sd_off + 1e-30)}


def ft_attack(scores: np.ndarray, forget: np.ndarray, test: np.ndarray, n_retain: int, seeds, prefix: str) -> dict:
    """AUC and TPR at 1% and 0.1% FPR (x100) of a membership score with D_F as members and D_T as
    non-members, averaged over the AUC subsamples of :func:`auc_subsamples` (the RMIA FT AUC's)."""
    f, t = scores[forget], scores[test]
    out = {f"{prefix}_auc": []} | {f"{prefix}_{k.removeprefix('ft_')}": [] for k in LOW_FPRS}
    for ti, fi, _ in auc_subsamples(len(t), len(f), n_retain, seeds):
        out[f"{prefix}_auc"].append(auc_of(f[fi], t[ti]))
        for k, rate in LOW_FPRS.items():
            out[f"{prefix}_{k.removeprefix('ft_')}"].append(tpr_at_fpr(f[fi], t[ti], rate))
    return {k: 100.0 * float(np.mean(v)) for k, v in out.items()}


# --------------------------------------------------------------------------- distances to the retrained model


def softmax64(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float64), 1).numpy()


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (natural log, in [0, log 2]) of each row pair of two distributions, as
    ZRF (Chundawat et al., Bad Teacher, AAAI 2023) compares a model's outputs to another's."""
    m = (p + q) / 2

    def kl(a, b):
        return np.where(a > 0, a * (np.log(np.where(a > 0, a, 1)) - np.log(np.where(b > 0, b, 1))), 0.0).sum(1)

    return (kl(p, m) + kl(q, m)) / 2


def retrain_distances(logits: np.ndarray, retrain_logits: np.ndarray, y: np.ndarray, forget, test, num_classes) -> dict:
    """How far a model's outputs are from its retrained reference's: mean JS divergence of the softmax
    outputs on D_F (ZRF-style), the activation distance (mean L2 distance of the softmax outputs on D_F,
    Bad Teacher's), and the mean over classes of |per-class test accuracy - the retrain's| (x100)."""
    p, q = softmax64(logits[forget]), softmax64(retrain_logits[forget])
    acc = per_class_accuracy(logits[test], y[test], num_classes)
    racc = per_class_accuracy(retrain_logits[test], y[test], num_classes)
    return {
        "js_to_retrain": float(js_divergence(p, q).mean()),
        "act_dist_to_retrain": float(np.linalg.norm(p - q, axis=1).mean()),
        "class_acc_gap": float(np.nanmean(np.abs(acc - racc))),
    }


def rf_jsd(forget_logits, forget_y, test_logits, test_y, eps: float = 1e-8) -> float:
    """LoTUS's retrain-free Jensen-Shannon divergence (cspartalis/LoTUS, src/helpers/eval.py ``log_js_proxy``
    and ``JSDiv``): per class, the mean softmax of the model on D_F (P_k) and of the original on D_T (Q_k),
    each row renormalised; the classes of D_F (those also in D_T); both (K, C) matrices clamped to
    [eps, 1] and normalised to sum 1 as a whole; then 1/2 [KL(M || P) + KL(M || Q)] / K with M = (P + Q) / 2
    (``F.kl_div(p.log(), m, reduction="batchmean")``). 0 when the model treats D_F as the original treats
    unseen data."""

    def class_means(logits, y):
        prob = softmax64(logits)
        means = {c: prob[y == c].mean(0) for c in np.unique(y)}
        return {c: v / v.sum() for c, v in means.items()}

    p_k, q_k = class_means(forget_logits, forget_y), class_means(test_logits, test_y)
    classes = sorted(set(p_k) & set(q_k))
    if not classes:
        return float("nan")
    p = np.clip(np.stack([p_k[c] for c in classes]), eps, 1.0)
    q = np.clip(np.stack([q_k[c] for c in classes]), eps, 1.0)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    return float(0.5 * ((m * (np.log(m) - np.log(p))).sum() + (m * (np.log(m) - np.log(q))).sum()) / len(classes))


def per_class_accuracy(logits: np.ndarray, y: np.ndarray, num_classes: int) -> np.ndarray:
    """Accuracy (x100) on each class (NaN for a class with no sample)."""
    hit = np.asarray(logits).argmax(1) == y
    n = np.bincount(y, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * np.bincount(y, weights=hit, minlength=num_classes) / n


# --------------------------------------------------------------------------- U-LiRA


def ulira_fit(phi: np.ndarray, mask: np.ndarray):
    """Per example (column), the mean of ``phi`` over the models (rows) where ``mask``, and the sums that
    pool the variance: (mean, squared residuals summed per example, models per example)."""
    n = mask.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(mask, phi, 0.0).sum(0) / n
    ss = np.where(mask, (phi - mu) ** 2, 0.0).sum(0)
    return mu, ss, n


def ulira_scores(
    phi: np.ndarray, unl_phi: np.ndarray, unl_mask: np.ndarray, ret_phi: np.ndarray, fix_variance: bool
) -> np.ndarray:
    """U-LiRA's per-example log likelihood ratio (Hayes et al. 2024): log N(phi; unlearned) - log N(phi;
    retrained), the Gaussians fitted per example to the shadow models that unlearned it (``unl_phi``
    where ``unl_mask``, shape (S, n)) and to the shadow retrains, none of which saw it (``ret_phi``).
    With ``fix_variance`` each group uses one variance pooled over its examples (each example's squared
    residuals about its own mean, over the models beyond the first): the unlearned group its own, the
    retrained group its own, as LiRA's ``fix_variance`` (tensorflow/privacy mi_lira_2021/plot.py:
    ``np.std(dat_in)``, ``np.std(dat_out)``), so that unlearning which changes the signal's spread
    but not its mean is seen (a group with one model per example borrows the variance pooled over
    both). Else each example's own where two or more models give one, the group's
    pooled one where not. Positive: ``phi`` looks like an unlearned model's. NaN for an example no
    shadow unlearned."""
    mu_u, ss_u, n_u = ulira_fit(unl_phi, unl_mask)
    mu_r, ss_r, n_r = ulira_fit(ret_phi, np.ones(ret_phi.shape, bool))
    dof_u, dof_r = np.maximum(n_u - 1, 0).sum(), np.maximum(n_r - 1, 0).sum()
    both = np.sqrt((ss_u.sum() + ss_r.sum()) / max(dof_u + dof_r, 1))  # for a group with no spread to pool
    sd_u = np.sqrt(ss_u.sum() / dof_u) if dof_u else both
    sd_r = np.sqrt(ss_r.sum() / dof_r) if dof_r else both
    if not fix_variance:  # each example's own, where two or more models give one (else the pooled one)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd_u = np.where(n_u >= 2, np.sqrt(ss_u / n_u), sd_u)
            sd_r = np.where(n_r >= 2, np.sqrt(ss_r / n_r), sd_r)
    return norm.logpdf(phi, mu_u, sd_u + 1e-30) - norm.logpdf(phi, mu_r, sd_r + 1e-30)


def ulira_accuracy(unl_phi, unlearned, ret_phi, target_unl=None, target_ret=None, fix_variance=True) -> dict:
    """U-LiRA's attack accuracy (x100; 50 = unlearned models cannot be told from retrained ones).

    ``unl_phi`` / ``ret_phi`` (S, n): phi of each shadow's unlearned and retrained model on the n forget
    examples; ``unlearned`` (S, n): the example was in that shadow's forget set (its training half).
    Leave one shadow out: each shadow's pair, on the examples it unlearned, is judged by Gaussians fitted
    to the other shadows; the attack says "unlearned" where the likelihood ratio is above 1, and the
    accuracy is the mean of its hit rates on the unlearned and on the retrained models (``ulira_acc``,
    with the number of judged examples). With ``target_unl`` / ``target_ret`` (phi of the target's
    unlearned and retrained models on the n examples) also the accuracy on the target's pair with
    Gaussians fitted to every shadow (``ulira_target_acc``)."""
    unl_phi, ret_phi, unlearned = (np.asarray(a) for a in (unl_phi, ret_phi, unlearned))
    hits_u, hits_r = [], []
    for s in range(len(unl_phi)):
        rest = np.arange(len(unl_phi)) != s
        cols = np.flatnonzero(unlearned[s] & unlearned[rest].any(0))
        if not len(cols):
            continue
        fit = (unl_phi[rest][:, cols], unlearned[rest][:, cols], ret_phi[rest][:, cols])
        hits_u.append(ulira_scores(unl_phi[s, cols], *fit, fix_variance) > 0)
        hits_r.append(ulira_scores(ret_phi[s, cols], *fit, fix_variance) <= 0)
    out = {"ulira_acc": math.nan, "ulira_examples": 0}
    if hits_u:
        hu, hr = np.concatenate(hits_u), np.concatenate(hits_r)
        out = {"ulira_acc": 50.0 * (hu.mean() + hr.mean()), "ulira_examples": len(hu)}
    if target_unl is not None:
        fit = (unl_phi, unlearned, ret_phi)
        su = ulira_scores(np.asarray(target_unl), *fit, fix_variance)
        sr = ulira_scores(np.asarray(target_ret), *fit, fix_variance)
        ok = ~np.isnan(su)
        out["ulira_target_acc"] = 50.0 * ((su[ok] > 0).mean() + (sr[ok] <= 0).mean())
    return out
