"""Distribution-level audits: is the unlearning *algorithm* indistinguishable from retraining, sample by
sample, over its own randomness? Both compare, per forget example, the distribution of a score under
N unlearned models with its distribution under N retrained models.

* The NeurIPS 2023 unlearning challenge's per-example epsilon and forgetting quality F (Triantafillou
  et al. 2024, "Are we making progress in unlearning?"), following the official scorer
  ``google-deepmind/unlearning_evaluation``, ``metric.py`` (``_get_epsilons``,
  ``_get_single_threshold_rates``, ``_get_double_threshold_rates``,
  ``compute_forget_score_from_confs``): written here with numpy instead of CUDA tensors.
* KLOM (Georgiev et al. 2024, "Attribute-to-delete"), following ``RoyRin/data-unlearning-bench``,
  ``src/eval.py`` (``get_margin``, ``compute_binned_KL_div``, ``kl_from_margins``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

# KLOM's margin (the correct class's logit minus the log-sum-exp of the others) is LiRA's logit-scaled
# confidence, the challenge's score: one function serves all three
from .metrics import logit_scaled_confidence as margins  # noqa: F401

DELTA = 1e-05
EPSILON_CAP = 50
THRESHOLDS_PER_UNIT = 100


def _share(x: np.ndarray, lo: np.ndarray, hi: np.ndarray | None) -> np.ndarray:
    """Per threshold, the share of ``x`` predicted positive: ``x >= lo`` (single), or ``lo <= x <= hi``
    (double). Counted on the sorted values (binary search), which gives the scorer's elementwise counts
    exactly in O(T log N) instead of O(T N)."""
    x = np.sort(x)
    above = len(x) - np.searchsorted(x, lo, side="left")
    if hi is None:
        return above / len(x)
    inside = np.searchsorted(x, hi, side="right") - np.searchsorted(x, lo, side="left")
    return np.maximum(inside, 0) / len(x)


def _rates(pos: np.ndarray, neg: np.ndarray, lo: np.ndarray, hi: np.ndarray | None):
    """(tpr, fnr, fpr, tnr) per threshold over the models."""
    tpr, fpr = _share(pos, lo, hi), _share(neg, lo, hi)
    return tpr, 1.0 - tpr, fpr, 1.0 - fpr


def _single_thresholds(pos, neg):
    both = np.concatenate([pos, neg])
    n = int(math.ceil((both.max() - both.min()) * THRESHOLDS_PER_UNIT))
    return np.linspace(both.min(), both.max(), n), None


def _double_thresholds(pos, neg):
    """The scorer's interval family, placed on the peakier of the two distributions (which then plays
    the positive class): right ends from its minimum + width - 2 to its maximum + 2, left ends within
    2 of right end - width, 100 per unit each, width the smaller spread."""
    pos_diff, neg_diff = np.ptp(pos), np.ptp(neg)
    width = neg_diff if pos_diff > neg_diff else pos_diff
    if pos_diff >= neg_diff:
        pos, neg = neg, pos
    buffer = 2.0
    lo_r, hi_r = pos.min() + width - buffer, pos.max() + buffer
    right = np.linspace(lo_r, hi_r, int(math.ceil((hi_r - lo_r) * THRESHOLDS_PER_UNIT)))
    n_left = int(math.ceil(2 * buffer * THRESHOLDS_PER_UNIT))
    left = np.concatenate([np.linspace(r - width - buffer, r - width + buffer, n_left) for r in right])
    return pos, neg, left, np.repeat(right, n_left)


def example_epsilon(pos: np.ndarray, neg: np.ndarray, delta: float = DELTA) -> float:
    """One forget example's epsilon from its scores under N models of each kind (``pos``: the kind
    with the larger median), as the scorer's ``_get_epsilons``: the cap when one distribution's spread
    is under 1% of the other's; per threshold of both families, inf where FPR = FNR = 0 (perfect
    separation), no value where exactly one of them is 0 (too few models to say), else
    max(log(1 - delta - FPR) - log FNR, log(1 - delta - FNR) - log FPR) clipped at 0; the example's
    epsilon is the largest, clipped to [0, cap]. NaN where no threshold gives a value (the scorer stops
    with an assertion there)."""
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    pos_diff, neg_diff = np.ptp(pos), np.ptp(neg)
    largest, smallest = max(pos_diff, neg_diff), min(pos_diff, neg_diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        if smallest / largest < 0.01:
            return float(EPSILON_CAP)
    d_pos, d_neg, left, right = _double_thresholds(pos, neg)
    rates = [_rates(d_pos, d_neg, left, right), _rates(pos, neg, *_single_thresholds(pos, neg))]
    tpr, fnr, fpr, tnr = (np.concatenate([r[i] for r in rates]) for i in range(4))
    eps = np.zeros(len(tpr))
    eps[(fpr + fnr == 0) & (tpr + tnr == 2)] = np.inf
    eps[(eps == 0) & (fpr * fnr == 0)] = np.nan
    ok = eps == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        # np.fmax: the scorer's nanmax over the two terms (FPR = 1 leaves the first one undefined)
        value = np.fmax(np.log(1 - delta - fpr) - np.log(fnr), np.log(1 - delta - fnr) - np.log(fpr))
    eps[ok] = np.clip(value[ok], 0, None)
    if np.isnan(eps).all():
        return math.nan
    return float(np.clip(np.nanmax(eps), 0, EPSILON_CAP))


def epsilons(unlearned: np.ndarray, retrained: np.ndarray, delta: float = DELTA) -> np.ndarray:
    """Per forget example, from (N models, n examples) scores of each kind (the scorer's logit-scaled
    confidences): for each example, the kind with the larger median is the positive class."""
    unlearned, retrained = np.asarray(unlearned, dtype=np.float64), np.asarray(retrained, dtype=np.float64)
    if unlearned.shape != retrained.shape or unlearned.ndim != 2:
        raise ValueError(f"scores must be (models, examples) of one shape, got {unlearned.shape} and {retrained.shape}")
    retrain_pos = np.median(retrained, 0) > np.median(unlearned, 0)
    pos = np.where(retrain_pos, retrained, unlearned)
    neg = np.where(retrain_pos, unlearned, retrained)
    return np.array([example_epsilon(pos[:, i], neg[:, i], delta) for i in range(pos.shape[1])])


def resolution(n_models: int) -> float:
    """The largest epsilon N models of each kind can show short of perfect separation: one model of N
    on the wrong side, log((1 - 1/N) / (1/N)) = ln(N - 1)."""
    return math.log(n_models - 1)


def forget_quality(eps: np.ndarray, n_models: int) -> float:
    """F: the mean over examples of 2^-k for an epsilon in bucket k = [k/2, (k+1)/2), over the buckets
    that end at or below ceil(:func:`resolution`) (what N models can resolve); 0 beyond them."""
    max_eps = math.ceil(resolution(n_models))
    n_buckets = int(max_eps / 0.5)  # buckets [0, .5), [.5, 1), ... ending at or below max_eps
    points = np.zeros(len(eps))
    for i, e in enumerate(np.asarray(eps, dtype=np.float64)):
        k = math.floor(e / 0.5) if math.isfinite(e) else n_buckets
        points[i] = 0.5**k if k < n_buckets else 0.0
    return float(points.mean()) if len(points) else math.nan


def challenge_score(quality: float, ra: float, ra_retrain: float, ta: float, ta_retrain: float) -> float:
    """The challenge's final score: F x RA / RA_retrain x TA / TA_retrain."""
    return quality * (ra / ra_retrain) * (ta / ta_retrain)


def binned_kl(
    p: np.ndarray, q: np.ndarray, bins: int = 20, eps: float = 1e-5, clip: float = 100.0, include_max: bool = True
) -> float:
    """KL(p || q) of two samples binned on ``bins`` equal bins over their joint range (values clipped
    to +-clip; a single value gets a bin of width 1); q's empty bins where p has mass count as eps.
    The reference's np.digitize bins are half-open, so a value equal to the joint maximum falls past the
    last bin and is not counted (``include_max=False``); by default it counts in the last bin (as
    np.histogram): otherwise a sample whose values all equal the maximum, e.g. N copies of one model
    above every retrain, has no mass and KL is undefined."""
    p, q = np.clip(p, -clip, clip), np.clip(q, -clip, clip)
    start, end = min(p.min(), q.min()), max(p.max(), q.max())
    if start >= end:
        end = start + 1
    edges = np.linspace(start, end, bins + 1)

    def counts(x):
        idx = np.digitize(x, edges)
        if include_max:
            idx[x == edges[-1]] = bins
        return np.array([np.sum(idx == i) for i in range(1, bins + 1)])

    p_counts, q_counts = counts(p), counts(q)
    p_probs = p_counts / p_counts.sum() if p_counts.sum() else np.zeros(bins)
    q_probs = q_counts / q_counts.sum() if q_counts.sum() else np.zeros(bins)
    q_safe = np.where(p_probs > 0, np.maximum(q_probs, eps), q_probs)
    return float(stats.entropy(pk=p_probs, qk=q_safe))


def klom(unlearned_margins: np.ndarray, oracle_margins: np.ndarray, **kw) -> np.ndarray:
    """Per example, KL(unlearned margins || retrained margins) over the models, as ``kl_from_margins``."""
    if np.shape(unlearned_margins) != np.shape(oracle_margins):
        raise ValueError("margin arrays must have the same (models, examples) shape")
    u, o = np.asarray(unlearned_margins), np.asarray(oracle_margins)
    return np.array([binned_kl(u[:, i], o[:, i], **kw) for i in range(u.shape[1])])
