"""The D_A summary job: a table row and the final-eps histogram (the paper's Fig. 4) of one D_A file,
apart from the attack's job module so that a change to the plots reruns this, not the attack."""

from __future__ import annotations

import logging

import pandas as pd

from ..adversarial import read_adversarial
from ..attack import summarize
from ..io import atomic_path
from ..plots import eps_histogram

log = logging.getLogger(__name__)


def summary_job(adv_path, out_csv, out_png) -> dict:
    """Summary row (CSV) and the final-eps histogram (the paper's Fig. 4) of one D_A file."""
    adv, attrs = read_adversarial(adv_path)
    eps_init, steps = float(attrs["attack_eps_init"]), int(attrs["attack_steps"])
    stats = summarize(adv, eps_init, steps)
    stats.update(checkpoint=attrs.get("checkpoint"), scope=attrs.get("scope"), device=attrs.get("device"))
    with atomic_path(out_csv) as tmp:
        pd.DataFrame([stats]).to_csv(tmp, index=False)
    eps_histogram(adv.eps, eps_init, stats["mean_delta_norm"], out_png)
    log.info("%s", stats)
    return stats
