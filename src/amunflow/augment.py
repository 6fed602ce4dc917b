"""Images on the device: uint8 -> [0, 1] floats, and the paper's crop + flip for a whole batch at once."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def to_float(xb: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """uint8 images -> floats in [0, 1]; float images pass through."""
    x = xb.float().div_(255) if xb.dtype == torch.uint8 else xb.float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def augment(x: torch.Tensor, gen: torch.Generator, padding: int = 4, flip: bool = True, return_params: bool = False):
    """RandomCrop(size, padding, fill 0) + RandomHorizontalFlip(0.5) for a whole batch (B, C, H, W).

    Each sample gets its own offsets (dy, dx) in [0, 2 * padding] and its own flip, drawn from ``gen``.
    """
    b, c, h, w = x.shape
    dev = x.device
    if padding > 0:
        padded = F.pad(x, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (b,), device=dev, generator=gen)
        dx = torch.randint(0, 2 * padding + 1, (b,), device=dev, generator=gen)
        rows = (dy[:, None] + torch.arange(h, device=dev))[:, None, :, None]  # (B, 1, H, 1)
        cols = (dx[:, None] + torch.arange(w, device=dev))[:, None, None, :]  # (B, 1, 1, W)
        bi = torch.arange(b, device=dev)[:, None, None, None]
        ci = torch.arange(c, device=dev)[None, :, None, None]
        x = padded[bi, ci, rows, cols]
    else:
        dy = dx = torch.zeros(b, dtype=torch.long, device=dev)
    flips = torch.rand(b, device=dev, generator=gen) < 0.5 if flip else torch.zeros(b, dtype=torch.bool, device=dev)
    x = torch.where(flips[:, None, None, None], x.flip(3), x)
    return (x, dy, dx, flips) if return_params else x
