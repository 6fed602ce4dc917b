"""U-LiRA's shadow splits (jobs/ulira.py has the attack): kept apart from the attack's code, so that a
change to how the attack scores (metrics.py) reruns the attack and not the shadows' training."""

from __future__ import annotations

import logging

import numpy as np

from .. import UserError
from ..splits import Split, save_split
from .inputs import open_bundle, open_split

log = logging.getLogger(__name__)


def shadow_split_job(data_path, split_path, keep_path, shadow: int, out_path, expect_split=None) -> Split:
    """Shadow ``shadow``'s split of the target split: forget = D_F inside its half, retain = the rest."""
    data = open_bundle(data_path)
    target = open_split(split_path, data, expect_split)
    keep = np.load(keep_path)
    if keep.shape[1:] != data.train_y.shape or not 0 <= shadow < len(keep):
        raise UserError(f"keep matrix {keep_path} ({keep.shape}) does not fit this dataset; delete it and rerun.")
    inside = keep[shadow]
    forget = target.forget[inside[target.forget]]
    retain = np.setdiff1d(np.flatnonzero(inside), target.forget)
    attrs = {
        **{k: v for k, v in target.attrs.items() if k in ("forget_set", "seed", "kind", "size", "classes")},
        "role": "shadow",
        "shadow": shadow,
        "target_split_hash": target.hash,
        "n_train": int(inside.sum()),
        "n_forget": len(forget),
    }
    split = Split(forget.astype(np.int64), retain.astype(np.int64), attrs)
    save_split(out_path, split, data.fingerprint())
    log.info(
        "shadow %d: %d of %d forget samples in its half, %d retained",
        shadow,
        len(forget),
        len(target.forget),
        len(retain),
    )
    return split
