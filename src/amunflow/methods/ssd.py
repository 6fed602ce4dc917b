"""SSD (selective synaptic dampening; Foster, Schoepf and Brintrup, AAAI 2024), as the authors' code
runs it (if-loops/selective-synaptic-dampening: src/ssd.py ``ParameterPerturber.calc_importance`` and
``modify_weight``, driven by forget_full_class_strategies.py ``ssd_tuning``). No training step.

1. Importances (a diagonal Fisher): with the model in eval mode, for every batch of a pass the square
   of the gradient of the batch-mean CE (true labels), summed over batches and divided by the number
   of batches (a partial last batch included); once over D_F in its order (imp_F, the reference's
   unshuffled ``forget_train_dl``) and once over the whole training set D (imp_D) as the reference's
   unshuffled ``full_train_dl`` walks it (src/forget_random_main.py: ConcatDataset of the retain part,
   in random_split's random order, then the forget part): D_R in one seeded random order, then D_F, so
   the last batches are pure forget batches, in batches of ``batch_size`` for both.
2. Dampening: every parameter entry with imp_F > selection_weighting * imp_D is multiplied by
   min(dampening_constant * imp_D / imp_F, 1); the others are left as they are. Every parameter
   tensor is eligible (convolutions, BatchNorm affine weights and biases, the classifier).

The reference code has no forget-only variant (imp_D needs D; it can be computed before the request,
but from D all the same): with_retain only. Images are not augmented; importances are computed in
fp32 whatever the run's precision.
"""

import torch
import torch.nn.functional as F

from ..unlearn import Mixture, timed, unaugmented


def importances(model, parts, r, order: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Per parameter, the mean over batches of the squared gradient of the batch-mean CE, walking the
    concatenation of ``parts`` in ``order`` (default: as given) in consecutive batches."""
    model.eval()
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    imp = {n: torch.zeros_like(p) for n, p in params.items()}
    gen = torch.Generator(device=r.device).manual_seed(r.seed)
    mix = Mixture(parts)
    order = torch.arange(len(mix), device=r.device) if order is None else order
    n_batches = 0
    for i in range(0, len(mix), r.hp.batch_size):
        x, y = mix.gather(order[i : i + r.hp.batch_size], gen, r.hp)
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x).float(), y).backward()
        for n, p in params.items():
            if p.grad is not None:
                imp[n] += p.grad.detach() ** 2
        n_batches += 1
        r.stats["extra_grad_evals"] += len(y)
    model.zero_grad(set_to_none=True)
    return {n: v / max(n_batches, 1) for n, v in imp.items()}


def full_order(n_retain: int, n_forget: int, seed: int, device) -> torch.Tensor:
    """The reference's pass over D: D_R in one random order (its random_split), then D_F as it is."""
    gen = torch.Generator(device=device).manual_seed(seed)
    perm = torch.randperm(n_retain, device=device, generator=gen)
    return torch.cat([perm, n_retain + torch.arange(n_forget, device=device)])


def dampen(model, imp_forget, imp_all, selection: float, dampening: float) -> dict[str, int]:
    """Scale the selected entries in place; returns how many entries of each tensor were changed."""
    changed = {}
    with torch.no_grad():
        for n, p in model.named_parameters():
            f, d = imp_forget[n], imp_all[n]
            sel = f > selection * d
            beta = torch.where(sel, dampening * d / torch.where(sel, f, torch.ones_like(f)), torch.ones_like(f))
            p.mul_(beta.clamp(max=1.0))
            changed[n] = int(sel.sum())
    return changed


def run(r):
    retain, forget = unaugmented(r.data.retain()), unaugmented(r.data.forget())
    ex = r.hp.extra
    with timed(r):
        imp_forget = importances(r.model, [forget], r)
        imp_all = importances(r.model, [retain, forget], r, full_order(len(retain), len(forget), r.seed, r.device))
        changed = dampen(r.model, imp_forget, imp_all, ex["selection_weighting"], ex["dampening_constant"])
    r.stats["seen"] = {"forget": 2 * len(forget), "retain": len(retain)}
    r.stats["dampened"] = sum(changed.values())
    return r.model


def cost(setting, hp, n_forget, n_retain):
    # no SGD step; one forward + backward per sample of D_F and of D (counted as sample-steps of work)
    return 2 * n_forget + n_retain
