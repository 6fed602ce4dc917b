"""Surrogate images: natural images a method distils on where it may not touch D_R (SCAR's reference
uses 10,000 ImageNet images shrunk to 32x32; ``jbonato1/SCAR`` src/dsets.py ``get_surrogate``). The config's
``surrogate`` section names a folder or zip of image files (any layout; labels ignored); ``size`` of
them, drawn with ``seed``, are resized to the dataset's image size and stored in one HDF5 file that the
unlearning runs read. Where the root is the dataset's own, only training images the bundle did not draw
are candidates (no test image), so no image of D_F, D_R or D_T can be a surrogate."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from . import UserError
from .data import ImageData, _imagefolder_root, _is_image, content_hash
from .io import atomic_path

log = logging.getLogger(__name__)


def _root(root) -> Path:
    return _imagefolder_root(root, "surrogate.root", "image files")


def fingerprint(root) -> str:
    """A content hash of the surrogate root (cached by path, size and modification time)."""
    return content_hash(_root(root))


def list_images(root) -> list[str]:
    """The image files under ``root`` (zip member names or relative paths), sorted."""
    path = _root(root)
    if path.is_file():
        with zipfile.ZipFile(path) as zf:
            return sorted(n for n in zf.namelist() if _is_image(n))
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file() and _is_image(p.name))


def candidates(root, dataset_cfg: dict, data: ImageData) -> list[str]:
    """The images a surrogate may be drawn from: all of them, or, under the dataset's own root, its
    training images (``train/<class>/<file>``, in the bundle's source order) that the bundle did not draw."""
    names = list_images(root)
    same = dataset_cfg.get("name") == "imagefolder" and Path(dataset_cfg["root"]).resolve() == Path(root).resolve()
    if not same:
        return names
    parts = [n.split("/") for n in names]
    train = sorted((p for p in parts if len(p) >= 3 and p[-3] == "train"), key=lambda p: (p[-2], p[-1]))
    used = set(np.asarray(data.attrs["train_source_index"]).tolist())
    return ["/".join(p) for i, p in enumerate(train) if i not in used]


def _read(path: Path, name: str, zf, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    try:
        raw = zf.read(name) if zf is not None else (path / name).read_bytes()
        img = Image.open(io.BytesIO(raw)).convert("RGB")
    except (OSError, ValueError, SyntaxError, KeyError) as e:
        raise UserError(f"config key surrogate.root: image {path}: {name} cannot be read ({e}); remove it.") from e
    if img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(img).transpose(2, 0, 1)


def prepare(sur_cfg: dict, dataset_cfg: dict, data: ImageData, out_path, expect: str, progress_file=None):
    """Draw and decode the surrogate images into ``out_path``; the root must still hash to ``expect``."""
    root = sur_cfg["root"]
    if fingerprint(root) != expect:
        raise UserError(f"config key surrogate.root: {root} changed after the workflow was planned; run it again.")
    names = candidates(root, dataset_cfg, data)
    if len(names) < sur_cfg["size"]:
        raise UserError(
            f"config key surrogate.size: {sur_cfg['size']} images asked for, but {root} holds {len(names)} that may "
            "be used; lower surrogate.size or add images."
        )
    pick = np.sort(np.random.RandomState(sur_cfg["seed"]).choice(len(names), sur_cfg["size"], replace=False))
    path, hw = _root(root), data.train_x.shape[2:]
    zf = zipfile.ZipFile(path) if path.is_file() else None
    try:
        x = np.stack(
            [
                _read(path, names[i], zf, hw)
                for i in tqdm(pick, desc="surrogate images", file=progress_file, mininterval=5, ascii=True)
            ]
        )
    finally:
        if zf is not None:
            zf.close()
    log.info("%d surrogate images of %d candidates under %s, resized to %s", len(x), len(names), root, tuple(hw))
    with atomic_path(out_path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("x", data=x)
            f.attrs.update(kind="surrogate", root=str(root), source=expect, dataset_fingerprint=data.fingerprint())
            f.attrs.update(size=sur_cfg["size"], seed=sur_cfg["seed"], candidates=len(names))
    return x


def load(path, data: ImageData) -> np.ndarray:
    """The surrogate images (N, 3, H, W) uint8, refused unless made for this dataset bundle and intact."""
    try:
        with h5py.File(path, "r") as f:
            x, attrs = f["x"][()], dict(f.attrs)
    except (OSError, KeyError) as e:
        raise UserError(f"surrogate images {path} are missing or damaged ({e}); delete them and rerun.") from e
    if attrs.get("dataset_fingerprint") != data.fingerprint():
        raise UserError(f"surrogate images {path} were made for another dataset bundle; delete them and rerun.")
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != data.train_x.shape[1:] or len(x) != attrs.get("size"):
        raise UserError(f"surrogate images {path} have shape {x.shape} ({x.dtype}); delete them and rerun.")
    return x
