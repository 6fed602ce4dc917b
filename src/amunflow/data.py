"""Datasets as uint8 arrays: CIFAR-10/100 (torchvision), ImageFolder trees (folder or .zip) and a
seeded synthetic set, all turned into one HDF5 bundle that every later job loads in a second.

Images are stored as (N, C, H, W) uint8 and become floats in [0, 1] on the device; there is no
normalization, as in the paper.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from . import UserError
from .io import array_hash, atomic_path, provenance, stable_hash, write_json
from .schema import section

log = logging.getLogger(__name__)

CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


@dataclass
class ImageData:
    train_x: np.ndarray  # (N, C, H, W) uint8
    train_y: np.ndarray  # (N,) int64
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]
    name: str
    attrs: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[-1])

    def fingerprint(self) -> str:
        return array_hash(self.train_x, self.train_y, self.test_x, self.test_y)


def population(data: ImageData) -> tuple[np.ndarray, np.ndarray]:
    """RMIA's population P: the training images followed by the test images."""
    return np.concatenate([data.train_x, data.test_x]), np.concatenate([data.train_y, data.test_y])


# --------------------------------------------------------------------------- sources


def load_source(cfg: dict, progress_file=None) -> ImageData:
    """Read the dataset named by the ``dataset`` config section (before subsetting)."""
    cfg = section("dataset", cfg)
    name = cfg["name"]
    if name in ("cifar10", "cifar100"):
        return _torchvision_cifar(name, cfg["root"], cfg["download"])
    if name == "imagefolder":
        return _imagefolder(cfg["root"], progress_file)
    return synthetic(**cfg["synthetic"])  # the schema admits no other name


def _torchvision_cifar(name: str, root: str, download: bool) -> ImageData:
    from torchvision import datasets

    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    try:
        tr = cls(root, train=True, download=download)
        te = cls(root, train=False, download=download)
    except Exception as e:  # RuntimeError (not found / corrupt) or URLError (offline)
        hint = (
            "the download failed (no internet?): put the extracted python version of the dataset under it"
            if download
            else "set dataset.download: true on a machine with internet, or point dataset.root at a folder "
            "holding the extracted python version"
        )
        raise UserError(f"config key dataset.root: no readable {name} at {root!r} ({e}); {hint}.") from e
    return ImageData(
        train_x=np.ascontiguousarray(tr.data.transpose(0, 3, 1, 2)),
        train_y=np.asarray(tr.targets, dtype=np.int64),
        test_x=np.ascontiguousarray(te.data.transpose(0, 3, 1, 2)),
        test_y=np.asarray(te.targets, dtype=np.int64),
        classes=list(tr.classes),
        name=name,
        attrs={"source": str(root)},
    )


def _find_split_root(base: Path, label) -> Path:
    """The folder under ``base`` that holds ``train/`` and ``test/`` (the zip may add one level);
    errors name ``label`` (the configured folder or zip)."""
    if (base / "train").is_dir() and (base / "test").is_dir():
        return base
    subs = [p for p in base.iterdir() if p.is_dir() and (p / "train").is_dir() and (p / "test").is_dir()]
    if len(subs) == 1:
        return subs[0]
    raise UserError(
        f"config key dataset.root: {label} has no train/ and test/ folders of class sub-folders; "
        "lay the images out as train/<class>/*.jpg and test/<class>/*.jpg."
    )


def _imagefolder_root(root, key: str = "dataset.root", holding: str = "train/<class>/ and test/<class>/ image folders"):
    """The root of config key ``key`` as a Path: an existing folder or zip archive, else a UserError."""
    path = Path(root)
    if not path.exists():
        raise UserError(
            f"config key {key}: {str(root)!r} does not exist; point it at a folder (or .zip) holding {holding}."
        )
    if path.is_file() and not zipfile.is_zipfile(path):
        raise UserError(f"config key {key}: {str(root)!r} is a file but not a zip archive; give a folder or a .zip.")
    return path


def content_hash(path: Path) -> str:
    """A folder's or zip archive's content hash (cached by path, size and modification time)."""
    return f"zip:{_cached_hash(path, [path])}" if path.is_file() else f"files:{_tree_hash(path)}"


def _imagefolder(root: str, progress_file=None) -> ImageData:
    path = _imagefolder_root(root)
    if path.is_file():
        with tempfile.TemporaryDirectory(prefix="amunflow-data-") as tmp:
            log.info("extracting %s", path)
            try:
                with zipfile.ZipFile(path) as zf:
                    zf.extractall(tmp)
            except (zipfile.BadZipFile, OSError, EOFError) as e:  # e.g. "Bad CRC-32 for file ..."
                raise UserError(
                    f"config key dataset.root: the zip archive {path} is damaged ({e}); download or copy it again."
                ) from e
            data = _read_imagefolder(_find_split_root(Path(tmp), path), progress_file, tmp, path)
    else:
        data = _read_imagefolder(_find_split_root(path, path), progress_file)
    data.attrs["source"] = str(root)
    return data


def _read_imagefolder(base: Path, progress_file=None, tmp=None, archive=None) -> ImageData:
    """Decode train/ and test/ under ``base``; a file that is not a readable image is named (inside
    ``archive`` when ``base`` was extracted from it into ``tmp``)."""
    from torchvision.datasets import ImageFolder

    tr, te = ImageFolder(str(base / "train")), ImageFolder(str(base / "test"))
    if tr.classes != te.classes:
        raise UserError(
            f"config key dataset.root: train/ and test/ under {archive or base} have different class folders "
            f"({tr.classes} vs {te.classes}); give both the same classes."
        )

    def stack(ds, split):
        imgs, shape = [], None
        for p, _ in tqdm(ds.samples, desc=f"decode {split}", file=progress_file, mininterval=5, ascii=True):
            try:
                a = np.asarray(ds.loader(p))  # PIL -> RGB, (H, W, 3) uint8
            except (OSError, ValueError, SyntaxError) as e:  # truncated or not an image (PIL's errors)
                where = f"{archive}: {Path(p).relative_to(tmp)}" if archive else p
                raise UserError(
                    f"config key dataset.root: image {where} cannot be read ({e}); replace or remove that file."
                ) from e
            if shape is None:
                shape = a.shape
            elif a.shape != shape:
                where = f"{archive}: {Path(p).relative_to(tmp)}" if archive else p
                raise UserError(
                    f"config key dataset.root: image {where} is {a.shape[:2]} but others are {shape[:2]}; "
                    "resize all images to one size first."
                )
            imgs.append(a)
        return np.ascontiguousarray(np.stack(imgs).transpose(0, 3, 1, 2)), np.asarray(ds.targets, dtype=np.int64)

    train_x, train_y = stack(tr, "train")
    test_x, test_y = stack(te, "test")
    return ImageData(train_x, train_y, test_x, test_y, list(tr.classes), "imagefolder")


def synthetic(n_train=512, n_test=256, num_classes=4, image_size=16, seed=0, noise=48.0) -> ImageData:
    """A learnable toy set: each class is a smooth random template plus per-sample noise."""
    rs = np.random.RandomState(seed)
    coarse = rs.uniform(-1, 1, size=(num_classes, 3, 4, 4))
    rep = int(np.ceil(image_size / 4))
    templates = np.kron(coarse, np.ones((1, 1, rep, rep)))[:, :, :image_size, :image_size]

    def draw(n):
        y = rs.randint(0, num_classes, size=n).astype(np.int64)
        x = 128 + 70 * templates[y] + rs.normal(0, noise, size=(n, 3, image_size, image_size))
        return np.clip(np.rint(x), 0, 255).astype(np.uint8), y

    train_x, train_y = draw(n_train)
    test_x, test_y = draw(n_test)
    classes = [f"class{i}" for i in range(num_classes)]
    return ImageData(train_x, train_y, test_x, test_y, classes, "synthetic", {"source": f"synthetic(seed={seed})"})


# --------------------------------------------------------------------------- subset + bundle


def class_blocked(labels: np.ndarray) -> bool:
    """True when ``labels`` come in class blocks (an ImageFolder tree lists one class after another):
    the mean run of equal consecutive labels is over 3x what a random order of the same labels gives."""
    y = np.asarray(labels)
    if len(y) < 2:
        return False
    runs = 1 + np.count_nonzero(y[1:] != y[:-1])
    p = np.bincount(y) / len(y)
    expected_run = 1.0 / max(1.0 - float((p**2).sum()), 1e-12)
    return len(y) / runs > 3 * expected_run


def take_subset(data: ImageData, subset: int | None, test_subset: int | None, seed: int) -> ImageData:
    """Keep a seeded random subset (source order preserved) of the training and/or test images.

    Training images that come in class blocks (see :func:`class_blocked`) are stored in a seeded random
    order instead, drawn from the same RandomState after the subsets: any pass that walks the training
    set in order (GA's and BS's D_R passes, as in the AMUN code, whose torchvision CIFAR-10 order mixes
    the classes) then sees mixed batches, not one class at a time. ``train_source_index`` records where
    every stored image came from."""
    rs = np.random.RandomState(seed)
    tr = _pick(rs, len(data.train_y), subset, "subset")
    te = _pick(rs, len(data.test_y), test_subset, "test_subset")
    order = "source"
    if class_blocked(data.train_y[tr]):
        tr = tr[rs.permutation(len(tr))]
        order = f"interleaved (RandomState({seed}) permutation after the subset draws)"
        log.info("training images come in class blocks; stored in a seeded random order")
    attrs = dict(data.attrs, subset=subset or 0, test_subset=test_subset or 0, subset_seed=seed, train_order=order)
    out = ImageData(
        data.train_x[tr], data.train_y[tr], data.test_x[te], data.test_y[te], data.classes, data.name, attrs
    )
    out.attrs["train_source_index"] = tr
    out.attrs["test_source_index"] = te
    return out


def _pick(rs: np.random.RandomState, n_total: int, k: int | None, key: str) -> np.ndarray:
    """The sorted indices of a seeded subset of ``k`` of ``n_total`` (all of them for None)."""
    if k is None:
        return np.arange(n_total)
    if not 0 < k <= n_total:
        raise UserError(f"config key dataset.{key}: {k} is not in 1..{n_total}; choose a smaller subset or null.")
    return np.sort(rs.choice(n_total, k, replace=False))


def prepare(cfg: dict, out_path, progress_file=None, source_hash: str | None = None) -> ImageData:
    """Load the configured source, apply the subset, write the bundle atomically. ``source_hash``, when
    given, is what the source must still hash to (it was read when the workflow was planned)."""
    cfg = section("dataset", cfg)
    now = source_fingerprint(cfg)
    if source_hash is not None and now != source_hash:
        raise UserError(
            f"config key dataset.root: {cfg['root']} changed after the workflow was planned ({source_hash} -> {now}); "
            "run the workflow again."
        )
    data = load_source(cfg, progress_file)
    data = take_subset(data, cfg["subset"], cfg["test_subset"], cfg["subset_seed"])
    data.attrs["source_hash"] = now
    save_bundle(out_path, data)
    return data


def save_bundle(path, data: ImageData) -> None:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for key in ("train_x", "train_y", "test_x", "test_y"):
                f.create_dataset(key, data=getattr(data, key))
            for key in ("train_source_index", "test_source_index"):
                if key in data.attrs:
                    f.create_dataset(key, data=np.asarray(data.attrs[key], dtype=np.int64))
            if "train_source_index" in data.attrs:
                f.attrs["source_index_hash"] = _source_index_hash(data.attrs)
            f.attrs["classes"] = np.asarray(data.classes, dtype=h5py.string_dtype())
            f.attrs["name"] = data.name
            f.attrs["fingerprint"] = data.fingerprint()
            for k, v in provenance().items():
                f.attrs[k] = v
            for k, v in data.attrs.items():
                if not isinstance(v, np.ndarray):
                    f.attrs[k] = v


def load_bundle(path) -> ImageData:
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            arrays = {k: f[k][()] for k in ("train_x", "train_y", "test_x", "test_y")}
            attrs = {k: f.attrs[k] for k in f.attrs if k not in ("classes", "name")}
            classes = [c.decode() if isinstance(c, bytes) else str(c) for c in f.attrs["classes"]]
            name = str(f.attrs["name"])
            for key in ("train_source_index", "test_source_index"):
                if key in f:
                    attrs[key] = f[key][()].astype(np.int64)
    except (OSError, KeyError) as e:
        raise UserError(
            f"dataset bundle {path} is missing or unreadable ({e}); delete it and rerun the workflow."
        ) from e
    data = ImageData(classes=classes, name=name, attrs=attrs, **arrays)
    if attrs.get("fingerprint") != data.fingerprint():
        raise UserError(
            f"dataset bundle {path} fails its fingerprint check (corrupt?); delete it and rerun the workflow."
        )
    if "train_source_index" in attrs and attrs.get("source_index_hash") != _source_index_hash(attrs):
        raise UserError(
            f"dataset bundle {path}: its source index (where each image came from) fails its check (corrupt, or "
            "written by an older version); delete it and rerun the workflow."
        )
    return data


def _source_index_hash(attrs: dict) -> str:
    return array_hash(*(np.asarray(attrs[k], dtype=np.int64) for k in ("train_source_index", "test_source_index")))


# --------------------------------------------------------------------------- what the bundle is made from


def source_fingerprint(cfg: dict) -> str:
    """A content hash of what :func:`prepare` reads for the ``dataset`` section: the zip's bytes, or
    every file of the folder (relative path and bytes), or the synthetic set's parameters. Hashes
    are cached by path, size and modification time (``$XDG_CACHE_HOME/amunflow``), so only a new or
    changed source is read again. A CIFAR root that torchvision will download is named as such."""
    cfg = section("dataset", cfg)
    name = cfg["name"]
    if name == "synthetic":
        return "synthetic:" + stable_hash(cfg["synthetic"])
    if name in ("cifar10", "cifar100"):
        folder = Path(cfg["root"]) / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
        return f"files:{_tree_hash(folder)}" if folder.is_dir() else f"download:{name}"
    return content_hash(_imagefolder_root(cfg["root"]))


def _tree_hash(folder: Path) -> str:
    return _cached_hash(folder, sorted(p for p in folder.rglob("*") if p.is_file()))


def _cached_hash(root: Path, files: list[Path]) -> str:
    """sha256 over the files' relative paths and bytes, cached by their paths, sizes and mtimes."""
    stats = [(str(f.relative_to(root)) if f != root else f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    key = stable_hash([str(root.resolve()), stats], length=32)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "amunflow" / "source-hashes.json"
    known = json.loads(cache.read_text()) if cache.exists() else {}
    if key not in known:
        h = hashlib.sha256()
        for f, (rel, _, _) in zip(files, stats, strict=True):
            h.update(rel.encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(chunk)
        known[key] = h.hexdigest()[:16]
        try:
            write_json(cache, known)
        except OSError:  # a read-only home: the hash is still right, only not remembered
            pass
    return known[key]


# --------------------------------------------------------------------------- cheap facts for config checks


def describe_source(cfg: dict) -> tuple[int | None, list[str] | None]:
    """(number of training images after subsetting, class names) without decoding any image; a
    ``subset`` or ``test_subset`` larger than the source is refused here.

    Either may be None when it cannot be known cheaply (a CIFAR root that will be downloaded).
    """
    n, classes = source_train_count(cfg)
    if n is not None and section("dataset", cfg)["subset"]:
        n = section("dataset", cfg)["subset"]
    return n, classes


def source_train_count(cfg: dict) -> tuple[int | None, list[str] | None]:
    """(number of training images of the source, before subsetting; class names), as describe_source."""
    cfg = section("dataset", cfg)
    name = cfg["name"]
    n, n_test, classes = None, None, None
    if name == "synthetic":
        s = cfg["synthetic"]
        n, n_test, classes = s["n_train"], s["n_test"], [f"class{i}" for i in range(s["num_classes"])]
    elif name in ("cifar10", "cifar100"):
        n, n_test = 50000, 10000
        folder = Path(cfg["root"]) / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
        meta = folder / ("batches.meta" if name == "cifar10" else "meta")
        if meta.exists():
            classes = _read_plain_pickle(meta)["label_names" if name == "cifar10" else "fine_label_names"]
        elif name == "cifar10":
            classes = list(CIFAR10_CLASSES)
        if not cfg["download"] and not folder.exists():
            raise UserError(
                f"config key dataset.root: no {name} under {cfg['root']!r} (expected {folder.name}/); "
                "set dataset.download: true on a machine with internet, or point dataset.root at the extracted dataset."
            )
    elif name == "imagefolder":
        n, n_test, classes = _count_imagefolder(Path(cfg["root"]))
    for key, total, what in (("subset", n, "training"), ("test_subset", n_test, "test")):
        if total is not None and cfg[key] and cfg[key] > total:
            raise UserError(
                f"config key dataset.{key}: {cfg[key]} is more than the {total} {what} images of the dataset; "
                f"choose at most {total}, or null for all of them."
            )
    return n, classes


def subset_train_index(n_total: int, subset: int | None, seed: int) -> np.ndarray:
    """The source indices of the training images ``take_subset`` keeps (sorted): its first draw."""
    return _pick(np.random.RandomState(seed), n_total, subset or None, "subset")


class _PlainUnpickler(pickle.Unpickler):
    """Reads pickles of plain data (dicts, lists, strings, numbers) and refuses everything else, so a
    file from a user-given folder cannot run code while the config is checked."""

    def find_class(self, module, name):
        raise UserError(f"a pickle that names {module}.{name} is not plain data; it is not read here.")


def _read_plain_pickle(path: Path):
    try:
        with open(path, "rb") as f:
            return _PlainUnpickler(f, encoding="latin1").load()
    except UserError as e:
        raise UserError(f"config key dataset.root: {path} is not a plain CIFAR metadata file ({e})") from None
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise UserError(f"config key dataset.root: {path} cannot be read ({e}); download the dataset again.") from e


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # as ImageFolder


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _count_imagefolder(path: Path) -> tuple[int, int, list[str]]:
    """(training images, test images, classes) of an ImageFolder tree or zip, counting image files
    only; class folders that differ between train/ and test/, or hold no image, are refused here
    (naming the folder or zip), before any job starts."""
    images, classes = _imagefolder_listing(path)
    return len(images["train"]), len(images["test"]), classes


def imagefolder_train_files(root) -> list[str]:
    """The training images of an ImageFolder tree or zip as ``train/<class>/<file>``, in the order
    torchvision's ImageFolder (and so the bundle's source index) gives them: classes sorted, files
    sorted within each class."""
    images, _ = _imagefolder_listing(Path(root))
    return [f"train/{c}/{f}" for c, f in sorted((p[-2], p[-1]) for p in images["train"])]


def _imagefolder_listing(path: Path) -> tuple[dict, list[str]]:
    """({"train": [(..., class, file)], "test": [...]}, classes) of an ImageFolder tree or zip."""
    path = _imagefolder_root(path)
    if path.is_file():
        try:
            with zipfile.ZipFile(path) as zf:
                entries = zf.namelist()
        except zipfile.BadZipFile as e:
            raise UserError(f"config key dataset.root: the zip archive {path} is damaged ({e}); copy it again.") from e
        names = [n for n in entries if not n.endswith("/")]
        parts = [n.split("/") for n in names if _is_image(n)]
        # train/<class>/<file> and test/<class>/<file>, possibly under one top-level folder
        offset = next(
            (i for i in (0, 1) if all(any(len(p) > i + 2 and p[i] == s for p in parts) for s in ("train", "test"))),
            None,
        )
        if offset is None:
            raise UserError(
                f"config key dataset.root: {path} holds no train/<class>/ and test/<class>/ folders of images; "
                "lay the zip out as train/<class>/*.jpg and test/<class>/*.jpg."
            )
        top = parts[0][:offset]
        folders = {
            s: {p[offset + 1] for p in (e.split("/") for e in entries) if p[:offset] == top and len(p) > offset + 2
                and p[offset] == s}
            for s in ("train", "test")
        }  # fmt: skip
        images = {s: [p for p in parts if len(p) == offset + 3 and p[offset] == s] for s in ("train", "test")}
    else:
        base = _find_split_root(path, path)
        folders = {s: {d.name for d in (base / s).iterdir() if d.is_dir()} for s in ("train", "test")}
        images = {
            s: [
                (s, c, f.name)
                for c in folders[s]
                for f in (base / s / c).iterdir()
                if f.is_file() and _is_image(f.name)
            ]
            for s in ("train", "test")
        }
    if not images["train"] or not images["test"]:
        raise UserError(
            f"config key dataset.root: {path} has no {'training' if not images['train'] else 'test'} images "
            "(image files under train/<class>/ and test/<class>/); lay the images out that way."
        )
    if folders["train"] != folders["test"]:
        odd = sorted(folders["train"] ^ folders["test"])[0]
        where = "test" if odd in folders["test"] else "train"
        raise UserError(
            f"config key dataset.root: {path} has a class folder {odd!r} in {where}/ only; give train/ and test/ the "
            "same class folders."
        )
    for s in ("train", "test"):
        empty = sorted(folders[s] - {p[-2] for p in images[s]})
        if empty:
            raise UserError(
                f"config key dataset.root: {path} has an empty class folder {s}/{empty[0]}/ (no image files); "
                "add its images or remove the folder."
            )
    return images, sorted(folders["train"])
