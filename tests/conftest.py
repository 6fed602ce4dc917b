"""Fixtures: a small real-CIFAR ImageFolder tree (folder and zip) and the tiny synthetic config."""

import shutil
import zipfile
from pathlib import Path

import pytest

from .helpers import CONFIGS, need_cifar_zip


@pytest.fixture(scope="session")
def cifar_small(tmp_path_factory) -> Path:
    """A small real-CIFAR ImageFolder tree: the first 20 train / 6 test JPEGs (by name) of each class."""
    src = need_cifar_zip()
    out = tmp_path_factory.mktemp("cifar-small")
    with zipfile.ZipFile(src) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".jpg"))
        for split, per_class in (("train", 20), ("test", 6)):
            by_class = {}
            for n in names:
                parts = n.split("/")
                if parts[0] == split:
                    by_class.setdefault(parts[1], []).append(n)
            for files in by_class.values():
                for n in files[:per_class]:
                    dest = out / n
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(zf.read(n))
    return out


@pytest.fixture(scope="session")
def cifar_small_zip(cifar_small, tmp_path_factory) -> Path:
    """The same tree as a zip with one top-level folder (as many downloaded archives have)."""
    z = tmp_path_factory.mktemp("cifar-zip") / "cifar-small.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(cifar_small.rglob("*.jpg")):
            zf.write(p, "cifar-small/" + str(p.relative_to(cifar_small)))
    return z


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    dest = tmp_path / "tiny.yaml"
    shutil.copy(CONFIGS / "tiny.yaml", dest)
    return dest
