"""EU-k (exact unlearning of the last k layers; Goel et al., "Towards adversarial evaluation of machine
unlearning", 2022) as the Deep Unlearn benchmark runs it (xcadet/deepunlearn:
munl/unlearning/exact_unlearning_k.py, ``reinialize_modules`` / ``init_weights`` in
munl/models/__init__.py): CF-k (module ``cfk``) after re-initialising the last k stages and the
classifier: convolutions Kaiming-uniform (fan_out, ReLU gain) with zero bias, BatchNorm weight 1 and
bias 0 (running statistics kept, as the reference), linear layers Xavier-uniform with zero bias; then
fine-tuning on D_R alone with augmentation (the reference's augmented retain loader), BatchNorm on its
running statistics, and the L2 pull towards the re-initialised values. The draws are made on the CPU
from the run's seed. Needs D_R: with_retain only.
"""

import torch
from torch import nn

from .cfk import finetune_last_k, last_k


def reinitialize(modules, seed: int) -> None:
    """Deep Unlearn's ``init_weights`` applied to every submodule of ``modules``."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for top in modules:
            for m in top.modules():
                if isinstance(m, nn.Conv2d):
                    _draw(m.weight, lambda w: nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"))
                elif isinstance(m, nn.Linear):
                    _draw(m.weight, nn.init.xavier_uniform_)
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.fill_(1.0)
                else:
                    continue
                if m.bias is not None:
                    m.bias.zero_()


def _draw(param: torch.Tensor, init) -> None:
    w = torch.empty(param.shape)
    init(w)
    param.copy_(w)


def run(r):
    modules = last_k(r.model, r.hp.extra["k"])
    reinitialize(modules, r.seed + 31)
    return finetune_last_k(r, modules, augment=True)


def cost(setting, hp, n_forget, n_retain):
    return hp["epochs"] * n_retain
