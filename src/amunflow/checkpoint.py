"""Checkpoints: a state dict (torch.save) with a JSON sidecar that says what made it."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from . import UserError
from .io import atomic_path, file_hash, peak_rss_mb, provenance, sidecar_path, write_json
from .models import build_model


def save_tensors(path, tensors: dict, meta: dict) -> None:
    """Save a dict of tensors (moved to the CPU) and its JSON sidecar, each atomically. The sidecar
    records the file's content hash (checked by :func:`load_checkpoint`) and is written first, so a
    finished ``.pt`` always has its sidecar.
    """
    meta = dict(meta, **provenance(), torch_version=torch.__version__, peak_rss_mb=peak_rss_mb())
    state = {k: v.detach().cpu().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
        write_json(sidecar_path(path), dict(meta, content_sha256=file_hash(tmp)))


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
        recorded = meta.get("content_sha256")
        if recorded != file_hash(path):
            raise ValueError(
                "its bytes do not match the content hash its sidecar recorded when it was written (damaged "
                "or replaced since)"
                if recorded
                else "its sidecar records no content hash (written by older code)"
            )
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise UserError(
            f"checkpoint {path} cannot be read ({e.__class__.__name__}: {e}); delete it and rerun the workflow."
        ) from e
    return state, meta


def load_model(path, device="cpu") -> tuple[torch.nn.Module, dict]:
    """Build the model described by a checkpoint's sidecar and load its weights."""
    state, meta = load_checkpoint(path)
    model = build_model(meta["model"], num_classes=meta["num_classes"], image_size=meta["image_size"])
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(
            f"checkpoint {path} does not match the model its sidecar describes ({e}); delete it and rerun."
        ) from e
    return model.to(device), meta
