"""Gaps to retraining and how far each run got (docs/protocol.md §3): the quantities the tuning
selection and the tables share, kept apart from the tables' rendering so that a change to how a
table looks reruns no selection."""

from __future__ import annotations

import math

import pandas as pd

from . import UserError
from .audits import METRIC_COLUMNS
from .metrics import avg_gap, closed_share


def check_splits(runs: pd.DataFrame) -> None:
    """Every row of one forget set and split seed must come from the same split file (hash)."""
    hashes = runs.groupby(["forget", "split_seed"])["split_hash"].unique()
    bad = hashes[hashes.map(len) > 1]
    if len(bad):
        (forget, seed), found = bad.index[0], bad.iloc[0]
        rows = runs[(runs["forget"] == forget) & (runs["split_seed"] == seed)]
        by = rows.groupby("split_hash")["method"].unique().map(list).to_dict()
        raise UserError(
            f"the metrics of forget set {forget}, split seed {seed} come from {len(found)} different splits "
            f"({by}); some results are stale: delete them (or the split) and rerun the workflow."
        )


PROGRESS_COLUMNS = ["ua_closed", "mia_closed"]
REFERENCE_ROWS = ("retrain", "original")


def add_gaps(runs: pd.DataFrame, mia_column: str) -> pd.DataFrame:
    """Average gap of every run to the mean of the retrained references of its forget set and split,
    and the share of the original-to-retrain distance it closed on UA (``ua_closed``) and on the MIA
    column (``mia_closed``), against the original of its split and model seed (NaN without one)."""
    check_splits(runs)
    runs = runs.copy()
    ref = runs[runs["method"] == "retrain"].groupby(["forget", "split_seed"])[list(METRIC_COLUMNS)].mean()
    orig = runs[runs["method"] == "original"].groupby(["forget", "split_seed", "model_seed"])[list(METRIC_COLUMNS)]
    orig = orig.mean()
    gaps, closed = [], {c: [] for c in PROGRESS_COLUMNS}
    for _, r in runs.iterrows():
        key = (r["forget"], r["split_seed"])
        gaps.append(avg_gap(r, ref.loc[key], mia_column) if key in ref.index else math.nan)
        okey = (*key, r["model_seed"])
        for c, metric in zip(PROGRESS_COLUMNS, ("unlearn_acc", mia_column), strict=True):
            ok = key in ref.index and okey in orig.index
            closed[c].append(closed_share(r[metric], orig.loc[okey, metric], ref.loc[key, metric]) if ok else math.nan)
    runs["avg_gap"] = gaps
    for c, values in closed.items():
        runs[c] = values
    return runs


def verdict(row, bar: float) -> str:
    """'no' when a method's cell closed less than ``bar`` of the original-to-retrain distance on UA and
    on the MIA column alike (means over its runs): it did not unlearn; 'yes' when it closed at least
    ``bar`` on either; '' for the reference rows and where neither share is defined."""
    if row["method"] in REFERENCE_ROWS:
        return ""
    shares = [row.get(f"{c}_mean", math.nan) for c in PROGRESS_COLUMNS]
    shares = [x for x in shares if not pd.isna(x)]
    if not shares:
        return ""
    return "yes" if max(shares) >= bar else "no"


NOT_UNLEARNED = "did not unlearn"
