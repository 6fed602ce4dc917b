"""Health checks of a run, read from what it already computed: is this a run whose table means
something? Each check has a value, a bar (the ``health`` config section) and a status, so a reader
sees at once whether, e.g., the original never learned its training set or an unlearning run left the
model as it was (the AMUN repository's only issue is a rerun in which AMUN forgot nothing)."""

from __future__ import annotations

import math

import pandas as pd

from .gaps import PROGRESS_COLUMNS, REFERENCE_ROWS


def _pct(v) -> str:
    return "undefined" if pd.isna(v) else f"{100 * v:.0f}%"


def checks(
    originals: dict,
    retrains: list[dict],
    adversarial: list[dict],
    references: list[dict],
    runs: pd.DataFrame,
    agg: pd.DataFrame,
    bars: dict,
) -> pd.DataFrame:
    """One row per check and scope: (check, scope, value, bar, status, meaning).

    ``originals``: model seed -> the original's sidecar; ``retrains`` / ``references``: sidecars;
    ``adversarial``: D_A summary rows (with their ``scope``); ``runs`` / ``agg``: the metric tables."""
    rows = []

    def add(check, scope, value, bar, ok, meaning):
        status = "info" if ok is None else "ok" if ok else "FAIL"
        rows.append({"check": check, "scope": scope, "value": value, "bar": bar, "status": status, "meaning": meaning})

    train_acc = {m: meta["final_accuracy"].get("train_acc", math.nan) for m, meta in originals.items()}
    for m, acc in train_acc.items():
        add(
            "original memorized its training set",
            f"model seed {m}",
            acc,
            f">= {bars['original_train_acc']}",
            acc >= bars["original_train_acc"],
            "training accuracy (eval mode, no augmentation), %",
        )
    for meta in retrains:
        scope = f"{meta['forget_set']} split {meta['split_seed']} model seed {meta['model_seed']}"
        acc = meta["final_accuracy"]
        gap = abs(acc["forget_acc"] - acc["test_acc"])
        random = str(meta.get("forget_set", "")).startswith("random")
        add(
            "retrain treats D_F as unseen data",
            scope,
            gap,
            f"<= {bars['retrain_ua_ta_gap']}",
            gap <= bars["retrain_ua_ta_gap"] if random else None,
            "|UA - TA| of the retrained model, points (class-wise sets: UA is 0 by design)",
        )
    for summary in adversarial:
        add(
            "D_A rows are adversarial",
            summary["scope"],
            summary["found_share"],
            f">= {bars['adversarial_valid_share']}",
            summary["found_share"] >= bars["adversarial_valid_share"],
            f"share found and valid in fp32 ({summary.get('repaired', 0)} re-attacked)",
        )
        add(
            "D_A found at eps_init",
            summary["scope"],
            summary["share_at_eps_init"],
            f">= {bars['adversarial_share_at_eps_init']}",
            summary["share_at_eps_init"] >= bars["adversarial_share_at_eps_init"],
            "share of D_A within the first radius (the paper's App. E.1 asks 0.95; its Fig. 4 shows less)",
        )
    if references and train_acc:
        ref = sum(r["in_acc"] for r in references) / len(references)
        orig = sum(train_acc.values()) / len(train_acc)
        add(
            "references are trained like the original",
            f"{len(references)} references",
            abs(ref - orig),
            f"<= {bars['reference_train_acc_gap']}",
            abs(ref - orig) <= bars["reference_train_acc_gap"],
            f"|mean IN accuracy of the references ({ref:.2f}) - the original's training accuracy ({orig:.2f})|",
        )
    bar = bars["unlearned_min_closed_share"]
    for _, r in runs[~runs["method"].isin(REFERENCE_ROWS)].iterrows():
        shares = [r.get(c, math.nan) for c in PROGRESS_COLUMNS]
        known = [x for x in shares if not pd.isna(x)]
        closed = max(known) if known else math.nan
        scope = (
            f"{r['method']} {r['setting']} {r['forget']} split {r['split_seed']} seed {r['model_seed']} run {r['run']}"
        )
        add(
            "unlearning changed the model",
            scope,
            closed,
            f">= {bar}",
            None if not known else bool(r["l2_moved"] > 0) and closed >= bar,
            f"share of the original-to-retrain distance closed, the larger of UA ({_pct(shares[0])}) and the "
            f"MIA column ({_pct(shares[1])}); parameters moved by {r['l2_moved']:.3g} in L2",
        )
    for _, a in agg[~agg["method"].isin(REFERENCE_ROWS)].iterrows():
        add(
            "enough runs for a spread",
            f"{a['method']} {a['setting']} {a['forget']}",
            a["n_runs"],
            f">= {bars['min_runs']}",
            a["n_runs"] >= bars["min_runs"],
            "runs per table cell (split seeds x model seeds x runs); with one, no spread or interval",
        )
    return pd.DataFrame(rows, columns=["check", "scope", "value", "bar", "status", "meaning"])


def to_html(table: pd.DataFrame) -> str:
    colors = {"ok": "#d9f2d9", "FAIL": "#f8d0d0", "info": "#eeeeee"}
    failed = int((table["status"] == "FAIL").sum())
    head = (
        f"<p><b>{failed} of {len(table)} checks failed.</b></p>"
        if failed
        else f"<p>All {len(table)} checks passed.</p>"
    )
    cells = "".join(
        f"<tr style='background:{colors[r.status]}'><td>{r.status}</td><td>{r.check}</td><td>{r.scope}</td>"
        f"<td>{r.value:.3g}</td><td>{r.bar}</td><td>{r.meaning}</td></tr>"
        for r in table.itertuples()
    )
    return (
        head
        + "<table><tr><th>status</th><th>check</th><th>scope</th><th>value</th><th>bar</th><th>meaning</th></tr>"
        + cells
        + "</table>\n"
    )
