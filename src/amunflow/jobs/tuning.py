"""The tuning stage's selection job (the checkpoint the evaluation runs read). Its report (the grid's
table, the verdicts and the plot of gap against learning rate) is :mod:`amunflow.jobs.tuning_report`,
so that a change to how the tuning is shown reruns no selection."""

from __future__ import annotations

import math

import pandas as pd

from .. import UserError
from ..gaps import PROGRESS_COLUMNS, REFERENCE_ROWS, add_gaps
from ..io import atomic_path
from ..tables import read_runs
from ..tuning import select


def select_job(metric_csvs, mia_column: str, methods: dict, out_grid, out_selected) -> pd.DataFrame:
    """All tuning runs' metrics (+ the tuning set's retrains and originals) -> the grid with gaps and the
    share of the original-to-retrain distance each point closed, and the selection."""
    runs = read_runs(metric_csvs)
    runs = add_gaps(runs, mia_column)
    grid = runs[~runs["method"].isin(REFERENCE_ROWS)].copy()
    chosen = select(grid, methods)
    keys = ["method", "setting", "forget"]
    if len(chosen):
        closed = grid.groupby(keys + ["point"], sort=False)[PROGRESS_COLUMNS].mean()
        chosen = chosen.join(closed, on=keys + ["point"])
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
    return chosen
