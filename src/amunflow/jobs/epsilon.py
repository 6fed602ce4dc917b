"""The distribution-level audits as jobs (evaluation.epsilon): the scores of a set of N models, one row's
per-example epsilon, F, the challenge's score and KLOM against the N retrains, and their tables.

A row is a method (its N unlearning runs of one original, each with its own seed), or a calibration
row: ``original`` (no unlearning, the challenge's do-nothing method: the one original N times) and
``retrain`` (a second set of N retrains with other seeds). Every row is judged against one set of N
retrains (:mod:`amunflow.distaudit` holds the measures and their sources)."""

from __future__ import annotations

import logging
import zipfile

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .. import UserError
from ..device import pick_device
from ..distaudit import challenge_score, epsilons, forget_quality, klom, resolution
from ..io import atomic_path
from ..metrics import logit_scaled_confidence
from ..predict import predict_logits
from ..tables import write_table
from .inputs import open_bundle, open_model, open_split

log = logging.getLogger(__name__)

KLOM_PERCENTILES = (50, 95)


def scores_job(
    data_path,
    split_path,
    models: list,
    expect: list[dict],
    on_split: bool,
    n_models: int,
    device,
    out_npz,
    expect_split: dict | None = None,
) -> None:
    """Each model's logit-scaled confidence (= KLOM's margin) and correctness on every training and test
    image (training images first), in an npz with the split's hash and the models' seeds. One model
    (the calibration row original) stands for all N."""
    data = open_bundle(data_path)
    split = open_split(split_path, data, expect_split)
    dev = pick_device(device)
    x = torch.as_tensor(np.concatenate([data.train_x, data.test_x]))
    y = np.concatenate([data.train_y, data.test_y])
    score, correct, seeds = [], [], []
    for path, exp in tqdm(list(zip(models, expect, strict=True)), desc="models", mininterval=10):
        model, meta = open_model(path, data, dev, {**exp, **({"split_hash": split.hash} if on_split else {})})
        with torch.no_grad():
            logits = predict_logits(model, x, dev).numpy()
        score.append(logit_scaled_confidence(logits, y).astype(np.float32))
        correct.append(logits.argmax(1) == y)
        seeds.append(int(meta["seed"]))
    if len(models) == 1:
        score, correct, seeds = score * n_models, correct * n_models, seeds * n_models
    if len(score) != n_models:
        raise UserError(f"{out_npz}: {len(score)} models where evaluation.epsilon.n_models is {n_models}; rerun.")
    with atomic_path(out_npz) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            score=np.stack(score),
            correct=np.stack(correct),
            seeds=np.array(seeds),
            split_hash=np.array(split.hash),
            n_train=np.array(len(data.train_y)),
        )
    log.info("%d models scored on %d images (seeds %s)", len(models), len(y), sorted(set(seeds)))


def load_scores(path, split, n_train: int, n_points: int, n_models: int) -> dict:
    """A scores file, refused unless it was made on ``split`` with N models on every image."""
    try:
        with np.load(path) as f:
            out = {k: f[k] for k in ("score", "correct", "seeds", "split_hash", "n_train")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"scores file {path} is missing or damaged ({e}); delete it and rerun the workflow.") from e
    if str(out["split_hash"]) != split.hash or int(out["n_train"]) != n_train:
        raise UserError(f"scores file {path} was made on another split or dataset; delete it and rerun the workflow.")
    shape = (n_models, n_points)
    if out["score"].shape != shape or out["correct"].shape != shape or not np.isfinite(out["score"]).all():
        raise UserError(
            f"scores file {path} holds {out['score'].shape} scores (or non-finite ones), not {shape}; delete it "
            "and rerun the workflow."
        )
    return out


def audit_job(
    data_path,
    split_path,
    row_scores,
    ref_scores,
    ident: dict,
    n_models: int,
    out_csv,
    out_examples,
    include_max: bool = True,
    expect_split: dict | None = None,
) -> dict:
    """One row: per forget example epsilon (the challenge's scorer) and KLOM of the row's N models against
    the N retrains; F, the final score and KLOM's percentiles over D_F, D_R and D_T."""
    data = open_bundle(data_path)
    split = open_split(split_path, data, expect_split)
    n_train, n_test = len(data.train_y), len(data.test_y)
    u = load_scores(row_scores, split, n_train, n_train + n_test, n_models)
    r = load_scores(ref_scores, split, n_train, n_train + n_test, n_models)
    for path, s, what in ((ref_scores, r, "retrains"), (row_scores, u, "models")):
        if len(set(s["seeds"].tolist())) != n_models and not (s is u and ident["method"] == "original"):
            raise UserError(f"scores file {path}: the {what}' seeds {s['seeds'].tolist()} repeat; rerun.")
    if set(u["seeds"].tolist()) & set(r["seeds"].tolist()) and ident["method"] == "retrain":
        raise UserError(f"scores file {row_scores}: the second retrains share seeds with the first; rerun.")
    parts = {"forget": split.forget, "retain": split.retain, "test": n_train + np.arange(n_test)}
    log.info("epsilon of %d forget examples over %d models each", len(split.forget), n_models)
    eps = epsilons(u["score"][:, split.forget], r["score"][:, split.forget])
    kl = {k: klom(u["score"][:, idx], r["score"][:, idx], include_max=include_max) for k, idx in parts.items()}
    acc = {(who, k): 100.0 * float(s["correct"][:, parts[k]].mean()) for who, s in (("u", u), ("r", r)) for k in parts}
    quality, resolves = forget_quality(eps, n_models), resolution(n_models)
    row = {
        **ident,
        "split_hash": split.hash,
        "n_models": n_models,
        "eps_resolution": resolves,
        "forget_quality": quality,
        "eps_mean": float(np.nanmean(eps)),
        "eps_median": float(np.nanmedian(eps)),
        "eps_unresolved": float(np.mean(eps > resolves)),
        "ra": acc["u", "retain"],
        "ra_retrain": acc["r", "retain"],
        "ta": acc["u", "test"],
        "ta_retrain": acc["r", "test"],
        "score": challenge_score(quality, acc["u", "retain"], acc["r", "retain"], acc["u", "test"], acc["r", "test"]),
    }
    for k, v in kl.items():
        row[f"klom_{k}_mean"] = float(v.mean())
        row.update({f"klom_{k}_p{q}": float(np.percentile(v, q)) for q in KLOM_PERCENTILES})
    with atomic_path(out_csv) as tmp:
        pd.DataFrame([row]).to_csv(tmp, index=False)
    with atomic_path(out_examples) as tmp:
        pd.DataFrame({"index": split.forget, "eps": eps, "klom": kl["forget"]}).to_csv(tmp, index=False)
    log.info("%s", row)
    return row


EPSILON_NOTE = (
    "The NeurIPS 2023 unlearning challenge's measure (Triantafillou et al. 2024): per forget example, "
    "epsilon of telling the method's N unlearning runs (one original, N seeds) from N retrains by the "
    "logit-scaled confidence, over single thresholds and intervals (0 = indistinguishable); F = mean of "
    "2^-k over the examples' epsilon buckets k of width 0.5, 0 beyond ceil(ln(N - 1)) (higher is "
    "better, 1 = every example below 0.5); score = F x RA/RA_retrain x TA/TA_retrain. N models resolve "
    "epsilon up to ln(N - 1) (column 'resolves'): 'beyond' is the share of D_F past it, which N cannot "
    "tell apart from perfect separation. original (the one original N times, no unlearning) and retrain "
    "(a second set of N retrains) bracket the scale."
)
KLOM_NOTE = (
    "KLOM (Georgiev et al. 2024): per example, the KL divergence of the distribution of margins (correct "
    "logit minus log-sum-exp of the others) under the row's N models from that under N retrains, on 20 "
    "bins over their joint range (0 = same distribution; log(1e5) = 11.5 at most for disjoint ones); "
    "percentiles over D_F, D_R and D_T. A good unlearner is low on all three. With few models two samples "
    "of one distribution already differ: the row retrain (a second set of N retrains) is the floor N "
    "gives, original (no unlearning) the other end."
)


def _write(rows: pd.DataFrame, cols: list[str], heads: list[str], note: str, out_md, out_html) -> None:
    body = [
        [str(v) if not isinstance(v, float) else ("–" if np.isnan(v) else f"{v:.2f}") for v in r]
        for r in rows[cols].itertuples(index=False)
    ]
    write_table(heads, body, note, out_md, out_html)


def _read_row(path) -> pd.DataFrame:
    """One audit's row, refused (naming the file) unless it is one complete row."""
    try:
        row = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise UserError(f"epsilon audit {path} is missing or damaged ({e}); delete it and rerun the workflow.") from e
    need = ["method", "setting", "forget", "n_models", "forget_quality", "score"]
    if len(row) != 1 or any(c not in row or row[c].isna().any() for c in need):
        raise UserError(f"epsilon audit {path} is not one complete row; delete it and rerun the workflow.")
    return row


def table_job(csvs, example_csvs, out: dict, out_plot) -> pd.DataFrame:
    """Every row in tables/epsilon.* and tables/klom.* (csv, Markdown, HTML) and the epsilon histograms."""
    rows = pd.concat([_read_row(p) for p in csvs], ignore_index=True)
    key = ["method", "setting", "forget", "split_seed", "n_models"]
    eps_cols = [
        "forget_quality",
        "score",
        "eps_median",
        "eps_mean",
        "eps_unresolved",
        "eps_resolution",
        "ra",
        "ra_retrain",
        "ta",
        "ta_retrain",
    ]
    klom_cols = [
        f"klom_{k}_{s}" for k in ("forget", "retain", "test") for s in ("mean", *(f"p{q}" for q in KLOM_PERCENTILES))
    ]
    for name, cols in (("epsilon", eps_cols), ("klom", klom_cols)):
        with atomic_path(out[name]["csv"]) as tmp:
            rows[key + cols].to_csv(tmp, index=False)
    _write(
        rows,
        key + eps_cols,
        [
            "method",
            "setting",
            "forget set",
            "split seed",
            "N",
            "F",
            "score",
            "median eps",
            "mean eps",
            "beyond",
            "resolves",
            "RA",
            "RA retrain",
            "TA",
            "TA retrain",
        ],
        EPSILON_NOTE,
        out["epsilon"]["md"],
        out["epsilon"]["html"],
    )
    heads = (
        key[:4]
        + ["N"]
        + [f"{k} {s}" for k in ("D_F", "D_R", "D_T") for s in ("mean", *(f"p{q}" for q in KLOM_PERCENTILES))]
    )
    _write(rows, key + klom_cols, heads, KLOM_NOTE, out["klom"]["md"], out["klom"]["html"])
    from ..plots import epsilon_histograms  # matplotlib only where a plot is drawn

    many = rows["forget"].nunique() > 1
    examples = {
        f"{r.method} / {r.setting}" + (f" / {r.forget}" if many else ""): pd.read_csv(p)["eps"].to_numpy()
        for r, p in zip(rows.itertuples(), example_csvs, strict=True)
    }
    epsilon_histograms(examples, int(rows["n_models"].iloc[0]), out_plot)
    return rows
