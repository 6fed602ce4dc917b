"""UNSIR (Tarun et al., "Fast yet effective machine unlearning", IEEE TNNLS 2023): error-maximizing
noise, then impair and repair. Follows the authors' code (vikram2000b/Fast-Machine-Unlearning,
copied into if-loops/selective-synaptic-dampening src/unlearn.py ``UNSIR_noise``,
``UNSIR_noise_train``, ``UNSIR_create_noisy_loader`` and forget_full_class_strategies.py ``UNSIR``),
adapted to random forget sets, for which no reference code exists (the SSD repository's scripts call
``-method UNSIR`` for random forgetting, but its argument parser has no such choice).

1. Noise: the reference learns one noise batch per forget *class*, labelled with that class, that
   maximizes the model's loss on it. Here each forget *sample* gets one noise image labelled with the
   sample's label (the same objective per label, as many noise images as D_F holds): starting from
   N(0, 1), ``noise_steps`` Adam steps (lr ``noise_lr``) on -CE(f(noise), y) + noise_reg * mean over
   images of sum(noise^2), model in eval mode, noise not clamped (the reference works in normalized
   input space and does not clamp either).
2. Impair: ``epochs`` passes over the noise shuffled with a random ``impair_retain_share`` of D_R
   (the reference: 500 images per retained class), plain CE.
3. Repair: a fresh optimizer, ``epochs`` passes over D_R, plain CE.
The reference uses Adam (lr 1e-4, one epoch each) and no augmentation: the defaults here. Needs D_R:
with_retain only.
"""

import torch
import torch.nn.functional as F

from ..unlearn import Part, Trainer, random_share, unaugmented


def error_maximizing_noise(model, y: torch.Tensor, shape, r) -> torch.Tensor:
    """Images that maximize the model's CE for labels ``y``, with an L2 penalty on their energy."""
    ex = r.hp.extra
    gen = torch.Generator(device=y.device).manual_seed(r.seed + 7)
    noise = torch.randn((len(y), *shape), generator=gen, device=y.device).requires_grad_(True)
    opt = torch.optim.Adam([noise], lr=ex["noise_lr"])
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        for _ in range(ex["noise_steps"]):
            loss = -F.cross_entropy(model(noise), y) + ex["noise_reg"] * noise.pow(2).flatten(1).sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            r.stats["extra_grad_evals"] += len(y)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return noise.detach()


def run(r):
    retain, forget = unaugmented(r.data.retain()), unaugmented(r.data.forget())
    ex = r.hp.extra
    noise = error_maximizing_noise(r.model, forget.y, forget.x.shape[1:], r)
    gen = torch.Generator(device=retain.y.device).manual_seed(r.seed + 11)
    impair = [Part("noise", noise, forget.y, False), random_share(retain, ex["impair_retain_share"], gen)]
    tr = Trainer(r)
    try:
        for epoch in range(r.hp.epochs):
            tr.end_epoch(epoch, tr.pass_over(impair))
        tr.new_optimizer()
        for epoch in range(r.hp.epochs):
            tr.end_epoch(epoch, tr.pass_over([retain]))
    finally:
        tr.close()
    return r.model


def cost(setting, hp, n_forget, n_retain):
    impair = n_forget + max(1, round(hp["impair_retain_share"] * n_retain))
    return hp["noise_steps"] * n_forget + hp["epochs"] * (impair + n_retain)
