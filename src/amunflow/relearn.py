"""Relearn time: how many epochs of fine-tuning on D_F bring back the original model's accuracy on it
(Golatkar et al. 2020 and the unlearning benchmarks after them read a short relearn time as knowledge of
D_F left in the weights). Plain SGD with momentum, no augmentation, on a copy of the model."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from .predict import accuracy


def relearn_epochs(model, x_u8: np.ndarray, y: np.ndarray, target_acc: float, cfg: dict, seed: int, device) -> float:
    """Epochs of fine-tuning on (x, y) until the eval-mode accuracy on them reaches ``target_acc`` (0 when
    it already does; ``cfg["max_epochs"] + 1`` when it does not within them). ``cfg``: evaluation.relearn
    (lr, momentum, batch_size, max_epochs)."""
    x = torch.as_tensor(x_u8)
    labels = torch.as_tensor(y, dtype=torch.long)
    if accuracy(model, x, y, device) >= target_acc:
        return 0.0
    m = copy.deepcopy(model).to(device)
    opt = torch.optim.SGD(m.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(1, cfg["max_epochs"] + 1):
        m.train()
        for idx in torch.randperm(len(y), generator=gen).split(cfg["batch_size"]):
            xb = x[idx].to(device).float().div_(255)
            loss = F.cross_entropy(m(xb), labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if accuracy(m, x, y, device) >= target_acc:
            return float(epoch)
    return float(cfg["max_epochs"] + 1)
