"""The D_A artifact: build it for a model (Algorithm 1, then an fp32 check of every row), store it in
HDF5, and load it back for a forget set with checks against the checkpoint and split."""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path

import h5py
import numpy as np
import torch

from . import UserError
from .attack import AdversarialSet, AttackConfig, calibrate_eps_init, pgd_l2_adaptive
from .io import array_hash, atomic_path, file_hash, provenance
from .predict import predict_logits
from .splits import Split

log = logging.getLogger(__name__)
FIELDS = ("index", "label", "clean_pred", "adv_label", "eps", "delta_norm", "grad_evals", "found")
OPTIONAL = {"repaired": bool}  # fields older files lack (read as all False)


def build(model, x_u8, y, index, attack_cfg: dict, device, progress_file=None) -> tuple[AdversarialSet, dict]:
    """D_A for the images ``x_u8`` (training-set positions ``index``) of ``model``: Algorithm 1 with
    the ``attack`` config section (eps_init ``auto`` calibrates it on a seeded sample first, App.
    E.1), then the fp32 check of every row (:func:`ensure_valid`). Returns the set and the
    attributes that describe how it was made."""
    cfg = AttackConfig.from_config(attack_cfg)
    attrs = {"calibrated": False}
    if cfg.eps_init == "auto":
        cal = attack_cfg["calibration"]
        rs = np.random.RandomState(cal["seed"])
        pick = rs.choice(len(index), min(cal["samples"], len(index)), replace=False)
        cfg.eps_init, cal_eps = calibrate_eps_init(
            model, x_u8[torch.as_tensor(pick)], y[pick], cfg, cal["eps_start"], cal["quantile"], device=device
        )
        attrs.update(calibrated=True, calibration_eps=cal_eps, calibration_index=np.asarray(index)[pick])
        log.info("calibrated eps_init = %g on %d samples (%s)", cfg.eps_init, len(pick), cal)
    log.info("building D_A for %d images with %s on %s", len(index), asdict(cfg), device)
    adv = pgd_l2_adaptive(model, x_u8, y, cfg, device, index=index, progress_file=progress_file)
    check = ensure_valid(model, x_u8, y, adv, cfg, device)
    if not adv.found.all():
        log.warning(
            "%d samples have no valid adversarial example within %d rounds", int((~adv.found).sum()), cfg.max_rounds
        )
    attrs.update({f"attack_{k}": v for k, v in asdict(cfg).items()}, check_precision="fp32", **check)
    return adv, attrs


def invalid_rows(model, adv: AdversarialSet, y: np.ndarray, device) -> np.ndarray:
    """Rows marked found whose stored image is not adversarial with its stored label when checked as
    every evaluation and unlearning run will see it: fp32, eval mode, :func:`predict_logits`."""
    pred = predict_logits(model, torch.as_tensor(adv.images), device).argmax(1).numpy()
    return adv.found & ((pred != adv.adv_label) | (adv.adv_label == np.asarray(y)))


def ensure_valid(model, x, y, adv: AdversarialSet, cfg: AttackConfig, device, attempts: int = 3) -> dict:
    """Make every found row of ``adv`` satisfy argmax f(x_adv) = y_adv != y in fp32 (in place).

    A bf16 attack stops at the first iterate the bf16 model misclassifies, which the fp32 model may
    still classify correctly. Failing rows are attacked again in fp32 from x (Algorithm 1 exactly as
    an fp32 build), and rows still failing after that (numerical ties) continue from their iterate
    with at least one more step; each retry is checked again. Rows that never pass are marked not
    found. Returns the counts for the file's attributes and the summary."""
    cfg32 = replace(cfg, precision="fp32")
    repaired = np.zeros(len(adv), dtype=bool)
    for attempt in range(attempts):
        bad = np.flatnonzero(invalid_rows(model, adv, y, device))
        if not len(bad):
            break
        log.info(
            "%d of %d adversarial examples fail the fp32 check; attacking them again (try %d)",
            len(bad),
            len(adv),
            attempt + 1,
        )
        bt = torch.as_tensor(bad)
        if attempt == 0:
            res = pgd_l2_adaptive(model, x[bt], y[bad], cfg32, device, progress_file=False)
        else:
            rounds = np.rint(np.log2(adv.eps[bad] / cfg.eps_init)).astype(np.int64)
            res = pgd_l2_adaptive(
                model,
                x[bt],
                y[bad],
                cfg32,
                device,
                progress_file=False,
                start=torch.as_tensor(adv.images[bad]),
                rounds0=rounds,
            )
        for k in ("adv_label", "eps", "delta_norm", "found", "images") + (("clean_pred",) if attempt == 0 else ()):
            getattr(adv, k)[bad] = getattr(res, k)
        adv.grad_evals[bad] += res.grad_evals
        repaired[bad] = True
    still = invalid_rows(model, adv, y, device)
    if still.any():
        log.warning("%d adversarial examples still fail the fp32 check; marked not found", int(still.sum()))
        adv.found[still] = False
    adv.repaired = repaired
    return {"repaired": int(repaired.sum()), "invalid_after_repair": int(still.sum())}


def _content_hash(fields: dict) -> str:
    return array_hash(*(np.asarray(fields[k]) for k in FIELDS + tuple(OPTIONAL) + ("images",)))


def save_adversarial(path, adv: AdversarialSet, attrs: dict) -> None:
    """Write D_A with the hash of its content (checked by :func:`read_adversarial`)."""
    fields = {k: getattr(adv, k) for k in FIELDS}
    for k, t in OPTIONAL.items():
        fields[k] = np.zeros(len(adv), dtype=t) if getattr(adv, k) is None else getattr(adv, k)
    fields["images"] = adv.images.astype(np.float32)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for k in FIELDS + tuple(OPTIONAL):
                f.create_dataset(k, data=fields[k])
            chunk = (min(len(adv), 256), *adv.images.shape[1:]) if len(adv) else None
            f.create_dataset(
                "images",
                data=fields["images"],
                chunks=chunk,
                compression="gzip",
                compression_opts=1,
                shuffle=True,
            )
            for k, v in {**attrs, **provenance(), "content_hash": _content_hash(fields)}.items():
                f.attrs[k] = v


def read_adversarial(path) -> tuple[AdversarialSet, dict]:
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            fields = {k: f[k][()] for k in FIELDS + ("images",)}
            n = len(fields["index"])
            fields.update({k: f[k][()] if k in f else np.zeros(n, dtype=t) for k, t in OPTIONAL.items()})
            attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    except (OSError, KeyError) as e:
        raise UserError(
            f"adversarial set {path} is missing or unreadable ({e}); delete it and rerun the workflow."
        ) from e
    if attrs.get("content_hash") != _content_hash(fields):
        raise UserError(
            f"adversarial set {path} does not match the content hash recorded when it was written (damaged or "
            "edited since, or written by older code); delete it and rerun the workflow."
        )
    return AdversarialSet(wall_time_s=float(attrs.get("wall_time_s", 0.0)), **fields), attrs


def load_for_forget_set(path, checkpoint_path=None, split: Split | None = None, dataset_fingerprint=None):
    """D_A rows for ``split.forget`` (in its order), after checking the file against the checkpoint it
    must come from, the dataset and the split. Returns (images float32 (k, C, H, W), adv labels, set)."""
    adv, attrs = read_adversarial(path)
    if checkpoint_path is not None and attrs.get("checkpoint_hash") != file_hash(checkpoint_path):
        raise UserError(
            f"adversarial set {path} was built from another checkpoint than {checkpoint_path}; "
            "delete it and rerun the workflow so D_A comes from the model being unlearned."
        )
    if dataset_fingerprint is not None and attrs.get("dataset_fingerprint") != dataset_fingerprint:
        raise UserError(
            f"adversarial set {path} was built on another dataset bundle; delete it and rerun the workflow."
        )
    if split is None:
        return adv.images, adv.adv_label, adv
    pos = {int(i): p for p, i in enumerate(adv.index)}
    missing = [int(i) for i in split.forget if int(i) not in pos]
    if missing:
        raise UserError(
            f"adversarial set {path} has no entry for {len(missing)} forget samples (e.g. index {missing[0]}); "
            "it was built for another forget set: delete it and rerun the workflow."
        )
    rows = np.array([pos[int(i)] for i in split.forget])
    sub = AdversarialSet(
        **{k: getattr(adv, k)[rows] for k in FIELDS + tuple(OPTIONAL) + ("images",)}, wall_time_s=adv.wall_time_s
    )
    return sub.images, sub.adv_label, sub
