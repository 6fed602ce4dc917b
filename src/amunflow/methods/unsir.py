"""UNSIR (Tarun et al., "Fast yet effective machine unlearning", IEEE TNNLS 2023): error-maximizing
noise, then impair and repair. Follows the code SSD's authors ran it with for their published
comparison (if-loops/selective-synaptic-dampening src/forget_full_class_strategies.py ``UNSIR``,
with ``UNSIR_noise``, ``UNSIR_noise_train``, ``UNSIR_create_noisy_loader`` and
``fit_one_unlearning_cycle`` in src/unlearn.py and src/training_utils.py, copied from
vikram2000b/Fast-Machine-Unlearning), adapted to random forget sets, for which no reference code
exists (the SSD repository's scripts call ``-method UNSIR`` for random forgetting, but its argument
parser has no such choice).

1. Noise. The reference learns, per forget class, one batch of 32 noise images in the *normalized*
   input space, labelled with that class: z ~ N(0, 1), 25 Adam steps (lr 0.1) on
   -CE(f(z), y) + 0.1 * mean over the batch of sum(z^2), with the model left in train mode (so its
   BatchNorm statistics follow the noise), z unclamped. This workflow's models take [0, 1] images,
   so the noise is x = mu + sigma * z with D_R's channel mean and standard deviation (what the
   reference's Normalize removes) and the penalty is on z. Here each forget *sample* gets one noise
   image labelled with its label (the same objective per label, as many images as D_F holds; a
   documented departure), learned in batches of ``batch_size`` (the reference's 32) whose
   gradients are summed into one Adam step per noise step. ``noise_model_mode: eval`` keeps the
   BatchNorm statistics fixed instead.
2. Impair: ``epochs`` passes (reference: one) over the noise shuffled with a class-balanced subset
   of D_R, ``retain_per_class`` images of each class (reference: the first 500 of each retained
   class; here a random draw), batch ``batch_size`` (reference: 32), plain CE, Adam (lr 1e-4).
3. Repair: a fresh optimizer, ``epochs`` passes over the same subset (the reference reuses it), batch
   ``repair_batch_size`` (reference: 128).
No augmentation, as the reference. Needs D_R: with_retain only.
"""

import torch
import torch.nn.functional as F

from ..unlearn import Part, Trainer, unaugmented


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of images (uint8, or float in [0, 1]) as (1, C, 1, 1)
    tensors in [0, 1] units: the constants a Normalize transform of these images would use."""
    f = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    return f.mean(dim=(0, 2, 3)).view(1, -1, 1, 1), f.std(dim=(0, 2, 3), unbiased=False).view(1, -1, 1, 1)


def error_maximizing_noise(model, y, z, mean, std, ex: dict, batch_size: int) -> torch.Tensor:
    """The reference's noise training from start ``z`` (normalized space): ``noise_steps`` Adam
    steps on -CE(f(mean + std z), y) + noise_reg * mean(sum(z^2)) per batch of ``batch_size``,
    the batches' gradients summed into one step. Returns z; the model's parameters are untouched
    (its BatchNorm statistics move in ``noise_model_mode: train``, as the reference's do)."""
    z = z.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=ex["noise_lr"])
    model.train(ex["noise_model_mode"] == "train")
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        for _ in range(ex["noise_steps"]):
            opt.zero_grad(set_to_none=True)
            for i in range(0, len(y), batch_size):
                zc = z[i : i + batch_size]
                loss = -F.cross_entropy(model(mean + std * zc), y[i : i + batch_size])
                loss = loss + ex["noise_reg"] * zc.pow(2).flatten(1).sum(1).mean()
                loss.backward()
            opt.step()
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return z.detach()


def per_class_subset(part: Part, k: int, gen: torch.Generator) -> Part:
    """At most ``k`` random samples of each class of ``part`` (all of a class with fewer)."""
    picks = []
    for c in torch.unique(part.y):
        idx = torch.nonzero(part.y == c).flatten()
        picks.append(idx[torch.randperm(len(idx), device=idx.device, generator=gen)[:k]])
    idx = torch.cat(picks)
    return Part(part.name, part.x[idx], part.y[idx], part.augment)


def run(r):
    retain, forget = unaugmented(r.data.retain()), unaugmented(r.data.forget())
    ex = r.hp.extra
    gen = torch.Generator(device=retain.y.device).manual_seed(r.seed + 11)
    subset = per_class_subset(retain, ex["retain_per_class"], gen)
    mean, std = channel_stats(retain.x)
    z0 = torch.randn(
        forget.x.shape,
        generator=torch.Generator(device=forget.y.device).manual_seed(r.seed + 7),
        device=forget.y.device,
    )
    z = error_maximizing_noise(r.model, forget.y, z0, mean, std, ex, r.hp.batch_size)
    r.stats["extra_grad_evals"] += ex["noise_steps"] * len(forget.y)
    noise = Part("noise", mean + std * z, forget.y, False)
    tr = Trainer(r)
    try:
        for epoch in range(r.hp.epochs):
            tr.end_epoch(epoch, tr.pass_over([noise, subset]))
        tr.new_optimizer()
        for epoch in range(r.hp.epochs):
            tr.end_epoch(epoch, tr.pass_over([subset], batch_size=ex["repair_batch_size"]))
    finally:
        tr.close()
    return r.model


def cost(setting, hp, n_forget, n_retain):
    subset = min(n_retain, hp["retain_per_class"] * 10)  # an estimate: ten classes assumed
    return hp["noise_steps"] * n_forget + hp["epochs"] * (n_forget + 2 * subset)
