import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from amunflow.evaluation import add_gaps, aggregate, render_table, table_cells
from amunflow.metrics import (
    avg_gap, balanced_auc, keep_matrix, mis, param_distance, rmia_aucs, rmia_scores, taylor_soft_margin,
    true_class_confidence,
)  # fmt: skip


def test_keep_matrix_is_the_legacy_draw_with_each_point_in_half():
    keep = keep_matrix(8, 500, seed=0)
    assert keep.shape == (8, 500) and (keep.sum(0) == 4).all()
    np.random.seed(0)
    u = np.random.uniform(0, 1, size=(8, 500))
    np.testing.assert_array_equal(keep, np.argsort(u, axis=0) < 4)
    assert keep.sum(1).min() > 150  # every model gets a fair share of points
    with pytest.raises(ValueError):
        keep_matrix(3, 10)


def test_taylor_soft_margin_matches_its_formula():
    rs = np.random.RandomState(0)
    logits, labels = rs.normal(0, 3, (20, 5)), rs.randint(0, 5, 20)
    got = taylor_soft_margin(logits, labels, temp=2.0, margin=0.6, n=4)

    def t(u):
        return 1 + u + u**2 / 2 + u**3 / 6

    for i in range(20):
        z = logits[i] / 2.0
        num = t(z[labels[i]] - 0.6)
        den = sum(t(z[c]) for c in range(5) if c != labels[i]) + num
        assert got[i] == pytest.approx(num / den, rel=1e-12)


def direct_rmia(target_pr, ref_pr, gamma):
    prior = [sum(ref_pr[k][x] for k in range(len(ref_pr))) / len(ref_pr) for x in range(len(target_pr))]
    ratio = [target_pr[x] / prior[x] for x in range(len(target_pr))]
    out = []
    for x in range(len(ratio)):
        hits = sum(1 for z in range(len(ratio)) if z != x and ratio[x] / ratio[z] > gamma)
        out.append(hits / (len(ratio) - 1))
    return np.array(out)


@pytest.mark.parametrize("gamma", [2.0, 1.0, 0.5])
def test_rmia_score_equals_direct_definition(gamma):
    rs = np.random.RandomState(1)
    target = rs.uniform(0.01, 1, 60)
    refs = rs.uniform(0.01, 1, (4, 60))
    target[5] = target[7] * refs[:, 5].mean() / refs[:, 7].mean()  # an exact tie of ratios
    np.testing.assert_allclose(rmia_scores(target, refs, gamma), direct_rmia(target, refs, gamma), atol=1e-12)


def test_rmia_score_with_nonpositive_ratios_uses_the_general_path():
    rs = np.random.RandomState(2)
    target = rs.normal(0.3, 0.5, 40)  # taylor-soft-margin can go negative for very negative logits
    refs = rs.uniform(0.05, 1, (2, 40))
    np.testing.assert_allclose(rmia_scores(target, refs, 2.0), direct_rmia(target, refs, 2.0), atol=1e-12)


def test_balanced_auc_agrees_with_scikit_learn():
    rs = np.random.RandomState(3)
    pos, neg = rs.normal(1, 1, 50), rs.normal(0, 1, 50)
    ref = 100 * roc_auc_score(np.r_[np.ones(50), np.zeros(50)], np.r_[pos, neg])
    assert balanced_auc(pos, neg) == pytest.approx(ref)  # n = all: every subsample is a permutation
    neg2 = rs.normal(0, 1, 80)
    expected = []
    for s in (0, 1, 2):
        r = np.random.RandomState(s)
        a, b = r.choice(pos, 50, replace=False), r.choice(neg2, 50, replace=False)
        expected.append(roc_auc_score(np.r_[np.ones(50), np.zeros(50)], np.r_[a, b]))
    assert balanced_auc(pos, neg2) == pytest.approx(100 * np.mean(expected))


def test_rmia_aucs_directions():
    scores = np.r_[np.full(10, 0.9), np.full(10, 0.5), np.full(10, 0.1)]  # retain high, forget mid, test low
    retain, forget, test = np.arange(10), np.arange(10, 20), np.arange(20, 30)
    a = rmia_aucs(scores, forget, retain, test)
    assert a == {"ft_auc": 100.0, "fr_auc": 100.0, "rt_auc": 100.0}
    b = rmia_aucs(scores, test, retain, forget)  # the "forget" set looks like the test set: FT AUC 0
    assert b["ft_auc"] == 0.0


def test_mis_separable_cases():
    retain, test = np.full(200, 0.99), np.full(100, 0.3)
    assert mis(retain, test, np.full(50, 0.3)) == 100.0  # forget looks unseen
    assert mis(retain, test, np.full(50, 0.99)) == 0.0  # forget looks like members
    conf = true_class_confidence(np.array([[2.0, 0.0], [0.0, 0.0]]), np.array([0, 1]))
    np.testing.assert_allclose(conf, [math.exp(2) / (math.exp(2) + 1), 0.5])


def test_avg_gap_reproduces_the_papers_check():
    amun = {"unlearn_acc": 95.45, "retain_acc": 99.57, "test_acc": 93.45, "ft_auc": 50.18}
    retrain = {"unlearn_acc": 94.49, "retain_acc": 100.0, "test_acc": 94.33, "ft_auc": 50.00}
    assert avg_gap(amun, retrain, "ft_auc") == pytest.approx((0.96 + 0.43 + 0.88 + 0.18) / 4)


def test_param_distance_ignores_bn_statistics():
    a = {"w": torch.tensor([1.0, 2.0]), "bn.running_mean": torch.zeros(2), "n": torch.tensor(3)}
    b = {"w": torch.tensor([4.0, 6.0]), "bn.running_mean": torch.ones(2), "n": torch.tensor(5)}
    assert param_distance(a, b) == pytest.approx(5.0)


def runs_frame():
    base = dict(base_method="x", forget="random0.1", split_seed=1, run=1, mis=0.0, fr_auc=0.0, rt_auc=0.0,
                l2_to_retrain=0.0, wall_time_s=1.0, sample_steps=1, wall_time_vs_retrain=0.1, sample_steps_vs_retrain=0.1)  # fmt: skip
    rows = [
        dict(base, method="retrain", setting="reference", model_seed=1, unlearn_acc=90, retain_acc=100, test_acc=90, ft_auc=50),
        dict(base, method="retrain", setting="reference", model_seed=2, unlearn_acc=92, retain_acc=100, test_acc=92, ft_auc=52),
        dict(base, method="amun", setting="with_retain", model_seed=1, unlearn_acc=93, retain_acc=99, test_acc=90, ft_auc=51),
        dict(base, method="amun", setting="with_retain", model_seed=2, unlearn_acc=95, retain_acc=97, test_acc=89, ft_auc=55),
        dict(base, method="ft", setting="with_retain", model_seed=1, unlearn_acc=99, retain_acc=99, test_acc=88, ft_auc=60),
    ]
    return pd.DataFrame(rows)


def test_gaps_and_aggregate_against_hand_computed_values():
    runs = add_gaps(runs_frame(), "ft_auc")
    # retrain mean: UA 91, RA 100, TA 91, FT 51
    assert list(runs["avg_gap"]) == pytest.approx([
        (1 + 0 + 1 + 1) / 4, (1 + 0 + 1 + 1) / 4, (2 + 1 + 1 + 0) / 4, (4 + 3 + 2 + 4) / 4, (8 + 1 + 3 + 9) / 4,
    ])  # fmt: skip
    agg = aggregate(runs).set_index("method")
    assert agg.loc["amun", "avg_gap_mean"] == pytest.approx((1.0 + 3.25) / 2)
    assert agg.loc["amun", "avg_gap_std"] == pytest.approx(np.std([1.0, 3.25], ddof=1))
    assert agg.loc["amun", "unlearn_acc_mean"] == 94 and agg.loc["amun", "n_runs"] == 2
    assert agg.loc["ft", "unlearn_acc_std"] == 0.0 and agg.loc["ft", "n_runs"] == 1
    cells = table_cells(aggregate(runs), "ft_auc", "with_retain")
    md = render_table(*cells, "md")
    lines = md.strip().splitlines()
    assert lines[0] == "| method | random0.1 UA | random0.1 RA | random0.1 TA | random0.1 FT AUC | random0.1 Gap |"
    assert lines[2].startswith("| retrain | 91.00±1.41 |")
    assert lines[3].endswith("| **2.12±1.59** |")  # amun: the best gap, in bold
    assert "**" not in lines[4]
    tex = render_table(*cells, "tex")
    assert "\\textbf{2.12$\\pm$1.59}" in tex and "\\multicolumn{5}{c}{random0.1}" in tex
    assert "<b>2.12±1.59</b>" in render_table(*cells, "html")
