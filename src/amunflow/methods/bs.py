"""BS (boundary shrink, Chen et al.): every epoch, a descent pass over D_R when the setting allows,
then for D_F: FGSM (L-inf, bound fgsm_eps, rounded to the 1/255 grid) against a frozen copy of the
model taken at the start of the epoch; the copy's prediction on the perturbed image becomes the new
label of the clean image (SPEC §4)."""

import torch
import torch.nn.functional as F

from ..unlearn import Trainer, frozen_copy
from .base import Method


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
    eps, disc = r.hp.extra["fgsm_eps"], r.hp.extra["discretize"]
    tr = Trainer(r)
    try:
        for epoch in range(r.hp.epochs):
            teacher = frozen_copy(r.model)  # the model as it is at the start of this epoch
            r.stats["teacher"] = teacher

            def shrink_labels(x, y):
                with torch.no_grad():
                    return teacher(fgsm(teacher, x, y, eps, disc)).argmax(1)

            if retain is not None:
                tr.pass_over([retain], shuffle=False)
            loss = tr.pass_over([forget], relabel=shrink_labels)
            tr.end_epoch(epoch, loss)
    finally:
        tr.close()
    return r.model


METHOD = Method(run, "BS: boundary shrinking with FGSM labels", extra={"fgsm_eps": 0.1, "discretize": True})
