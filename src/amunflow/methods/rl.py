"""RL (random labels; Golatkar et al. 2020, as the AMUN code's RLDataset): D_F with labels drawn
uniformly from the other classes, redrawn every epoch, mixed with D_R when the setting allows. With a
saliency mask (registry entry ``salun``) this is SalUn (Fan et al. 2024): RL with the mask on the
gradients."""

import torch

from ..unlearn import Part, fit, random_wrong_labels
from .base import epochs_over, retain_if_allowed


def random_label_parts(r):
    """epoch -> parts; the forget labels are redrawn for every epoch (never the true label)."""
    forget = r.data.forget()
    fixed = [r.data.retain()] if r.data.setting == "with_retain" else []
    gen = torch.Generator(device=forget.y.device).manual_seed(r.seed + 7919)

    def parts(epoch):
        relabelled = Part("forget", forget.x, random_wrong_labels(forget.y, r.data.num_classes, gen), forget.augment)
        return fixed + [relabelled]

    return parts


def run(r):
    return fit(r, random_label_parts(r))


def cost(setting, hp, n_forget, n_retain):
    return epochs_over(hp, retain_if_allowed(setting, n_retain), n_forget)
