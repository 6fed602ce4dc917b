"""The tuning stage's selection job."""

from __future__ import annotations

import math

import pandas as pd

from .. import UserError
from ..io import atomic_path
from ..tables import add_gaps
from ..tuning import select


def select_job(metric_csvs, mia_column: str, methods: dict, out_grid, out_selected, out_html=None) -> pd.DataFrame:
    """All tuning runs' metrics (+ the tuning set's retrains) -> the grid with gaps and the selection."""
    runs = pd.concat([pd.read_csv(p) for p in metric_csvs], ignore_index=True)
    runs = add_gaps(runs, mia_column)
    grid = runs[runs["method"] != "retrain"].copy()
    chosen = select(grid, methods)
    keys = ["method", "setting", "forget"]
    found = set(map(tuple, chosen[keys].values)) if len(chosen) else set()
    for key, points in grid.groupby(keys, sort=False)["point"]:
        if tuple(key) not in found:  # every point diverged (no metric) or gave no finite gap
            raise UserError(
                f"tuning: no grid point of {key[0]} ({key[1]}, {key[2]}) gave a finite average gap "
                f"({', '.join(points)}: diverged, see results/logs/tuning/{key[0]}/); lower the learning "
                f"rates of its grid (tuning.grids.{key[0]} or tuning.grid)."
            )
    if chosen.empty or chosen["avg_gap"].map(math.isnan).any():
        raise UserError("no tuning run has a finite average gap; check the tuning logs.")
    with atomic_path(out_grid) as tmp:
        grid.to_csv(tmp, index=False)
    with atomic_path(out_selected) as tmp:
        chosen.to_csv(tmp, index=False)
    if out_html:
        table = grid.pivot_table(index=["method", "setting", "forget"], columns="point", values="avg_gap")
        with atomic_path(out_html) as tmp:
            tmp.write_text(
                "<h3>Selected</h3>"
                + chosen.to_html(index=False, float_format="%.3g")
                + "<h3>Average gap of every grid point</h3>"
                + table.to_html(float_format="%.2f")
            )
    return chosen
