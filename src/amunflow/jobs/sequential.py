"""Sequential requests: each request's split (and the cumulative one), and the summary of all requests."""

from __future__ import annotations

import pandas as pd

from ..io import atomic_path
from ..plots import fr_minus_ft
from ..sequential import request_splits
from ..splits import load_split, save_split
from ..tables import read_runs
from .inputs import check_identity


def split_job(base_path, requests: int, k: int, out_request, out_cumulative, expect: dict | None = None) -> None:
    base = load_split(base_path)
    check_identity(base.attrs, expect, f"split file {base_path}")
    req, cum = request_splits(base, requests, k)
    save_split(out_request, req, base.attrs["dataset_fingerprint"])
    save_split(out_cumulative, cum, base.attrs["dataset_fingerprint"])


def summary_job(metric_csvs, out_csv, out_png) -> pd.DataFrame:
    """All requests' metrics -> one CSV and the paper's Fig. 2 kind: FR AUC - FT AUC per request."""
    runs = read_runs(metric_csvs)
    runs["fr_minus_ft"] = runs["fr_auc"] - runs["ft_auc"]
    with atomic_path(out_csv) as tmp:
        runs.to_csv(tmp, index=False)
    fr_minus_ft(runs, out_png)
    return runs
