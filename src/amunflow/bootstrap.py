"""Bootstrap confidence intervals for the aggregate table, and how stable the ranking of methods is.

Runs are nested: a (split seed, model seed) pair fixes the forget set and the original model, and
the unlearning runs within a pair share both. One bootstrap sample draws the pairs with replacement,
then within each drawn pair its runs with replacement (a two-level bootstrap), the same draw for every
method of an access setting and forget set, so that methods are compared on the same resampled
units. A cell's interval is the percentile interval of its mean over the samples; a method's
P(lowest gap) is the share of samples in which its mean average gap is the smallest. With a single
unit (one pair, one run) there is no interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _cell_array(group: pd.DataFrame, columns: list[str]):
    """(methods, array (method, pair, run, column) with NaN where missing)."""
    methods = list(dict.fromkeys(group["method"]))
    pairs = sorted(set(zip(group["split_seed"], group["model_seed"], strict=True)))
    runs = sorted(set(group["run"]))
    arr = np.full((len(methods), len(pairs), len(runs), len(columns)), np.nan)
    p_of, r_of, m_of = (
        {p: i for i, p in enumerate(pairs)},
        {r: i for i, r in enumerate(runs)},
        {m: i for i, m in enumerate(methods)},
    )
    for row in group.itertuples(index=False):
        arr[m_of[row.method], p_of[(row.split_seed, row.model_seed)], r_of[row.run]] = [
            getattr(row, c) for c in columns
        ]
    return methods, arr


def bootstrap(runs: pd.DataFrame, columns: list[str], n_boot: int = 2000, level: float = 0.95, seed: int = 0):
    """(intervals, ranking): intervals has one row per (method, setting, forget) with ``<col>_ci_lo`` and
    ``<col>_ci_hi``; ranking one row per method of each setting and forget set with its mean gap, its
    interval and P(lowest gap) (when ``avg_gap`` is among the columns)."""
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    intervals, ranking = [], []
    for (setting, forget), group in runs.groupby(["setting", "forget"], sort=False):
        methods, arr = _cell_array(group, columns)
        _, n_pairs, n_runs, _ = arr.shape
        pick_p = rng.integers(0, n_pairs, size=(n_boot, n_pairs))
        pick_r = rng.integers(0, n_runs, size=(n_boot, n_pairs, n_runs))
        sample = arr[:, pick_p[:, :, None], pick_r, :]  # (method, boot, pair, run, column)
        with np.errstate(all="ignore"):
            means = np.nanmean(sample, axis=(2, 3))  # (method, boot, column)
            lo, hi = np.nanquantile(means, alpha, axis=1), np.nanquantile(means, 1 - alpha, axis=1)
        single = n_pairs * n_runs == 1
        for i, m in enumerate(methods):
            row = {"method": m, "setting": setting, "forget": forget}
            for j, c in enumerate(columns):
                row[f"{c}_ci_lo"] = np.nan if single else lo[i, j]
                row[f"{c}_ci_hi"] = np.nan if single else hi[i, j]
            intervals.append(row)
        if "avg_gap" in columns and len(methods) > 1:
            gap = means[:, :, columns.index("avg_gap")]
            best = np.nanargmin(np.where(np.isnan(gap), np.inf, gap), axis=0)
            for i, m in enumerate(methods):
                ranking.append(
                    {
                        "setting": setting,
                        "forget": forget,
                        "method": m,
                        "avg_gap": float(np.nanmean(arr[i, :, :, columns.index("avg_gap")])),
                        "ci_lo": np.nan if single else lo[i, columns.index("avg_gap")],
                        "ci_hi": np.nan if single else hi[i, columns.index("avg_gap")],
                        "p_lowest_gap": np.nan if single else float((best == i).mean()),
                    }
                )
    return pd.DataFrame(intervals), pd.DataFrame(ranking)
