"""Artifact helpers: atomic writes, stable hashes, checkpoints with JSON sidecars."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from . import UserError, __version__


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


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB): what a benchmark file would record."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sidecar_path(ckpt_path) -> Path:
    return Path(ckpt_path).with_suffix(".json")


def save_tensors(path, tensors: dict, meta: dict) -> None:
    """Save a dict of tensors (moved to the CPU) and its JSON sidecar, each atomically.

    The sidecar is written first, so a finished ``.pt`` always has its sidecar.
    """
    meta = dict(meta, amunflow_version=__version__, torch_version=torch.__version__, peak_rss_mb=peak_rss_mb())
    write_json(sidecar_path(path), meta)
    state = {k: v.detach().cpu().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def save_checkpoint(path, model: torch.nn.Module, meta: dict) -> None:
    """Save a model's state dict with its JSON sidecar (see :func:`save_tensors`)."""
    save_tensors(path, model.state_dict(), meta)


def load_checkpoint(path, map_location="cpu") -> tuple[dict, dict]:
    """Return (state_dict, sidecar) for a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    side = sidecar_path(path)
    if not path.exists():
        raise UserError(f"checkpoint {path} does not exist; rerun the workflow to produce it.")
    if not side.exists():
        raise UserError(
            f"checkpoint {path} has no sidecar {side.name}; delete {path} and rerun the workflow to rebuild it."
        )
    try:
        meta = json.loads(side.read_text())
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise UserError(
            f"checkpoint {path} cannot be read ({e.__class__.__name__}: {e}); delete it and rerun the workflow."
        ) from e
    return state, meta


def load_model(path, device="cpu") -> tuple[torch.nn.Module, dict]:
    """Build the model described by a checkpoint's sidecar and load its weights."""
    from .models import build_model

    state, meta = load_checkpoint(path)
    model = build_model(meta["model"], num_classes=meta["num_classes"], image_size=meta["image_size"])
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(
            f"checkpoint {path} does not match the model its sidecar describes ({e}); delete it and rerun."
        ) from e
    return model.to(device), meta
