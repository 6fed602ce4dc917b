"""RL (random labels): D_F with labels drawn uniformly from the other classes, redrawn every epoch,
mixed with D_R when the setting allows (SPEC §4)."""

import torch

from ..unlearn import Part, fit, random_wrong_labels
from .base import Method


def random_label_parts(r):
    """epoch -> parts; the forget labels are redrawn for every epoch (never the true label)."""
    forget = r.data.forget()
    fixed = [r.data.retain()] if r.data.setting == "with_retain" else []
    gen = torch.Generator(device=forget.y.device).manual_seed(r.seed + 7919)

    def parts(epoch):
        relabelled = Part("forget", forget.x, random_wrong_labels(forget.y, r.data.num_classes, gen), forget.augment)
        r.stats.setdefault("forget_labels", []).append(relabelled.y.cpu())
        return fixed + [relabelled]

    return parts


def run(r):
    return fit(r, random_label_parts(r), leaky_mask=r.hp.extra.get("leaky_mask", False))


METHOD = Method(run, "RL: random wrong labels on D_F (+ D_R)")
