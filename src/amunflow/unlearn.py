"""The machinery every unlearning method shares: access-controlled data views, data mixtures
("parts") drawn as one shuffled stream, and an SGD loop with optional gradient masking.

A method never indexes the dataset itself: it asks a :class:`DataViews` for D_F, D_R or D_A, and
``forget_only`` views refuse D_R, so a method cannot read data its access setting forbids.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import UserError
from .augment import augment
from .device import autocast
from .hyper import RECIPE
from .methods.base import SETTINGS
from .predict import accuracy
from .schema import section
from .train import Recipe

log = logging.getLogger(__name__)


class Diverged(RuntimeError):
    """An unlearning run whose loss or weights stopped being finite."""


class AccessError(RuntimeError):
    """A method asked for data its access setting forbids."""


@dataclass
class Part:
    """A block of training examples: images (uint8 or float in [0, 1]) with labels, on the device."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    augment: bool = True

    def __len__(self):
        return len(self.y)


class DataViews:
    """D_F, D_R and D_A for one unlearning run, limited by the access setting."""

    def __init__(
        self,
        train_x,
        train_y,
        forget_idx,
        retain_idx,
        setting,
        device,
        adv=None,
        num_classes=None,
        held_out=None,
        memorization=None,
        surrogate=None,
    ):
        if setting not in SETTINGS:
            raise UserError(f"unknown access setting {setting!r}; use one of {', '.join(SETTINGS)}.")
        self.setting, self.device = setting, device
        self._x, self._y = train_x, train_y
        self._forget, self._retain = np.asarray(forget_idx), np.asarray(retain_idx)
        self._adv = adv  # (images float32, labels) aligned with forget_idx, or None
        self.num_classes = num_classes if num_classes is not None else int(np.max(train_y)) + 1
        self._held_out = held_out  # (images, labels) of D_T, or None
        self._mem = memorization  # (n_forget, 2): accuracy and confidence memorization, aligned with forget_idx
        self._surrogate = surrogate  # (N, C, H, W) uint8 natural images outside D_F, D_R and D_T, or None

    def surrogate(self) -> torch.Tensor:
        """The surrogate images (uint8, on the device): natural images of none of D_F, D_R, D_T."""
        if self._surrogate is None:
            raise UserError("this run reads surrogate images, but none were given (config section surrogate).")
        return torch.as_tensor(self._surrogate).to(self.device)

    def memorization(self) -> np.ndarray:
        """D_F's memorization scores (n_forget, 2), aligned with :meth:`forget`: the RMIA reference models'
        accuracy on a sample when IN their training half minus when OUT (Feldman's estimate), and the same
        with their confidence in its label (softmax) instead of accuracy."""
        if self._mem is None:
            raise UserError("this method needs D_F's memorization scores, but none were given to the run.")
        return self._mem

    def narrowed(self, keep, also_retain=()) -> DataViews:
        """Views of a part of this run: D_F is the samples at positions ``keep`` of D_F (with their D_A
        rows and memorization scores), and D_R gains those at ``also_retain`` (RUM's later groups)."""
        keep, extra = np.asarray(keep, dtype=np.int64), np.asarray(also_retain, dtype=np.int64)
        adv = None if self._adv is None else (self._adv[0][keep], self._adv[1][keep])
        return DataViews(
            self._x,
            self._y,
            self._forget[keep],
            np.concatenate([self._retain, self._forget[extra]]),
            self.setting,
            self.device,
            adv,
            self.num_classes,
            self._held_out,
            None if self._mem is None else self._mem[keep],
            self._surrogate,
        )

    def _part(self, name, idx, aug=True):
        return Part(
            name,
            torch.as_tensor(self._x[idx]).to(self.device),
            torch.as_tensor(self._y[idx]).long().to(self.device),
            aug,
        )

    @property
    def n_forget(self) -> int:
        return len(self._forget)

    def forget(self) -> Part:
        return self._part("forget", self._forget)

    def retain(self) -> Part:
        if self.setting != "with_retain":
            raise AccessError("this run has no access to the retain set (setting forget_only)")
        return self._part("retain", self._retain)

    def held_out(self) -> Part:
        """D_T, unaugmented: only for a stopping target measured on the original before unlearning starts
        (SCAR's and LoTUS's reference code compare the forget accuracy with the original's held-out
        accuracy). No method trains on it or evaluates the model it is unlearning on it."""
        if self._held_out is None:
            raise UserError("this method needs held-out images for its stopping target, but none were given.")
        x, y = self._held_out
        return Part("held_out", torch.as_tensor(x).to(self.device), torch.as_tensor(y).long().to(self.device), False)

    def adversarial(self) -> Part:
        if self._adv is None:
            raise UserError("this method needs the adversarial set D_A, but none was given to the run.")
        x, y = self._adv
        return Part(
            "adversarial", torch.as_tensor(x).float().to(self.device), torch.as_tensor(y).long().to(self.device), False
        )


@dataclass
class Hyper(Recipe):
    """An unlearning run's hyperparameters: the shared recipe plus the method's own (``extra``)."""

    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> Hyper:
        """From resolved hyperparameters (:func:`amunflow.hyper.resolve_hyper`), or part of them: the
        schema's ``unlearn.common`` defaults fill the shared keys that are missing."""
        shared = section("unlearn.common", {k: v for k, v in d.items() if k in RECIPE})
        return cls(**shared, extra={k: v for k, v in d.items() if k not in RECIPE})


@dataclass
class Run:
    """Everything a method's entry point gets."""

    model: torch.nn.Module
    data: DataViews
    hp: Hyper
    seed: int
    device: torch.device
    mask: dict | None = None  # parameter name -> {0,1} tensor (SalUn variants)
    progress_file: object = None
    # sample_steps: samples through SGD steps; extra_grad_evals: other forward+backward passes per
    # sample (BS's FGSM; the D_A and mask costs are added by the job)
    stats: dict = field(default_factory=lambda: {"sample_steps": 0, "extra_grad_evals": 0, "seen": {}})


class Mixture:
    """The concatenation of ``parts`` as one stream, gathered batch by batch without host sync.

    Parts are pooled by their augment flag (one device tensor each, built once per pass), so a batch
    is at most two gathers and one ``torch.where``: no per-batch boolean indexing or ``len()`` of a
    data-dependent selection, which would stall a GPU at every step.
    """

    def __init__(self, parts: list[Part]):
        self.parts = [p for p in parts if p.augment] + [p for p in parts if not p.augment]
        self.pools = []
        for flag in (True, False):
            xs = [p.x for p in self.parts if p.augment == flag and len(p)]
            if xs:
                same = all(x.dtype == xs[0].dtype for x in xs)
                self.pools.append((torch.cat(xs if same else [_as_float(x) for x in xs]), flag))
        self.y = torch.cat([p.y for p in self.parts])
        self.n_first = len(self.pools[0][0]) if self.pools else 0

    def __len__(self):
        return len(self.y)

    def batches(self, batch_size: int, gen: torch.Generator, shuffle: bool = True):
        """Yield index tensors of one pass over the stream, shuffled with ``gen`` (or in order)."""
        n, dev = len(self), self.y.device
        order = torch.randperm(n, device=dev, generator=gen) if shuffle else torch.arange(n, device=dev)
        for i in range(0, n, batch_size):
            yield order[i : i + batch_size]

    def gather(self, idx: torch.Tensor, gen: torch.Generator, hp: Hyper):
        """Float images in [0, 1] (augmented where their part says so) and labels at ``idx``."""
        xs, lo = [], 0
        for x, flag in self.pools:
            xb = _as_float(x[(idx - lo).clamp_(0, len(x) - 1)])
            xs.append(augment(xb, gen, hp.crop_padding, hp.flip) if flag else xb)
            lo += len(x)
        x = xs[0] if len(xs) == 1 else torch.where((idx < self.n_first).view(-1, 1, 1, 1), xs[0], xs[1])
        if hp.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, self.y[idx]


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255) if x.dtype == torch.uint8 else x


class Trainer:
    """An optimizer + StepLR (or, with the method's ``lr_milestones``, a decay at those shares of the
    epochs) over phases of data, with optional saliency mask and extra loss terms.

    SGD with the recipe's momentum and weight decay, or Adam / AdamW when the method's ``optimizer``
    hyperparameter says so (Bad Teacher, UNSIR, SCAR / LoTUS). ``params`` limits training to some parameters
    (CF-k, EU-k: the others get no gradient and stay bit-identical); ``bn_train=False`` keeps
    BatchNorm on its running statistics (NG+, CF-k, EU-k, as their reference code).

    With a mask, masked-out entries get no gradient, no weight decay and no momentum, so they stay
    bit-identical (hyperparameter ``leaky_mask: true`` reproduces the AMUN code, where SGD's weight
    decay still moves them)."""

    def __init__(self, run: Run, params: list[torch.nn.Parameter] | None = None, bn_train: bool = True):
        self.run, self.hp, self.model = run, run.hp, run.model
        self.mask = run.mask
        self.bn_train = bn_train
        self.strict_mask = self.mask is not None and not self.hp.extra["leaky_mask"]
        self.params = dict(self.model.named_parameters())
        self.trained = list(self.model.parameters()) if params is None else list(params)
        self.net = torch.compile(self.model) if self.hp.compile else self.model
        self.new_optimizer()
        self.gen = torch.Generator(device=run.device).manual_seed(run.seed)
        self.bar = tqdm(
            desc="unlearn steps", file=run.progress_file, mininterval=30, ascii=True, disable=run.progress_file is False
        )
        self.t0, self.cpu0 = time.perf_counter(), time.process_time()

    def new_optimizer(self) -> None:
        """A fresh optimizer and schedule (UNSIR's repair phase starts one, as its reference code)."""
        wd = 0.0 if self.strict_mask else self.hp.weight_decay
        kind = self.hp.extra.get("optimizer", "sgd")
        if kind == "adam":
            self.opt = torch.optim.Adam(self.trained, lr=self.hp.lr, weight_decay=wd)
        elif kind == "adamw":
            self.opt = torch.optim.AdamW(self.trained, lr=self.hp.lr, weight_decay=wd)
        elif kind == "sgd":
            self.opt = torch.optim.SGD(self.trained, lr=self.hp.lr, momentum=self.hp.momentum, weight_decay=wd)
        else:
            raise ValueError(f"unknown optimizer {kind!r}; use sgd, adam or adamw")
        milestones = self.hp.extra.get("lr_milestones")
        if milestones:  # Deep Unlearn's adjust_learning_rate: lr x gamma per milestone int(f * E) passed
            steps = [int(f * self.hp.epochs) + 1 for f in milestones]
            self.sched = torch.optim.lr_scheduler.MultiStepLR(self.opt, milestones=steps, gamma=self.hp.lr_gamma)
        else:
            self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=self.hp.lr_step, gamma=self.hp.lr_gamma)

    def forward(self, x, train: bool = True) -> torch.Tensor:
        """fp32 logits of the model being trained (BN in train mode unless the trainer says otherwise)."""
        self.model.train(train and self.bn_train)
        with autocast(self.run.device, self.hp.precision):
            return self.net(x).float()

    def update(self, loss: torch.Tensor, n: int) -> torch.Tensor:
        """One optimizer step on ``loss``, which was computed from ``n`` samples."""
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.mask is not None:
            for name, p in self.params.items():
                if p.grad is not None:
                    m = self.mask[name]
                    p.grad.mul_(m)
                    if self.strict_mask and self.hp.weight_decay:
                        p.grad.add_(p.detach() * m, alpha=self.hp.weight_decay)
        self.opt.step()
        self.run.stats["sample_steps"] += n
        self.bar.update(1)
        return loss.detach()

    def step(self, x, y, sign: float = 1.0, extra_loss: Callable | None = None, loss_fn: Callable | None = None):
        """One step on CE (or ``loss_fn(logits, y, x)``; sign -1: gradient ascent), plus
        ``extra_loss(model)`` if given."""
        out = self.forward(x)
        loss = sign * (F.cross_entropy(out, y) if loss_fn is None else loss_fn(out, y, x))
        if extra_loss is not None:
            loss = loss + extra_loss(self.model)
        return self.update(loss, len(y))

    def batches(self, parts: list[Part], shuffle: bool = True, batch_size: int | None = None):
        """(images, labels) of one pass over the concatenation of ``parts``, each sample once."""
        mix = Mixture(parts)
        seen = self.run.stats["seen"]
        for p in mix.parts:
            seen[p.name] = seen.get(p.name, 0) + len(p)
        for idx in mix.batches(batch_size or self.hp.batch_size, self.gen, shuffle):
            yield mix.gather(idx, self.gen, self.hp)

    def pass_over(
        self,
        parts: list[Part],
        sign=1.0,
        shuffle=True,
        relabel: Callable | None = None,
        extra_loss=None,
        loss_fn=None,
        batch_size: int | None = None,
    ):
        """One pass of steps over the concatenation of ``parts`` (in batches of ``batch_size``, default
        the run's); returns the mean loss (a device tensor)."""
        total = torch.zeros((), device=self.run.device)
        n = 0
        for x, y in self.batches(parts, shuffle, batch_size):
            if relabel is not None:
                y = relabel(x, y)
            total += self.step(x, y, sign, extra_loss, loss_fn) * len(y)
            n += len(y)
        return total / max(n, 1)

    def end_epoch(self, epoch: int, loss) -> None:
        loss = float(loss)
        if not math.isfinite(loss):
            raise Diverged(f"unlearning diverged: loss is {loss} in epoch {epoch + 1}; lower the learning rate.")
        log.info("epoch %d/%d lr %.3g loss %.4f", epoch + 1, self.hp.epochs, self.opt.param_groups[0]["lr"], loss)
        self.sched.step()

    def close(self):
        self.bar.close()
        self.run.stats["wall_time_s"] = time.perf_counter() - self.t0
        self.run.stats["cpu_time_s"] = time.process_time() - self.cpu0


def fit(run: Run, epoch_parts: Callable[[int], list[Part]], extra_loss=None, relabel=None, loss_fn=None, **trainer):
    """The common case: every epoch, one shuffled pass of descent over ``epoch_parts(epoch)`` on CE (or
    ``loss_fn``; ``trainer``: :class:`Trainer` options)."""
    tr = Trainer(run, **trainer)
    try:
        for epoch in range(run.hp.epochs):
            loss = tr.pass_over(
                epoch_parts(epoch),
                extra_loss=extra_loss(epoch) if extra_loss else None,
                relabel=relabel,
                loss_fn=loss_fn,
            )
            tr.end_epoch(epoch, loss)
    finally:
        tr.close()
    return run.model


def random_wrong_labels(y: torch.Tensor, num_classes: int, gen: torch.Generator) -> torch.Tensor:
    """Uniform labels over the classes other than y (RL)."""
    shift = torch.randint(1, num_classes, y.shape, device=y.device, generator=gen)
    return (y + shift) % num_classes


@contextlib.contextmanager
def timed(run: Run):
    """Record the wall and CPU time of a method that does not train through a :class:`Trainer`."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        run.stats["wall_time_s"] = time.perf_counter() - t0
        run.stats["cpu_time_s"] = time.process_time() - cpu0


def unaugmented(part: Part) -> Part:
    """The same samples without crop and flip (methods whose reference code trains on raw images)."""
    return Part(part.name, part.x, part.y, False)


def random_share(part: Part, share: float, gen: torch.Generator, name: str | None = None) -> Part:
    """A random ``share`` of a part's samples (at least one), drawn with ``gen``."""
    k = max(1, round(share * len(part)))
    idx = torch.randperm(len(part), device=part.y.device, generator=gen)[:k]
    return Part(name or part.name, part.x[idx], part.y[idx], part.augment)


def teacher_logits(teacher: torch.nn.Module, x: torch.Tensor, run: Run) -> torch.Tensor:
    """Logits of a frozen (eval-mode) model in the run's precision, returned as float32, without gradients."""
    with torch.no_grad(), autocast(run.device, run.hp.precision):
        return teacher(x).float()


def held_out_accuracy(model: torch.nn.Module, run: Run) -> float:
    """A model's accuracy (a fraction) on the run's held-out images, eval mode, fp32: the stopping target
    SCAR and LoTUS measure on the original before unlearning."""
    part = run.data.held_out()
    return accuracy(model, part.x, part.y.cpu(), run.device) / 100


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    m = copy.deepcopy(model).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m
