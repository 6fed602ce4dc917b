"""Every figure of the workflow (matplotlib, PNG); the only module that draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from .io import atomic_path  # noqa: E402


def _save(fig, path, dpi=110):
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
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
    for ax, (name, d), phi in zip(axes[:, 0], data.items(), phis, strict=True):
        for part, color in (("retain", "#4472c4"), ("test", "#ed7d31"), ("forget", "#70ad47")):
            ax.hist(
                np.clip(phi[d[part]], lo, hi), bins=bins, density=True, histtype="step", lw=1.5, color=color, label=part
            )
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.set_yticks([])
    axes[0, 0].legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("log(p_y / (1 - p_y))")
    _save(fig, out_png)


def gap_bars(agg: pd.DataFrame, settings: list[str], out_png) -> None:
    """Average gap per method (mean ± std over runs), one panel per access setting and forget set."""
    forgets = list(dict.fromkeys(agg["forget"]))
    fig, axes = plt.subplots(
        len(settings), len(forgets), figsize=(4.5 * len(forgets), 3 * len(settings)), squeeze=False
    )
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
    """ROC of the RMIA scores (solid) and LiRA online scores (dashed), D_F (members) against D_T, for each
    model (the FT AUC's curves), on linear axes and on log axes, where the low false positive rates of
    the TPR columns can be read."""
    fig, (lin, log) = plt.subplots(1, 2, figsize=(10, 5))
    floor = 1.0
    for i, (name, path) in enumerate(runs.items()):
        d = np.load(path)
        y = np.r_[np.ones(len(d["forget"])), np.zeros(len(d["test"]))]
        for key, style in (("rmia_score", "-"), ("lira_online_score", "--")):
            if key not in d or np.isnan(d[key]).all():
                continue
            s = d[key]
            fpr, tpr, _ = roc_curve(y, np.r_[s[d["forget"]], s[d["test"]]])
            floor = min(floor, 1.0 / len(d["test"]))
            for ax in (lin, log):
                ax.plot(fpr, tpr, style, lw=1.2, color=f"C{i % 10}", label=name if style == "-" else None)
    for ax in (lin, log):
        ax.plot([floor, 1], [floor, 1], "k:", lw=0.8)
        ax.set_xlabel("false positive rate (D_T)")
        ax.set_ylabel("true positive rate (D_F)")
    log.set_xscale("log")
    log.set_yscale("log")
    log.set_xlim(floor, 1)
    log.set_ylim(floor, 1)
    log.set_title("log axes (TPR at 1% and 0.1% FPR)", fontsize=9)
    lin.set_title("solid: RMIA, dashed: LiRA online", fontsize=9)
    lin.legend(fontsize=7)
    _save(fig, out_png)


def eps_histogram(eps: np.ndarray, eps_init: float, mean_delta: float, out_png) -> None:
    """Samples per final eps of D_A (the paper's Fig. 4): eps_init * 2^k."""
    k = np.rint(np.log2(eps / eps_init)).astype(int)
    ks = np.arange(k.min(), k.max() + 1)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([f"{eps_init * 2.0**i:.3g}" for i in ks], [(k == i).sum() for i in ks], color="#4472c4")
    ax.set_xlabel("final eps (L2) of the adversarial example")
    ax.set_ylabel("samples")
    ax.set_title(f"D_A: {len(eps)} samples, mean ||delta||_2 = {mean_delta:.3f}")
    _save(fig, out_png, dpi=120)


def fr_minus_ft(runs: pd.DataFrame, out_png) -> None:
    """The paper's Fig. 2 kind: FR AUC - FT AUC after each sequential request, per method and setting."""
    settings = list(dict.fromkeys(runs["setting"]))
    fig, axes = plt.subplots(1, len(settings), figsize=(5 * len(settings), 3.5), squeeze=False)
    for ax, s in zip(axes[0], settings, strict=True):
        sub = runs[runs["setting"] == s].groupby(["method", "request"])["fr_minus_ft"].mean().reset_index()
        for m, g in sub.groupby("method", sort=False):
            ax.plot(g["request"] + 1, g["fr_minus_ft"], marker="o", label=m)
        ax.set_title(s)
        ax.set_xlabel("request")
        ax.set_ylabel("FR AUC - FT AUC (higher is better)")
        ax.legend(fontsize=7)
    _save(fig, out_png)


def tuning_curves(grid: pd.DataFrame, selected: pd.DataFrame, out_png) -> None:
    """The tuning grid: average gap to the tuning set's retrain against the learning rate, one panel
    per access setting and forget set, one line per method (and per value of its other grid keys), the
    selected point of each marked with a ring. Points without an lr (e.g. SSD) are drawn at lr 1."""
    lr_of = lambda points: points.str.extract(r"(?:^|_)lr([0-9.e+-]+)(?:_|$)")[0].astype(float).fillna(1.0)  # noqa: E731
    grid = grid.assign(lr=lr_of(grid["point"]))
    selected = selected.assign(lr=lr_of(selected["point"])) if len(selected) else selected
    panels = list(dict.fromkeys(zip(grid["setting"], grid["forget"], strict=True)))
    cmap = plt.get_cmap("tab20")
    color = {m: cmap(i % 20) for i, m in enumerate(sorted(set(grid["method"])))}  # one colour per method
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.8), squeeze=False)
    for ax, (setting, forget) in zip(axes[0], panels, strict=True):
        rows = grid[(grid["setting"] == setting) & (grid["forget"] == forget)]
        for method, g in rows.groupby("method", sort=True):
            others = g["point"].str.replace(r"(?:^|_)lr[0-9.e+-]+(?=_|$)", "", regex=True).str.strip("_")
            for rest, line in g.groupby(others, sort=True):
                line = line.groupby("lr", as_index=False)["avg_gap"].mean().sort_values("lr")
                label = method + (f" {rest}" if rest and others.nunique() > 1 else "")
                ax.plot(line["lr"], line["avg_gap"], marker="o", ms=3, lw=1, label=label, color=color[method])
            chosen = selected[
                (selected["method"] == method) & (selected["setting"] == setting) & (selected["forget"] == forget)
            ]
            for _, c in chosen.iterrows():
                ax.plot([c["lr"]], [c["avg_gap"]], "o", ms=10, mfc="none", mec="black")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("avg. gap to the tuning set's retrain")
        ax.set_title(f"{setting}, {forget} (ring: selected)", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
    _save(fig, out_png)


def epsilon_histograms(rows: dict[str, np.ndarray], n_models: int, out_png) -> None:
    """One panel per epsilon row: the forget examples' epsilon in F's buckets of width 0.5, the last bar
    everything past what N models resolve (ceil(ln(N - 1)))."""
    top = float(np.ceil(np.log(n_models - 1)))
    bins = np.append(np.arange(0, top + 0.25, 0.5), top + 0.5)
    fig, axes = plt.subplots(len(rows), 1, figsize=(6, 1.6 * len(rows) + 0.6), sharex=True, squeeze=False)
    for ax, (name, eps) in zip(axes[:, 0], rows.items(), strict=True):
        ax.hist(np.clip(eps[np.isfinite(eps)], 0, top + 0.25), bins=bins, color="#4472c4")
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    axes[-1, 0].set_xticks(bins[:-1], [f"{b:g}" for b in bins[:-2]] + [f">{top:g}"])
    axes[-1, 0].set_xlabel(f"per-example epsilon (N = {n_models} models of each kind)")
    _save(fig, out_png)
