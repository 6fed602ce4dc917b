"""Artifact helpers at the bottom of the package (no torch): atomic writes, JSON, stable hashes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from . import __version__


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path in the same folder; rename it onto ``path`` on success.

    A job killed half-way leaves only a ``.tmp`` file that never looks finished.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed earlier attempt
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files 0600; results follow the umask, as open() does
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def stable_hash(obj, length: int = 16) -> str:
    """Hash of a JSON-able object that does not depend on key order."""
    text = json.dumps(obj, sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def array_hash(*arrays: np.ndarray, length: int = 16) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:length]


PROVENANCE: dict = {}  # set once per job (amunflow.smk.run): what made the artifacts it writes


def provenance() -> dict:
    """What every artifact records about the code that made it: the package version, and the job's
    code version (:mod:`amunflow.codehash`) and card (:mod:`amunflow.cards`) when it runs under Snakemake."""
    return {"amunflow_version": __version__, **PROVENANCE}


def file_hash(path, length: int = 16) -> str:
    """sha256 of a file's bytes (streamed), shortened."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]


CHECKSUM_COLUMN = "row_sha256"


def checksummed_csv(text: str) -> str:
    """A CSV text (header and rows) with a last column holding the sha256 of the header and rows
    before it, so that an edited or damaged file is caught when read (:func:`verify_csv`)."""
    h = hashlib.sha256(text.encode()).hexdigest()[:16]
    lines = text.rstrip("\n").split("\n")
    return "\n".join([f"{lines[0]},{CHECKSUM_COLUMN}"] + [f"{line},{h}" for line in lines[1:]]) + "\n"


def verify_csv(text: str, path) -> str:
    """The CSV text of :func:`checksummed_csv` without its checksum column, after checking it; a
    ``ValueError`` naming ``path`` when the text is not what was written."""
    lines = text.rstrip("\n").split("\n")
    head, _, col = lines[0].rpartition(",")
    sums = {line.rpartition(",")[2] for line in lines[1:]}
    body = "\n".join([head] + [line.rpartition(",")[0] for line in lines[1:]]) + "\n"
    if col != CHECKSUM_COLUMN or len(sums) != 1 or sums.pop() != hashlib.sha256(body.encode()).hexdigest()[:16]:
        raise ValueError(f"{path} does not match the checksum written with it (edited or damaged)")
    return body


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB): what a benchmark file would record."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sidecar_path(ckpt_path) -> Path:
    return Path(ckpt_path).with_suffix(".json")
