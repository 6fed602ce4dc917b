"""Hyperparameter selection on the separate tuning forget set (SPEC §3): a grid over the learning
rate and its decay step (and the mask ratio of SalUn variants, and the data mixture of AMUN variants:
the AMUN code's grid tunes amun and advonly side by side) per method, access setting and forget set,
picked by the smallest average gap to the retrained references of the tuning set."""

from __future__ import annotations

import itertools
import math

import pandas as pd

from . import UserError
from .evaluation import add_gaps
from .io import atomic_path
from .methods import REGISTRY

GRID_KEYS = ("lr", "lr_step", "mask_ratio", "mixture")


def tuned_instances(config: dict) -> list[str]:
    t = config["tuning"]
    if not t["enabled"]:
        return []
    names = t["methods"] or list(config["unlearn"]["methods"])
    unknown = [n for n in names if n not in config["unlearn"]["methods"]]
    if unknown:
        raise UserError(f"config key tuning.methods: {unknown} are not in unlearn.methods; tune configured methods only.")
    return names


def applies(key: str, method: str) -> bool:
    """Whether grid key ``key`` is a hyperparameter of registry method ``method``."""
    if key == "mask_ratio":
        return REGISTRY[method].needs_mask
    if key == "mixture":
        return "mixture" in REGISTRY[method].extra
    return True


def grid_points(grid: dict, method: str) -> list[dict]:
    """Every combination of the grid's values that apply to ``method`` (mask_ratio for SalUn variants,
    mixture for AMUN variants)."""
    keys = [k for k in GRID_KEYS if k in grid and applies(k, method)]
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


SHORT = {"lr": "lr", "lr_step": "step", "mask_ratio": "mask", "mixture": "mix"}


def point_id(point: dict) -> str:
    """A path-safe name of a grid point, e.g. lr0.01_step1_mask0.5_mixfull (values never contain '_')."""
    return "_".join(f"{SHORT[k]}{v:g}" if isinstance(v, float) else f"{SHORT[k]}{v}" for k, v in point.items())


def parse_point(pid: str) -> dict:
    out = {}
    for part in pid.split("_"):
        for key, short in SHORT.items():
            val = part[len(short) :]
            if part.startswith(short) and val and val.isalpha() == (key == "mixture"):
                out[key] = val if key == "mixture" else int(val) if key == "lr_step" else float(val)
                break
        else:
            raise ValueError(f"not a grid point id: {pid!r}")
    return out


def select(grid: pd.DataFrame) -> pd.DataFrame:
    """Per (method, setting, forget): the grid point with the smallest mean avg_gap over model seeds
    (ties: the first point in grid order)."""
    mean = grid.groupby(["method", "setting", "forget", "point"], sort=False)["avg_gap"].mean().reset_index()
    mean = mean[mean["avg_gap"].notna()]
    best = mean.loc[mean.groupby(["method", "setting", "forget"], sort=False)["avg_gap"].idxmin()]
    rows = []
    for _, r in best.iterrows():
        rows.append({"method": r["method"], "setting": r["setting"], "forget": r["forget"], "point": r["point"],
                     "avg_gap": r["avg_gap"], **parse_point(r["point"])})  # fmt: skip
    return pd.DataFrame(rows)


def select_job(metric_csvs, mia_column: str, out_grid, out_selected, out_html=None) -> pd.DataFrame:
    """All tuning runs' metrics (+ the tuning set's retrains) -> the grid with gaps and the selection."""
    runs = pd.concat([pd.read_csv(p) for p in metric_csvs], ignore_index=True)
    runs = add_gaps(runs, mia_column)
    grid = runs[runs["method"] != "retrain"].copy()
    chosen = select(grid)
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
                "<h3>Selected</h3>" + chosen.to_html(index=False, float_format="%.3g")
                + "<h3>Average gap of every grid point</h3>" + table.to_html(float_format="%.2f")
            )  # fmt: skip
    return chosen


def selected_hyper(selected_csv, method: str, setting: str, forget: str) -> dict:
    """The selected grid values of one method instance, setting and forget set ({} if not tuned)."""
    sel = pd.read_csv(selected_csv)
    row = sel[(sel["method"] == method) & (sel["setting"] == setting) & (sel["forget"] == forget)]
    if row.empty:
        return {}
    return parse_point(row["point"].iloc[0])
