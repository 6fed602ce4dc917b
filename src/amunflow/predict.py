"""Logits and accuracies of a model in eval mode: every score the workflow reports comes from here."""

from __future__ import annotations

import torch

from .augment import to_float
from .device import autocast
from .models import fold_batchnorm


@torch.inference_mode()
def predict_logits(model, x_u8: torch.Tensor, device, batch_size=0, precision="fp32", channels_last=True):
    """Logits (float32, on CPU) of ``model`` in eval mode for uint8 (or [0, 1] float) images, no augmentation.

    The passes run through a BatchNorm-folded copy of the model (the same function up to float
    rounding), in channels_last unless told otherwise; ``batch_size`` 0 picks 256 on a CPU (faster
    there than larger batches) and 1024 on a GPU. ``model`` itself is left as it was, in eval mode.
    """
    model.eval()
    net = fold_batchnorm(model)
    if channels_last and net is not model:
        net = net.to(memory_format=torch.channels_last)
    batch_size = batch_size or (1024 if torch.device(device).type == "cuda" else 256)
    out = []
    for i in range(0, len(x_u8), batch_size):
        xb = to_float(x_u8[i : i + batch_size].to(device, non_blocking=True), channels_last)
        with autocast(device, precision):
            out.append(net(xb).float())
    return torch.cat(out).cpu() if out else torch.empty(0)


def accuracy(model, x_u8, y, device, **kw) -> float:
    """Top-1 accuracy in percent."""
    if len(y) == 0:
        return float("nan")
    logits = predict_logits(model, x_u8, device, **kw)
    return 100.0 * (logits.argmax(1) == torch.as_tensor(y)).double().mean().item()
