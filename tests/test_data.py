import os
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from amunflow import UserError
from amunflow.data import (
    CIFAR10_CLASSES,
    class_blocked,
    describe_source,
    load_bundle,
    load_source,
    prepare,
    source_fingerprint,
    synthetic,
    take_subset,
)
from amunflow.splits import make_split

from .helpers import need_cifar_zip


def test_synthetic_is_seeded_and_well_formed():
    a, b, c = synthetic(seed=0), synthetic(seed=0), synthetic(seed=1)
    assert a.train_x.dtype == np.uint8 and a.train_x.shape == (512, 3, 16, 16)
    assert np.array_equal(a.train_x, b.train_x) and np.array_equal(a.test_y, b.test_y)
    assert not np.array_equal(a.train_x, c.train_x)
    assert set(np.unique(a.train_y)) == {0, 1, 2, 3}


def test_subset_is_seeded_and_keeps_order():
    d = synthetic(n_train=100, n_test=40)
    s = take_subset(d, 30, 10, seed=3)
    idx = np.sort(np.random.RandomState(3).choice(100, 30, replace=False))
    np.testing.assert_array_equal(s.train_x, d.train_x[idx])
    np.testing.assert_array_equal(s.train_y, d.train_y[idx])
    assert len(s.test_y) == 10
    with pytest.raises(UserError, match="dataset.subset"):
        take_subset(d, 101, None, 0)


def test_bundle_roundtrip_and_corruption(tmp_path):
    cfg = {"name": "synthetic", "synthetic": {"n_train": 64, "n_test": 16}, "subset": 32}
    d = prepare(cfg, tmp_path / "d.h5")
    back = load_bundle(tmp_path / "d.h5")
    assert np.array_equal(back.train_x, d.train_x) and back.classes == d.classes and len(back.train_y) == 32
    assert back.fingerprint() == d.fingerprint()
    import h5py

    with h5py.File(tmp_path / "d.h5", "r+") as f:
        f["train_y"][0] = (f["train_y"][0] + 1) % 4
    with pytest.raises(UserError, match="fingerprint"):
        load_bundle(tmp_path / "d.h5")
    with pytest.raises(UserError, match="delete it and rerun"):
        load_bundle(tmp_path / "missing.h5")
    # where each image came from (a forget list's indices go through it) is checked too
    prepare(cfg, tmp_path / "e.h5")
    np.testing.assert_array_equal(
        load_bundle(tmp_path / "e.h5").attrs["train_source_index"], d.attrs["train_source_index"]
    )
    with h5py.File(tmp_path / "e.h5", "r+") as f:
        moved = f["train_source_index"][()]
        f["train_source_index"][...] = moved[[1, 0, *range(2, len(moved))]]
    with pytest.raises(UserError, match="source index .* fails its check"):
        load_bundle(tmp_path / "e.h5")


def test_missing_roots_give_clear_errors(tmp_path):
    with pytest.raises(UserError, match="dataset.root.*does not exist"):
        load_source({"name": "imagefolder", "root": str(tmp_path / "nope")})
    with pytest.raises(UserError, match="dataset.root: no cifar10"):
        describe_source({"name": "cifar10", "root": str(tmp_path), "download": False})
    with pytest.raises(UserError, match="no readable cifar10"):
        load_source({"name": "cifar10", "root": str(tmp_path), "download": False})
    with pytest.raises(UserError, match=r"dataset\.name: 'mnist' is not one of"):
        load_source({"name": "mnist", "root": "x"})
    (tmp_path / "flat").mkdir()
    with pytest.raises(UserError, match="train/ and test/"):
        load_source({"name": "imagefolder", "root": str(tmp_path / "flat")})


def _decode(path):
    return np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1)


def test_imagefolder_loads_real_cifar_images(cifar_small, cifar_small_zip):
    d = load_source({"name": "imagefolder", "root": str(cifar_small)})
    assert d.classes == CIFAR10_CLASSES
    assert d.train_x.shape == (200, 3, 32, 32) and d.test_x.shape == (60, 3, 32, 32)
    # labels follow the (alphabetical) class folders; pixels equal a direct PIL decode
    files = sorted((cifar_small / "train" / "cat").glob("*.jpg"))
    first_cat = list(d.train_y).index(3)
    assert np.array_equal(d.train_x[first_cat], _decode(files[0]))
    assert np.bincount(d.train_y).tolist() == [20] * 10
    assert 40 < d.train_x.mean() < 200  # real photos, not zeros
    z = load_source({"name": "imagefolder", "root": str(cifar_small_zip)})  # zip with one top-level folder
    assert z.fingerprint() == d.fingerprint()
    assert describe_source({"name": "imagefolder", "root": str(cifar_small_zip)}) == (200, CIFAR10_CLASSES)


def test_describe_full_cifar_zip():
    z = need_cifar_zip()
    assert describe_source({"name": "imagefolder", "root": str(z)}) == (50000, CIFAR10_CLASSES)
    assert describe_source({"name": "imagefolder", "root": str(z), "subset": 5000})[0] == 5000


def test_class_sorted_images_are_stored_interleaved(cifar_small, tmp_path):
    """An ImageFolder tree lists one class after another; an in-order pass (GA's and BS's D_R pass)
    over such a bundle would see one or two classes per batch. The bundle stores them interleaved."""
    src = load_source({"name": "imagefolder", "root": str(cifar_small)})
    assert class_blocked(src.train_y) and list(src.train_y[:20]) == [0] * 20
    d = prepare(
        {"name": "imagefolder", "root": str(cifar_small), "subset": None, "test_subset": None}, tmp_path / "b.h5"
    )
    back = load_bundle(tmp_path / "b.h5")
    assert not class_blocked(back.train_y) and back.attrs["train_order"].startswith("interleaved")
    idx = np.asarray(d.attrs["train_source_index"])
    np.testing.assert_array_equal(np.sort(idx), np.arange(200))  # every image once
    np.testing.assert_array_equal(back.train_x, src.train_x[idx])  # and traceable to its source
    np.testing.assert_array_equal(back.train_y, src.train_y[idx])
    np.testing.assert_array_equal(back.test_x, src.test_x)  # the test set is only evaluated: kept as is
    split = make_split({"kind": "random", "size": 0.1}, 1, back.train_y, back.classes)
    classes_per_batch = [len(set(back.train_y[split.retain[i : i + 32]])) for i in range(0, len(split.retain), 32)]
    assert min(classes_per_batch[:-1]) >= 6, classes_per_batch  # in the source order: 2 or 3 per batch
    src_split = make_split({"kind": "random", "size": 0.1}, 1, src.train_y, src.classes)
    assert max(len(set(src.train_y[src_split.retain[i : i + 32]])) for i in range(0, 160, 32)) <= 3


def test_random_order_sources_keep_their_order():
    d = synthetic(n_train=300, n_test=20)
    assert not class_blocked(d.train_y)
    s = take_subset(d, None, None, seed=0)
    np.testing.assert_array_equal(s.train_y, d.train_y)
    assert s.attrs["train_order"] == "source"
    assert class_blocked(np.sort(d.train_y)) and not class_blocked(np.array([0, 1] * 50))


def _tree(tmp_path, files: dict) -> Path:
    """An ImageFolder tree from {relative path: bytes}."""
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    return tmp_path


def _jpeg(color) -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="JPEG")
    return buf.getvalue()


def test_unreadable_images_and_archives_are_named(tmp_path):
    good = {f"{s}/{c}/{i}.jpg": _jpeg((40 * i, 9, 9)) for s in ("train", "test") for c in ("a", "b") for i in range(3)}
    truncated = dict(good, **{"train/b/2.jpg": good["train/b/2.jpg"][:60]})
    root = _tree(tmp_path / "folder", truncated)
    with pytest.raises(UserError, match=r"image .*train/b/2\.jpg cannot be read"):
        load_source({"name": "imagefolder", "root": str(root)})
    # the same inside a zip: the message names the zip and the member, not a temporary folder
    z = tmp_path / "trunc.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for rel, data in truncated.items():
            zf.writestr(rel, data)
    with pytest.raises(UserError, match=rf"image {re.escape(str(z))}: train/b/2\.jpg cannot be read"):
        load_source({"name": "imagefolder", "root": str(z)})
    # a damaged member (bad CRC) names the zip
    bad = tmp_path / "crc.zip"
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_STORED) as zf:
        for rel, data in good.items():
            zf.writestr(rel, data)
    raw = bytearray(bad.read_bytes())
    at = raw.find(good["train/a/1.jpg"][100:120])
    raw[at] ^= 0xFF
    bad.write_bytes(bytes(raw))
    with pytest.raises(UserError, match=rf"the zip archive {re.escape(str(bad))} is damaged"):
        load_source({"name": "imagefolder", "root": str(bad)})
    # a zip with train/ only: named before any job, and by the loader
    only = tmp_path / "only.zip"
    with zipfile.ZipFile(only, "w") as zf:
        for rel, data in good.items():
            if rel.startswith("train/"):
                zf.writestr(rel, data)
    with pytest.raises(UserError, match=rf"{re.escape(str(only))} holds no train/<class>/ and test/<class>/"):
        describe_source({"name": "imagefolder", "root": str(only)})
    with pytest.raises(UserError, match=rf"dataset\.root: {re.escape(str(only))} has no train/ and test/"):
        load_source({"name": "imagefolder", "root": str(only)})


def test_class_folders_and_test_subset_are_checked_before_any_job(tmp_path):
    good = {f"{s}/{c}/{i}.jpg": _jpeg((40 * i, 9, 9)) for s in ("train", "test") for c in ("a", "b") for i in range(3)}

    def zipped(name, files, dirs=()):
        z = tmp_path / name
        with zipfile.ZipFile(z, "w") as zf:
            for d in dirs:
                zf.writestr(d, b"")  # a directory entry
            for rel, data in files.items():
                zf.writestr(rel, data)
        return z

    for form in ("folder", "zip"):
        extra = dict(good, **{"test/c/0.jpg": _jpeg((1, 2, 3))})
        root = _tree(tmp_path / f"extra-{form}", extra) if form == "folder" else zipped("extra.zip", extra)
        with pytest.raises(UserError, match=rf"{re.escape(str(root))} has a class folder 'c' in test/ only"):
            describe_source({"name": "imagefolder", "root": str(root)})
        if form == "zip":  # the loader, too, names the zip, not the folder it was extracted to
            with pytest.raises(UserError, match=rf"train/ and test/ under {re.escape(str(root))} have different"):
                load_source({"name": "imagefolder", "root": str(root)})
    empty = zipped("empty.zip", dict(good, **{"test/c/0.jpg": _jpeg((1, 2, 3))}), dirs=["train/c/"])
    with pytest.raises(UserError, match=rf"{re.escape(str(empty))} has an empty class folder train/c/"):
        describe_source({"name": "imagefolder", "root": str(empty)})
    folder = _tree(tmp_path / "empty-folder", dict(good, **{"test/c/0.jpg": _jpeg((1, 2, 3))}))
    (folder / "train" / "c").mkdir()
    with pytest.raises(UserError, match=r"has an empty class folder train/c/"):
        describe_source({"name": "imagefolder", "root": str(folder)})
    bare = tmp_path / "bare"
    for split in ("train", "test"):
        (bare / split).mkdir(parents=True)
    with pytest.raises(UserError, match=rf"{re.escape(str(bare))} has no training images"):
        describe_source({"name": "imagefolder", "root": str(bare)})
    ok = zipped("ok.zip", good)
    assert describe_source({"name": "imagefolder", "root": str(ok), "test_subset": 6}) == (6, ["a", "b"])
    with pytest.raises(UserError, match=r"dataset\.test_subset: 7 is more than the 6 test images"):
        describe_source({"name": "imagefolder", "root": str(ok), "test_subset": 7})
    syn = {"name": "synthetic", "synthetic": {"n_train": 64, "n_test": 32}, "test_subset": 33}
    with pytest.raises(UserError, match=r"dataset\.test_subset: 33 is more than the 32 test images"):
        describe_source(syn)


def test_the_pre_check_counts_images_only(tmp_path):
    files = {f"{s}/{c}/{i}.jpg": _jpeg((9, 9, 9)) for s in ("train", "test") for c in ("a", "b") for i in range(2)}
    files.update({"train/a/notes.txt": b"x", "train/b/.DS_Store": b"x", "train/a/Thumbs.db": b"x"})
    root = _tree(tmp_path / "t", files)
    assert describe_source({"name": "imagefolder", "root": str(root)}) == (4, ["a", "b"])
    assert len(load_source({"name": "imagefolder", "root": str(root)}).train_y) == 4


def test_cifar_metadata_is_read_without_running_code(tmp_path):
    """batches.meta comes from a user-given folder: validating the config must not execute it."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": Evil()}))
    with pytest.raises(UserError, match=r"batches\.meta is not a plain CIFAR metadata file"):
        describe_source({"name": "cifar10", "root": str(tmp_path)})
    assert not marker.exists()
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["x", "y"]}))
    assert describe_source({"name": "cifar10", "root": str(tmp_path)})[1] == ["x", "y"]


def test_source_fingerprint_follows_the_content(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    files = {f"{s}/{c}/{i}.jpg": _jpeg((9, 9, i)) for s in ("train", "test") for c in ("a", "b") for i in range(2)}
    root = _tree(tmp_path / "t", files)
    cfg = {"name": "imagefolder", "root": str(root)}
    first = source_fingerprint(cfg)
    assert source_fingerprint(cfg) == first and (tmp_path / "cache" / "amunflow" / "source-hashes.json").exists()
    (root / "train" / "a" / "0.jpg").write_bytes(_jpeg((200, 9, 9)))
    assert source_fingerprint(cfg) != first
    assert source_fingerprint({"name": "synthetic"}) == source_fingerprint({"name": "synthetic"})
    assert source_fingerprint({"name": "synthetic", "synthetic": {"seed": 1}}) != source_fingerprint(
        {"name": "synthetic"}
    )
    assert source_fingerprint({"name": "cifar10", "root": str(tmp_path), "download": True}) == "download:cifar10"
