"""Training on a device-resident uint8 dataset with batched on-device augmentation.

The whole (sub)set sits on the device as one uint8 tensor; each step gathers a batch, converts it
to [0, 1] floats and applies RandomCrop(padding) + RandomHorizontalFlip for the whole batch at once.
Losses and accuracies accumulate on the device and are read once per epoch (no per-step sync).
"""

from __future__ import annotations

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
from .augment import augment, to_float
from .device import autocast
from .predict import accuracy
from .schema import section

log = logging.getLogger(__name__)


@dataclass
class Recipe:
    """SGD with momentum and weight decay, StepLR, and crop + flip augmentation: what originals,
    retrains, RMIA references and unlearning runs share. Values come from the config, whose schema
    holds every default (the paper's: SGD 0.1 / 0.9 / 5e-4, batch 128, StepLR(40, 0.1), 201 epochs
    for training; 10 epochs for unlearning)."""

    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    lr_step: int
    lr_gamma: float
    crop_padding: int
    flip: bool
    precision: str  # fp32 | bf16 (autocast)
    channels_last: bool
    compile: bool


@dataclass
class TrainConfig(Recipe):
    eval_batch_size: int  # 0: 256 on a CPU, 1024 on a GPU
    eval_every: int  # evaluate the test set every k epochs (0: only at the end)
    schedule: str  # step (the paper's StepLR) | onecycle | cosine
    warmup: float  # share of the steps spent warming up (onecycle, cosine)
    nesterov: bool
    even_batches: bool  # batches of equal size (else full batches and a remainder, as the paper's loader)

    @classmethod
    def from_config(cls, cfg: dict) -> TrainConfig:
        """From a ``train`` config section (or part of one: the schema's defaults fill the rest);
        ``crop_padding`` and ``flip`` may also be given flat, as in a Recipe."""
        cfg = dict(cfg)
        aug = {**cfg.pop("augment", {}), **{k: cfg.pop(k) for k in ("crop_padding", "flip") if k in cfg}}
        full = section("train", {**cfg, "augment": aug})
        return cls(**{k: v for k, v in full.items() if k != "augment"}, **full["augment"])


# --------------------------------------------------------------------------- learning-rate schedules

ONECYCLE_DIV, ONECYCLE_FINAL_DIV = 25.0, 1e4  # torch's OneCycleLR defaults


def lr_factor(cfg: TrainConfig, steps_per_epoch: int):
    """step -> multiplier of ``cfg.lr`` at optimizer step ``step`` (0-based), per schedule:

    * step: StepLR, ``lr_gamma ** (epoch // lr_step)`` (the paper's, held for a whole epoch);
    * onecycle: torch's OneCycleLR with linear phases: from lr / 25 up to lr over the first ``warmup``
      share of the steps, then down to lr / 25 / 1e4 at the last step (momentum not cycled);
    * cosine: a linear warm-up to lr over the first ``warmup`` share of the steps (from lr / warmup
      steps), then half a cosine down to 0 at the end.
    """
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "step":
        return lambda t: cfg.lr_gamma ** ((t // steps_per_epoch) // cfg.lr_step)
    if cfg.schedule == "onecycle":
        up_end, down_end = float(cfg.warmup * total) - 1, float(total - 1)
        lo, hi, end = 1 / ONECYCLE_DIV, 1.0, 1 / ONECYCLE_DIV / ONECYCLE_FINAL_DIV

        def onecycle(t):
            if t <= up_end:
                return lo + (hi - lo) * (t / up_end if up_end > 0 else 1.0)
            return hi + (end - hi) * (t - up_end) / (down_end - up_end)

        return onecycle
    if cfg.schedule == "cosine":
        warm = int(round(cfg.warmup * total))

        def cosine(t):
            if t < warm:
                return (t + 1) / warm
            return 0.5 * (1 + math.cos(math.pi * (t - warm) / max(total - warm, 1)))

        return cosine
    raise ValueError(f"unknown schedule {cfg.schedule!r}")


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    wall_time_s: float = 0.0
    cpu_time_s: float = 0.0  # process CPU time, all threads (less sensitive to other load than wall time)
    sample_steps: int = 0


def batch_bounds(n: int, batch_size: int, even: bool) -> list[int]:
    """Where each of an epoch's ceil(n / batch_size) batches starts (and the last ends). even: sizes
    differ by at most one (2,700 images at 128: 22 batches of 122-123); else full batches and a
    remainder, as a DataLoader without drop_last (2,700 at 128: 21 of 128 and one of 12, whose
    train-mode BatchNorm statistics and step at the peak learning rate slow training measurably)."""
    steps = math.ceil(n / batch_size)
    if even:
        return [i * n // steps for i in range(steps + 1)]
    return [min(i * batch_size, n) for i in range(steps + 1)]


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
    """Train ``model`` in place with SGD and the configured schedule on (x_u8, y); return the per-epoch
    history (its ``lr`` column: the rate at the epoch's first step).

    ``eval_sets`` maps a name to (x_u8, y) for accuracies logged every ``cfg.eval_every`` epochs and
    after the last one. Raises RuntimeError when the loss stops being finite.
    """
    x = torch.as_tensor(x_u8).to(device)
    yt = torch.as_tensor(y, dtype=torch.long).to(device)
    n = len(yt)
    if n == 0:
        raise UserError("training set is empty; check the split and dataset.subset settings.")
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.nesterov
    )
    bounds = batch_bounds(n, cfg.batch_size, cfg.even_batches)
    steps_per_epoch = len(bounds) - 1
    per_step = cfg.schedule != "step"  # the paper's StepLR steps per epoch, as torch's StepLR
    if per_step:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(cfg, steps_per_epoch))
    else:
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
    bar = tqdm(
        total=cfg.epochs * steps_per_epoch,
        desc="train steps",
        file=progress_file,
        mininterval=30,
        ascii=True,
        disable=progress_file is False,
    )
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
                idx = perm[bounds[i] : bounds[i + 1]]
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
                if per_step:
                    sched.step()
                loss_sum += loss.detach() * len(idx)
                correct += (out.argmax(1) == yb).sum()
                bar.update(1)
            if not per_step:
                sched.step()
            train_loss = loss_sum.item() / n
            if not math.isfinite(train_loss):
                raise RuntimeError(f"training diverged: loss is {train_loss} in epoch {epoch + 1}; lower train.lr.")
            row = {
                "epoch": epoch + 1,
                "lr": lr,
                "loss": train_loss,
                "running_acc": 100.0 * correct.item() / n,
                "epoch_time_s": time.perf_counter() - t0,
            }
            last = epoch + 1 == cfg.epochs
            if eval_sets and (last or (cfg.eval_every and (epoch + 1) % cfg.eval_every == 0)):
                for name, (ex, ey) in eval_sets.items():  # always in fp32, as every evaluation
                    row[f"{name}_acc"] = accuracy(
                        model,
                        torch.as_tensor(ex),
                        ey,
                        device,
                        batch_size=cfg.eval_batch_size,
                        channels_last=cfg.channels_last,
                    )
            result.history.append(row)
            result.sample_steps += n
            if writer:
                writer.writerow(row)
                fh.flush()
            log.info(
                "epoch %d/%d lr %.4g loss %.4f running_acc %.2f %s (%.1fs)",
                epoch + 1,
                cfg.epochs,
                lr,
                train_loss,
                row["running_acc"],
                " ".join(f"{k} {v:.2f}" for k, v in row.items() if k.endswith("_acc") and k != "running_acc"),
                row["epoch_time_s"],
            )
    finally:
        bar.close()
        if fh:
            fh.close()
    result.wall_time_s = time.perf_counter() - t_start
    result.cpu_time_s = time.process_time() - cpu_start
    return result
