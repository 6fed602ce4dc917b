"""Hyperparameter selection (docs/protocol.md §3): per method instance, access setting and forget set, the grid
point with the smallest average gap to the tuning set's retrained references, averaged over model
seeds. (The grid itself is configuration: :mod:`amunflow.hyper`.)"""

from __future__ import annotations

import pandas as pd

from .hyper import parse_point


def select(grid: pd.DataFrame, methods: dict[str, str]) -> pd.DataFrame:
    """Per (method, setting, forget): the grid point with the smallest mean avg_gap over model seeds
    (ties: the first point in grid order), with its values as columns. ``methods`` maps each method
    instance (the grid's ``method`` column) to its registry method."""
    mean = grid.groupby(["method", "setting", "forget", "point"], sort=False)["avg_gap"].mean().reset_index()
    mean = mean[mean["avg_gap"].notna()]
    best = mean.loc[mean.groupby(["method", "setting", "forget"], sort=False)["avg_gap"].idxmin()]
    rows = []
    for _, r in best.iterrows():
        rows.append(
            {
                "method": r["method"],
                "setting": r["setting"],
                "forget": r["forget"],
                "point": r["point"],
                "avg_gap": r["avg_gap"],
                **parse_point(r["point"], methods[r["method"]]),
            }
        )
    return pd.DataFrame(rows)
