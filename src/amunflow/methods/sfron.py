"""SFR-on (Huang et al., "Unified gradient-based machine unlearning with remain geometry enhancement",
NeurIPS 2024), as the authors' code runs CIFAR-10 random forgetting (K1nght/Unified-Unlearning-w-Remain-
Geometry, Classification/unlearn/sfron.py: ``SFRon.__init__`` for the CIFAR-10 10% values,
``get_weight_saliency_mask``, ``AdaptiveLoss``, ``get_unlearned_model``).

Before unlearning, a saliency mask from the original (eval mode, augmented images): per parameter
entry, the squared gradient of the batch-mean CE averaged over the D_F batches, over that of the D_R
batches; entries whose ratio (each + 1e-15) is at least ``threshold`` (the paper's gamma) are the
ones the forget steps may move. Then ``iters`` iterations on one SGD optimizer with a cosine schedule
over the iterations (stepped every iteration): every ``forget_freq``-th iteration first takes a forget
step on the next batch of a cycled D_F stream, the adaptive-weighted CE ascended with weight
``forget_alpha`` x (1 + cos(pi t / iters)) / 2 (per sample l_i, weights l_i^-lambd / sum_j l_j^-lambd,
detached: well-fit samples weigh more), gradients masked, then clipped to total norm ``max_norm``;
every iteration takes a descent step of plain CE on the next batch of a cycled D_R stream (no mask,
no clip). BatchNorm in train mode, images augmented, as the reference's loaders. Its EMA hook with
beta 1.0 leaves the weights as they are and is left out. Needs D_R: with_retain only.
"""

import logging
import math

import torch
import torch.nn.functional as F

from ..unlearn import Diverged, Trainer

log = logging.getLogger(__name__)


def adaptive_ce(out: torch.Tensor, y: torch.Tensor, lambd: float) -> torch.Tensor:
    """sum_i w_i l_i with w_i = l_i^-lambd / sum_j l_j^-lambd (weights detached): the reference's
    ``AdaptiveLoss`` (its ``(coef / coef.sum()) * l * B``, then the mean)."""
    losses = F.cross_entropy(out, y, reduction="none")
    coef = 1.0 / (losses.detach() ** lambd + 1e-15)
    return (coef / coef.sum() * losses).sum()


def fisher_ratio_mask(tr: Trainer, forget, retain, threshold: float) -> dict:
    """1 where the D_F batches' mean squared batch gradient over the D_R batches' is >= threshold."""
    model = tr.model
    model.eval()
    sums = []
    for part in (forget, retain):
        acc, n = {k: torch.zeros_like(p) for k, p in tr.params.items()}, 0
        for x, y in tr.batches([part]):
            model.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            for k, p in tr.params.items():
                if p.grad is not None:
                    acc[k] += p.grad.detach() ** 2
            n += 1
            tr.run.stats["extra_grad_evals"] += len(y)
        sums.append({k: v / max(n, 1) for k, v in acc.items()})
    model.zero_grad(set_to_none=True)
    return {k: ((sums[0][k] + 1e-15) / (sums[1][k] + 1e-15) >= threshold).float() for k in tr.params}


def cycled(tr: Trainer, part):
    """Batches of one shuffled pass over ``part`` after another, for as long as they are asked for."""
    while True:
        yield from tr.batches([part])


def run(r):
    ex = r.hp.extra
    iters = ex["iters"]
    forget, retain = r.data.forget(), r.data.retain()
    tr = Trainer(r)
    try:
        mask = fisher_ratio_mask(tr, forget, retain, ex["threshold"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(tr.opt, T_max=iters)
        forget_stream, retain_stream = cycled(tr, forget), cycled(tr, retain)
        total, n = torch.zeros((), device=r.device), 0
        for step in range(iters):
            if step % ex["forget_freq"] == 0:
                alpha = ex["forget_alpha"] * (1 + math.cos(math.pi * step / iters)) / 2
                x, y = next(forget_stream)
                loss = -alpha * adaptive_ce(tr.forward(x), y, ex["lambd"])
                tr.opt.zero_grad(set_to_none=True)
                loss.backward()
                for k, p in tr.params.items():
                    if p.grad is not None:
                        p.grad.mul_(mask[k])
                torch.nn.utils.clip_grad_norm_(tr.model.parameters(), ex["max_norm"])
                tr.opt.step()
                r.stats["sample_steps"] += len(y)
            x, y = next(retain_stream)
            total += tr.update(F.cross_entropy(tr.forward(x), y), len(y)) * len(y)
            n += len(y)
            sched.step()
            if (step + 1) % 100 == 0 or step + 1 == iters:  # a log line and the divergence check
                value = float(total / max(n, 1))
                if not math.isfinite(value):
                    raise Diverged(f"unlearning diverged: D_R loss is {value} at step {step + 1}; lower the lr.")
                log.info("step %d/%d lr %.3g D_R loss %.4f", step + 1, iters, tr.opt.param_groups[0]["lr"], value)
                total, n = torch.zeros((), device=r.device), 0
    finally:
        tr.close()
    return r.model


def _cycled_sum(sizes: list[int], k: int) -> int:
    """The samples in the first k batches of a stream that repeats passes of these batch sizes."""
    full, rest = divmod(k, len(sizes))
    return full * sum(sizes) + sum(sizes[:rest])


def cost(setting, hp, n_forget, n_retain):
    """The mask's gradient pass over D_F and D_R, then per iteration one D_R batch, and every
    forget_freq-th one D_F batch, each stream cycling over its passes."""
    b, iters = hp["batch_size"], hp["iters"]

    def sizes(n):
        return [min(b, n - i) for i in range(0, n, b)]

    forget_steps = math.ceil(iters / hp["forget_freq"])
    return n_forget + n_retain + _cycled_sum(sizes(n_retain), iters) + _cycled_sum(sizes(n_forget), forget_steps)
