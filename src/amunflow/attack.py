"""Algorithm 1 of the paper: for every sample, the closest adversarial example PGD-L2 finds, with
per-sample epsilon doubling (docs/protocol.md §2, the AMUN code's pgdl2_modified.py semantics).

For each sample (x, y), starting at adv = x and eps = eps_init:
  * every iterate is checked first: the first one the model misclassifies is kept, with that
    prediction as its label (a sample misclassified at x keeps x, delta = 0);
  * otherwise one step: ascend CE(model(adv), y) along the per-sample L2-normalised gradient
    (norm + 1e-10) with step size alpha = eps * step_ratio, project delta onto the eps-ball around x,
    clamp to [0, 1];
  * after ``steps`` steps without success eps doubles (alpha with it) and the attack continues from
    the current iterate, not from x.
The model is in eval mode and has no normalization layer in front (inputs in [0, 1]).

The vectorized builder keeps a batch of ``batch_size`` active samples, each with its own eps and
step counter; a sample that succeeds leaves the batch at once and a new one takes its slot, so no
gradient step is spent on a finished sample. The loss is summed over the batch, which makes each
sample's gradient independent of the rest of the batch (after per-sample normalisation the paper's
mean and this sum give the same direction).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import UserError
from .device import autocast
from .models import fold_batchnorm
from .schema import section

log = logging.getLogger(__name__)


@dataclass
class AttackConfig:
    """Algorithm 1's settings, from the ``attack`` config section (the schema holds the defaults: the
    paper's eps_init 0.04, 50 steps, step eps / 10)."""

    eps_init: float | str  # a radius, or "auto" until calibrated
    steps: int
    step_ratio: float  # alpha = eps * step_ratio (the paper: eps / 10)
    max_rounds: int  # give up after this many doublings (eps_init * 2^19 is far beyond the image diameter)
    batch_size: int
    precision: str
    channels_last: bool
    fold_bn: bool  # fold BatchNorm into the convs of a frozen copy (same function, fewer ops)
    compile: bool  # torch.compile the attacked copy (dynamic batch size)

    @classmethod
    def from_config(cls, cfg: dict) -> AttackConfig:
        """From an ``attack`` config section, or part of one (the schema's defaults fill the rest)."""
        full = section("attack", cfg)
        return cls(**{k: full[k] for k in cls.__dataclass_fields__})


@dataclass
class AdversarialSet:
    index: np.ndarray  # training-set index of each sample
    label: np.ndarray  # true label y
    clean_pred: np.ndarray  # model prediction at x
    adv_label: np.ndarray  # model prediction at x_adv (!= y when found)
    eps: np.ndarray  # final eps (eps_init * 2^k)
    delta_norm: np.ndarray  # ||x_adv - x||_2
    grad_evals: np.ndarray  # gradient steps spent on the sample
    found: np.ndarray  # False only when max_rounds ran out
    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    wall_time_s: float = 0.0
    repaired: np.ndarray | None = None  # re-attacked after failing the fp32 check (adversarial.ensure_valid)

    def __len__(self):
        return len(self.index)


def _cat(a, b):
    return np.concatenate([a, b]) if isinstance(a, np.ndarray) else torch.cat([a, b])


def _flat_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


@torch.no_grad()
def _step(adv, x, grad, eps, step_ratio):
    """One PGD-L2 update for a batch with per-sample eps (B, 1, 1, 1)."""
    grad = grad / (_flat_norm(grad) + 1e-10)
    adv = adv + (eps * step_ratio) * grad
    delta = adv - x
    delta = delta * torch.clamp(eps / _flat_norm(delta), max=1.0)
    return torch.clamp(x + delta, 0, 1)


def pgd_l2_adaptive(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: AttackConfig,
    device: torch.device | str = "cpu",
    index: np.ndarray | None = None,
    progress_file=None,
    start: torch.Tensor | None = None,
    rounds0: np.ndarray | None = None,
) -> AdversarialSet:
    """Run Algorithm 1 on (x, y): x float in [0, 1] (or uint8), shape (N, C, H, W), on any device.

    ``start`` (float images) and ``rounds0`` (completed doublings per sample) continue an earlier
    attack instead: the iterate starts at ``start`` with eps = eps_init * 2^rounds0 and takes at least
    one step before it is checked (``clean_pred`` is then the prediction at ``start``)."""
    device = torch.device(device)
    x, y = torch.as_tensor(x), torch.as_tensor(y, dtype=torch.long)
    n = len(y)
    dtype = next(model.parameters()).dtype
    was_training, req = model.training, [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    net = fold_batchnorm(model) if cfg.fold_bn else model
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)
    if cfg.compile:
        net = torch.compile(net, dynamic=True)

    images = torch.empty((n, *x.shape[1:]), dtype=torch.float32)
    out = {
        k: np.zeros(n, dtype=t)
        for k, t in [
            ("clean_pred", np.int64),
            ("adv_label", np.int64),
            ("eps", np.float64),
            ("delta_norm", np.float64),
            ("grad_evals", np.int64),
            ("found", bool),
        ]
    }
    # per-sample state of the active batch: index, clean x, current iterate, label, eps, steps taken in
    # this round, rounds completed, gradient steps taken, and whether the iterate is still x
    keys = ("idx", "x", "adv", "y", "eps", "step", "round", "evals", "fresh")
    state = None
    nxt = 0
    bar = tqdm(
        total=n, desc="D_A samples", file=progress_file, mininterval=30, ascii=True, disable=progress_file is False
    )
    t0 = time.perf_counter()
    try:
        while nxt < n or (state is not None and len(state["idx"])):
            free = cfg.batch_size - (0 if state is None else len(state["idx"]))
            if free > 0 and nxt < n:  # refill the slots of finished samples
                take = np.arange(nxt, min(n, nxt + free))
                nxt += len(take)
                take_t = torch.as_tensor(take)
                xb = x[take_t].to(device)
                xb = xb.to(dtype) / 255 if xb.dtype == torch.uint8 else xb.to(dtype)
                k = len(take)
                zeros = torch.zeros(k, dtype=torch.long, device=device)
                r0 = zeros if rounds0 is None else torch.as_tensor(rounds0[take], dtype=torch.long, device=device)
                new = dict(
                    idx=take,
                    x=xb,
                    adv=xb if start is None else start[take_t].to(device, dtype),
                    y=y[take_t].to(device),
                    step=zeros,
                    round=r0,
                    evals=zeros,
                    eps=cfg.eps_init * 2.0 ** r0.to(dtype),
                    fresh=np.ones(k, dtype=bool),
                )
                state = new if state is None else {key: _cat(state[key], new[key]) for key in keys}
            s = state
            adv = s["adv"].detach().requires_grad_(True)
            inp = adv.contiguous(memory_format=torch.channels_last) if cfg.channels_last else adv
            with torch.enable_grad(), autocast(device, cfg.precision):
                logits = net(inp).float()
            pred = logits.detach().argmax(1)
            wrong = pred != s["y"]
            if start is not None:  # a continued attack steps before its first check
                wrong = wrong & (s["evals"] > 0)
            over = ~wrong & (s["step"] >= cfg.steps)  # a round without success just ended
            gave_up = over & (s["round"] + 1 >= cfg.max_rounds)
            double = over & ~gave_up
            s["eps"] = torch.where(double, s["eps"] * 2, s["eps"])
            s["round"] = s["round"] + double.long()
            s["step"] = torch.where(double, torch.zeros_like(s["step"]), s["step"])
            done = wrong | gave_up
            # the per-sample bookkeeping crosses to the host once per step (plus the finished images)
            pred_h, wrong_h, done_h, round_h, evals_h = (
                torch.stack([pred, wrong.long(), done.long(), s["round"], s["evals"]]).cpu().numpy()
            )
            ids, fresh = s["idx"], s["fresh"]
            out["clean_pred"][ids[fresh]] = pred_h[fresh]
            d = np.flatnonzero(done_h)
            if len(d):
                di, dt = ids[d], torch.as_tensor(d, device=device)
                adv_d = s["adv"].index_select(0, dt)
                images[di] = adv_d.float().cpu()
                out["adv_label"][di] = pred_h[d]
                out["eps"][di] = cfg.eps_init * 2.0 ** round_h[d]  # exact grid value
                out["delta_norm"][di] = (
                    _flat_norm((adv_d - s["x"].index_select(0, dt)).double()).flatten().cpu().numpy()
                )
                out["grad_evals"][di] = evals_h[d]
                out["found"][di] = wrong_h[d].astype(bool)
                bar.update(len(d))
            keep = np.flatnonzero(done_h == 0)
            if not len(keep):
                state = None
                continue
            kt = torch.as_tensor(keep, device=device)
            state = {key: v[keep] if isinstance(v, np.ndarray) else v.index_select(0, kt) for key, v in s.items()}
            loss = F.cross_entropy(logits.index_select(0, kt), state["y"], reduction="sum")
            (grad,) = torch.autograd.grad(loss, adv)
            eps_b = state["eps"].view(-1, *([1] * (x.dim() - 1)))
            state["adv"] = _step(state["adv"], state["x"], grad.index_select(0, kt), eps_b, cfg.step_ratio)
            state["step"], state["evals"] = state["step"] + 1, state["evals"] + 1
            state["fresh"] = np.zeros(len(keep), dtype=bool)
    finally:
        bar.close()
        for p, r in zip(model.parameters(), req, strict=True):
            p.requires_grad_(r)
        model.train(was_training)
    return AdversarialSet(
        index=np.arange(n) if index is None else np.asarray(index, dtype=np.int64),
        label=y.cpu().numpy().astype(np.int64),
        images=images.numpy(),
        wall_time_s=time.perf_counter() - t0,
        **out,
    )


def calibrate_eps_init(model, x, y, cfg: AttackConfig, eps_start: float, quantile: float = 0.95, device="cpu"):
    """The paper's App. E.1 rule: run Algorithm 1 from a very small eps on ~100 samples and return the
    smallest eps_start * 2^k within which at least ``quantile`` of them find an adversarial example,
    with the samples' final eps values."""
    res = pgd_l2_adaptive(
        model, x, y, AttackConfig(**dict(asdict(cfg), eps_init=eps_start)), device=device, progress_file=False
    )
    eps_sorted = np.sort(res.eps)
    k = max(int(np.ceil(quantile * len(eps_sorted))) - 1, 0)
    return float(eps_sorted[k]), res.eps


def summarize(adv: AdversarialSet, eps_init: float, steps: int) -> dict:
    """Summary statistics of one adversarial set (a row of the report table)."""
    if len(adv) == 0:
        raise UserError("the adversarial set is empty; check the forget set.")
    return {
        "n": len(adv),
        "eps_init": eps_init,
        "found_share": float(adv.found.mean()),
        "repaired": int(adv.repaired.sum()) if adv.repaired is not None else 0,
        "clean_misclassified_share": float((adv.clean_pred != adv.label).mean()),
        "mean_delta_norm": float(adv.delta_norm.mean()),
        "median_delta_norm": float(np.median(adv.delta_norm)),
        "share_at_eps_init": float(np.isclose(adv.eps, eps_init).mean()),
        "mean_eps": float(adv.eps.mean()),
        "max_eps": float(adv.eps.max()),
        "mean_grad_evals": float(adv.grad_evals.mean()),
        "max_grad_evals": int(adv.grad_evals.max()),
        "paper_bound_mean_grad_evals": 3 * steps,
        "wall_time_s": adv.wall_time_s,
        "images_per_s": len(adv) / adv.wall_time_s if adv.wall_time_s else float("nan"),
    }
