"""From every run's metric row (with its gaps, :mod:`amunflow.gaps`) to the paper's tables: mean ±
std over runs, the verdicts, the paper's layout (Markdown, LaTeX, HTML), the ranking and the cost
table."""

from __future__ import annotations

import csv
import html
import io
import math
import re
from pathlib import Path

import pandas as pd

from . import UserError
from .audits import ID_COLUMNS, METRIC_COLUMNS
from .gaps import NOT_UNLEARNED, PROGRESS_COLUMNS, verdict
from .io import atomic_path, verify_csv

TABLE_COLUMNS = [("unlearn_acc", "UA"), ("retain_acc", "RA"), ("test_acc", "TA")]
IDENTITY = ["method", "setting", "forget", "split_seed", "model_seed", "run"]


def md_table(heads, rows) -> str:
    """A Markdown table of string cells."""
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def html_table(heads, rows, escape: bool = False) -> str:
    """An HTML table of string cells (``escape``: HTML-escape them, for text from the user's files)."""
    esc = html.escape if escape else str
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr>"
    return (
        f"<table>{head}"
        + "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows)
        + "</table>"
    )


def write_table(heads, rows, note: str, out_md, out_html) -> None:
    """One table as Markdown and as HTML, each followed by ``note``."""
    with atomic_path(out_md) as tmp:
        tmp.write_text(md_table(heads, rows) + "\n\n" + note + "\n")
    with atomic_path(out_html) as tmp:
        tmp.write_text(html_table(heads, rows) + f"\n<p>{note}</p>\n")


def read_runs(paths) -> pd.DataFrame:
    """Every run's metric row, one file each, checked: a file that is not one complete header and one
    complete row (empty, truncated, a field short), whose checksum column does not match the rest (a
    digit changed), that lacks an identity or metric column, or that repeats another file's run is
    refused with its name, since a dropped or altered row would silently change every table."""
    frames, seen = [], {}
    for path in paths:
        try:
            text = verify_csv(open(path, encoding="utf-8").read(), path)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise UserError(
                f"metrics file {path} cannot be used ({e}); delete it and rerun the workflow to recompute it."
            ) from None
        rows = list(csv.reader(text.split("\n")[:-1]))  # verify_csv's text ends with its newline
        if len(rows) != 2 or len(rows[0]) != len(rows[1]):
            raise UserError(
                f"metrics file {path} is damaged (not one complete header and row: truncated or edited); delete "
                "it and rerun the workflow to recompute it."
            )
        frame = pd.read_csv(io.StringIO(text))
        missing = [c for c in ID_COLUMNS + METRIC_COLUMNS if c not in frame]
        if missing or frame[IDENTITY].isna().any(axis=None):
            raise UserError(
                f"metrics file {path} lacks {missing or 'its identity'}; it was written by other code or edited: "
                "delete it and rerun the workflow to recompute it."
            )
        _check_place(path, frame.iloc[0])
        key = tuple(frame[IDENTITY + [c for c in ("point", "request") if c in frame]].iloc[0])
        if key in seen:
            raise UserError(f"metrics files {seen[key]} and {path} hold the same run {key}; one is stale: delete it.")
        seen[key] = path
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


_PLACE = re.compile(
    r"(?P<method>[^/]+)/(?P<setting>[^/]+)/(?P<forget>[^/]+)/split(?P<split_seed>\d+)/seed(?P<model_seed>\d+)/"
    r"run(?P<run>\d+)\.csv$"
)


def _check_place(path, row) -> None:
    """A metrics file at the workflow's place for one run must hold that run (not a copy of another's)."""
    m = _PLACE.search(Path(path).as_posix())
    if m is None:
        return
    wrong = [k for k, v in m.groupdict().items() if str(row[k]) != v]
    if wrong:
        found = ", ".join(f"{k} {row[k]}" for k in wrong)
        raise UserError(
            f"metrics file {path} holds another run ({found}) than its place says; it was copied or moved: delete "
            "it and rerun the workflow to recompute it."
        )


def aggregate(runs: pd.DataFrame, unlearned_bar: float | None = None) -> pd.DataFrame:
    """Mean and std (ddof=1; NaN for a single run: one run measures no spread) over split seeds, model
    seeds and runs; with ``unlearned_bar``, the verdict column ``unlearned`` (:func:`verdict`)."""
    cols = METRIC_COLUMNS + ["avg_gap"] + [c for c in PROGRESS_COLUMNS if c in runs]
    g = runs.groupby(["method", "base_method", "setting", "forget"], sort=False)[cols]
    mean, std = g.mean().add_suffix("_mean"), g.std(ddof=1).add_suffix("_std")
    out = pd.concat([mean, std], axis=1)
    out["n_runs"] = g.size()
    out = out.reset_index()
    if unlearned_bar is not None:
        out["unlearned"] = [verdict(r, unlearned_bar) for _, r in out.iterrows()]
    return out


def method_label(method: str, unlearned: str) -> str:
    return f"{method} ({NOT_UNLEARNED})" if unlearned == "no" else method


def table_cells(agg: pd.DataFrame, mia_column: str, setting: str):
    """The paper's layout for one access setting: (forget sets, column labels, rows), each row
    (method, [(mean, std, bold) or None per forget set and column], n runs per cell); Retrain first;
    the lowest gap among the methods of each forget set is bold. std is NaN for a single run."""
    mia_label = {"ft_auc": "FT AUC", "mis": "MIS"}.get(mia_column, mia_column)
    cols = TABLE_COLUMNS + [(mia_column, mia_label), ("avg_gap", "Gap")]
    forgets = list(dict.fromkeys(agg["forget"]))
    rows = agg[(agg["setting"] == setting) | (agg["method"] == "retrain")]
    methods = ["retrain"] + [m for m in dict.fromkeys(rows["method"]) if m != "retrain"]
    best = {}
    for f in forgets:
        cand = rows[(rows["forget"] == f) & (rows["method"] != "retrain")].dropna(subset=["avg_gap_mean"])
        if len(cand):
            best[f] = cand.loc[cand["avg_gap_mean"].idxmin(), "method"]
    body = []
    for m in methods:
        cells = []
        for f in forgets:
            r = rows[(rows["method"] == m) & (rows["forget"] == f)]
            for c, _ in cols:
                if not len(r) or pd.isna(r[f"{c}_mean"].iloc[0]):
                    cells.append(None)
                    continue
                ci = (
                    (r[f"{c}_ci_lo"].iloc[0], r[f"{c}_ci_hi"].iloc[0]) if c == "avg_gap" and f"{c}_ci_lo" in r else None
                )
                cells.append((r[f"{c}_mean"].iloc[0], r[f"{c}_std"].iloc[0], c == "avg_gap" and best.get(f) == m, ci))
        ns = sorted({int(n) for n in rows.loc[rows["method"] == m, "n_runs"]})
        verdicts = set(rows.loc[rows["method"] == m, "unlearned"].fillna("")) if "unlearned" in rows else set()
        body.append((method_label(m, "no" if "no" in verdicts else ""), cells, "/".join(map(str, ns))))
    return forgets, [lab for _, lab in cols], body


TABLE_NOTE = (
    "Cells: mean ± std (ddof 1) over the n runs of a cell (split seeds x model seeds x runs); "
    "a single run shows its value alone. Gap [a, b]: the bootstrap interval of the mean gap "
    "(ranking.md gives each method's probability of the lowest gap). "
    f"'{NOT_UNLEARNED}': the method's cell closed less than the bar (health.unlearned_min_closed_share) "
    "of the distance from the original to the retrained model on UA and on the MIA column alike."
)


def render_table(forgets, labels, body, kind: str) -> str:
    """Markdown, LaTeX (booktabs) or HTML text of :func:`table_cells`' output."""
    heads = [f"{f} {lab}" for f in forgets for lab in labels] + ["n"]

    def fmt(cell, bold_open, bold_close, pm):
        if cell is None:
            return "–"
        mu, sd, bold, ci = cell
        text = f"{mu:.2f}" if pd.isna(sd) else f"{mu:.2f}{pm}{sd:.2f}"
        if ci is not None and not pd.isna(ci[0]):
            text += f" [{ci[0]:.2f}, {ci[1]:.2f}]"
        return f"{bold_open}{text}{bold_close}" if bold else text

    if kind == "md":
        lines = ["| method | " + " | ".join(heads) + " |", "|" + "---|" * (1 + len(heads))]
        lines += [
            f"| {m} | " + " | ".join(fmt(c, "**", "**", "±") for c in cells) + f" | {n} |" for m, cells, n in body
        ]
        lines += ["", TABLE_NOTE]
    elif kind == "tex":
        k = len(labels)
        lines = [
            "\\begin{tabular}{l" + "r" * len(heads) + "}",
            "\\toprule",
            " & " + " & ".join(f"\\multicolumn{{{k}}}{{c}}{{{f}}}" for f in forgets) + " & \\\\",
            "method & " + " & ".join(lab for _ in forgets for lab in labels) + " & n \\\\",
            "\\midrule",
        ]
        lines += [
            m.replace("_", "\\_")
            + " & "
            + " & ".join(fmt(c, "\\textbf{", "}", "$\\pm$") for c in cells)
            + f" & {n} \\\\"
            for m, cells, n in body
        ]
        lines += ["\\bottomrule", "\\end{tabular}"]
    elif kind == "html":
        lines = ["<table>", "<tr><th>method</th>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"]
        lines += [
            f"<tr><td>{m}</td>"
            + "".join(f"<td>{fmt(c, '<b>', '</b>', '±')}</td>" for c in cells)
            + f"<td>{n}</td></tr>"
            for m, cells, n in body
        ]
        lines += ["</table>", f"<p>{TABLE_NOTE}</p>"]
    else:
        raise ValueError(kind)
    return "\n".join(lines) + "\n"


COST_COLUMNS = [
    ("work_vs_retrain", "work ÷ retrain"),
    ("sample_steps_vs_retrain", "SGD sample-steps ÷ retrain"),
    ("extra_grad_evals", "other grad. evals"),
    ("cpu_time_vs_retrain", "CPU time ÷ retrain"),
    ("wall_time_vs_retrain", "wall time ÷ retrain (load-dependent)"),
]
COST_NOTE = (
    "work = SGD sample-steps + other forward+backward passes per sample (building the run's D_A rows, "
    "the saliency pass, BS's FGSM), as a multiple of the retrained reference's sample-steps: the same "
    "on any machine and under any load. CPU time counts all threads of the job; wall time also moves "
    "with whatever else ran on the machine. Means over the cell's runs."
)


def cost_table(agg: pd.DataFrame) -> pd.DataFrame:
    """One row per method, setting and forget set: the cost columns' means, work first."""
    out = agg[["method", "setting", "forget", "n_runs"]].copy()
    for c, label in COST_COLUMNS:
        out[label] = agg[f"{c}_mean"]
    return out


def render_cost(table: pd.DataFrame, kind: str) -> str:
    def fmt(v):
        return "–" if pd.isna(v) else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"

    cols = list(table.columns)
    rows = [[str(v) if i < 4 else fmt(v) for i, v in enumerate(r)] for r in table.itertuples(index=False)]
    if kind == "md":
        return md_table(cols, rows) + "\n\n" + COST_NOTE + "\n"
    return html_table(cols, rows) + f"\n<p>{COST_NOTE}</p>\n"


RANKING_NOTE = (
    "Average gap to retraining per method, its bootstrap interval, and P(lowest): the share of "
    "bootstrap samples (split and model seeds, then runs within them, drawn with replacement; the "
    "same draw for every method) in which the method has the smallest mean gap. Overlapping "
    "intervals and P(lowest) well below 1 mean the data do not single out a best method. Closed: the "
    "share of the distance from the original to the retrained model the method covered on UA and on "
    f"the MIA column (100% = at the retrain, above 100% = past it); '{NOT_UNLEARNED}' where both are "
    "below the bar (health.unlearned_min_closed_share)."
)


def _pct(v) -> str:
    return "–" if pd.isna(v) else f"{100 * v:.0f}%"


def render_ranking(ranking: pd.DataFrame, level: float, kind: str) -> str:
    """The ranking table (Markdown or HTML): per access setting and forget set, methods by mean gap,
    with the share of the original-to-retrain distance each closed and the verdict when the ranking
    carries them (``ua_closed``, ``mia_closed``, ``unlearned``: :func:`rank_with_verdicts`)."""
    if ranking.empty:
        return "No ranking: no access setting has two methods.\n"
    blocks = []
    for (setting, forget), g in ranking.groupby(["setting", "forget"], sort=False):
        g = g.sort_values("avg_gap")
        rows = [
            (method_label(r.method, getattr(r, "unlearned", "")), f"{r.avg_gap:.2f}",
             "–" if pd.isna(r.ci_lo) else f"[{r.ci_lo:.2f}, {r.ci_hi:.2f}]",
             "–" if pd.isna(r.p_lowest_gap) else f"{r.p_lowest_gap:.2f}",
             _pct(getattr(r, "ua_closed", math.nan)), _pct(getattr(r, "mia_closed", math.nan)))
            for r in g.itertuples()
        ]  # fmt: skip
        head = ("method", "gap", f"{level:.0%} interval", "P(lowest)", "closed: UA", "closed: MIA")
        if kind == "md":
            blocks.append(f"**{setting}, {forget}**\n\n" + md_table(head, rows))
        else:
            blocks.append(f"<h4>{setting}, {forget}</h4>" + html_table(head, rows))
    sep = "\n\n" if kind == "md" else "\n"
    note = RANKING_NOTE if kind == "md" else f"<p>{RANKING_NOTE}</p>"
    return sep.join(blocks) + sep + note + "\n"


def rank_with_verdicts(ranking: pd.DataFrame, agg: pd.DataFrame) -> pd.DataFrame:
    """The bootstrap's ranking with each cell's mean closed shares and verdict from the aggregate."""
    if ranking.empty:
        return ranking
    keep = ["method", "setting", "forget"] + [c for c in ("ua_closed_mean", "mia_closed_mean", "unlearned") if c in agg]
    extra = agg[keep].rename(columns={"ua_closed_mean": "ua_closed", "mia_closed_mean": "mia_closed"})
    return ranking.merge(extra, on=["method", "setting", "forget"], how="left")


AUDIT_COLUMNS = [
    ("ft_auc", "RMIA AUC"),
    ("ft_tpr_at_1", "RMIA TPR@1%"),
    ("lira_online_auc", "LiRA AUC"),
    ("lira_online_tpr_at_1", "LiRA TPR@1%"),
    ("lira_offline_auc", "LiRA off. AUC"),
    ("js_to_retrain", "JS to retrain"),
    ("act_dist_to_retrain", "act. dist."),
    ("class_acc_gap", "class acc. gap"),
    ("relearn_epochs", "relearn epochs"),
    ("rf_jsd", "RF-JSD"),
]
AUDITS_NOTE = (
    "The audits beyond the paper's table, means over the cell's runs: RMIA and LiRA (online, offline) "
    "with D_F as members against D_T (AUC, and TPR at 1% FPR), the JS divergence and activation "
    "distance of the softmax outputs on D_F to the retrained model's, the mean |per-class test "
    "accuracy - the retrain's| (points), the epochs of fine-tuning on D_F until the original's "
    "forget accuracy is back, and LoTUS's retrain-free JS divergence (RF-JSD: the per-class mean outputs "
    "on D_F against the original's on D_T; needs no retrain, lower is better). The retrain row is the "
    "target of every column."
)


def render_audits(agg: pd.DataFrame, kind: str) -> str:
    """One block per forget set: every method and setting with the audit columns (Markdown or HTML)."""
    heads = ["method", "setting", "n"] + [label for _, label in AUDIT_COLUMNS]
    blocks = []
    for forget, g in agg.groupby("forget", sort=False):
        g = pd.concat([g[g["method"] == "retrain"], g[g["method"] != "retrain"]])
        rows = [
            [r["method"], r["setting"], str(int(r["n_runs"]))]
            + ["–" if pd.isna(r[f"{c}_mean"]) else f"{r[f'{c}_mean']:.3g}" if c.endswith(("retrain", "epochs", "jsd"))
               else f"{r[f'{c}_mean']:.2f}" for c, _ in AUDIT_COLUMNS]
            for _, r in g.iterrows()
        ]  # fmt: skip
        if kind == "md":
            blocks.append(f"**{forget}**\n\n" + md_table(heads, rows))
        else:
            blocks.append(f"<h4>{forget}</h4>" + html_table(heads, rows))
    sep = "\n\n" if kind == "md" else "\n"
    return sep.join(blocks) + sep + (AUDITS_NOTE if kind == "md" else f"<p>{AUDITS_NOTE}</p>") + "\n"
