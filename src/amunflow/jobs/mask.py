"""SalUn saliency scores of one model for one forget set (the mask of any ratio is a lookup)."""

from __future__ import annotations

import logging

from ..checkpoint import save_tensors
from ..device import pick_device
from ..saliency import saliency_scores
from .inputs import open_bundle, open_model, open_split

log = logging.getLogger(__name__)


def mask_job(model_path, data_path, split_path, device, out_path, expect_split=None, expect_model=None) -> None:
    data = open_bundle(data_path)
    split = open_split(split_path, data, expect_split)
    dev = pick_device(device)
    model, meta = open_model(model_path, data, dev, expect_model)
    scores = saliency_scores(model, data.train_x[split.forget], data.train_y[split.forget], dev)
    total = sum(s.numel() for s in scores.values())
    log.info("saliency over %d forget samples, %d parameter entries", len(split.forget), total)
    save_tensors(
        out_path,
        scores,
        {
            "kind": "saliency",
            "source_checkpoint": str(model_path),
            "source_config_hash": meta.get("config_hash"),
            "split_hash": split.hash,
            "dataset_fingerprint": data.fingerprint(),
            "entries": total,
        },
    )
