"""LoTUS (Spartalis et al., "LoTUS: Large-scale machine unlearning with a taste of uncertainty", CVPR 2025),
as the authors' code runs it (cspartalis/LoTUS @35ae25e: src/unlearning_methods/lotus_class.py ``LoTUS``;
the defaults of src/helpers/config.py, alpha 8 and 10 epochs from src/bash_scripts/reproduce_results.sh for
ResNet-18 on CIFAR-10; its CIFAR training transform: RandomCrop(32, padding 4), no flip).

The student starts from the original; a frozen copy is the teacher (eval mode). The training stream is D_F
and a random ``retain_share`` of D_R (``int(share x |D_R|)`` images, drawn once), shuffled together every
epoch, augmented. Before each epoch, the student's accuracy on D_F (eval mode, one augmented pass) minus
the teacher's held-out accuracy, both rounded to two decimals as the reference's ``compute_accuracy``:
at -0.01 or below unlearning stops; else the temperature is tau = exp(``alpha`` x difference). Each step's
targets are Gumbel-softmax samples of the teacher's logits: hard (tau 1, one-hot, straight-through) for
D_R samples, soft at tau for D_F samples (two fresh Gumbel draws per batch, hard first); the loss is the
batch mean of -sum_c t_c log softmax(student)_c. AdamW over every parameter. The reference's validation
set is a stratified half of the test set kept out of its evaluation; here the teacher's accuracy is taken
on D_T (a scalar of the original, measured once). The reference reads D_R: with_retain only.
"""

import logging
import math

import torch
import torch.nn.functional as F

from ..unlearn import Diverged, Mixture, Part, Trainer, frozen_copy, held_out_accuracy, teacher_logits

log = logging.getLogger(__name__)


def gumbel_softmax(logits: torch.Tensor, tau: float, hard: bool, gen: torch.Generator) -> torch.Tensor:
    """``torch.nn.functional.gumbel_softmax`` with its noise drawn from ``gen``."""
    gumbels = -torch.empty_like(logits).exponential_(generator=gen).log()
    y_soft = ((logits + gumbels) / tau).softmax(-1)
    if not hard:
        return y_soft
    index = y_soft.max(-1, keepdim=True)[1]
    y_hard = torch.zeros_like(logits).scatter_(-1, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def lotus_loss(out, teacher, is_forget, tau: float, gen: torch.Generator) -> torch.Tensor:
    """The reference's ``unlearning_loss``: soft Gumbel targets at tau for D_F, hard ones for D_R."""
    hard = gumbel_softmax(teacher, 1.0, True, gen)
    soft = gumbel_softmax(teacher, tau, False, gen)
    w = is_forget.float().unsqueeze(1)
    target = w * soft + (1 - w) * hard
    return -(target * F.log_softmax(out, dim=1)).sum(1).mean()


def rounded_accuracy(model, batches, r) -> float:
    """Accuracy as a fraction rounded to two decimals (the reference's ``compute_accuracy``), eval mode."""
    model.eval()
    hit = n = 0
    with torch.no_grad():
        for x, y in batches:
            hit += int((teacher_logits(model, x, r).argmax(1) == y).sum())
            n += len(y)
    return round(hit / max(n, 1), 2)


def run(r):
    ex, hp = r.hp.extra, r.hp
    teacher = frozen_copy(r.model)
    forget, retain = r.data.forget(), r.data.retain()
    acc_val = round(held_out_accuracy(teacher, r), 2)
    tr = Trainer(r)
    try:
        k = int(ex["retain_share"] * len(retain))
        idx = torch.randperm(len(retain), device=retain.y.device, generator=tr.gen)[:k]
        parts = [
            Part("forget", forget.x, torch.ones_like(forget.y), forget.augment),
            Part("retain", retain.x[idx], torch.zeros_like(idx), retain.augment),
        ]
        forget_pass = Mixture([forget])
        for epoch in range(hp.epochs):
            batches = (forget_pass.gather(i, tr.gen, hp) for i in forget_pass.batches(hp.batch_size, tr.gen, False))
            acc_forget = rounded_accuracy(r.model, batches, r)
            diff = acc_forget - acc_val
            if diff <= -0.01:
                log.info("epoch %d: D_F accuracy %.2f, teacher's held-out %.2f: stop", epoch + 1, acc_forget, acc_val)
                break
            tau = math.exp(ex["alpha"] * diff)
            total, n = torch.zeros((), device=r.device), 0
            for x, is_forget in tr.batches(parts):
                t = teacher_logits(teacher, x, r)
                out = tr.forward(x)
                total += tr.update(lotus_loss(out, t, is_forget, tau, tr.gen), len(x)) * len(x)
                n += len(x)
            loss = float(total / max(n, 1))
            if not math.isfinite(loss):
                raise Diverged(f"unlearning diverged: LoTUS's loss is {loss} in epoch {epoch + 1}; lower the lr.")
            log.info("epoch %d/%d D_F accuracy %.2f tau %.4g loss %.4f", epoch + 1, hp.epochs, acc_forget, tau, loss)
        r.stats["epochs_run"] = epoch + (0 if diff <= -0.01 else 1)
    finally:
        tr.close()
    return r.model


def cost(setting, hp, n_forget, n_retain):
    """At most ``epochs`` passes over D_F and the retain share (the stop is data-dependent)."""
    return hp["epochs"] * (n_forget + int(hp["retain_share"] * n_retain))
