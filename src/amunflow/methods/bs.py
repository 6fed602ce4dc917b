"""BS (boundary shrink; Chen et al., "Boundary unlearning", CVPR 2023), as the AMUN code runs it
(adversarial_unlearn.py, which produced the paper's numbers): every epoch, a descent pass over D_R in
its stored order when the setting allows, then a frozen copy of the model (the teacher), then one
shuffled pass over D_F where each (augmented) forget image x gets the teacher's prediction on its FGSM
neighbour (L-inf, bound fgsm_eps, rounded to the 1/255 grid) as its new label, and the model takes a
CE step on (x, new label).

teacher: after_retain (default, the AMUN code) copies the model after the epoch's D_R pass;
epoch_start copies it before that pass (the same when there is no D_R).
"""

import torch
import torch.nn.functional as F

from ..unlearn import Trainer, frozen_copy
from .base import epochs_over, retain_if_allowed


def fgsm(model, x, y, eps: float, discretize: bool = True):
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y)
        (g,) = torch.autograd.grad(loss, x)
    x_adv = torch.clamp(x.detach() + eps * g.sign(), 0, 1)
    return torch.round(x_adv * 255) / 255 if discretize else x_adv


def run(r):
    retain = r.data.retain() if r.data.setting == "with_retain" else None
    forget = r.data.forget()
    eps, disc, when = r.hp.extra["fgsm_eps"], r.hp.extra["discretize"], r.hp.extra["teacher"]
    if when not in ("after_retain", "epoch_start"):
        raise ValueError(f"unknown teacher timing {when!r}")
    tr = Trainer(r)
    try:
        for epoch in range(r.hp.epochs):
            teacher = frozen_copy(r.model) if when == "epoch_start" else None
            if retain is not None:
                tr.pass_over([retain], shuffle=False)
            if teacher is None:
                teacher = frozen_copy(r.model)

            def shrink_labels(x, y, teacher=teacher):
                r.stats["extra_grad_evals"] += len(y)  # the FGSM pass through the teacher
                with torch.no_grad():
                    return teacher(fgsm(teacher, x, y, eps, disc)).argmax(1)

            loss = tr.pass_over([forget], relabel=shrink_labels)
            tr.end_epoch(epoch, loss)
    finally:
        tr.close()
    return r.model


def cost(setting, hp, n_forget, n_retain):
    # the D_F pass costs two gradients per sample: the FGSM step through the teacher and the SGD step
    return epochs_over(hp, retain_if_allowed(setting, n_retain), 2 * n_forget)
