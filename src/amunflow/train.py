"""Training on a device-resident uint8 dataset with batched on-device augmentation.

The whole (sub)set sits on the device as one uint8 tensor; each step gathers a batch, converts it
to [0, 1] floats and applies RandomCrop(padding) + RandomHorizontalFlip for the whole batch at once.
Losses and accuracies accumulate on the device and are read once per epoch (no per-step sync).
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import UserError
from .models import fold_batchnorm

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """The paper's recipe by default: SGD 0.1 / 0.9 / 5e-4, batch 128, StepLR(40, 0.1), 201 epochs."""

    epochs: int = 201
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_step: int = 40
    lr_gamma: float = 0.1
    crop_padding: int = 4
    flip: bool = True
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    channels_last: bool = False
    eval_batch_size: int = 0  # 0: 256 on a CPU, 1024 on a GPU
    eval_every: int = 0  # evaluate the test set every k epochs (0: only at the end)
    compile: bool = False

    @classmethod
    def from_config(cls, cfg: dict) -> "TrainConfig":
        flat = dict(cfg)
        aug = flat.pop("augment", {}) or {}
        flat.setdefault("crop_padding", aug.get("crop_padding", 4))
        flat.setdefault("flip", aug.get("flip", True))
        known = set(cls.__dataclass_fields__)
        unknown = set(flat) - known
        if unknown:
            raise UserError(f"config key train: unknown keys {sorted(unknown)}; see workflow/schemas/config.schema.yaml.")
        return cls(**flat)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("config key device: cuda was asked for but no CUDA device is visible; use auto or cpu.")
    return torch.device(name)


# --------------------------------------------------------------------------- augmentation


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


def to_float(xb: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """uint8 images -> floats in [0, 1]; float images pass through."""
    x = xb.float().div_(255) if xb.dtype == torch.uint8 else xb.float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


# --------------------------------------------------------------------------- evaluation


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


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


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    wall_time_s: float = 0.0
    cpu_time_s: float = 0.0  # process CPU time, all threads (less sensitive to other load than wall time)
    sample_steps: int = 0


def train(
    model: torch.nn.Module,
    x_u8: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    cfg: TrainConfig,
    seed: int,
    device: torch.device,
    eval_sets: dict | None = None,
    history_csv=None,
    progress_file=None,
) -> TrainResult:
    """Train ``model`` in place with SGD + StepLR on (x_u8, y); return the per-epoch history.

    ``eval_sets`` maps a name to (x_u8, y) for accuracies logged every ``cfg.eval_every`` epochs and
    after the last one. Raises RuntimeError when the loss stops being finite.
    """
    x = torch.as_tensor(x_u8).to(device)
    yt = torch.as_tensor(y, dtype=torch.long).to(device)
    n = len(yt)
    if n == 0:
        raise UserError("training set is empty; check the split and dataset.subset settings.")
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_step, gamma=cfg.lr_gamma)
    step_model = torch.compile(model) if cfg.compile else model
    eval_sets = eval_sets or {}
    result = TrainResult()
    writer, fh = None, None
    if history_csv is not None:
        fh = open(history_csv, "w", newline="")
        cols = ["epoch", "lr", "loss", "running_acc", "epoch_time_s"] + [f"{k}_acc" for k in eval_sets]
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    bar = tqdm(
        total=cfg.epochs * steps_per_epoch, desc="train steps", file=progress_file, mininterval=30, ascii=True,
        disable=progress_file is False,
    )  # fmt: skip
    t_start, cpu_start = time.perf_counter(), time.process_time()
    try:
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            model.train()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            perm = torch.randperm(n, device=device, generator=gen)
            lr = opt.param_groups[0]["lr"]
            for i in range(steps_per_epoch):
                idx = perm[i * cfg.batch_size : (i + 1) * cfg.batch_size]
                xb = augment(to_float(x[idx], False), gen, cfg.crop_padding, cfg.flip)
                if cfg.channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                yb = yt[idx]
                with autocast(device, cfg.precision):
                    out = step_model(xb)
                    loss = F.cross_entropy(out.float(), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += loss.detach() * len(idx)
                correct += (out.argmax(1) == yb).sum()
                bar.update(1)
            sched.step()
            train_loss = loss_sum.item() / n
            if not math.isfinite(train_loss):
                raise RuntimeError(f"training diverged: loss is {train_loss} in epoch {epoch + 1}; lower train.lr.")
            row = {
                "epoch": epoch + 1, "lr": lr, "loss": train_loss,
                "running_acc": 100.0 * correct.item() / n, "epoch_time_s": time.perf_counter() - t0,
            }  # fmt: skip
            last = epoch + 1 == cfg.epochs
            if eval_sets and (last or (cfg.eval_every and (epoch + 1) % cfg.eval_every == 0)):
                for name, (ex, ey) in eval_sets.items():  # always in fp32, as every evaluation
                    row[f"{name}_acc"] = accuracy(
                        model, torch.as_tensor(ex), ey, device, batch_size=cfg.eval_batch_size,
                        channels_last=cfg.channels_last,
                    )  # fmt: skip
            result.history.append(row)
            result.sample_steps += n
            if writer:
                writer.writerow(row)
                fh.flush()
            log.info(
                "epoch %d/%d lr %.4g loss %.4f running_acc %.2f %s (%.1fs)", epoch + 1, cfg.epochs, lr, train_loss,
                row["running_acc"], " ".join(f"{k} {v:.2f}" for k, v in row.items() if k.endswith("_acc") and k != "running_acc"),
                row["epoch_time_s"],
            )  # fmt: skip
    finally:
        bar.close()
        if fh:
            fh.close()
    result.wall_time_s = time.perf_counter() - t_start
    result.cpu_time_s = time.process_time() - cpu_start
    return result
