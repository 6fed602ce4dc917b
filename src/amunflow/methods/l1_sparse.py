"""l1-sparse (Liu et al., "Model sparsity can simplify machine unlearning", NeurIPS 2023): FT on D_R
plus alpha_t * ||theta||_1 over all parameters.

alpha_schedule compound (default; the AMUN code's adversarial_unlearn.py, which produced the paper's
numbers): epoch t uses alpha_t, and after it alpha_{t+1} = (2 - 2 t / E) alpha_t, so alpha_0 = alpha,
alpha_1 = 2 alpha, alpha_2 = 3.6 alpha, ... (5e-4, 1e-3, 1.8e-3, ... for alpha = 5e-4).
alpha_schedule linear (the l1-sparse authors' code, OPTML-Group/Unlearn-Sparse): alpha_t = alpha (1 - t / E).
"""

from ..unlearn import fit
from .base import epochs_over


def alpha_at(alpha: float, schedule: str, epoch: int, epochs: int) -> float:
    """The l1 weight used in epoch ``epoch`` (0-based) of ``epochs``."""
    if schedule == "linear":
        return alpha * (1 - epoch / epochs)
    if schedule == "compound":
        for t in range(epoch):  # the updates made at the end of epochs 0 .. epoch - 1
            alpha *= 2 - 2 * t / epochs
        return alpha
    raise ValueError(f"unknown alpha_schedule {schedule!r}; use compound or linear")


def run(r):
    parts = [r.data.retain()]
    alpha, schedule, epochs = r.hp.extra["alpha"], r.hp.extra["alpha_schedule"], r.hp.epochs

    def l1_term(epoch):
        a = alpha_at(alpha, schedule, epoch, epochs)
        return lambda model: a * sum(p.abs().sum() for p in model.parameters())

    return fit(r, lambda epoch: parts, extra_loss=l1_term)


def cost(setting, hp, n_forget, n_retain):
    return epochs_over(hp, n_retain)
