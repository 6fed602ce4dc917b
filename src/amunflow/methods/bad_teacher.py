"""Bad Teacher (Chundawat et al., "Can bad teaching induce forgetting? Unlearning in deep networks
using an incompetent teacher", AAAI 2023), as the authors' code runs it (vikram2000b/
bad-teaching-unlearning unlearn.py ``UnlearnerLoss`` / ``blindspot_unlearner``, copied into
if-loops/selective-synaptic-dampening; the CIFAR notebook's settings: 30% of D_R, one epoch, Adam
1e-4, batch 256, T = 1).

The student starts from the original. Two frozen teachers: the original (competent) and a randomly
initialised network of the same architecture (incompetent). The student trains on D_F and a random
``retain_share`` of D_R (drawn once), shuffled together, on KL(teacher || student) at temperature
``kd_T`` with the incompetent teacher's outputs as targets for D_F samples and the competent one's for
D_R samples. As the reference (``F.kl_div`` with its default reduction), the KL is averaged over batch
and classes, with no T^2 factor. Student BatchNorm in train mode, teachers in eval mode, no
augmentation. forget_only: the D_F term alone.
"""

import copy

import torch
import torch.nn.functional as F

from ..unlearn import Part, fit, frozen_copy, random_share, teacher_logits


def incompetent_teacher(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """A frozen network of the model's architecture with fresh random weights (every layer's own
    ``reset_parameters``, drawn on the CPU from ``seed``; BatchNorm statistics reset too)."""
    m = copy.deepcopy(model).cpu()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for mod in m.modules():
            if hasattr(mod, "reset_parameters"):
                mod.reset_parameters()
    return frozen_copy(m.to(next(model.parameters()).device))


def kl_mean(student: torch.Tensor, teacher: torch.Tensor, T: float) -> torch.Tensor:
    """KL(teacher || student) at temperature T, averaged over batch x classes (kl_div's 'mean')."""
    p_t = F.softmax(teacher / T, dim=1)
    return (torch.xlogy(p_t, p_t) - p_t * F.log_softmax(student / T, dim=1)).mean()


def run(r):
    ex = r.hp.extra
    good = frozen_copy(r.model)
    bad = incompetent_teacher(r.model, r.seed + 104729)
    forget = r.data.forget()
    # the labels of the training stream say which teacher to follow: 1 for D_F, 0 for D_R
    parts = [Part("forget", forget.x, torch.ones_like(forget.y), False)]
    if r.data.setting == "with_retain":
        retain = r.data.retain()
        gen = torch.Generator(device=retain.y.device).manual_seed(r.seed + 15485863)
        sub = random_share(retain, ex["retain_share"], gen)
        parts.append(Part("retain", sub.x, torch.zeros_like(sub.y), False))

    def targets(x, is_forget):
        t_bad, t_good = teacher_logits(bad, x, r), teacher_logits(good, x, r)
        return torch.where(is_forget.bool().view(-1, 1), t_bad, t_good)

    def loss(out, is_forget, x):
        return kl_mean(out, targets(x, is_forget), ex["kd_T"])

    return fit(r, lambda epoch: parts, loss_fn=loss)


def cost(setting, hp, n_forget, n_retain):
    share = max(1, round(hp["retain_share"] * n_retain)) if setting == "with_retain" else 0
    return hp["epochs"] * (n_forget + share)
