"""The paper's numbers beside a run's: each cell of the run's aggregate next to the paper's Tables 1-2
(FT AUC) or 10-11 (MIS) cell for the same method, access setting and forget share, with the
difference in units of the paper's standard deviation, and the two rankings of the methods by
average gap. When the run's protocol differs from the paper's, the comparison says how, and the
ordering of methods is what to read."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from scipy.stats import kendalltau

PAPER_TABLES = Path(__file__).with_name("paper_tables.csv")
METRICS = ("unlearn_acc", "retain_acc", "test_acc")
PAPER_PROTOCOL = {
    "dataset": "CIFAR-10 (torchvision), 50,000 training and 10,000 test images",
    "model": "ResNet-18 width 64 (block amun)",
    "train": "201 epochs, StepLR(40, 0.1), lr 0.1",
    "augment": "crops padded by 4, flips",
    "runs": "3 model seeds x 3 split seeds x 3 runs",
    "rmia": "128 reference models",
    "tuning": "tuned per method and setting over lr 0.1, 0.05, 0.01, 0.005, 0.001, 1e-4, 1e-5 x lr_step 1, 5, 10",
}
CODE_GRID = {"lr": [0.1, 0.05, 0.01, 0.005, 0.001, 0.0001, 0.00001], "lr_step": [1, 5, 10]}


def load() -> pd.DataFrame:
    return pd.read_csv(PAPER_TABLES, comment="#")


def protocol_differences(config: dict) -> list[str]:
    """How a (validated) config differs from the paper's protocol, one phrase each (none: the paper's)."""
    d, m, t = config["dataset"], config["model"], config["train"]
    out = []
    if d["name"] != "cifar10" or d["subset"] or d["test_subset"]:
        sub = f", {d['subset']} training images" if d["subset"] else ""
        tsub = f", {d['test_subset']} test images" if d["test_subset"] else ""
        out.append(f"dataset {d['name']}{sub}{tsub} (paper: {PAPER_PROTOCOL['dataset']})")
    if m["arch"] != "resnet18" or m["width"] != 64 or m["block"] != "amun":
        out.append(f"model {m['arch']} width {m['width']} (paper: {PAPER_PROTOCOL['model']})")
    if t["epochs"] != 201 or t["schedule"] != "step" or t["lr_step"] != 40 or t["lr"] != 0.1:
        out.append(
            f"training {t['epochs']} epochs, {t['schedule']} schedule, lr {t['lr']} (paper: {PAPER_PROTOCOL['train']})"
        )
    aug = t["augment"]
    if aug != {"crop_padding": 4, "flip": True}:
        flips = "flips" if aug["flip"] else "no flips"
        out.append(f"crops padded by {aug['crop_padding']}, {flips} (paper: {PAPER_PROTOCOL['augment']})")
    if t["even_batches"]:
        out.append("training batches of equal size (paper: full batches and a remainder)")
    n = (len(config["model_seeds"]), len(config["split_seeds"]), len(config["unlearn"]["runs"]))
    if n != (3, 3, 3):
        out.append(f"{n[0]} model seed(s) x {n[1]} split seed(s) x {n[2]} run(s) (paper: {PAPER_PROTOCOL['runs']})")
    if config["rmia"]["enabled"] and config["rmia"]["num_references"] != 128:
        out.append(f"{config['rmia']['num_references']} RMIA reference models (paper: {PAPER_PROTOCOL['rmia']})")
    tuning = config["tuning"]
    if not tuning["enabled"]:
        out.append(f"not tuned: the methods run at their configured values (paper: {PAPER_PROTOCOL['tuning']})")
    else:
        grids = [tuning["grid"]] + [
            {k: v for k, v in g.items() if not isinstance(v, dict)} | s
            for g in tuning["grids"].values()
            for s in [{}] + [v for v in g.values() if isinstance(v, dict)]
        ]
        if any(set(g.get(k, CODE_GRID[k])) != set(CODE_GRID[k]) for g in grids for k in CODE_GRID):
            out.append(f"tuned over a narrower grid (tuning.grids) (paper: {PAPER_PROTOCOL['tuning']})")
    return out


def compare(agg: pd.DataFrame, mia_column: str, fractions: dict, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per run cell that has a paper counterpart: (setting, forget, method, metric, run, paper,
    paper_std, diff, z, flag). ``fractions`` maps each forget set to its share of the training set
    (None for class-wise sets, which the paper does not report)."""
    paper = load() if paper is None else paper
    paper = paper[paper["mia_column"] == mia_column]
    rows = []
    for _, a in agg.iterrows():
        frac = fractions.get(a["forget"])
        if frac is None:
            continue
        setting = "with_retain" if a["method"] == "retrain" else a["setting"]
        name = a["method"] if a["method"] in set(paper["method"]) else a["base_method"]
        ref = paper[
            (paper["setting"] == setting) & (paper["method"] == name) & ((paper["fraction"] - frac).abs() < 0.01)
        ]
        for metric in (*METRICS, mia_column, "avg_gap"):
            cell = ref[ref["metric"] == metric]
            if cell.empty or f"{metric}_mean" not in a:
                continue
            mean, std = float(cell["mean"].iloc[0]), float(cell["std"].iloc[0])
            diff = a[f"{metric}_mean"] - mean
            z = diff / std if std and not math.isnan(std) else math.nan
            flag = "" if math.isnan(z) or abs(z) <= 1 else "*" if abs(z) <= 2 else "**"
            rows.append(
                {
                    "setting": a["setting"],
                    "forget": a["forget"],
                    "method": a["method"],
                    "metric": metric,
                    "run": a[f"{metric}_mean"],
                    "paper": mean,
                    "paper_std": std,
                    "diff": diff,
                    "z": z,
                    "flag": flag,
                }
            )
    return pd.DataFrame(
        rows, columns=["setting", "forget", "method", "metric", "run", "paper", "paper_std", "diff", "z", "flag"]
    )


def rankings(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting and forget set: the methods ordered by the run's and by the paper's average gap, and
    Kendall's tau between the two orders."""
    out = []
    gaps = table[(table["metric"] == "avg_gap") & (table["method"] != "retrain")]
    for (setting, forget), g in gaps.groupby(["setting", "forget"], sort=False):
        tau = kendalltau(g["run"], g["paper"]).statistic if len(g) > 2 else math.nan
        out.append(
            {
                "setting": setting,
                "forget": forget,
                "run_order": " < ".join(g.sort_values("run")["method"]),
                "paper_order": " < ".join(g.sort_values("paper")["method"]),
                "kendall_tau": tau,
            }
        )
    return pd.DataFrame(out)


NOTE = (
    "diff = run - paper; z = diff / the paper's std (none where the paper prints no std); * |z| > 1, ** |z| > 2. "
    "Orders: methods by average gap, lowest first; Kendall's tau 1 means the same order."
)


def render(table: pd.DataFrame, ranks: pd.DataFrame, differences: list[str], tables: str, kind: str) -> str:
    title = f"The run beside the paper's Tables {tables}"
    title += (
        (": the run's protocol differs (" + "; ".join(differences) + "), so read the orders of methods, not the values")
        if differences
        else ": the paper's protocol"
    )
    show = table.assign(
        **{
            c: table[c].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
            for c in ("run", "paper", "paper_std", "diff", "z")
        }
    )
    if kind == "md":
        lines = [
            f"**{title}**",
            "",
            "| setting | forget | method | metric | run | paper | paper std | diff | z | |",
            "|" + "---|" * 10,
        ]
        lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in show.itertuples(index=False)]
        lines += ["", "| setting | forget | run's order | paper's order | Kendall's tau |", "|---|---|---|---|---|"]
        lines += [
            f"| {r.setting} | {r.forget} | {r.run_order} | {r.paper_order} | {r.kendall_tau:.2f} |"
            for r in ranks.itertuples()
        ]
        return "\n".join(lines + ["", NOTE]) + "\n"
    return (
        f"<h3>{title}</h3>"
        + show.to_html(index=False)
        + ranks.to_html(index=False, float_format="%.2f")
        + f"<p>{NOTE}</p>\n"
    )
