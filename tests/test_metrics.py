import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC

from amunflow.audits import DISTANCE_COLUMNS, LIRA_COLUMNS
from amunflow.gaps import add_gaps
from amunflow.metrics import (
    avg_gap,
    ft_attack,
    mis,
    rmia_aucs,
    rmia_scores,
    taylor_soft_margin,
    tpr_at_fpr,
    true_class_confidence,
)
from amunflow.models import param_distance
from amunflow.splits import keep_matrix
from amunflow.tables import aggregate, render_table, table_cells


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


def official_rmia_aucs(score_forget, score_remain, score_test):
    """rmia_evaluate.py's loop, written out as the AMUN code does it (global RNG, draws in this order)."""
    test_len, forget_len, retain_len = len(score_test), len(score_forget), len(score_remain)
    min_length = np.min([test_len, forget_len, retain_len])
    ft, fr, rt = [], [], []
    for seed_sub in range(3):
        np.random.seed(seed_sub)
        t = np.random.choice(test_len, min_length, replace=False) if test_len > min_length else np.arange(test_len)
        f = (
            np.random.choice(forget_len, min_length, replace=False)
            if forget_len > min_length
            else np.arange(forget_len)
        )
        r = (
            np.random.choice(retain_len, min_length, replace=False)
            if retain_len > min_length
            else np.arange(retain_len)
        )
        ones, zeros = np.ones(min_length), np.zeros(min_length)
        ft.append(roc_auc_score(np.concatenate([ones, zeros]), np.concatenate([score_forget[f], score_test[t]])))
        fr.append(roc_auc_score(np.concatenate([zeros, ones]), np.concatenate([score_forget[f], score_remain[r]])))
        rt.append(roc_auc_score(np.concatenate([ones, zeros]), np.concatenate([score_remain[r], score_test[t]])))
    return {"ft_auc": 100 * np.mean(ft), "fr_auc": 100 * np.mean(fr), "rt_auc": 100 * np.mean(rt)}


@pytest.mark.parametrize("sizes", [(30, 200, 50), (80, 40, 300), (60, 60, 60), (25, 400, 25)])
def test_rmia_aucs_draw_for_draw_as_the_amun_code(sizes):
    n_forget, n_retain, n_test = sizes
    rs = np.random.RandomState(3)
    scores = rs.uniform(0, 1, n_forget + n_retain + n_test)
    scores[:n_forget] += 0.1  # some signal, so that the draws matter
    forget = rs.permutation(n_forget + n_retain)[:n_forget]  # in draw order, as a split's forget set
    retain = np.setdiff1d(np.arange(n_forget + n_retain), forget)
    test = np.arange(n_forget + n_retain, len(scores))
    got = rmia_aucs(scores, forget, retain, test)
    want = official_rmia_aucs(scores[forget], scores[retain], scores[test])
    assert got == pytest.approx(want, abs=1e-12)


def test_tpr_at_fpr_against_a_hand_computed_roc():
    pos, neg = np.array([0.9, 0.8, 0.7, 0.3]), np.array([0.85, 0.5, 0.4, 0.2, 0.1])
    # thresholds from the top: 0.9 -> (fpr 0, tpr 1/4), 0.85 -> (1/5, 1/4), 0.8 -> (1/5, 2/4),
    # 0.7 -> (1/5, 3/4), 0.5 -> (2/5, 3/4), 0.4 -> (3/5, 3/4), 0.3 -> (3/5, 1), then (1, 1)
    # FPR strictly below the rate, as Carlini et al.'s do_plot: at 0.2 the point (1/5, 3/4) is out
    want = {0.0: 0.25, 0.1: 0.25, 0.2: 0.25, 0.21: 0.75, 0.5: 0.75, 0.6: 0.75, 0.61: 1.0, 1.0: 1.0}
    assert {f: tpr_at_fpr(pos, neg, f) for f in want} == pytest.approx(want)
    assert tpr_at_fpr(np.array([0.1]), np.array([0.9]), 0.0) == 0.0  # nothing found without a false alarm
    # 100 non-members at 1%: one false positive is an FPR of exactly 0.01, which the strict reading excludes
    neg = np.r_[5.0, np.zeros(99)]
    assert tpr_at_fpr(np.array([6.0, 4.0]), neg, 0.01) == 0.5 and tpr_at_fpr(np.array([6.0, 4.0]), neg, 0.011) == 1.0


def direct_tpr_at_fpr(pos, neg, rate):
    """Every threshold tried: flag scores >= it; the best TPR whose FPR stays below ``rate``."""
    best = 0.0
    for thr in np.r_[pos, neg]:
        if np.mean(neg >= thr) < rate:
            best = max(best, float(np.mean(pos >= thr)))
    return best


@pytest.mark.parametrize("sizes", [(30, 200, 50), (25, 400, 1200)])
def test_low_fpr_columns_on_the_ft_aucs_subsamples(sizes):
    n_forget, n_retain, n_test = sizes
    rs = np.random.RandomState(4)
    scores = rs.normal(0, 1, n_forget + n_retain + n_test)
    scores[:n_forget] += 1.5
    forget = rs.permutation(n_forget + n_retain)[:n_forget]
    retain = np.setdiff1d(np.arange(n_forget + n_retain), forget)
    test = np.arange(n_forget + n_retain, len(scores))
    n = min(sizes)
    want = {"ft_tpr_at_1": [], "ft_tpr_at_01": []}
    for seed in range(3):  # the FT AUC's draws (test first, then forget), as rmia_evaluate.py makes them
        np.random.seed(seed)
        t = np.random.choice(n_test, n, replace=False) if n_test > n else np.arange(n_test)
        f = np.random.choice(n_forget, n, replace=False) if n_forget > n else np.arange(n_forget)
        for col, rate in (("ft_tpr_at_1", 0.01), ("ft_tpr_at_01", 0.001)):
            want[col].append(direct_tpr_at_fpr(scores[forget][f], scores[test][t], rate))
    got = ft_attack(scores, forget, test, len(retain), (0, 1, 2), "ft")
    assert got["ft_auc"] == pytest.approx(rmia_aucs(scores, forget, retain, test)["ft_auc"])
    del got["ft_auc"]
    assert got == pytest.approx({k: 100 * np.mean(v) for k, v in want.items()})
    assert 0 < got["ft_tpr_at_01"] <= got["ft_tpr_at_1"] < 100


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


def official_mis(conf_retain, conf_test, conf_forget, seed=1):
    """mia_evaluate.py + evaluation/SVC_MIA.py written out: |D_T| members from D_R, SVC on confidence."""
    np.random.seed(seed)
    random_indices = np.random.choice(list(range(len(conf_retain))), size=len(conf_test), replace=False)
    shadow_train = conf_retain[random_indices]
    x_shadow = np.concatenate([shadow_train, conf_test]).reshape(-1, 1)
    y_shadow = np.concatenate([np.ones(len(shadow_train)), np.zeros(len(conf_test))])
    clf = SVC(C=3, gamma="auto", kernel="rbf")
    clf.fit(x_shadow, y_shadow)
    return 100 * (1 - clf.predict(conf_forget.reshape(-1, 1)).mean())


def test_mis_is_the_official_balanced_draw():
    rs = np.random.RandomState(4)
    # members are more confident than non-members, with overlap; D_R much larger than D_T, as at
    # reduced scale (4,500 retain vs 2,000 test in the default config)
    conf_retain = np.clip(rs.beta(8, 1, 900), 0, 1)
    conf_test = np.clip(rs.beta(3, 1.5, 200), 0, 1)
    conf_forget = np.clip(np.r_[rs.beta(8, 1, 50), rs.beta(3, 1.5, 50)], 0, 1)
    got = mis(conf_retain, conf_test, conf_forget)
    assert got == pytest.approx(official_mis(conf_retain, conf_test, conf_forget))
    assert 5 < got < 95  # the balanced attack says something; all 900 members would say "member" everywhere
    assert mis(conf_retain, conf_test, conf_forget, seed=7) == pytest.approx(
        official_mis(conf_retain, conf_test, conf_forget, 7)
    )


def test_avg_gap_reproduces_the_papers_check():
    amun = {"unlearn_acc": 95.45, "retain_acc": 99.57, "test_acc": 93.45, "ft_auc": 50.18}
    retrain = {"unlearn_acc": 94.49, "retain_acc": 100.0, "test_acc": 94.33, "ft_auc": 50.00}
    assert avg_gap(amun, retrain, "ft_auc") == pytest.approx((0.96 + 0.43 + 0.88 + 0.18) / 4)


def test_param_distance_ignores_bn_statistics():
    a = {"w": torch.tensor([1.0, 2.0]), "bn.running_mean": torch.zeros(2), "n": torch.tensor(3)}
    b = {"w": torch.tensor([4.0, 6.0]), "bn.running_mean": torch.ones(2), "n": torch.tensor(5)}
    assert param_distance(a, b) == pytest.approx(5.0)


def runs_frame():
    base = dict(
        base_method="x",
        forget="random0.1",
        split_seed=1,
        split_hash="h",
        run=1,
        mis=0.0,
        fr_auc=0.0,
        rt_auc=0.0,
        ft_tpr_at_1=0.0,
        ft_tpr_at_01=0.0,
        l2_to_retrain=0.0,
        l2_moved=1.0,
        wall_time_s=1.0,
        sample_steps=1,
        wall_time_vs_retrain=0.1,
        sample_steps_vs_retrain=0.1,
        extra_grad_evals=0,
        work_vs_retrain=0.1,
        cpu_time_s=1.0,
        cpu_time_vs_retrain=0.1,
        **dict.fromkeys(LIRA_COLUMNS + DISTANCE_COLUMNS + ["relearn_epochs", "rf_jsd"], 0.0),
    )
    rows = [
        dict(
            base,
            method="retrain",
            setting="reference",
            model_seed=1,
            unlearn_acc=90,
            retain_acc=100,
            test_acc=90,
            ft_auc=50,
        ),
        dict(
            base,
            method="retrain",
            setting="reference",
            model_seed=2,
            unlearn_acc=92,
            retain_acc=100,
            test_acc=92,
            ft_auc=52,
        ),
        dict(
            base,
            method="amun",
            setting="with_retain",
            model_seed=1,
            unlearn_acc=93,
            retain_acc=99,
            test_acc=90,
            ft_auc=51,
        ),
        dict(
            base,
            method="amun",
            setting="with_retain",
            model_seed=2,
            unlearn_acc=95,
            retain_acc=97,
            test_acc=89,
            ft_auc=55,
        ),
        dict(
            base,
            method="ft",
            setting="with_retain",
            model_seed=1,
            unlearn_acc=99,
            retain_acc=99,
            test_acc=88,
            ft_auc=60,
        ),
    ]
    return pd.DataFrame(rows)


def test_gaps_and_aggregate_against_hand_computed_values():
    runs = add_gaps(runs_frame(), "ft_auc")
    # retrain mean: UA 91, RA 100, TA 91, FT 51
    assert list(runs["avg_gap"]) == pytest.approx(
        [
            (1 + 0 + 1 + 1) / 4,
            (1 + 0 + 1 + 1) / 4,
            (2 + 1 + 1 + 0) / 4,
            (4 + 3 + 2 + 4) / 4,
            (8 + 1 + 3 + 9) / 4,
        ]
    )
    agg = aggregate(runs).set_index("method")
    assert agg.loc["amun", "avg_gap_mean"] == pytest.approx((1.0 + 3.25) / 2)
    assert agg.loc["amun", "avg_gap_std"] == pytest.approx(np.std([1.0, 3.25], ddof=1))
    assert agg.loc["amun", "unlearn_acc_mean"] == 94 and agg.loc["amun", "n_runs"] == 2
    assert np.isnan(agg.loc["ft", "unlearn_acc_std"]) and agg.loc["ft", "n_runs"] == 1  # one run: no spread
    cells = table_cells(aggregate(runs), "ft_auc", "with_retain")
    md = render_table(*cells, "md")
    lines = md.strip().splitlines()
    assert lines[0] == "| method | random0.1 UA | random0.1 RA | random0.1 TA | random0.1 FT AUC | random0.1 Gap | n |"
    assert lines[2].startswith("| retrain | 91.00±1.41 |") and lines[2].endswith("| 2 |")
    assert lines[3].endswith("| **2.12±1.59** | 2 |")  # amun: the best gap, in bold
    assert lines[4] == "| ft | 99.00 | 99.00 | 88.00 | 60.00 | 5.25 | 1 |"  # a single run: no "±0.00"
    assert "±" not in lines[4] and "mean ± std" in md
    tex = render_table(*cells, "tex")
    assert "\\textbf{2.12$\\pm$1.59}" in tex and "\\multicolumn{5}{c}{random0.1}" in tex and "ft & 99.00 &" in tex
    assert "<b>2.12±1.59</b>" in render_table(*cells, "html")


def test_cost_columns_put_load_free_work_first():
    from amunflow.audits import METRIC_COLUMNS, cost_columns

    retrain = {"kind": "retrain", "sample_steps": 1000, "cpu_time_s": 20.0, "wall_time_s": 10.0}
    run = {"kind": "unlearned", "sample_steps": 100, "extra_grad_evals": 50, "cpu_time_s": 2.0, "wall_time_s": 4.0}
    c = cost_columns(run, retrain)
    assert c["work_vs_retrain"] == pytest.approx(0.15) and c["sample_steps_vs_retrain"] == pytest.approx(0.1)
    assert c["cpu_time_vs_retrain"] == pytest.approx(0.1) and c["wall_time_vs_retrain"] == pytest.approx(0.4)
    assert cost_columns(retrain, None)["work_vs_retrain"] == 1.0  # the reference row is its own unit
    orig = cost_columns({"kind": "original", "sample_steps": 1100}, retrain)
    assert orig["extra_grad_evals"] == 0 and orig["work_vs_retrain"] == pytest.approx(1.1)
    assert math.isnan(orig["cpu_time_vs_retrain"])  # not recorded: not guessed
    assert math.isnan(cost_columns({"kind": "unlearned", "sample_steps": 5}, retrain)["work_vs_retrain"])
    cost = [c for c in METRIC_COLUMNS if "time" in c or "steps" in c or "work" in c or "grad" in c]
    assert cost.index("work_vs_retrain") < cost.index("cpu_time_s") < cost.index("wall_time_s")


def test_mis_separates_a_memorizing_model_from_its_retrain():
    """Labels with no signal leave memorization as the only way to fit: the original is confident on
    D_F as on every member, a model retrained without D_F is not, and MIS must tell them apart."""
    from amunflow.data import synthetic
    from amunflow.models import build_model
    from amunflow.predict import predict_logits
    from amunflow.train import TrainConfig, train

    d = synthetic(n_train=200, n_test=50, num_classes=4, image_size=8, seed=0)
    rs = np.random.RandomState(1)
    y_train, y_test = rs.randint(0, 4, 200), rs.randint(0, 4, 50)
    forget = rs.choice(200, 40, replace=False)
    retain = np.setdiff1d(np.arange(200), forget)
    cfg = TrainConfig.from_config(dict(epochs=40, batch_size=32, lr=0.05, lr_step=30, crop_padding=0, flip=False))
    scores = {}
    for name, idx in (("original", np.arange(200)), ("retrain", retain)):
        torch.manual_seed(0)
        model = build_model({"arch": "resnet18", "width": 8}, 4)
        train(model, d.train_x[idx], y_train[idx], cfg, 0, torch.device("cpu"), progress_file=False)
        conf_train = true_class_confidence(predict_logits(model, torch.as_tensor(d.train_x), "cpu").numpy(), y_train)
        conf_test = true_class_confidence(predict_logits(model, torch.as_tensor(d.test_x), "cpu").numpy(), y_test)
        scores[name] = mis(conf_train[retain], conf_test, conf_train[forget])
    assert scores["original"] < 30 and scores["retrain"] > 60, scores


def direct_lira(target_logits, ref_logits, keep, y, fixed):
    """LiRA written out point by point from the paper's description, with the softmax in plain numpy."""

    def phi(logits):
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        py = p[np.arange(len(y)), y]
        return np.log(py) - np.log(1 - py)

    def logpdf(x, mu, sd):
        return -0.5 * np.log(2 * np.pi * sd**2) - (x - mu) ** 2 / (2 * sd**2)

    t, refs = phi(target_logits), np.stack([phi(r) for r in ref_logits])
    every_in = np.concatenate([refs[keep[:, j], j] for j in range(len(y))])
    every_out = np.concatenate([refs[~keep[:, j], j] for j in range(len(y))])
    online, offline = [], []
    for j in range(len(y)):
        ins, outs = refs[keep[:, j], j], refs[~keep[:, j], j]
        # generate_ours: with fix_variance the IN values' std for both; generate_ours_offline: the OUT values'
        sd_in = np.std(every_in) if fixed else np.std(ins)
        sd_out = np.std(every_in) if fixed else np.std(outs)
        sd_off = np.std(every_out) if fixed else np.std(outs)
        online.append(logpdf(t[j], np.median(ins), sd_in) - logpdf(t[j], np.median(outs), sd_out))
        offline.append(-logpdf(t[j], np.median(outs), sd_off))
    return np.array(online), np.array(offline)


@pytest.mark.parametrize("fixed", [False, True])
def test_lira_scores_match_a_point_by_point_implementation(fixed):
    from amunflow.metrics import lira_scores, logit_scaled_confidence

    rs = np.random.RandomState(3)
    k, p, c = 8, 40, 5
    keep = keep_matrix(k, p, seed=1)
    y = rs.randint(0, c, p)
    refs = rs.normal(0, 2, (k, p, c))
    refs[:, np.arange(p), y] += np.where(keep, 3.0, 0.5)  # members get a larger true-class logit
    target = rs.normal(0, 2, (p, c))
    want_on, want_off = direct_lira(target, refs, keep, y, fixed)
    phi = logit_scaled_confidence(target, y)
    got = lira_scores(phi, np.stack([logit_scaled_confidence(r, y) for r in refs]), keep, fixed)
    np.testing.assert_allclose(got["online"], want_on, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["offline"], want_off, rtol=1e-9, atol=1e-9)


def test_lira_tells_members_from_non_members_and_phi_stays_finite():
    from amunflow.metrics import ft_attack, lira_scores, logit_scaled_confidence

    rs = np.random.RandomState(0)
    k, p = 16, 400
    keep = keep_matrix(k, p, seed=0)
    base = rs.normal(0, 1, p)  # each point's own difficulty
    ref_phi = base + np.where(keep, 2.0, 0.0) + rs.normal(0, 0.3, (k, p))
    member = np.arange(p) < 100  # the target trained on the first 100 points
    target_phi = base + np.where(member, 2.0, 0.0) + rs.normal(0, 0.3, p)
    s = lira_scores(target_phi, ref_phi, keep, fix_variance=False)
    forget, test = np.arange(100), np.arange(200, 400)
    on = ft_attack(s["online"], forget, test, 100, (0, 1, 2), "lira_online")
    assert on["lira_online_auc"] > 95 and on["lira_online_tpr_at_1"] > 50
    # a target that never saw them: chance
    s = lira_scores(base + rs.normal(0, 0.3, p), ref_phi, keep, fix_variance=False)
    assert 35 < ft_attack(s["online"], forget, test, 100, (0, 1, 2), "x")["x_auc"] < 65
    # a confident logit: 1 - p_y underflows in float32, phi does not
    logits = np.array([[60.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(logit_scaled_confidence(logits, np.array([0, 1])), [60 - np.log(2), -np.log(2)])
    with pytest.raises(ValueError, match="IN at least one"):
        lira_scores(target_phi[:2], ref_phi[:, :2], np.ones((k, 2), bool), True)


def test_memorization_score_on_a_constructed_case():
    from amunflow.splits import memorization_scores

    # 4 reference models x 4 points: model 0 trained on all, 1 on points 0-1, 2 on points 2-3, 3 on none
    keep = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]], bool)
    correct = np.array([[1, 1, 0, 1], [1, 1, 1, 0], [0, 1, 0, 1], [0, 1, 1, 0]], bool)
    y = np.zeros(4, dtype=int)
    logits = np.where(correct[..., None], [5.0, 0.0], [0.0, 5.0])
    # point 0: right only when IN -> 1; point 1: always right -> 0; point 2: right only when OUT -> -1;
    # point 3: right under both IN models, wrong under both OUT ones -> 1
    np.testing.assert_allclose(memorization_scores(logits, keep, y), [1.0, 0.0, -1.0, 1.0])
    keep[:, 3] = [True, False, False, True]  # now IN: right, wrong; OUT: wrong, right -> 0.5 - 0.5
    np.testing.assert_allclose(memorization_scores(logits, keep, y)[3], 0.0)


def test_distances_to_the_retrained_model():
    from scipy.spatial.distance import jensenshannon

    from amunflow.metrics import retrain_distances

    rs = np.random.RandomState(1)
    n_train, n_test, c = 30, 40, 4
    y = rs.randint(0, c, n_train + n_test)
    a, b = rs.normal(0, 2, (70, c)), rs.normal(0, 2, (70, c))
    forget, test = np.arange(10), np.arange(n_train, n_train + n_test)
    got = retrain_distances(a, b, y, forget, test, c)

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    p, q = softmax(a[forget]), softmax(b[forget])
    assert got["js_to_retrain"] == pytest.approx(np.mean([jensenshannon(u, v) ** 2 for u, v in zip(p, q, strict=True)]))
    assert got["act_dist_to_retrain"] == pytest.approx(
        np.mean([np.sqrt(((u - v) ** 2).sum()) for u, v in zip(p, q, strict=True)])
    )
    gaps = []
    for k in range(c):
        idx = test[y[test] == k]
        gaps.append(abs((a[idx].argmax(1) == k).mean() - (b[idx].argmax(1) == k).mean()) * 100)
    assert got["class_acc_gap"] == pytest.approx(np.mean(gaps))
    same = retrain_distances(a, a, y, forget, test, c)
    assert same == pytest.approx({"js_to_retrain": 0.0, "act_dist_to_retrain": 0.0, "class_acc_gap": 0.0})


def direct_ulira(unl, unlearned, ret, fixed):
    """U-LiRA's leave-one-shadow-out accuracy written out shadow by shadow and example by example."""

    def logpdf(x, mu, sd):
        return -0.5 * np.log(2 * np.pi * sd**2) - (x - mu) ** 2 / (2 * sd**2)

    s_count, n = unl.shape
    hits_u, hits_r = [], []
    for s in range(s_count):
        others = [t for t in range(s_count) if t != s]
        cols = [x for x in range(n) if unlearned[s, x] and any(unlearned[t, x] for t in others)]
        fits, ss_u, dof_u, ss_r, dof_r = {}, 0.0, 0, 0.0, 0
        for x in cols:
            u = np.array([unl[t, x] for t in others if unlearned[t, x]])
            r = np.array([ret[t, x] for t in others])
            fits[x] = (u.mean(), u.std(), r.mean(), r.std())
            ss_u, dof_u = ss_u + ((u - u.mean()) ** 2).sum(), dof_u + len(u) - 1
            ss_r, dof_r = ss_r + ((r - r.mean()) ** 2).sum(), dof_r + len(r) - 1
        both = np.sqrt((ss_u + ss_r) / (dof_u + dof_r))
        for x in cols:
            mu_u, sd_u, mu_r, sd_r = fits[x]
            if fixed or (unlearned[others, x].sum() < 2):  # each group's variance pooled over examples
                sd_u = np.sqrt(ss_u / dof_u) if dof_u else both
            if fixed:
                sd_r = np.sqrt(ss_r / dof_r) if dof_r else both
            for value, hits, want_unlearned in ((unl[s, x], hits_u, True), (ret[s, x], hits_r, False)):
                lr = logpdf(value, mu_u, sd_u) - logpdf(value, mu_r, sd_r)
                hits.append((lr > 0) == want_unlearned)
    return 50 * (np.mean(hits_u) + np.mean(hits_r)), len(hits_u)


@pytest.mark.parametrize("fixed", [True, False])
def test_ulira_accuracy_matches_a_shadow_by_shadow_implementation(fixed):
    from amunflow.metrics import ulira_accuracy

    rs = np.random.RandomState(0)
    shadows, n = 8, 60
    unlearned = keep_matrix(shadows, n, seed=3)
    base = rs.normal(0, 2, n)
    ret = base + rs.normal(0, 1, (shadows, n))
    unl = base + 0.8 + rs.normal(0, 1, (shadows, n))  # unlearning left a trace: phi a little higher
    got = ulira_accuracy(unl, unlearned, ret, fix_variance=fixed)
    want, count = direct_ulira(unl, unlearned, ret, fixed)
    assert got["ulira_acc"] == pytest.approx(want) and got["ulira_examples"] == count == shadows // 2 * n
    assert 55 < got["ulira_acc"] < 90


def test_ulira_reads_chance_for_exact_unlearning_and_far_above_for_none():
    from amunflow.metrics import ulira_accuracy

    rs = np.random.RandomState(1)
    shadows, n = 8, 200
    unlearned = keep_matrix(shadows, n, seed=0)
    base = rs.normal(0, 2, n)
    ret = base + rs.normal(0, 1, (shadows, n))
    exact = base + rs.normal(0, 1, (shadows, n))  # "unlearned" models drawn as retrains are
    none = base + 4 + rs.normal(0, 1, (shadows, n))  # models that still fit the examples
    assert 45 < ulira_accuracy(exact, unlearned, ret)["ulira_acc"] < 55
    assert ulira_accuracy(none, unlearned, ret)["ulira_acc"] > 95
    # the target's own pair, fitted to every shadow
    t = ulira_accuracy(none, unlearned, ret, none[0], ret[0])
    assert t["ulira_target_acc"] > 95
    # unlearning that changes the signal's spread, not its mean: each group's own variance sees it (one
    # variance pooled over both groups would make the test "which mean is closer", about 55 here)
    spread = base + rs.normal(0, 3, (shadows, n))
    assert ulira_accuracy(spread, unlearned, ret)["ulira_acc"] > 65
    # four shadows, one unlearned model left per example: its Gaussian borrows the pooled variance
    four = keep_matrix(4, n, seed=0)
    assert ulira_accuracy(none[:4], four, ret[:4], fix_variance=False)["ulira_acc"] > 90


def test_relearn_time_counts_epochs_until_the_target_accuracy():
    from amunflow.data import synthetic
    from amunflow.models import build_model
    from amunflow.predict import accuracy
    from amunflow.relearn import relearn_epochs

    data = synthetic(n_train=32, n_test=4, num_classes=4, image_size=8, seed=0, noise=20)
    x, y = data.train_x, data.train_y
    torch.manual_seed(0)
    model = build_model({"arch": "resnet18", "width": 4}, 4, 8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = {"lr": 0.05, "momentum": 0.9, "batch_size": 8, "max_epochs": 40}  # about 16 epochs to 100%
    start = accuracy(model, torch.as_tensor(x), y, "cpu")
    assert relearn_epochs(model, x, y, start, cfg, 0, "cpu") == 0.0  # already there
    epochs = relearn_epochs(model, x, y, 100.0, cfg, 0, "cpu")
    assert 1 <= epochs <= 40  # 32 easy images are all learnt within the budget
    assert relearn_epochs(model, x, y, 50.0, cfg, 0, "cpu") <= epochs  # a lower bar comes no later
    assert relearn_epochs(model, x, y, 100.0, {**cfg, "lr": 1e-12}, 0, "cpu") == 41.0  # never: max_epochs + 1
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # on a copy


def test_closed_share_is_the_share_of_the_original_to_retrain_distance():
    from amunflow.metrics import closed_share

    # the AMUN run: UA 96.6 -> 93.8 against a retrain at 70.4 closed 2.8 / 26.2 of the way
    assert closed_share(93.8, 96.6, 70.4) == pytest.approx(2.8 / 26.2)
    assert closed_share(70.4, 96.6, 70.4) == pytest.approx(1.0) and closed_share(96.6, 96.6, 70.4) == 0.0
    assert closed_share(8.4, 96.6, 70.4) == pytest.approx(88.2 / 26.2)  # past the retrain: above 1
    assert closed_share(41.2, 5.6, 41.2) == pytest.approx(1.0)  # MIS rises toward the retrain: same formula
    assert closed_share(97.0, 96.6, 70.4) < 0  # away from the retrain
    assert math.isnan(closed_share(90.0, 90.5, 90.0))  # nothing to close: no judgement
    assert math.isnan(closed_share(90.0, float("nan"), 80.0))


def test_closed_shares_and_verdicts_against_hand_computed_values():
    from amunflow.gaps import verdict
    from amunflow.tables import method_label

    rows = runs_frame()
    original = rows.iloc[0].copy()
    for seed, ua, ft in ((1, 100.0, 80.0), (2, 98.0, 70.0)):
        original.update({"method": "original", "model_seed": seed, "unlearn_acc": ua, "ft_auc": ft})
        rows = pd.concat([rows, original.to_frame().T], ignore_index=True)
    runs = add_gaps(rows.infer_objects(), "ft_auc").set_index(["method", "model_seed"])
    # retrain means: UA 91, FT 51; originals per model seed: (100, 80) and (98, 70)
    assert runs.loc[("amun", 1), "ua_closed"] == pytest.approx((100 - 93) / (100 - 91))
    assert runs.loc[("amun", 1), "mia_closed"] == pytest.approx((80 - 51) / (80 - 51))
    assert runs.loc[("amun", 2), "ua_closed"] == pytest.approx((98 - 95) / (98 - 91))
    assert runs.loc[("amun", 2), "mia_closed"] == pytest.approx((70 - 55) / (70 - 51))
    assert runs.loc[("ft", 1), "ua_closed"] == pytest.approx((100 - 99) / 9)  # 11%: UA hardly moved
    assert runs.loc[("ft", 1), "mia_closed"] == pytest.approx((80 - 60) / 29)
    assert runs.loc[("original", 1), "ua_closed"] == 0.0
    agg = aggregate(runs.reset_index(), unlearned_bar=0.25).set_index("method")
    assert agg.loc["amun", "unlearned"] == "yes" and agg.loc["retrain", "unlearned"] == ""
    assert agg.loc["ft", "unlearned"] == "yes"  # its MIA closed 69%: it unlearned something
    assert aggregate(runs.reset_index(), unlearned_bar=0.75).loc[lambda a: a.method == "ft", "unlearned"].item() == "no"
    # the verdict reads the larger share; NaN shares are no evidence either way
    assert verdict({"method": "x", "ua_closed_mean": 0.1, "mia_closed_mean": 0.2}, 0.25) == "no"
    assert verdict({"method": "x", "ua_closed_mean": 0.1, "mia_closed_mean": 0.3}, 0.25) == "yes"
    assert verdict({"method": "x", "ua_closed_mean": float("nan"), "mia_closed_mean": 0.1}, 0.25) == "no"
    assert verdict({"method": "x", "ua_closed_mean": float("nan"), "mia_closed_mean": float("nan")}, 0.25) == ""
    assert method_label("ft", "no") == "ft (did not unlearn)" and method_label("ft", "yes") == "ft"
    strict = aggregate(runs.reset_index(), unlearned_bar=0.75)
    md = render_table(*table_cells(strict, "ft_auc", "with_retain"), "md")
    assert "| ft (did not unlearn) |" in md and "| amun |" in md


def test_the_ranking_names_a_method_that_did_not_unlearn():
    from amunflow.tables import rank_with_verdicts, render_ranking

    ranking = pd.DataFrame(
        [
            dict(setting="with_retain", forget="random0.1", method="amun", avg_gap=2.0, ci_lo=1.5, ci_hi=2.5,
                 p_lowest_gap=0.9),
            dict(setting="with_retain", forget="random0.1", method="ft", avg_gap=3.0, ci_lo=2.0, ci_hi=4.0,
                 p_lowest_gap=0.1),
        ]
    )  # fmt: skip
    agg = pd.DataFrame(
        [
            dict(method="amun", setting="with_retain", forget="random0.1", ua_closed_mean=0.9, mia_closed_mean=1.1,
                 unlearned="yes"),
            dict(method="ft", setting="with_retain", forget="random0.1", ua_closed_mean=0.1, mia_closed_mean=0.05,
                 unlearned="no"),
        ]
    )  # fmt: skip
    md = render_ranking(rank_with_verdicts(ranking, agg), 0.95, "md")
    assert "| amun | 2.00 | [1.50, 2.50] | 0.90 | 90% | 110% |" in md
    assert "| ft (did not unlearn) | 3.00 | [2.00, 4.00] | 0.10 | 10% | 5% |" in md
    assert "<td>ft (did not unlearn)</td>" in render_ranking(rank_with_verdicts(ranking, agg), 0.95, "html")


def test_a_damaged_edited_or_repeated_metrics_file_is_refused_not_dropped(tmp_path):
    from amunflow import UserError
    from amunflow.io import checksummed_csv
    from amunflow.tables import read_runs

    frame = runs_frame().assign(code_version="abc")
    paths = []
    for i in range(len(frame)):
        paths.append(tmp_path / f"{i}.csv")
        paths[-1].write_text(checksummed_csv(frame.iloc[[i]].to_csv(index=False)))
    assert read_runs(paths)["method"].tolist() == frame["method"].tolist()
    assert "row_sha256" not in read_runs(paths)
    whole = paths[3].read_text()
    body = frame.iloc[[3]].to_csv(index=False)
    damaged = {
        "truncated": whole[: len(whole) // 2],  # cut inside the row: pandas would fill NaN silently
        "a field short": whole.rstrip("\n").rsplit(",", 1)[0] + "\n",
        "empty": "",
        "no checksum (other code)": body,
        "a digit changed": whole.replace(f",{frame.iloc[3]['unlearn_acc']},", f",{frame.iloc[3]['unlearn_acc'] + 1},"),
    }
    assert damaged["a digit changed"] != whole
    # files whose checksum is right but which other code wrote wrongly
    malformed = {
        "header only": body.split("\n")[0] + "\n",
        "no identity": frame.iloc[[3]].assign(method=None).to_csv(index=False),
        "no metric column": frame.iloc[[3]].drop(columns="ft_auc").to_csv(index=False),
    }
    cases = {**damaged, **{k: checksummed_csv(v) for k, v in malformed.items()}}
    for what, text in cases.items():
        paths[3].write_text(text)
        with pytest.raises(UserError, match=rf"metrics file {paths[3]} (is damaged|lacks|cannot be used)"):
            read_runs(paths)
        assert what
    paths[3].write_text(whole)
    with pytest.raises(UserError, match=r"hold the same run"):
        read_runs(paths + [paths[3]])


def test_a_metrics_file_copied_to_another_run_s_place_is_refused(tmp_path):
    from amunflow import UserError
    from amunflow.io import checksummed_csv
    from amunflow.tables import read_runs

    frame = runs_frame().assign(code_version="abc")
    paths = []
    for _, r in frame.iterrows():
        where = f"metrics/{r['method']}/{r['setting']}/{r['forget']}/split{r['split_seed']}/seed{r['model_seed']}"
        paths.append(tmp_path / where / f"run{r['run']}.csv")
        paths[-1].parent.mkdir(parents=True, exist_ok=True)
        paths[-1].write_text(checksummed_csv(frame[frame.index == r.name].to_csv(index=False)))
    assert len(read_runs(paths)) == len(frame)
    other = next(p for p in paths[1:] if p.parent != paths[0].parent)
    other.write_text(paths[0].read_text())  # a valid file of another run, e.g. copied by hand
    with pytest.raises(UserError, match=rf"metrics file {other} holds another run \(.*\) than its place says"):
        read_runs(paths)
