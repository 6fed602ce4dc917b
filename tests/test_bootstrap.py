"""Bootstrap intervals over nested runs, and the ranking's stability."""

import numpy as np
import pandas as pd
import pytest

from amunflow.bootstrap import bootstrap


def frame(values: dict, pairs=((1, 1),), runs=(1,)):
    """method -> flat list of avg_gap values over pairs x runs."""
    rows = []
    for method, vals in values.items():
        it = iter(vals)
        for s, m in pairs:
            for r in runs:
                rows.append(
                    {
                        "method": method,
                        "setting": "with_retain",
                        "forget": "random0.1",
                        "split_seed": s,
                        "model_seed": m,
                        "run": r,
                        "avg_gap": next(it),
                    }
                )
    return pd.DataFrame(rows)


def test_intervals_cover_a_known_mean_at_about_the_nominal_rate():
    rng = np.random.default_rng(5)
    pairs = tuple((s, m) for s in (1, 10, 100, 1000) for m in (1, 10, 100))  # 12 pairs, 3 runs each
    hits, reps = 0, 300
    for _ in range(reps):
        pair_effect = np.repeat(rng.normal(0, 1.0, len(pairs)), 3)  # runs of a pair share it
        vals = 2.0 + pair_effect + rng.normal(0, 0.5, len(pairs) * 3)
        ci, _ = bootstrap(
            frame({"amun": vals}, pairs, (1, 2, 3)), ["avg_gap"], n_boot=400, level=0.9, seed=rng.integers(1 << 30)
        )
        hits += ci["avg_gap_ci_lo"][0] <= 2.0 <= ci["avg_gap_ci_hi"][0]
    assert 0.82 <= hits / reps <= 0.96  # nominal 0.90 (a percentile bootstrap of 12 clusters runs a little short)


def test_a_single_run_has_no_interval_and_the_ranking_reflects_separation():
    ci, rank = bootstrap(frame({"amun": [1.0], "rl": [2.0]}), ["avg_gap"])
    assert ci["avg_gap_ci_lo"].isna().all() and rank["p_lowest_gap"].isna().all()
    pairs = ((1, 1), (10, 1), (100, 1))
    far = frame({"amun": [0.5, 0.6, 0.55, 0.52, 0.58, 0.61], "rl": [2.0, 2.1, 1.9, 2.2, 2.05, 1.95]}, pairs, (1, 2))
    _, rank = bootstrap(far, ["avg_gap"], n_boot=500)
    p = rank.set_index("method")["p_lowest_gap"]
    assert p["amun"] == 1.0 and p["rl"] == 0.0
    close = frame({"amun": [1.0, 1.2, 0.9, 1.1, 1.05, 0.95], "rl": [1.1, 0.9, 1.0, 1.2, 0.95, 1.05]}, pairs, (1, 2))
    _, rank = bootstrap(close, ["avg_gap"], n_boot=500)
    assert 0.15 < rank.set_index("method")["p_lowest_gap"]["amun"] < 0.85  # indistinguishable: no clear winner
    assert rank.set_index("method")["avg_gap"]["rl"] == pytest.approx(np.mean([1.1, 0.9, 1.0, 1.2, 0.95, 1.05]))
