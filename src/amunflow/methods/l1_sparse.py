"""l1-sparse (Liu et al.): FT on D_R plus alpha_t * ||theta||_1 over all parameters.

alpha_schedule linear (l1-sparse / SalUn code): alpha_t = alpha * (1 - t / E) in epoch t = 0..E-1.
alpha_schedule compound (the AMUN code): at the start of every epoch t, alpha <- (2 - 2 t / E) * alpha,
which compounds (alpha doubles in epoch 0).
"""

from ..unlearn import fit
from .base import Method


def alpha_at(alpha: float, schedule: str, epoch: int, epochs: int) -> float:
    if schedule == "linear":
        return alpha * (1 - epoch / epochs)
    if schedule == "compound":
        for t in range(epoch + 1):
            alpha *= 2 - 2 * t / epochs
        return alpha
    raise ValueError(f"unknown alpha_schedule {schedule!r}; use linear or compound")


def run(r):
    parts = [r.data.retain()]
    alpha, schedule, epochs = r.hp.extra["alpha"], r.hp.extra["alpha_schedule"], r.hp.epochs

    def l1_term(epoch):
        a = alpha_at(alpha, schedule, epoch, epochs)
        return lambda model: a * sum(p.abs().sum() for p in model.parameters())

    return fit(r, lambda epoch: parts, extra_loss=l1_term)


METHOD = Method(
    run, "l1-sparse: FT on D_R with an l1 penalty", settings=("with_retain",),
    extra={"alpha": 5e-4, "alpha_schedule": "linear"},
)  # fmt: skip
