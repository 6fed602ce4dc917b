"""SalUn saliency masks (docs/protocol.md §3): |sum over forget batches of grad(-CE)| for every parameter, ranked
globally; the mask for ratio r keeps the top r fraction of all entries. The scores are the artifact
(one per original model and forget set), so any ratio is a cheap lookup."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import UserError
from .augment import augment
from .checkpoint import load_checkpoint


def saliency_scores(model, x_u8, y, device, batch_size=128, seed=0, crop_padding=4, flip=True) -> dict:
    """|sum_b grad of mean -CE over batch b| per parameter, with the model in eval mode and the forget
    samples augmented as in training, in order (no shuffle), as the SalUn / AMUN code does."""
    model.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    grads = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    x_all = torch.as_tensor(x_u8).to(device)
    y_all = torch.as_tensor(y).long().to(device)
    for i in range(0, len(y_all), batch_size):
        xb = augment(x_all[i : i + batch_size].float() / 255, gen, crop_padding, flip)
        loss = -F.cross_entropy(model(xb), y_all[i : i + batch_size])
        model.zero_grad(set_to_none=True)
        loss.backward()
        for n, p in model.named_parameters():
            grads[n] += p.grad
    model.zero_grad(set_to_none=True)
    return {n: g.abs() for n, g in grads.items()}


def mask_from_scores(scores: dict, ratio: float) -> dict:
    """1 for the top ``ratio`` fraction of all entries (global ranking), 0 elsewhere."""
    if not 0 < ratio <= 1:
        raise ValueError(f"mask_ratio must be in (0, 1], got {ratio}")
    names = list(scores)
    flat = torch.cat([scores[n].flatten().float() for n in names])
    k = int(round(ratio * flat.numel()))
    keep = torch.zeros(flat.numel(), dtype=torch.float32, device=flat.device)
    keep[torch.topk(flat, k, sorted=False).indices] = 1.0
    out, pos = {}, 0
    for n in names:
        size = scores[n].numel()
        out[n] = keep[pos : pos + size].view_as(scores[n])
        pos += size
    return out


def load_mask(path, ratio: float, device="cpu", split_hash: str | None = None) -> dict:
    scores, meta = load_checkpoint(path, map_location=device)
    if split_hash is not None and meta.get("split_hash") != split_hash:
        raise UserError(f"saliency mask {path} was computed for another forget set; delete it and rerun the workflow.")
    return mask_from_scores(scores, ratio)
