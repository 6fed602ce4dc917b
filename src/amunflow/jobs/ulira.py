"""U-LiRA (Hayes et al. 2024, "Inexact unlearning needs more careful evaluations to avoid a false sense of
privacy"): the shadows' splits, the attack on one method, and its table.

Shadow s trains on row s of a keep matrix over the training set (every image in S/2 shadows); its
forget set is the target forget set D_F inside that half (in D_F's order), its D_R the rest of the
half. Each shadow is unlearned with the method under test and retrained without its forget set, with
the training, unlearning and caching machinery of the main runs (rules/ulira.smk); this module fits
the per-example Gaussians and scores the attack (:func:`amunflow.metrics.ulira_accuracy`). The
deepunlearn pipeline (xcadet/deepunlearn, pipeline/lira) draws a fresh random forget set per shadow;
here the shadows share the target's D_F, so every example of D_F gets its own fit."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from ..device import pick_device
from ..io import atomic_path
from ..metrics import logit_scaled_confidence, ulira_accuracy
from ..predict import predict_logits
from ..tables import write_table
from .inputs import open_bundle, open_model, open_split

log = logging.getLogger(__name__)

ULIRA_COLUMNS = ["ulira_acc", "ulira_examples", "ulira_target_acc", "n_targets", "n_shadows"]


def _phi(path, data, x, y, device, expect: dict) -> np.ndarray:
    model, _ = open_model(path, data, device, expect)
    return logit_scaled_confidence(predict_logits(model, torch.as_tensor(x), device).numpy(), y)


def ulira_job(
    data_path,
    split_path,
    shadow_splits: list,
    shadow_unlearned: list,
    shadow_retrains: list,
    targets: list,
    target_retrains: list,
    ident: dict,
    fix_variance: bool,
    device,
    out_csv,
    expect_split: dict | None = None,
    expect_unlearned: list[dict] | None = None,
    unlearned_on_split: bool = True,
    expect_targets: list | None = None,
    targets_on_split: bool = True,
    expect_retrains: list[dict] | None = None,
) -> dict:
    """U-LiRA of one method (or calibration row) on one forget set: every shadow's unlearned and retrained
    model, and the target's unlearned models (one per model seed and run) against their retrains. Each
    shadow model must come from its shadow's split (and the unlearned ones from the rule's ``expect``);
    the shadow splits from this target split. ``expect_targets`` holds (target, its retrain) identities;
    ``expect_retrains`` the shadow retrains'."""
    data = open_bundle(data_path)
    split = open_split(split_path, data, expect_split)
    dev = pick_device(device)
    x, y = data.train_x[split.forget], data.train_y[split.forget]
    unl, ret, unlearned = [], [], []
    for s, (sp, up, rp) in enumerate(zip(shadow_splits, shadow_unlearned, shadow_retrains, strict=True)):
        sh = open_split(sp, data, {"role": "shadow", "shadow": s, "target_split_hash": split.hash})
        on_split = {"split_hash": sh.hash} if unlearned_on_split else {}
        unl.append(_phi(up, data, x, y, dev, {**(expect_unlearned or [{}] * len(shadow_splits))[s], **on_split}))
        expect_ret = (expect_retrains or [{}] * len(shadow_splits))[s]
        ret.append(_phi(rp, data, x, y, dev, {"kind": "retrain", **expect_ret, "split_hash": sh.hash}))
        unlearned.append(np.isin(split.forget, sh.forget))
        log.info("shadow %d: %d forget samples unlearned", s, unlearned[-1].sum())
    unl, ret, unlearned = np.stack(unl), np.stack(ret), np.stack(unlearned)
    accs = []
    for i, (tp, trp) in enumerate(zip(targets, target_retrains, strict=True)):
        on_split = {"split_hash": split.hash} if targets_on_split else {}
        expect_t, expect_r = (expect_targets or [({}, {})] * len(targets))[i]
        t = _phi(tp, data, x, y, dev, {**expect_t, **on_split})
        r = _phi(trp, data, x, y, dev, {"kind": "retrain", **expect_r, "split_hash": split.hash})
        accs.append(ulira_accuracy(unl, unlearned, ret, t, r, fix_variance)["ulira_target_acc"])
    res = ulira_accuracy(unl, unlearned, ret, fix_variance=fix_variance)
    row = {
        **ident,
        "split_hash": split.hash,
        **res,
        "ulira_target_acc": float(np.mean(accs)) if accs else np.nan,
        "n_targets": len(accs),
        "n_shadows": len(unl),
    }
    with atomic_path(out_csv) as tmp:
        pd.DataFrame([row]).to_csv(tmp, index=False)
    log.info("%s", row)
    return row


ULIRA_NOTE = (
    "U-LiRA (Hayes et al. 2024): accuracy (%) of a per-example likelihood-ratio test telling a model "
    "unlearned with the method from one retrained without the forget set, on the logit-scaled "
    "confidence of each forget example; 50 = indistinguishable from retraining, 100 = always told "
    "apart. Each shadow's pair is judged by Gaussians fitted to the other shadows (examples = the "
    "judgements). Shadows unlearn half-size forget sets with the run's hyperparameters (half the steps "
    "for epoch-based methods): read each method beside original (no unlearning) and retrain (a second "
    "retrain), which bracket the scale."
)


def ulira_table_job(csvs, out_csv, out_md, out_html) -> pd.DataFrame:
    """Every U-LiRA row in one table (csv, Markdown, HTML)."""
    rows = pd.concat([pd.read_csv(p) for p in csvs], ignore_index=True)
    with atomic_path(out_csv) as tmp:
        rows.to_csv(tmp, index=False)
    # ulira_target_acc stays in the CSV only: the target pair is trained on twice a shadow's data, so a
    # shift common to both its models reads as unlearned (README, Deviations)
    cols = ["method", "setting", "forget", "split_seed", "ulira_acc", "ulira_examples", "n_shadows"]
    heads = [
        "method",
        "setting",
        "forget",
        "split seed",
        "U-LiRA acc. (shadows)",
        "examples",
        "shadows",
    ]
    body = [
        [str(v) if not isinstance(v, float) else ("–" if np.isnan(v) else f"{v:.1f}") for v in r]
        for r in rows[cols].itertuples(index=False)
    ]
    write_table(heads, body, ULIRA_NOTE, out_md, out_html)
    return rows
