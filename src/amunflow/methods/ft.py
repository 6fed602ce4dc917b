"""FT (Warnecke et al. 2023, "Machine unlearning of features and labels"): fine-tune on D_R only, as
the AMUN code's FT (adversarial_unlearn.py). Needs D_R, so with_retain only."""

from ..unlearn import fit
from .base import epochs_over


def run(r):
    parts = [r.data.retain()]
    return fit(r, lambda epoch: parts)


def cost(setting, hp, n_forget, n_retain):
    return epochs_over(hp, n_retain)
