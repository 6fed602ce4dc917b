"""The one way a job opens its inputs, so that none skips a check: the dataset bundle (its
fingerprint), a split drawn on that bundle, and a checkpoint made on it; each compared with the
identity the rule expects (the wildcards' split seed and role, the checkpoint's kind and lineage)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import UserError
from ..checkpoint import load_model
from ..data import ImageData, load_bundle
from ..io import file_hash, sidecar_path
from ..splits import Split, load_split, memorization_scores


def check_identity(found: dict, expect: dict | None, what: str) -> None:
    """Refuse an artifact whose recorded identity differs from what the job expects, naming both."""
    bad = [(k, found.get(k), v) for k, v in (expect or {}).items() if found.get(k) != v]
    if bad:
        diff = "; ".join(f"its {k} is {f!r} where {e!r} is expected" for k, f, e in bad)
        raise UserError(f"{what} is not the one this job needs ({diff}); delete it and rerun the workflow.")


def open_bundle(path) -> ImageData:
    return load_bundle(path)


def open_split(path, data: ImageData, expect: dict | None = None) -> Split:
    split = load_split(path, data.fingerprint())
    check_identity(split.attrs, expect, f"split file {path}")
    return split


def open_model(path, data: ImageData, device, expect: dict | None = None):
    """(model on ``device``, sidecar) of a checkpoint, refused unless it was made on ``data`` and its
    sidecar matches ``expect`` (e.g. kind, model_seed, split_hash)."""
    model, meta = load_model(path, device)
    if meta.get("dataset_fingerprint") != data.fingerprint():
        raise UserError(f"checkpoint {path} was made on another dataset bundle; delete it and rerun the workflow.")
    check_identity(meta, expect, f"checkpoint {path}")
    return model, meta


def open_reference_logits(paths, data: ImageData, n_points: int, num_classes: int) -> list[np.ndarray]:
    """The RMIA reference models' logits on the population, each checked against its sidecar and shape."""
    out = []
    for p in paths:
        side = sidecar_path(Path(str(p)).with_suffix("").with_suffix(".pt"))
        try:
            meta = json.loads(side.read_text())
            if meta.get("logits_sha256") != file_hash(p):
                raise ValueError("their bytes do not match the content hash recorded when they were written")
            logits = np.load(p)
        except (OSError, ValueError) as e:
            raise UserError(
                f"reference logits {p} (or {side.name}) cannot be read ({e}); delete them and rerun."
            ) from e
        if meta.get("dataset_fingerprint") != data.fingerprint():
            raise UserError(f"reference logits {p} were made on another dataset bundle; delete them and rerun.")
        if logits.shape != (n_points, num_classes) or not np.isfinite(logits).all():
            raise UserError(
                f"reference logits {p} have shape {logits.shape} (or non-finite values), not ({n_points}, "
                f"{num_classes}); delete them and rerun the workflow."
            )
        out.append(logits)
    return out


def open_keep(path, k: int, n_points: int) -> np.ndarray:
    """The reference models' keep matrix, checked against the number of models and of points."""
    if path is None:
        raise UserError("the reference models' keep matrix (results/rmia/keep.npy) is missing; rerun the workflow.")
    keep = np.load(path)
    if keep.shape != (k, n_points) or keep.dtype != bool:
        raise UserError(
            f"keep matrix {path} has shape {keep.shape} ({keep.dtype}), not ({k}, {n_points}) booleans for the "
            f"{k} reference models; delete it and rerun the workflow."
        )
    return keep


def open_memorization(ref_logits, keep_path, data: ImageData, confidence=(False,)) -> np.ndarray:
    """The training images' memorization scores (``amunflow.splits.memorization_scores``) from the RMIA
    reference models' logits and keep matrix, each checked: one row per value of ``confidence``."""
    n_pop = len(data.train_y) + len(data.test_y)
    refs = np.stack(open_reference_logits(ref_logits, data, n_pop, data.num_classes))
    keep, y = open_keep(keep_path, len(refs), n_pop), np.r_[data.train_y, data.test_y]
    return np.stack([memorization_scores(refs, keep, y, confidence=c)[: len(data.train_y)] for c in confidence])
