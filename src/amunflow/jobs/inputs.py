"""The one way a job opens its inputs, so that none skips a check: the dataset bundle (its
fingerprint), a split drawn on that bundle, and a checkpoint trained on it."""

from __future__ import annotations

from .. import UserError
from ..checkpoint import load_model
from ..data import ImageData, load_bundle
from ..splits import Split, load_split


def open_bundle(path) -> ImageData:
    return load_bundle(path)


def open_split(path, data: ImageData) -> Split:
    return load_split(path, data.fingerprint())


def open_model(path, data: ImageData, device):
    """(model on ``device``, sidecar) of a checkpoint, refused unless it was made on ``data``."""
    model, meta = load_model(path, device)
    if meta.get("dataset_fingerprint") != data.fingerprint():
        raise UserError(f"checkpoint {path} was made on another dataset bundle; delete it and rerun the workflow.")
    return model, meta
