"""Sequential unlearning requests (SPEC §5, "Sequential requests"): a forget set split into k
consecutive requests, the model carried from one request to the next."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import UserError
from .io import atomic_path
from .splits import Split, load_split, save_split


def request_splits(base: Split, requests: int, k: int) -> tuple[Split, Split]:
    """(request k's split, the cumulative split after request k).

    Request k forgets chunk k of the base forget set (in draw order, as the AMUN code's
    [1000k, 1000k + 1000) of its index file); its retain set is everything not forgotten by requests
    0..k. The cumulative split, used for the metrics after request k, forgets chunks 0..k."""
    if not 1 <= requests <= len(base.forget):
        raise UserError(f"config key sequential.requests: {requests} requests do not fit {len(base.forget)} forget samples.")
    if not 0 <= k < requests:
        raise ValueError(f"request {k} out of range 0..{requests - 1}")
    size = len(base.forget) // requests
    chunk = base.forget[k * size : (k + 1) * size]
    done = base.forget[: (k + 1) * size]
    everything = np.arange(base.n, dtype=np.int64)
    retain = np.setdiff1d(everything, done)
    attrs = dict(base.attrs, role="sequential", request=k, requests=requests)
    req = Split(chunk, retain, dict(attrs, n_forget=len(chunk)))
    cum = Split(done, retain, dict(attrs, n_forget=len(done), cumulative=True))
    return req, cum


def split_job(base_path, requests: int, k: int, out_request, out_cumulative) -> None:
    base = load_split(base_path)
    req, cum = request_splits(base, requests, k)
    save_split(out_request, req, base.attrs["dataset_fingerprint"])
    save_split(out_cumulative, cum, base.attrs["dataset_fingerprint"])


def summary_job(metric_csvs, out_csv, out_png) -> pd.DataFrame:
    """All requests' metrics -> one CSV and the paper's Fig. 2 kind: FR AUC - FT AUC per request."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = pd.concat([pd.read_csv(p) for p in metric_csvs], ignore_index=True)
    runs["fr_minus_ft"] = runs["fr_auc"] - runs["ft_auc"]
    with atomic_path(out_csv) as tmp:
        runs.to_csv(tmp, index=False)
    settings = list(dict.fromkeys(runs["setting"]))
    fig, axes = plt.subplots(1, len(settings), figsize=(5 * len(settings), 3.5), squeeze=False)
    for ax, s in zip(axes[0], settings):
        sub = runs[runs["setting"] == s].groupby(["method", "request"])["fr_minus_ft"].mean().reset_index()
        for m, g in sub.groupby("method", sort=False):
            ax.plot(g["request"] + 1, g["fr_minus_ft"], marker="o", label=m)
        ax.set_title(s)
        ax.set_xlabel("request")
        ax.set_ylabel("FR AUC - FT AUC (higher is better)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return runs
