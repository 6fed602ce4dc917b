"""The challenge's per-example epsilon, its forgetting quality F and KLOM, on constructed cases
computed by hand."""

import math

import numpy as np
import pytest

from amunflow.distaudit import (
    DELTA,
    EPSILON_CAP,
    binned_kl,
    challenge_score,
    epsilons,
    example_epsilon,
    forget_quality,
    klom,
    margins,
)


def test_identical_distributions_give_zero_and_disjoint_ones_the_cap():
    a = np.array([0.1, 0.5, 0.9, 1.3, 2.0, 2.2, 3.1, 4.0])
    assert example_epsilon(a, a.copy()) == 0.0
    assert example_epsilon(a + 10, a) == EPSILON_CAP  # perfectly separated: inf, clipped to the cap
    # one spread under 1% of the other: the scorer's shortcut to the cap
    assert example_epsilon(a, 5 + 0.001 * a) == EPSILON_CAP


def test_the_interval_rule_sees_a_peaky_distribution_inside_a_wide_one():
    """No single threshold separates a narrow distribution lying inside a wide one; an interval does
    (the scorer's double-threshold family): perfect separation, the cap."""
    wide, peaky = np.array([0.0, 3.0, 7.0, 10.0]), np.array([4.9, 5.0, 5.05, 5.1])
    assert example_epsilon(wide, peaky) == EPSILON_CAP


def test_a_known_fpr_fnr_pair_gives_the_formula():
    """N = 4. The threshold 2.6 predicts three of the four positives and one of the four negatives:
    FPR = FNR = 1/4, the best any threshold can do when neither is 0 (no threshold, single or
    interval, separates the two: 2.5 and 3.5 lie inside the positives' range), so
    epsilon = log(1 - delta - 1/4) - log(1/4)."""
    pos, neg = np.array([2.0, 3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.5, 3.5])
    expected = math.log(0.75 - DELTA) - math.log(0.25)
    assert example_epsilon(pos, neg) == pytest.approx(expected, abs=1e-12)
    # per example, the kind with the larger median is the positive one, whichever it is
    both = epsilons(np.stack([neg, pos], 1), np.stack([pos, neg], 1))
    np.testing.assert_allclose(both, [expected, expected], atol=1e-12)


def test_forget_quality_buckets_by_hand():
    # N = 8: buckets end at ceil(ln 7) = 2: [0, .5) 1, [.5, 1) 1/2, [1, 1.5) 1/4, [1.5, 2) 1/8, beyond 0
    eps = [0.0, 0.7, 1.2, 1.9, 2.0, 50.0]
    assert forget_quality(eps, 8) == pytest.approx((1 + 0.5 + 0.25 + 0.125) / 6)
    assert forget_quality([0.49, 0.5, math.inf, math.nan], 8) == pytest.approx((1 + 0.5) / 4)
    assert forget_quality([0.0, 0.0], 2) == 0.0  # two models resolve nothing: ln 1 = 0
    assert challenge_score(0.5, 90.0, 100.0, 60.0, 80.0) == pytest.approx(0.5 * 0.9 * 0.75)


def test_klom_margin_and_binned_kl_by_hand():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    np.testing.assert_allclose(
        margins(logits, np.array([0, 2])), [2 - math.log(math.e + 1), 1 - math.log(1 + math.e**3)]
    )
    # 2 bins over [0, 2]: in the reference each sample's 2, the range's maximum, falls past the last bin:
    # p counts [2, 1] and q [1, 2], KL = 2/3 ln 2 + 1/3 ln 1/2; counted in the last bin (the default):
    # p [2, 2], q [1, 3], KL = 1/2 ln 2 + 1/2 ln 2/3
    p, q = np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.0, 1.0, 1.0, 2.0])
    assert binned_kl(p, q, bins=2, include_max=False) == pytest.approx(math.log(2) / 3)
    assert binned_kl(p, q, bins=2) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert binned_kl(p, p, bins=2) == 0.0
    # q empty where p has mass: that bin counts as eps (scipy normalizes q to sum 1)
    kl = binned_kl(np.array([0.0, 0.0, 4.0]), np.array([3.0, 3.0, 4.0]), bins=2, include_max=False)
    assert kl == pytest.approx(math.log(1 / 1e-5))
    kl = binned_kl(np.array([0.0, 0.0, 4.0]), np.array([3.0, 3.0, 4.0]), bins=2)
    z = 1 + 1e-5
    assert kl == pytest.approx(2 / 3 * math.log(2 / 3 / (1e-5 / z)) + 1 / 3 * math.log(1 / 3 / (1 / z)))
    # N copies of one model above every retrain: all its mass at the maximum, undefined in the reference
    assert math.isnan(binned_kl(np.full(4, 3.0), np.array([0.0, 1.0, 2.0, 2.5]), bins=2, include_max=False))
    # bins [0, 1.5) and [1.5, 3]: q has half its mass in p's bin
    assert binned_kl(np.full(4, 3.0), np.array([0.0, 1.0, 2.0, 2.5]), bins=2) == pytest.approx(math.log(2))
    per_example = klom(np.stack([p, p], 1), np.stack([q, p], 1), bins=2, include_max=False)
    np.testing.assert_allclose(per_example, [math.log(2) / 3, 0.0])


def _scorer_loop(pos, neg, delta=DELTA):
    """A written-out copy of the scorer's per-example loop (metric.py): every threshold of both families
    one at a time, the models counted elementwise."""
    pos_diff, neg_diff = np.ptp(pos), np.ptp(neg)
    if min(pos_diff, neg_diff) / max(pos_diff, neg_diff) < 0.01:
        return float(EPSILON_CAP)
    both = np.concatenate([pos, neg])
    singles = [(t, None) for t in np.linspace(both.min(), both.max(), math.ceil(np.ptp(both) * 100))]
    width = min(pos_diff, neg_diff)
    p2, n2 = (neg, pos) if pos_diff >= neg_diff else (pos, neg)
    rights = np.linspace(p2.min() + width - 2, p2.max() + 2, math.ceil((p2.max() + 2 - (p2.min() + width - 2)) * 100))
    doubles = [(left, r) for r in rights for left in np.linspace(r - width - 2, r - width + 2, 400)]
    best = []
    for family, (p, n) in ((singles, (pos, neg)), (doubles, (p2, n2))):
        for lo, hi in family:
            hit_p = [(x >= lo) if hi is None else (lo <= x <= hi) for x in p]
            hit_n = [(x >= lo) if hi is None else (lo <= x <= hi) for x in n]
            tpr, fpr = sum(hit_p) / len(p), sum(hit_n) / len(n)
            fnr, tnr = 1 - tpr, 1 - fpr
            if fpr == 0 and fnr == 0 and tpr + tnr == 2:
                best.append(math.inf)
            elif fpr == 0 or fnr == 0:
                continue
            else:
                # the scorer's nanmax of the two terms: a log of a non-positive number is no term
                terms = [
                    math.log(1 - delta - a) - math.log(b) for a, b in ((fpr, fnr), (fnr, fpr)) if 1 - delta - a > 0
                ]
                if terms:
                    best.append(max(max(terms), 0.0))
    return min(max(best), EPSILON_CAP) if best else math.nan


def test_example_epsilon_matches_the_scorer_loop_written_out():
    """The binary-search counts give the elementwise loop's epsilon on random examples of N = 6 models,
    overlapping, shifted, and one narrow inside a wide one."""
    rng = np.random.RandomState(0)
    cases = [
        (rng.normal(0, 1, 6), rng.normal(0, 1, 6)),
        (rng.normal(1.5, 1, 6), rng.normal(0, 1, 6)),
        (rng.normal(0, 0.3, 6), rng.normal(0, 2, 6)),
    ]
    for pos, neg in cases:
        assert example_epsilon(pos, neg) == pytest.approx(_scorer_loop(pos, neg), abs=1e-9)
