"""SCAR (Bonato, Cotogni and Sabetta, "Is retain set all you need in machine unlearning? Restoring
performance of unlearned models with out-of-distribution images", ECCV 2024), as the authors' code runs
random ("HR") forgetting (jbonato1/SCAR @280ceae: src/Unlearning_methods.py ``SCAR.run``, src/dsets.py
``get_surrogate``, src/opts.py for the defaults, src/main.py for the stopping target).

1. Class statistics from the original in eval mode: the embeddings (the classifier's input) of the
   statistics set, raised to the power ``delta`` (Tukey), per class their mean and a covariance shrunk
   twice (C + gamma1 I mean(diag) + gamma2 (1 - I) mean(nonzero off-diagonal)), scaled to a correlation
   matrix and pseudo-inverted. The reference reads D_R for this (augmented, as its retain loader);
   ``stats: auto`` does so where the run may read D_R, uses D_F (unaugmented) without it, and the
   surrogate's embeddings by the original's labels where D_F holds no class other than its samples' own
   (a class-wise D_F without D_R).
2. Surrogate images, labelled by the original's logits (eval mode, once) and drawn class-balanced by its
   pseudo-labels (weights 1 / class count, a count under 3 taken as 5, with replacement).
3. Adam over every parameter; for at most ``epochs`` epochs, for each batch of D_F in a fixed order
   (unaugmented), ``surrogate_steps`` steps, each on the next batch of a fresh class-balanced draw:
   the Mahalanobis distance of the L2-normalised Tukey embedding of each forget sample to the
   normalised mean of its target class (the nearest class other than its own, fixed when the batch is
   first seen), weighted by its class's accuracy on D_F after the previous step (0 below
   ``class_threshold``), mean x ``lambda_1``, plus ``lambda_2`` x KL(teacher || student) on the surrogate
   batch (teacher logits / ``kd_T``; the reference's 1e-4 offsets on the log-probabilities, a factor
   e^1e-4, kept). BatchNorm in train mode for both forward passes. After every step the accuracy on D_F
   (eval mode); once it is below the original's held-out accuracy minus ``tolerance`` after the second
   epoch, unlearning stops. The reference also forwards one more forget and surrogate batch in train
   mode before leaving a forget batch (its loop breaks after the forward): only BatchNorm's running
   statistics move, and so they do here.

Surrogate source (``surrogate``): the reference's images are 10,000 ImageNet images shrunk to 32x32
(its surrogate_ImageNet.txt), which this workflow cannot fetch offline; ``images`` takes the first
``surrogate_size`` of the config's ``surrogate`` section instead (any folder or zip of natural images,
unaugmented as the reference's HR mode: :mod:`amunflow.surrogate`). ``noise`` is the reference's own
offline option (its generate_random_noise.py: N(0, 1) per pixel in the network's normalised input
space), here mapped to pixels as D_F's per-channel mean + std x N(0, 1), since these networks take
[0, 1] images. A class with fewer than two statistics samples gets no covariance (the reference's
would be NaN) and is never a target.
"""

import logging
import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import UserError
from ..augment import to_float
from ..predict import predict_logits
from ..unlearn import Diverged, Mixture, Part, Trainer, frozen_copy, held_out_accuracy, teacher_logits, unaugmented

log = logging.getLogger(__name__)


def classifier(model: nn.Module) -> nn.Linear:
    """The network's last linear layer, whose input is the embedding SCAR works on."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError(f"SCAR needs a network that ends in a linear layer; {type(model).__name__} has none.")
    return linears[-1]


class Embeddings:
    """Keeps the input of the classifier of the last forward pass, for one :meth:`take` (which clears it, so
    that no graph hangs on the model when it is copied for an evaluation)."""

    def __init__(self, model):
        self.value = None
        self.handle = classifier(model).register_forward_hook(self._keep)

    def _keep(self, module, args, out):
        self.value = args[0].flatten(1).float()

    def take(self) -> torch.Tensor:
        value, self.value = self.value, None
        return value

    def close(self):
        self.handle.remove()


def shrink(cov: torch.Tensor, gamma1: float, gamma2: float) -> torch.Tensor:
    """The reference's ``cov_mat_shrinkage``: diagonal + gamma1 x mean variance, off-diagonal + gamma2 x
    the mean of the nonzero off-diagonal entries."""
    eye = torch.eye(len(cov), dtype=cov.dtype, device=cov.device)
    off = cov * (1 - eye)
    nonzero = off != 0
    v2 = off.sum() / nonzero.sum()
    return cov + gamma1 * eye * torch.diagonal(cov).mean() + gamma2 * (1 - eye) * v2


def class_statistics(emb: torch.Tensor, y: torch.Tensor, num_classes: int, ex: dict):
    """(normalised class means (C, D), inverse shrunk correlation matrices (C, D, D), has-stats (C,))."""
    d = emb.shape[1]
    means = torch.zeros(num_classes, d, dtype=emb.dtype, device=emb.device)
    inv = torch.zeros(num_classes, d, d, dtype=emb.dtype, device=emb.device)
    ok = torch.zeros(num_classes, dtype=torch.bool, device=emb.device)
    for c in range(num_classes):
        samples = emb[y == c].pow(ex["delta"])
        if len(samples) < 2:
            continue
        cov = shrink(shrink(torch.cov(samples.T), ex["gamma1"], ex["gamma2"]), ex["gamma1"], ex["gamma2"])
        sigma = torch.sqrt(torch.diagonal(cov))
        means[c], inv[c], ok[c] = samples.mean(0), torch.linalg.pinv(cov / torch.outer(sigma, sigma)), True
    return F.normalize(means, p=2, dim=-1), inv, ok


def mahalanobis(emb: torch.Tensor, means: torch.Tensor, inv: torch.Tensor, ok: torch.Tensor, delta: float):
    """(B, C) distances of the normalised Tukey embeddings to each class (inf for a class without stats)."""
    diff = F.normalize(emb.pow(delta), p=2, dim=-1)[:, None, :] - means[None]
    dist = torch.einsum("bcd,cde,bce->bc", diff, inv, diff)
    return dist.masked_fill(~ok[None], math.inf)


def nearest_other(dist: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The closest class, or the second closest where the closest is the sample's own (the reference's)."""
    order = torch.argsort(dist, dim=1)
    return torch.where(order[:, 0] == y, order[:, 1], order[:, 0])


def distill(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """The reference's ``distill``: batch-mean KL(softmax(teacher) || softmax(student)), offsets included."""
    log_t = F.log_softmax(teacher + 10e-5, dim=1)
    log_s = F.log_softmax(student + 10e-5, dim=1)
    return F.kl_div(log_s + 10e-5, log_t + 10e-5, reduction="batchmean", log_target=True)


def noise_images(like: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """N(0, 1) images in the normalised space of ``like``'s per-channel statistics, as [0, 1]-scale floats."""
    x = to_float(like, channels_last=False)
    mean, std = x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))
    z = torch.randn((n, *x.shape[1:]), generator=gen, device=x.device)
    return mean.view(1, -1, 1, 1) + std.view(1, -1, 1, 1) * z


def class_balanced_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The reference's sampler weights: 1 / (samples of the same pseudo-label), a count under 3 taken as 5."""
    counts = torch.bincount(labels, minlength=num_classes)[labels].float()
    return 1.0 / torch.where(counts < 3, torch.full_like(counts, 5.0), counts)


def targets_exist(ok: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether every forget sample has a class other than its own with statistics to be pushed to."""
    return bool((ok.sum() - ok[y].long() > 0).all())


def forget_accuracy(model, forget: Part, num_classes: int, r):
    """(accuracy on D_F, per-class accuracies) in eval mode, as fractions; the model is left in train mode."""
    pred = predict_logits(model, forget.x, r.device, precision=r.hp.precision).argmax(1).to(forget.y.device)
    hit = (pred == forget.y).float()
    total = torch.bincount(forget.y, minlength=num_classes).float()
    per_class = torch.bincount(forget.y, weights=hit, minlength=num_classes) / total
    model.train()
    return float(hit.mean()), per_class


def run(r):
    ex, hp, model = r.hp.extra, r.hp, r.model
    forget = unaugmented(r.data.forget())
    k = r.data.num_classes
    original = frozen_copy(model)
    target = held_out_accuracy(original, r) - ex["tolerance"]
    tr = Trainer(r)
    hook, o_hook = Embeddings(model), Embeddings(original)
    try:
        # 1. the surrogate, labelled by the original (eval mode, once); its embeddings for stats: surrogate
        if ex["surrogate"] == "images":  # natural images, as the reference's ImageNet subset (unaugmented)
            sx = to_float(r.data.surrogate()[: ex["surrogate_size"]], channels_last=False)
        else:
            sx = noise_images(forget.x, ex["surrogate_size"], tr.gen)
        s_logits, s_embs = [], []
        for i in range(0, len(sx), 1024):
            s_logits.append(teacher_logits(original, sx[i : i + 1024], r))
            s_embs.append(o_hook.take())
        s_logits = torch.cat(s_logits)
        s_weights = class_balanced_weights(s_logits.argmax(1), k)
        # 2. class statistics, eval mode, no gradients
        stats_from = (
            ex["stats"] if ex["stats"] != "auto" else ("retain" if r.data.setting == "with_retain" else "forget")
        )
        if stats_from == "surrogate":
            means, inv, ok = class_statistics(torch.cat(s_embs), s_logits.argmax(1), k, ex)
        else:
            part = r.data.retain() if stats_from == "retain" else forget
            embs, labels = [], []
            with torch.no_grad():
                for x, y in tr.batches([part], shuffle=stats_from == "retain"):
                    tr.forward(x, train=False)
                    embs.append(hook.take())
                    labels.append(y)
            means, inv, ok = class_statistics(torch.cat(embs), torch.cat(labels), k, ex)
        if ex["stats"] == "auto" and not targets_exist(ok, forget.y):  # e.g. a class-wise D_F without D_R
            log.info("SCAR: D_F holds no other class to push to; class statistics from the surrogate instead")
            stats_from = "surrogate"
            means, inv, ok = class_statistics(torch.cat(s_embs), s_logits.argmax(1), k, ex)
        if not targets_exist(ok, forget.y):
            raise UserError(
                f"SCAR: no class other than the forget samples' own has statistics (from {stats_from}); "
                "run it with_retain (statistics from D_R) or set unlearn.methods.<instance>.stats to another source."
            )
        del s_embs
        r.stats["stats_from"] = stats_from
        surrogate = Mixture([Part("surrogate", sx, torch.arange(len(sx), device=sx.device), False)])
        forget_mix = Mixture([forget])
        b, n_f = hp.batch_size, len(forget)
        n_loader = math.ceil(len(sx) / b)
        steps = min(ex["surrogate_steps"], n_loader)
        seen = r.stats["seen"]
        targets, vec, stop = [], None, False
        log.info("SCAR: stats from %s, %d surrogate images, stop below %.4f on D_F", stats_from, len(sx), target)
        # 3. unlearning
        for epoch in range(hp.epochs):
            for nb, lo in enumerate(range(0, n_f, b)):
                xf, yf = forget_mix.gather(torch.arange(lo, min(lo + b, n_f), device=forget.y.device), tr.gen, hp)
                draw = torch.multinomial(s_weights, len(sx), replacement=True, generator=tr.gen)
                for j in range(steps):
                    xs, idx = surrogate.gather(draw[j * b : (j + 1) * b], tr.gen, hp)
                    tr.forward(xf)
                    dist = mahalanobis(hook.take(), means, inv, ok, ex["delta"])
                    if epoch == 0 and j == 0:
                        targets.append(nearest_other(dist, yf))
                    d = dist[torch.arange(len(yf), device=yf.device), targets[nb]]
                    if vec is not None:
                        w = vec.clone()
                        w[w < ex["class_threshold"]] = 0
                        d = d * w.to(d.device)[yf]
                    loss_f = d.mean() * ex["lambda_1"]
                    out_s = tr.forward(xs, train=ex["surrogate_bn"] == "train")
                    loss_s = distill(out_s, s_logits[idx] / ex["kd_T"]) * ex["lambda_2"]
                    hook.take()
                    loss = loss_f + loss_s
                    if not torch.isfinite(loss):
                        raise Diverged(f"unlearning diverged: SCAR's loss is {float(loss)} in epoch {epoch + 1}.")
                    tr.update(loss, len(yf) + len(idx))
                    seen["forget"] = seen.get("forget", 0) + len(yf)
                    seen["surrogate"] = seen.get("surrogate", 0) + len(idx)
                    acc, vec = forget_accuracy(model, forget, k, r)
                    if acc < target and epoch > 1:
                        stop = True
                        break
                if stop:
                    break
                if n_loader > steps:  # the reference's last forward before its break: BatchNorm statistics only
                    with torch.no_grad():
                        tr.forward(xf)
                        xs = surrogate.gather(draw[steps * b : (steps + 1) * b], tr.gen, hp)[0]
                        tr.forward(xs, train=ex["surrogate_bn"] == "train")
                    hook.take()
            log.info("epoch %d/%d D_F accuracy %.4f (stop below %.4f)", epoch + 1, hp.epochs, acc, target)
            if stop:
                break
        r.stats["epochs_run"] = epoch + 1
    finally:
        hook.close()
        o_hook.close()
        tr.close()
    return model


def cost(setting, hp, n_forget, n_retain):
    """At most ``epochs`` epochs (the stop is data-dependent): per forget batch, ``surrogate_steps``
    steps on it and a surrogate batch."""
    b, s = hp["batch_size"], hp["surrogate_size"]
    steps = min(hp["surrogate_steps"], math.ceil(s / b))
    surrogate = sum(min(b, s - j * b) for j in range(steps))
    return hp["epochs"] * (steps * n_forget + math.ceil(n_forget / b) * surrogate)
