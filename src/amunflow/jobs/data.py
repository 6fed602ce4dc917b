"""The dataset bundle and the forget / retain splits."""

from __future__ import annotations

import logging

from ..data import prepare
from ..splits import make_split, save_split
from .inputs import open_bundle

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


def split_job(data_path, spec: dict, forget_set: str, seed: int, role: str, out_path):
    data = open_bundle(data_path)
    split = make_split(spec, seed, data.train_y, data.classes, role=role)
    split.attrs["forget_set"] = forget_set
    save_split(out_path, split, data.fingerprint())
    log.info("%s: %d forget / %d retain, hash %s", split.attrs, len(split.forget), len(split.retain), split.hash)
    return split
