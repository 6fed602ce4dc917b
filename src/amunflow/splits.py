"""Forget / retain splits, drawn exactly as the AMUN code draws them.

Random forget sets use numpy's legacy RNG: ``np.random.seed(s); np.random.choice(N, k, replace=False)``
(forget_index_generate.py), so seed 1, k=5000, N=50000 reproduces the paper's index file. The
forget indices are kept in draw order (the paper's 5000-lists are prefixes of its 10000-lists);
the retain indices are the sorted complement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from . import UserError
from .io import array_hash, atomic_path, provenance


def check_size(size) -> None:
    """A forget size is a fraction in (0, 1) or an integer count (1.0 would be ambiguous)."""
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        raise UserError(
            f"config key forget_sets[].size: {size!r} is not a number; give a fraction in (0, 1) or a count."
        )
    if isinstance(size, float) and size.is_integer():
        raise UserError(
            f"config key forget_sets[].size: {size} is ambiguous (one sample, or all of them?); write a count as "
            f"an integer ({int(size)}) or a fraction below 1 (e.g. 0.1)."
        )
    if isinstance(size, float) and not 0 < size < 1:
        raise UserError(f"config key forget_sets[].size: fraction {size} is not in (0, 1); give e.g. 0.1 for 10%.")


def forget_count(size: float | int, n: int) -> int:
    """Resolve a forget size given as a fraction in (0, 1) or a count in [1, n) to a count."""
    check_size(size)
    k = int(round(size * n)) if isinstance(size, float) else int(size)
    if not 1 <= k < n:
        raise UserError(
            f"config key forget_sets[].size: {size} means {k} forget samples out of {n} training images; "
            f"it must be at least 1 and below {n}."
        )
    return k


def random_forget(n: int, k: int, seed: int) -> np.ndarray:
    """The paper's draw: legacy ``RandomState(seed).choice(n, k, replace=False)`` (in draw order)."""
    return np.random.RandomState(seed).choice(n, k, replace=False).astype(np.int64)


def resolve_classes(classes, class_names: list[str]) -> list[int]:
    """Class indices of ``classes``: an integer is an index; a string is a class name first (an
    ImageFolder's folders may be named by digits), else a digit string is an index. A string that
    names one class and, read as an index, another is refused rather than guessed."""
    out = []
    for c in classes:
        if isinstance(c, str) and c in class_names:
            i = class_names.index(c)
            if c.isdigit() and int(c) != i and int(c) < len(class_names):
                raise UserError(
                    f"config key forget_sets[].classes: {c!r} is the name of class {i} and the index of class "
                    f"{class_names[int(c)]!r}; write {i} (unquoted) for the class named {c!r}, or {c} unquoted for "
                    "the index."
                )
            out.append(i)
        elif isinstance(c, str) and not c.isdigit():
            raise UserError(
                f"config key forget_sets[].classes: no class named {c!r}; the dataset's classes are "
                f"{', '.join(class_names)}."
            )
        else:
            i = int(c)
            if not 0 <= i < len(class_names):
                raise UserError(
                    f"config key forget_sets[].classes: class index {i} does not exist; use 0..{len(class_names) - 1}."
                )
            out.append(i)
    return sorted(set(out))


def classwise_forget(labels: np.ndarray, classes: list[int]) -> np.ndarray:
    return np.flatnonzero(np.isin(labels, classes)).astype(np.int64)


@dataclass
class Split:
    forget: np.ndarray
    retain: np.ndarray
    attrs: dict

    @property
    def n(self) -> int:
        return len(self.forget) + len(self.retain)

    @property
    def hash(self) -> str:
        return array_hash(self.forget)


def memorization_scores(
    ref_logits: np.ndarray, keep: np.ndarray, labels: np.ndarray, confidence: bool = False
) -> np.ndarray:
    """Feldman's memorization estimate of every point from the reference models (K, P, C) and their keep
    matrix: the references' accuracy on the point when it was IN their training half minus when it was
    OUT (Feldman & Zhang 2020), in [-1, 1]; 1 = learnt only by the models that saw it. ``confidence``:
    their softmax probability of the label instead of accuracy (the same estimate, continuous: with few
    reference models the accuracy version takes a handful of values)."""
    logits, labels = np.asarray(ref_logits, dtype=np.float64), np.asarray(labels)
    if confidence:
        z = logits - logits.max(2, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(2, keepdims=True)
        hit = np.take_along_axis(p, labels[None, :, None], 2)[..., 0]
    else:
        hit = (logits.argmax(2) == labels[None, :]).astype(np.float64)
    keep = np.asarray(keep, dtype=bool)
    return (hit * keep).sum(0) / keep.sum(0) - (hit * ~keep).sum(0) / (~keep).sum(0)


def quantile_pool(scores: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The indices whose score ranks in the quantile band [lo, hi] of all scores (ascending, ties by
    index): ranks floor(lo n) .. ceil(hi n) - 1, in index order."""
    n = len(scores)
    order = np.lexsort((np.arange(n), scores))
    return np.sort(order[int(np.floor(lo * n)) : int(np.ceil(hi * n))]).astype(np.int64)


def make_split(
    spec: dict,
    seed: int,
    labels: np.ndarray,
    class_names: list[str],
    role: str = "eval",
    scores: np.ndarray | None = None,
    listed: np.ndarray | None = None,
) -> Split:
    """Build the split described by one ``forget_sets`` entry for one split seed. A memorized set needs
    ``scores``, each training image's memorization score; a list ``listed``, its samples' training
    indices in the file's order."""
    n = len(labels)
    if spec["kind"] == "random":
        k = forget_count(spec["size"], n)
        forget = random_forget(n, k, seed)
        attrs = {"size": spec["size"], **({"tuning_for": spec["tuning_for"]} if "tuning_for" in spec else {})}
    elif spec["kind"] == "memorized":
        k = forget_count(spec["size"], n)
        lo, hi = spec["quantiles"]
        pool = quantile_pool(scores, lo, hi)
        if len(pool) < k:
            raise UserError(
                f"config key forget_sets[].quantiles: the band {spec['quantiles']} holds {len(pool)} training images, "
                f"fewer than the {k} to forget; widen the band or lower size."
            )
        # the paper's legacy draw, within the band
        forget = pool[np.random.RandomState(seed).choice(len(pool), k, replace=False)]
        attrs = {"size": spec["size"], "quantiles": [float(lo), float(hi)], "pool": len(pool)}
    elif spec["kind"] == "list":
        forget = np.asarray(listed, dtype=np.int64)
        if len(np.unique(forget)) != len(forget) or not 0 < len(forget) < n or forget.min() < 0 or forget.max() >= n:
            raise UserError(f"forget list {spec['path']}: its {len(forget)} samples are not distinct training images.")
        attrs = {"path": str(spec["path"]), "list_sha256": spec["sha256"]}
    elif spec["kind"] == "classes":
        cls = resolve_classes(spec["classes"], class_names)
        forget = classwise_forget(labels, cls)
        if len(forget) in (0, n):
            raise UserError(
                f"config key forget_sets[].classes: classes {spec['classes']} select {len(forget)} of {n} images; "
                "pick classes that leave something to forget and to retain."
            )
        attrs = {"classes": cls, "class_names": [class_names[c] for c in cls]}
    else:
        raise UserError(
            f"config key forget_sets[].kind: unknown kind {spec['kind']!r}; use random, memorized, classes or list."
        )
    retain = np.setdiff1d(np.arange(n, dtype=np.int64), forget)
    attrs.update(kind=spec["kind"], seed=seed, n_train=n, n_forget=len(forget), role=role)
    return Split(forget, retain, attrs)


def save_split(path, split: Split, dataset_fingerprint: str) -> None:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("forget", data=split.forget)
            f.create_dataset("retain", data=split.retain)
            for k, v in split.attrs.items():
                if isinstance(v, list) and any(isinstance(i, str) for i in v):
                    v = np.asarray(v, dtype=h5py.string_dtype())
                f.attrs[k] = v
            f.attrs["dataset_fingerprint"] = dataset_fingerprint
            for k, v in provenance().items():
                f.attrs[k] = v
            f.attrs["split_hash"] = split.hash


def load_split(path, dataset_fingerprint: str | None = None) -> Split:
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            forget, retain = f["forget"][()].astype(np.int64), f["retain"][()].astype(np.int64)
            attrs = {k: _plain(v) for k, v in f.attrs.items()}
    except (OSError, KeyError) as e:
        raise UserError(f"split file {path} is missing or unreadable ({e}); delete it and rerun the workflow.") from e
    split = Split(forget, retain, attrs)
    if attrs.get("split_hash") != split.hash:
        raise UserError(f"split file {path} fails its hash check (corrupt?); delete it and rerun the workflow.")
    if dataset_fingerprint is not None and attrs.get("dataset_fingerprint") != dataset_fingerprint:
        raise UserError(
            f"split file {path} was drawn for another dataset bundle (fingerprint {attrs.get('dataset_fingerprint')} "
            f"vs {dataset_fingerprint}); delete it and rerun the workflow."
        )
    return split


def _plain(v):
    """HDF5 attribute -> plain Python value."""
    if isinstance(v, np.ndarray):
        return [i.decode() if isinstance(i, bytes) else i for i in v.tolist()]
    return v.item() if isinstance(v, np.generic) else v


def keep_matrix(k: int, population: int, seed: int = 0) -> np.ndarray:
    """(k, population) bool: point j is IN reference model i. The AMUN code's draw with numpy's legacy
    RNG (``np.random.seed(0); u = np.random.uniform(0, 1, (k, P)); keep = argsort(u, 0) < k / 2``), so
    every point is IN exactly k/2 models."""
    if k < 2 or k % 2:
        raise ValueError(f"the number of reference models must be even and >= 2, got {k}")
    rs = np.random.RandomState(seed)
    u = rs.uniform(0, 1, size=(k, population))
    return np.argsort(u, axis=0) < k // 2
