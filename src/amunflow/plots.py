"""The report's figures (matplotlib, PNG)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from .io import atomic_path  # noqa: E402


def _save(fig, path):
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def logit_confidence(p: np.ndarray) -> np.ndarray:
    """phi = log(p / (1 - p)) of the true-class probability (the paper's Key Observation 1)."""
    p = np.clip(p.astype(np.float64), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def confidence_histograms(runs: dict[str, str], out_png) -> None:
    """One panel per model: logit-scaled confidence on D_R, D_T and D_F."""
    fig, axes = plt.subplots(len(runs), 1, figsize=(7, 1.9 * len(runs)), sharex=True, squeeze=False)
    data = {k: np.load(v) for k, v in runs.items()}
    phis = [logit_confidence(d["confidence"]) for d in data.values()]
    lo, hi = np.percentile(np.concatenate(phis), [0.5, 99.5])
    bins = np.linspace(lo, hi, 60)
    for ax, (name, d), phi in zip(axes[:, 0], data.items(), phis):
        for part, color in (("retain", "#4472c4"), ("test", "#ed7d31"), ("forget", "#70ad47")):
            ax.hist(np.clip(phi[d[part]], lo, hi), bins=bins, density=True, histtype="step", lw=1.5, color=color, label=part)
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.set_yticks([])
    axes[0, 0].legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("log(p_y / (1 - p_y))")
    _save(fig, out_png)


def gap_bars(agg: pd.DataFrame, settings: list[str], out_png) -> None:
    """Average gap per method (mean ± std over runs), one panel per access setting and forget set."""
    forgets = list(dict.fromkeys(agg["forget"]))
    fig, axes = plt.subplots(len(settings), len(forgets), figsize=(4.5 * len(forgets), 3 * len(settings)), squeeze=False)
    for i, s in enumerate(settings):
        for j, f in enumerate(forgets):
            rows = agg[(agg["setting"] == s) & (agg["forget"] == f)].sort_values("avg_gap_mean")
            ax = axes[i, j]
            ax.bar(rows["method"], rows["avg_gap_mean"], yerr=rows["avg_gap_std"], capsize=3, color="#4472c4")
            ax.set_title(f"{s}, {f}", fontsize=9)
            ax.set_ylabel("avg. gap to retrain")
            ax.tick_params(axis="x", rotation=45, labelsize=8)
    _save(fig, out_png)


def ft_roc_curves(runs: dict[str, str], out_png) -> None:
    """ROC of RMIA scores, D_F (members) against D_T, for each model (the FT AUC's curves)."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, path in runs.items():
        d = np.load(path)
        s = d["rmia_score"]
        if np.isnan(s).all():
            continue
        y = np.r_[np.ones(len(d["forget"])), np.zeros(len(d["test"]))]
        fpr, tpr, _ = roc_curve(y, np.r_[s[d["forget"]], s[d["test"]]])
        ax.plot(fpr, tpr, lw=1.2, label=name)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false positive rate (D_T)")
    ax.set_ylabel("true positive rate (D_F)")
    ax.legend(fontsize=7)
    _save(fig, out_png)
