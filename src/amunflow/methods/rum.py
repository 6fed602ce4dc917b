"""RUM (Zhao et al., NeurIPS 2024, "What makes unlearning hard and what to do about it";
``kairanzhao/RUM`` @f593c9d, ``main_rum.py`` and ``main_forget.py`` / ``main_random.py`` with
``--sequential`` and ``--mem``): D_F is refined into groups by memorization and each group is unlearned
by the method that suits it, in sequence from the least to the most memorized, each step starting from
the model the previous one left.

* Groups: D_F ranked by the memorization score (the RMIA reference models' accuracy on a sample when IN
  their half minus when OUT, the Feldman-Zhang estimate the reference reads from its precomputed file;
  ties, frequent with few reference models, broken by the same estimate on their confidence, then by
  position) and cut into as many near-equal groups as ``inner`` has steps (the reference: 3 x 1,000).
* Steps (``inner``, lowest group first): the reference's "nothing" for the low group, FT for 10 epochs
  for the middle one, SalUn for 5 epochs for the high one, each at lr 0.1, batch 256, no augmentation.
  A step runs the registered method on views narrowed to its group; with ``later_in_retain`` the groups
  not yet unlearned are part of D_R (the reference's sequential retain set: all minus the groups up to
  this one). A step's hyperparameters: the method's own defaults, this run's recipe (its tuned lr), the
  step's keys.
* A step whose method reads a saliency mask (SalUn) computes it here on the step's model and group (the
  reference generates the mask for the group being unlearned); one whose method reads D_A gets its
  group's rows.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from ..hyper import RECIPE
from ..saliency import mask_from_scores, saliency_scores
from ..unlearn import Hyper, Run, timed
from . import REGISTRY
from .base import steps

log = logging.getLogger(__name__)


def groups(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Positions of D_F in ``k`` near-equal groups by rank, least memorized first: by the accuracy score
    (column 0), ties by the confidence score (column 1), then by position."""
    scores = np.asarray(scores)
    order = np.lexsort((np.arange(len(scores)), scores[:, 1], scores[:, 0]))
    return np.array_split(order, k)


def step_hyper(hp: dict, step: dict) -> dict:
    """One step's hyperparameters from the run's resolved ones ``hp``: the inner method's own defaults,
    the run's recipe keys, the step's keys."""
    shared = {k: v for k, v in hp.items() if k in RECIPE}
    own = {k: v for k, v in step.items() if k != "method"}
    return {**REGISTRY[step["method"]].extra, **shared, **own}


def run(r: Run):
    plan = steps(r.hp.extra)
    flat = {**{k: v for k, v in dataclasses.asdict(r.hp).items() if k != "extra"}, **r.hp.extra}
    scores = r.data.memorization()
    parts, mem = groups(scores, len(plan)), scores[:, 0]
    with timed(r):
        for k, (step, part) in enumerate(zip(plan, parts, strict=True)):
            lo, hi = (float(mem[part].min()), float(mem[part].max())) if len(part) else (np.nan, np.nan)
            name = "nothing" if step is None else step["method"]
            log.info(
                "RUM group %d/%d: %d samples, memorization [%.3g, %.3g]: %s", k + 1, len(plan), len(part), lo, hi, name
            )
            if step is None or not len(part):
                continue
            later = np.concatenate(parts[k + 1 :]) if r.hp.extra["later_in_retain"] and k + 1 < len(parts) else []
            views = r.data.narrowed(part, later)
            spec = REGISTRY[step["method"]]
            hp = Hyper.from_dict(step_hyper(flat, step))
            mask = None
            if spec.needs_mask:
                forget = views.forget()
                scores = saliency_scores(
                    r.model, forget.x, forget.y, r.device, seed=r.seed, crop_padding=hp.crop_padding, flip=hp.flip
                )
                mask = mask_from_scores(scores, hp.extra["mask_ratio"])
                r.stats["extra_grad_evals"] += len(part)
            sub = Run(r.model, views, hp, r.seed, r.device, mask, r.progress_file)
            r.model = spec.run(sub)
            r.stats["sample_steps"] += sub.stats["sample_steps"]
            r.stats["extra_grad_evals"] += sub.stats["extra_grad_evals"]
            for part_name, n in sub.stats["seen"].items():
                r.stats["seen"][part_name] = r.stats["seen"].get(part_name, 0) + n
    return r.model


def cost(setting, hp, n_forget, n_retain):
    plan = steps(hp)
    sizes = [len(p) for p in np.array_split(np.arange(n_forget), len(plan))]
    total = 0
    for k, step in enumerate(plan):
        if step is None or not sizes[k]:
            continue
        spec = REGISTRY[step["method"]]
        later = sum(sizes[k + 1 :]) if hp["later_in_retain"] else 0
        total += spec.cost(setting, step_hyper(hp, step), sizes[k], n_retain + later)
        total += sizes[k] if spec.needs_mask else 0
    return total
