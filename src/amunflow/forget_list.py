"""A forget set read from a file: the samples a real deletion request names.

``forget_sets: [{kind: list, path: requests/gdpr-0412.csv}]`` takes

- a CSV with a header: the index column is ``column`` when given, else ``unlearn_idx`` (the AMUN
  code's ``unlearn_indices/<dataset>/<size>/seed_<s>.csv``, written by its forget_index_generate.py
  as ``pd.DataFrame({'unlearn_idx': idx}).to_csv(index=False)``, reads as is), ``index``, ``path``,
  or the only column;
- a ``.npy`` file holding a 1-D integer array;
- any other file as text: one entry per line, blank lines and ``#`` comments skipped.

An entry is an integer, the index of a training image in the source's own order before
``dataset.subset`` (CIFAR's torchvision order, an ImageFolder's sorted order), or, for an
ImageFolder source, an image path inside the tree (``train/cat/0042.png``). The forget set keeps
the file's order (the draw order of the split). Every entry is checked before any job starts; each
problem is one sentence naming the file and the line.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from . import UserError
from .data import imagefolder_train_files, source_train_count, subset_train_index
from .io import file_hash
from .schema import section

INDEX_COLUMNS = ("unlearn_idx", "index", "path")


def list_name(spec: dict) -> str:
    """The forget set's name part: ``name`` when given, else the file's stem made path-safe."""
    return spec.get("name") or re.sub(r"[^A-Za-z0-9._+-]+", "_", Path(spec["path"]).stem)


def list_sha256(path) -> str:
    """sha256 of the list file's bytes (the split's identity: an edited list reruns what it feeds)."""
    return file_hash(_existing(path))


def read_entries(path, column: str | None = None) -> list[tuple[int | str, str]]:
    """The file's entries in order, each with where it stands (``line 5``, ``position 3``)."""
    p = _existing(path)
    if p.suffix.lower() == ".npy":
        try:
            a = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UserError(f"forget list {p}: not a readable .npy file ({e}); save it with np.save.") from e
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise UserError(
                f"forget list {p}: holds a {a.dtype} array of shape {a.shape}; save a 1-D integer array of indices."
            )
        entries = [(int(v), f"position {i}") for i, v in enumerate(a)]
    elif p.suffix.lower() == ".csv":
        entries = _read_csv(p, column)
    else:
        if column:
            raise UserError(f"forget list {p}: `column` applies to a .csv file; remove it or give a CSV.")
        entries = []
        for i, line in enumerate(_text(p).splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if text:
                entries.append((_entry(text, f"forget list {p}, line {i}"), f"line {i}"))
    if not entries:
        raise UserError(f"forget list {p}: it names no sample; add the indices or image paths to forget.")
    return entries


def resolve(spec: dict, dataset_cfg: dict) -> np.ndarray:
    """The list's samples as source training indices, in the file's order, after every check that
    needs only the file and the source (no image decoded)."""
    path = spec["path"]
    entries = read_entries(path, spec.get("column"))
    cfg = section("dataset", dataset_cfg)
    n_source, _ = source_train_count(cfg)
    files = None
    if any(isinstance(v, str) for v, _ in entries):
        if cfg["name"] != "imagefolder":
            bad = next(w for v, w in entries if isinstance(v, str))
            raise UserError(
                f"forget list {path}, {bad}: image paths need an imagefolder source (dataset.name is "
                f"{cfg['name']}); give training indices instead."
            )
        files = {f: i for i, f in enumerate(imagefolder_train_files(cfg["root"]))}
    out, seen = [], {}
    for value, where in entries:
        if isinstance(value, str):
            rel = value.replace("\\", "/").removeprefix("./")
            if rel.startswith("test/"):
                raise UserError(
                    f"forget list {path}, {where}: {value} is a test image; only training images (train/...) can be "
                    "forgotten."
                )
            if rel not in files:
                raise UserError(
                    f"forget list {path}, {where}: no training image {value} in {cfg['root']}; give paths as "
                    "train/<class>/<file>, as in the tree."
                )
            i = files[rel]
        else:
            i = value
            if n_source is not None and not 0 <= i < n_source:
                raise UserError(
                    f"forget list {path}, {where}: index {i} is outside the {n_source} training images "
                    f"(0..{n_source - 1}) of the source."
                )
            if i < 0:
                raise UserError(f"forget list {path}, {where}: index {i} is negative; indices start at 0.")
        if i in seen:
            raise UserError(
                f"forget list {path}, {where}: names training image {i} again (first at {seen[i]}); remove the "
                "duplicate."
            )
        seen[i] = where
        out.append(i)
    idx = np.asarray(out, dtype=np.int64)
    if n_source is not None and cfg["subset"]:
        kept = subset_train_index(n_source, cfg["subset"], cfg["subset_seed"])
        missing = np.flatnonzero(~np.isin(idx, kept))
        if len(missing):
            i = int(idx[missing[0]])
            raise UserError(
                f"forget list {path}, {seen[i]}: training image {i} is not among the {cfg['subset']} images "
                f"dataset.subset keeps ({len(missing)} of the list's {len(idx)} are not); set dataset.subset: null "
                "or list images of the subset."
            )
    n = cfg["subset"] or n_source
    if n is not None and len(idx) >= n:
        raise UserError(
            f"forget list {path}: it names all {n} training images, so nothing would be retained; leave some out."
        )
    return idx


def to_bundle(source_idx: np.ndarray, train_source_index: np.ndarray, path) -> np.ndarray:
    """Source indices -> the bundle's training indices (its stored order), refusing any not stored."""
    pos = {int(s): i for i, s in enumerate(train_source_index)}
    missing = [int(i) for i in source_idx if int(i) not in pos]
    if missing:
        raise UserError(
            f"forget list {path}: training image {missing[0]} is not in the dataset bundle ({len(missing)} of the "
            "list's samples are not); list images of the configured dataset and subset."
        )
    return np.asarray([pos[int(i)] for i in source_idx], dtype=np.int64)


def _existing(path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"config key forget_sets[].path: forget list {path} does not exist (paths are relative to the directory "
            "Snakemake runs in); give the file's path."
        )
    return p


def _text(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"forget list {p}: not a text file ({e}); give a CSV, a .npy or one entry per line.") from e


def _read_csv(p: Path, column: str | None) -> list[tuple[int | str, str]]:
    rows = list(csv.reader(_text(p).splitlines()))
    if not rows:
        raise UserError(f"forget list {p}: it names no sample; add the indices or image paths to forget.")
    header = [h.strip() for h in rows[0]]
    if column is not None:
        if column not in header:
            raise UserError(f"forget list {p}: no column {column!r} in its header {header}; name one of them.")
        col = header.index(column)
    else:
        col = next((header.index(c) for c in INDEX_COLUMNS if c in header), 0 if len(header) == 1 else None)
        if col is None:
            raise UserError(
                f"forget list {p}: its header {header} has none of {list(INDEX_COLUMNS)}; name the column with "
                "forget_sets[].column."
            )
    out = []
    for i, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        if col >= len(row) or not row[col].strip():
            raise UserError(f"forget list {p}, line {i}: no value in column {header[col]!r}.")
        out.append((_entry(row[col].strip(), f"forget list {p}, line {i}"), f"line {i}"))
    return out


def _entry(text: str, where: str) -> int | str:
    """An integer index, or an image path (anything with a / or an image extension)."""
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d+\.0*", text):  # pandas writes an int column with NaNs as floats
        return int(float(text))
    if "/" in text or "\\" in text:
        return text
    raise UserError(f"{where}: {text!r} is neither a training index nor an image path (train/<class>/<file>).")
