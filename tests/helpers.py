"""Helpers the tests share: paths, the real-CIFAR zip, running the real Snakemake CLI (optionally with
only the runtime dependencies importable), and reading its job counts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
        mod
        for mod, dists in packages_distributions().items()
        if not any(canonicalize_name(d) in allowed for d in dists)
    )
    path = os.pathsep.join(filter(None, [str(Path(__file__).parent / "runtime_env"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "AMUNFLOW_BLOCKED_MODULES": ",".join(blocked)}


def snakemake(workdir: Path, *args, check=True, timeout=600, env=None) -> subprocess.CompletedProcess:
    """Run the real Snakemake CLI on this repository's Snakefile in ``workdir``."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def job_counts(output: str) -> dict:
    """The 'Job stats' table Snakemake prints: rule -> number of jobs run ({} when nothing is to be done)."""
    if "Job stats:" not in output:
        assert "Nothing to be done" in output, output[-2000:]
        return {}
    lines = output.split("Job stats:")[1].splitlines()
    counts = {}
    for line in lines[3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def dry_run(work, path, cfg) -> dict:
    """The jobs Snakemake would run in ``work`` with config ``cfg`` (written to ``path``)."""
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(work, "--configfile", str(path), "-n")
    return job_counts(proc.stdout + proc.stderr)
