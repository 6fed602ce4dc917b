"""A deliberately plain, one-sample-at-a-time implementation of Algorithm 1 (docs/protocol.md §2), used as
the independent reference for the vectorized builder (tests and benchmarks)."""

import torch
import torch.nn.functional as F


def pgd_l2_one(model, x, y, eps_init, steps, step_ratio, max_rounds=20):
    """Return (x_adv, adv_label, eps, grad_evals, found, clean_pred) for one image x (C, H, W)."""
    model.eval()
    adv = x.clone()
    eps = eps_init
    evals = 0
    clean_pred = None
    for rnd in range(max_rounds):
        for t in range(steps + 1):
            with torch.no_grad():
                pred = int(model(adv[None]).argmax(1))
            if clean_pred is None:
                clean_pred = pred
            if pred != y:
                return adv, pred, eps, evals, True, clean_pred
            if t == steps:  # this round's last iterate is still correct
                break
            a = adv.clone().requires_grad_(True)
            loss = F.cross_entropy(model(a[None]), torch.tensor([y], device=x.device))
            (g,) = torch.autograd.grad(loss, a)
            g = g / (g.norm() + 1e-10)
            a = adv + eps * step_ratio * g
            delta = a - x
            delta = delta * min(eps / float(delta.norm()), 1.0)
            adv = torch.clamp(x + delta, 0, 1).detach()
            evals += 1
        if rnd < max_rounds - 1:
            eps = eps * 2
    return adv, pred, eps, evals, False, clean_pred
