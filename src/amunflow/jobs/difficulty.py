"""Per-example difficulty: every run's forget set split into groups by each sample's distance to the
original's decision boundary (its eps in D_A) and by its memorization score (the RMIA reference models'
accuracy on it when IN minus when OUT), with UA and the MIA AUCs (the group as members vs D_T) per group."""

from __future__ import annotations

import logging

import h5py
import numpy as np
import pandas as pd

from .. import UserError
from ..io import atomic_path, file_hash
from ..metrics import auc_of
from ..tables import html_table, md_table, read_runs
from .inputs import open_bundle, open_memorization

log = logging.getLogger(__name__)

SCORES = {"rmia_score": "rmia_auc", "lira_online_score": "lira_online_auc"}


def read_eps(path, original) -> dict[int, float]:
    """{training index: eps} of a D_A file, refused unless it was built from ``original``."""
    try:
        with h5py.File(path, "r") as f:
            index, eps, made_from = f["index"][()], f["eps"][()], f.attrs.get("checkpoint_hash")
    except (OSError, KeyError) as e:
        raise UserError(f"adversarial set {path} is missing or unreadable ({e}); delete it and rerun.") from e
    if made_from != file_hash(original):
        raise UserError(f"adversarial set {path} was not built from {original}; delete it and rerun the workflow.")
    return dict(zip(index.tolist(), eps.tolist(), strict=True))


def groups(values: np.ndarray, bins: int, name: str) -> pd.Series:
    """Quantile bins of ``values`` (as many of ``bins`` as distinct values allow), labelled by range."""
    cut = pd.qcut(values, bins, duplicates="drop")
    if len(cut.categories) < 2:
        return pd.Series([f"{name} all"] * len(values))
    return pd.Series([f"{name} [{c.left:.3g}, {c.right:.3g}]" for c in cut])


def read_challenge(path) -> dict[int, float]:
    """{training index: the challenge's epsilon} of an epsilon row's per-example file."""
    try:
        table = pd.read_csv(path)
        return dict(zip(table["index"].astype(int).tolist(), table["eps"].astype(float).tolist(), strict=True))
    except (OSError, KeyError, ValueError) as e:
        raise UserError(f"per-example epsilon file {path} is missing or damaged ({e}); delete it and rerun.") from e


def difficulty_job(
    metric_csvs,
    data_path,
    ref_logits,
    keep_path,
    eps_inputs: dict,
    challenge: dict,
    bins: int,
    out_csv,
    out_md,
    out_html,
):
    """One row per run, grouping and group; the Markdown / HTML table averages the runs of a method.
    ``eps_inputs`` maps "forget/split_seed/model_seed" to (D_A path, original checkpoint); ``challenge``
    "method/setting/forget/split_seed/model_seed" to the epsilon stage's per-example file, whose median
    over a group goes in the runs of that method, setting and unit."""
    data = open_bundle(data_path)
    mem = None
    if ref_logits:
        mem = open_memorization(ref_logits, keep_path, data)[0]
    eps_cache, rows = {}, []
    for csv, (_, ident) in zip(metric_csvs, read_runs(metric_csvs).iterrows(), strict=True):
        arrays = np.load(str(csv).removesuffix(".csv") + ".npz")
        if "forget" not in arrays:  # a diverged tuning point has no arrays
            continue
        forget, test = arrays["forget"], arrays["test"]
        by = {}
        key = f"{ident['forget']}/{ident['split_seed']}/{ident['model_seed']}"
        if key in eps_inputs:
            if key not in eps_cache:
                eps_cache[key] = read_eps(*eps_inputs[key])
            eps = eps_cache[key]
            missing = [i for i in forget if int(i) not in eps]
            if missing:
                raise UserError(
                    f"adversarial set {eps_inputs[key][0]} has no row for forget sample {missing[0]}; rerun."
                )
            by["eps"] = groups(np.array([eps[int(i)] for i in forget]), bins, "eps")
        if mem is not None:
            by["memorization"] = groups(mem[forget], bins, "mem")
        ckey = f"{ident['method']}/{ident['setting']}/{key}"
        if ckey in challenge and not isinstance(challenge[ckey], dict):
            challenge[ckey] = read_challenge(challenge[ckey])
        ceps = challenge.get(ckey)
        if ceps is not None and set(ceps) != set(forget.tolist()):
            raise UserError(f"the per-example epsilon of {ckey} is not on this run's forget set; rerun the workflow.")
        for grouping, labels in by.items():
            for label in dict.fromkeys(labels):
                idx = forget[(labels == label).to_numpy()]
                row = {k: ident[k] for k in ("method", "setting", "forget", "split_seed", "model_seed", "run")}
                row.update(grouping=grouping, group=label, n=len(idx), ua=100 * float(arrays["correct"][idx].mean()))
                row["challenge_eps"] = np.nan if ceps is None else float(np.median([ceps[int(i)] for i in idx]))
                for arr, col in SCORES.items():
                    s = arrays[arr] if arr in arrays else np.full(1, np.nan)
                    row[col] = np.nan if np.isnan(s).all() else 100 * auc_of(s[idx], s[test])
                rows.append(row)
    table = with_retrain_gap(pd.DataFrame(rows))
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    md, html = render_difficulty(table)
    with atomic_path(out_md) as tmp:
        tmp.write_text(md)
    with atomic_path(out_html) as tmp:
        tmp.write_text(html)
    return table


UNIT = ["forget", "split_seed", "model_seed", "grouping", "group"]


def with_retrain_gap(table: pd.DataFrame) -> pd.DataFrame:
    """``ua_gap``: |UA - the retrained reference's UA| on the same group of the same forget set and
    model (NaN without a retrain row there): whether a method closed the gap where D_F is hard."""
    if table.empty:
        return table.assign(ua_gap=[])
    ref = table[table["method"] == "retrain"].groupby(UNIT)["ua"].mean().rename("retrain_ua")
    table = table.join(ref, on=UNIT)
    table["ua_gap"] = (table["ua"] - table.pop("retrain_ua")).abs()
    return table


DIFFICULTY_NOTE = (
    "D_F split into quantile groups by each sample's eps in D_A (the L2 radius at which the original's "
    "prediction first flipped: small = near the decision boundary) and by its memorization score (the "
    "reference models' accuracy on it when in their training half minus when not). Per group: UA, its "
    "gap to the retrained reference's UA on the same group (UA gap; 0 for the retrain itself), and "
    "the RMIA and LiRA (online) AUCs with the group as members against D_T; means over the runs. With "
    "the epsilon stage on, the group's median per-example epsilon of the unlearning challenge (tables/epsilon.md)."
)


def render_difficulty(table: pd.DataFrame) -> tuple[str, str]:
    if table.empty:
        return "No groups (no D_A and no reference models).\n", "<p>No groups.</p>\n"
    keys = ["forget", "grouping", "group", "method", "setting"]
    cols = ["n", "ua", "ua_gap", "rmia_auc", "lira_online_auc"] + (
        ["challenge_eps"] if table["challenge_eps"].notna().any() else []
    )
    agg = table.groupby(keys, sort=False)[cols].mean().reset_index()
    agg["n"] = agg["n"].round().astype(int).astype(str)
    heads = ["forget set", "grouping", "group", "method", "setting", "n", "UA", "UA gap", "RMIA AUC", "LiRA AUC"]
    heads += ["challenge eps (median)"] if "challenge_eps" in cols else []

    def fmt(v):
        return v if isinstance(v, str) else ("–" if pd.isna(v) else f"{v:.1f}")

    body = [[fmt(v) for v in r] for r in agg.itertuples(index=False)]
    md = md_table(heads, body) + "\n\n" + DIFFICULTY_NOTE + "\n"
    return md, html_table(heads, body) + f"\n<p>{DIFFICULTY_NOTE}</p>\n"
