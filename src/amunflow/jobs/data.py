"""The dataset bundle, the surrogate images and the forget / retain splits."""

from __future__ import annotations

import logging

from .. import UserError
from ..data import prepare
from ..forget_list import list_sha256, to_bundle
from ..forget_list import resolve as resolve_list
from ..splits import make_split, save_split
from ..surrogate import prepare as prepare_surrogate
from .inputs import open_bundle, open_memorization

log = logging.getLogger(__name__)


def prepare_job(dataset_cfg: dict, source_hash: str, out_path, progress_file=None):
    data = prepare(dataset_cfg, out_path, progress_file, source_hash)
    log.info(
        "%s: %d train / %d test images of %s, %d classes, order %s, fingerprint %s",
        data.name,
        len(data.train_y),
        len(data.test_y),
        data.train_x.shape[1:],
        data.num_classes,
        data.attrs["train_order"],
        data.fingerprint(),
    )
    return data


def surrogate_job(data_path, surrogate_cfg: dict, dataset_cfg: dict, source: str, out_path, progress_file=None):
    """The surrogate images of the config's surrogate section, for this bundle (:mod:`amunflow.surrogate`)."""
    return prepare_surrogate(surrogate_cfg, dataset_cfg, open_bundle(data_path), out_path, source, progress_file)


def split_job(
    data_path,
    spec: dict,
    forget_set: str,
    seed: int,
    role: str,
    out_path,
    ref_logits=(),
    keep_path=None,
    dataset_cfg: dict | None = None,
):
    """Draw one split; a memorized forget set reads the RMIA reference models' logits and keep matrix for
    each training image's memorization score; a list reads its file (which must still have the content
    ``spec["sha256"]`` it had when the workflow was planned) against the source ``dataset_cfg``."""
    data = open_bundle(data_path)
    scores, listed = None, None
    if spec["kind"] == "list":
        if list_sha256(spec["path"]) != spec["sha256"]:
            raise UserError(
                f"forget list {spec['path']} changed after the workflow was planned; run the workflow again."
            )
        source_idx = resolve_list(spec, dataset_cfg)
        listed = to_bundle(source_idx, data.attrs["train_source_index"], spec["path"])
    if spec["kind"] == "memorized":
        scores = open_memorization(ref_logits, keep_path, data)[0]
    split = make_split(spec, seed, data.train_y, data.classes, role=role, scores=scores, listed=listed)
    split.attrs["forget_set"] = forget_set
    save_split(out_path, split, data.fingerprint())
    log.info("%s: %d forget / %d retain, hash %s", split.attrs, len(split.forget), len(split.retain), split.hash)
    return split
