import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CIFAR_ZIP = (ROOT / ".." / "shared" / "data" / "cifar10-jpeg.zip").resolve()
CONFIGS = Path(__file__).parent / "configs"


def need_cifar_zip() -> Path:
    """The real CIFAR-10 zip; a skip when absent, a failure when AMUNFLOW_REQUIRE_DATA=1 (CI)."""
    if CIFAR_ZIP.exists():
        return CIFAR_ZIP
    msg = f"real CIFAR-10 zip not found at {CIFAR_ZIP}"
    if os.environ.get("AMUNFLOW_REQUIRE_DATA") == "1":
        pytest.fail(msg + " but AMUNFLOW_REQUIRE_DATA=1")
    pytest.skip(msg)


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
            for cls, files in by_class.items():
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


def runtime_distributions(root: str = "amunflow") -> set[str]:
    """The distributions ``pip install -e .`` brings (``root`` and its requirements, recursively,
    without extras), by canonical name."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, todo = set(), [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            reqs = distribution(name).requires or []
        except PackageNotFoundError:  # a requirement for another platform or Python
            continue
        seen.add(name)
        for r in map(Requirement, reqs):
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(r.name)
    return seen


def runtime_only_env() -> dict:
    """An environment in which every Python process (Snakemake and its jobs) can import only what the
    README's plain install provides: modules installed here only through the test extras (pytest,
    snakefmt, the SLURM plugin and what they pull in) fail to import."""
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    allowed = runtime_distributions() | {"pip", "setuptools", "wheel"}  # what a fresh venv has
    blocked = sorted(
        mod for mod, dists in packages_distributions().items()
        if not any(canonicalize_name(d) in allowed for d in dists)
    )  # fmt: skip
    path = os.pathsep.join(filter(None, [str(Path(__file__).parent / "runtime_env"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "AMUNFLOW_BLOCKED_MODULES": ",".join(blocked)}


def snakemake(workdir: Path, *args, check=True, timeout=600, env=None) -> subprocess.CompletedProcess:
    """Run the real Snakemake CLI on this repository's Snakefile in ``workdir``."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    dest = tmp_path / "tiny.yaml"
    shutil.copy(CONFIGS / "tiny.yaml", dest)
    return dest
