"""Jobs of the evaluation stage: RMIA reference models, per-run metrics, aggregation into the
paper's tables, and the plots of the report."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import torch

from . import UserError
from .data import ImageData, load_bundle
from .io import atomic_path, load_checkpoint, load_model, save_checkpoint, stable_hash
from .metrics import avg_gap, keep_matrix, mis, param_distance, rmia_aucs, rmia_scores, taylor_soft_margin
from .metrics import true_class_confidence
from .models import build_model, to_device
from .splits import load_split
from .train import TrainConfig, pick_device, predict_logits, train

log = logging.getLogger(__name__)
ID_COLUMNS = ["method", "base_method", "setting", "forget", "split_seed", "model_seed", "run"]
METRIC_COLUMNS = [
    "unlearn_acc", "retain_acc", "test_acc", "mis", "ft_auc", "fr_auc", "rt_auc", "l2_to_retrain",
    # cost, in work first (the same on any machine and under any load), then CPU and wall time (both
    # measured; wall time moves with whatever else the machine is doing)
    "sample_steps", "extra_grad_evals", "work_vs_retrain", "sample_steps_vs_retrain",
    "cpu_time_s", "cpu_time_vs_retrain", "wall_time_s", "wall_time_vs_retrain",
]  # fmt: skip
REFERENCE_KINDS = ("original", "retrain", "reference")


def population(data: ImageData) -> tuple[np.ndarray, np.ndarray]:
    """RMIA's population P: the training images followed by the test images."""
    return np.concatenate([data.train_x, data.test_x]), np.concatenate([data.train_y, data.test_y])


def save_array(path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, arr)


# --------------------------------------------------------------------------- reference models


def keep_job(data_path, k: int, seed: int, out_path) -> None:
    data = load_bundle(data_path)
    save_array(out_path, keep_matrix(k, len(data.train_y) + len(data.test_y), seed))


def reference_job(
    data_path, keep_path, k: int, model_cfg, train_cfg, seed, device, out_model, out_logits, progress_file=None
) -> dict:
    """Train reference model k on its IN half of the population; save it and its logits on all of P."""
    data = load_bundle(data_path)
    keep = np.load(keep_path)
    x, y = population(data)
    if keep.shape[1] != len(y):
        raise UserError(f"keep matrix {keep_path} covers {keep.shape[1]} points, not {len(y)}; delete it and rerun.")
    cfg = TrainConfig.from_config(train_cfg)
    dev = pick_device(device)
    torch.manual_seed(seed)
    model = to_device(build_model(model_cfg, data.num_classes, data.image_size), dev, cfg.channels_last)
    inside = np.flatnonzero(keep[k])
    res = train(model, x[inside], y[inside], cfg, seed, dev, progress_file=progress_file)
    # scored in fp32 whatever the training precision, as every target model is (evaluate_job): a bf16
    # reference signal would differ from an fp32 one by float rounding alone
    logits = predict_logits(model, torch.as_tensor(x), dev, cfg.eval_batch_size, "fp32", cfg.channels_last)
    save_array(out_logits, logits.numpy().astype(np.float32))
    meta = dict(
        kind="reference", index=k, seed=seed, model=model_cfg, train=train_cfg, num_classes=data.num_classes,
        image_size=data.image_size, n_train=len(inside), dataset_fingerprint=data.fingerprint(),
        config_hash=stable_hash({"model": model_cfg, "train": train_cfg, "seed": seed, "k": k}),
        wall_time_s=res.wall_time_s, cpu_time_s=res.cpu_time_s, sample_steps=res.sample_steps,
        in_acc=float((logits[inside].argmax(1).numpy() == y[inside]).mean() * 100),
    )  # fmt: skip
    save_checkpoint(out_model, model, meta)
    log.info("reference %d: %d IN points, %.0f s, IN accuracy %.2f", k, len(inside), res.wall_time_s, meta["in_acc"])
    return meta


# --------------------------------------------------------------------------- one run's metrics


def evaluate_job(
    ckpt_path, data_path, split_path, retrain_path, ref_logit_paths, ident: dict, rmia_cfg: dict, mis_cfg: dict,
    device, out_csv, out_npz,
) -> dict:  # fmt: skip
    data = load_bundle(data_path)
    split = load_split(split_path, data.fingerprint())
    dev = pick_device(device)
    model, meta = load_model(ckpt_path, dev)
    if meta.get("dataset_fingerprint") != data.fingerprint():
        raise UserError(f"checkpoint {ckpt_path} was trained on another dataset bundle; delete it and rerun.")
    x, y = population(data)
    n = len(data.train_y)
    test = np.arange(n, len(y))
    logits = predict_logits(model, torch.as_tensor(x), dev).numpy()
    pred = logits.argmax(1)

    def acc(idx):
        return float((pred[idx] == y[idx]).mean() * 100)

    row = dict(ident, unlearn_acc=acc(split.forget), retain_acc=acc(split.retain), test_acc=acc(test))
    conf = true_class_confidence(logits, y)
    row["mis"] = mis(conf[split.retain], conf[test], conf[split.forget], mis_cfg["seed"])
    scores = np.full(len(y), np.nan)
    if ref_logit_paths:
        ref_pr = np.stack([taylor_soft_margin(np.load(p), y, **_signal(rmia_cfg)) for p in ref_logit_paths])
        target_pr = taylor_soft_margin(logits, y, **_signal(rmia_cfg))
        scores = rmia_scores(target_pr, ref_pr, rmia_cfg["gamma"])
        row.update(rmia_aucs(scores, split.forget, split.retain, test, tuple(rmia_cfg["auc_seeds"])))
    else:
        row.update(ft_auc=math.nan, fr_auc=math.nan, rt_auc=math.nan)
    row.update(cost_columns(meta, load_checkpoint(retrain_path)[1] if retrain_path else None))
    if retrain_path:
        r_state, _ = load_checkpoint(retrain_path)
        row["l2_to_retrain"] = param_distance({k: v.cpu() for k, v in model.state_dict().items()}, r_state)
    else:
        row["l2_to_retrain"] = math.nan
    with atomic_path(out_csv) as tmp:
        extra = [k for k in ident if k not in ID_COLUMNS]  # e.g. a tuning grid point
        pd.DataFrame([row], columns=ID_COLUMNS + extra + METRIC_COLUMNS).to_csv(tmp, index=False)
    with atomic_path(out_npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f, confidence=conf.astype(np.float32), rmia_score=scores.astype(np.float32), forget=split.forget,
                retain=split.retain, test=test,
            )  # fmt: skip
    log.info("%s", row)
    return row


def cost_columns(meta: dict, retrain_meta: dict | None) -> dict:
    """A checkpoint's cost from its sidecar, and as a multiple of its retrained reference's.

    work = SGD sample-steps + the other forward+backward passes per sample the run needed (building
    its D_A rows, the saliency pass, BS's FGSM); it does not depend on the machine or its load, so
    it is the comparison to read first. CPU time (all threads of the job) and wall time are measured."""
    extra = 0 if meta.get("kind") in REFERENCE_KINDS else meta.get("extra_grad_evals", math.nan)
    out = {
        "sample_steps": meta.get("sample_steps", math.nan), "extra_grad_evals": extra,
        "cpu_time_s": meta.get("cpu_time_s", math.nan), "wall_time_s": meta.get("wall_time_s", math.nan),
    }  # fmt: skip
    r = retrain_meta or (meta if meta.get("kind") == "retrain" else {})

    def ratio(a, b):
        return a / b if b and not math.isnan(b) else math.nan

    out["work_vs_retrain"] = ratio(out["sample_steps"] + extra, r.get("sample_steps", math.nan))
    out["sample_steps_vs_retrain"] = ratio(out["sample_steps"], r.get("sample_steps", math.nan))
    out["cpu_time_vs_retrain"] = ratio(out["cpu_time_s"], r.get("cpu_time_s", math.nan))
    out["wall_time_vs_retrain"] = ratio(out["wall_time_s"], r.get("wall_time_s", math.nan))
    return out


def _signal(cfg: dict) -> dict:
    return {"temp": cfg["temp"], "margin": cfg["margin"], "n": cfg["taylor_terms"]}


# --------------------------------------------------------------------------- aggregation and tables


def add_gaps(runs: pd.DataFrame, mia_column: str) -> pd.DataFrame:
    """Average gap of every run to the mean of the retrained references of its forget set and split."""
    runs = runs.copy()
    ref = runs[runs["method"] == "retrain"].groupby(["forget", "split_seed"])[list(METRIC_COLUMNS)].mean()
    gaps = []
    for _, r in runs.iterrows():
        key = (r["forget"], r["split_seed"])
        gaps.append(avg_gap(r, ref.loc[key], mia_column) if key in ref.index else math.nan)
    runs["avg_gap"] = gaps
    return runs


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof=1; NaN for a single run: one run measures no spread) over split seeds, model
    seeds and runs."""
    cols = METRIC_COLUMNS + ["avg_gap"]
    g = runs.groupby(["method", "base_method", "setting", "forget"], sort=False)[cols]
    mean, std = g.mean().add_suffix("_mean"), g.std(ddof=1).add_suffix("_std")
    out = pd.concat([mean, std], axis=1)
    out["n_runs"] = g.size()
    return out.reset_index()


TABLE_COLUMNS = [("unlearn_acc", "UA"), ("retain_acc", "RA"), ("test_acc", "TA")]


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
                else:
                    cells.append((r[f"{c}_mean"].iloc[0], r[f"{c}_std"].iloc[0], c == "avg_gap" and best.get(f) == m))
        ns = sorted({int(n) for n in rows.loc[rows["method"] == m, "n_runs"]})
        body.append((m, cells, "/".join(map(str, ns))))
    return forgets, [lab for _, lab in cols], body


TABLE_NOTE = "Cells: mean ± std (ddof 1) over the n runs of a cell (split seeds x model seeds x runs); a single run shows its value alone."


def render_table(forgets, labels, body, kind: str) -> str:
    """Markdown, LaTeX (booktabs) or HTML text of :func:`table_cells`' output."""
    heads = [f"{f} {lab}" for f in forgets for lab in labels] + ["n"]

    def fmt(cell, bold_open, bold_close, pm):
        if cell is None:
            return "–"
        mu, sd, bold = cell
        text = f"{mu:.2f}" if pd.isna(sd) else f"{mu:.2f}{pm}{sd:.2f}"
        return f"{bold_open}{text}{bold_close}" if bold else text

    if kind == "md":
        lines = ["| method | " + " | ".join(heads) + " |", "|" + "---|" * (1 + len(heads))]
        lines += [f"| {m} | " + " | ".join(fmt(c, "**", "**", "±") for c in cells) + f" | {n} |" for m, cells, n in body]
        lines += ["", TABLE_NOTE]
    elif kind == "tex":
        k = len(labels)
        lines = [
            "\\begin{tabular}{l" + "r" * len(heads) + "}", "\\toprule",
            " & " + " & ".join(f"\\multicolumn{{{k}}}{{c}}{{{f}}}" for f in forgets) + " & \\\\",
            "method & " + " & ".join(lab for _ in forgets for lab in labels) + " & n \\\\", "\\midrule",
        ]  # fmt: skip
        lines += [
            m.replace("_", "\\_") + " & " + " & ".join(fmt(c, "\\textbf{", "}", "$\\pm$") for c in cells) + f" & {n} \\\\"
            for m, cells, n in body
        ]
        lines += ["\\bottomrule", "\\end{tabular}"]
    elif kind == "html":
        lines = ["<table>", "<tr><th>method</th>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"]
        lines += [
            f"<tr><td>{m}</td>" + "".join(f"<td>{fmt(c, '<b>', '</b>', '±')}</td>" for c in cells) + f"<td>{n}</td></tr>"
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
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines + ["", COST_NOTE]) + "\n"
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>\n<p>{COST_NOTE}</p>\n"


def aggregate_job(metric_csvs, mia_column: str, settings: list[str], out_runs, out_agg, out_tables: dict) -> None:
    runs = pd.concat([pd.read_csv(p) for p in metric_csvs], ignore_index=True)
    if mia_column not in runs or runs[mia_column].isna().all():
        raise UserError(
            f"config key evaluation.mia_column: {mia_column} has no values (is rmia.enabled false?); "
            "use mis or enable RMIA."
        )
    runs = add_gaps(runs, mia_column)
    agg = aggregate(runs)
    with atomic_path(out_runs) as tmp:
        runs.to_csv(tmp, index=False)
    with atomic_path(out_agg) as tmp:
        agg.to_csv(tmp, index=False)
    for setting in settings:
        cells = table_cells(agg, mia_column, setting)
        for kind in ("md", "tex", "html"):
            with atomic_path(out_tables[f"{setting}_{kind}"]) as tmp:
                tmp.write_text(render_table(*cells, kind))
    cost = cost_table(agg)
    for kind in ("md", "html"):
        with atomic_path(out_tables[f"cost_{kind}"]) as tmp:
            tmp.write_text(render_cost(cost, kind))
