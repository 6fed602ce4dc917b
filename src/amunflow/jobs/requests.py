"""One page per deletion request (a `list` forget set): which samples, every unlearned checkpoint of
them with its content hash, the audits on exactly those samples, each sample's fate under every
model, and whether the health checks that concern the request held."""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import UserError
from ..gaps import NOT_UNLEARNED
from ..io import atomic_path
from ..tables import html_table, md_table, read_runs
from .inputs import open_bundle, open_split

log = logging.getLogger(__name__)

AUDIT = [
    ("unlearn_acc", "UA"),
    ("retain_acc", "RA"),
    ("test_acc", "TA"),
    ("mis", "MIS"),
    ("ft_auc", "RMIA AUC"),
    ("lira_online_auc", "LiRA AUC"),
    ("avg_gap", "Gap"),
]


def request_job(
    forget: str,
    spec: dict,
    data_path,
    split_path,
    metric_csvs,
    sidecars,
    aggregate_csv,
    health_csv,
    other_forget_sets,
    out_md,
    out_html,
    expect_split=None,
) -> dict:
    """The request page of forget set ``forget``: ``metric_csvs`` are its runs' metrics (unlearned,
    retrain and original), ``sidecars`` the unlearned checkpoints' sidecars, ``other_forget_sets`` the
    experiment's other forget sets (their health rows are left out)."""
    data = open_bundle(data_path)
    split = open_split(split_path, data, expect_split)
    runs = read_runs(metric_csvs)
    runs["_path"] = [str(p) for p in metric_csvs]
    if set(runs["forget"]) != {forget}:
        raise UserError(f"request {forget}: metrics of other forget sets {sorted(set(runs['forget']) - {forget})}.")
    source = np.asarray(data.attrs.get("train_source_index", np.arange(len(data.train_y))))[split.forget]
    classes = [data.classes[c] for c in data.train_y[split.forget]]

    # each sample under each model: the share of its runs that still classify it correctly
    fate = pd.DataFrame({"#": np.arange(1, len(split.forget) + 1), "training index": split.forget,
                         "source index": source, "class": classes})  # fmt: skip
    position = {int(i): k for k, i in enumerate(split.forget)}
    for (method, setting), group in runs.groupby(["method", "setting"], sort=False):
        hits = np.zeros(len(split.forget))
        for csv in group["_path"]:
            arrays = np.load(str(csv).removesuffix(".csv") + ".npz")
            if [position.get(int(i)) for i in arrays["forget"]] != list(range(len(split.forget))):
                raise UserError(f"metrics {csv} were computed on another split than {split_path}; rerun the workflow.")
            hits += arrays["correct"][split.forget]
        label = method if setting == "reference" else f"{method} {setting}"
        fate[label] = hits / len(group)

    checkpoints = []
    for path in sidecars:
        meta = json.loads(Path(path).read_text())
        if meta.get("forget_set") != forget or meta.get("split_hash") != split.hash:
            raise UserError(f"checkpoint sidecar {path} is not of request {forget}'s split; rerun the workflow.")
        checkpoints.append(
            {
                "method": meta["instance"],
                "setting": meta["setting"],
                "model seed": meta["model_seed"],
                "checkpoint": str(path).removesuffix(".json") + ".pt",
                "sha256": meta["content_sha256"],
            }
        )
    agg = pd.read_csv(aggregate_csv)
    agg = agg[agg["forget"] == forget]
    health = pd.read_csv(health_csv)
    # a row that names another forget set is not this request's (scopes are words and paths)
    mine = health[[not set(re.split(r"[\s/]+", str(s))) & set(other_forget_sets) for s in health["scope"]]]
    page = {
        "forget": forget,
        "spec": spec,
        "n": len(split.forget),
        "classes": pd.Series(classes).value_counts().to_dict(),
        "split_hash": split.hash,
    }
    md, htm = render_request(page, agg, checkpoints, fate, mine)
    with atomic_path(out_md) as tmp:
        tmp.write_text(md)
    with atomic_path(out_html) as tmp:
        tmp.write_text(htm)
    log.info("request %s: %d samples, %d checkpoints", forget, len(split.forget), len(checkpoints))
    return {"fate": fate, "checkpoints": checkpoints, "health": mine}


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "–" if np.isnan(v) else f"{v:.2f}"
    return str(v)


def _table(df: pd.DataFrame) -> tuple[list[str], str]:
    heads = [str(c) for c in df.columns]
    rows = [[_fmt(v) for v in r] for r in df.itertuples(index=False)]
    return md_table(heads, rows).split("\n"), html_table(heads, rows, escape=True)


def render_request(page: dict, agg: pd.DataFrame, checkpoints: list, fate: pd.DataFrame, health: pd.DataFrame):
    spec = page["spec"]
    failed = health[health["status"] == "FAIL"]
    verdict = (
        "every health check that concerns this request held"
        if failed.empty
        else f"{len(failed)} health check(s) failed: "
        + "; ".join(f"{r.check} ({r.scope})" for r in failed.itertuples(index=False))
    )
    audit = agg[["method", "setting", "n_runs"] + [f"{c}_mean" for c, _ in AUDIT if f"{c}_mean" in agg]].copy()
    audit.columns = ["method", "setting", "runs"] + [label for c, label in AUDIT if f"{c}_mean" in agg]
    if "unlearned" in agg:
        audit["verdict"] = [NOT_UNLEARNED if u == "no" else "" for u in agg["unlearned"]]
    classes = ", ".join(f"{c} {n}" for c, n in page["classes"].items())
    intro = [
        f"Forget list {spec['path']} (sha256 {spec.get('sha256', '?')}): {page['n']} training images "
        f"({classes}); split hash {page['split_hash']}.",
        f"Health: {verdict}.",
    ]
    sections = [
        ("The audits on exactly these samples (means over runs; the retrain row is the target)", audit),
        ("The unlearned checkpoints", pd.DataFrame(checkpoints)),
        ("Each sample: the share of each model's runs that still classify it correctly (retrain: the target)", fate),
        ("The health checks that concern this request", health),
    ]
    md = [f"# Deletion request {page['forget']}", "", *intro, ""]
    htm = [f"<h1>Deletion request {html.escape(page['forget'])}</h1>"] + [f"<p>{html.escape(t)}</p>" for t in intro]
    for title, df in sections:
        m, h = _table(df)
        md += [f"## {title}", "", *m, ""]
        htm += [f"<h2>{html.escape(title)}</h2>", h]
    return "\n".join(md), "\n".join(htm) + "\n"
