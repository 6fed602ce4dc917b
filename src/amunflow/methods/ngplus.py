"""NG+ (negative gradient plus; Kurmanji et al., "Towards unbounded machine unlearning", NeurIPS
2023), as the Deep Unlearn benchmark runs it (xcadet/deepunlearn, munl/unlearning/neggradplus.py,
which follows the SCRUB repository's small-scale notebook, meghdadk/SCRUB).

Every step pairs a D_R batch with the next batch of a D_F stream and takes one step on

    alpha * CE(D_R batch) - (1 - alpha) * CE(D_F batch)

An epoch is one shuffled pass over D_R; the D_F stream is one shuffled pass over D_F replayed as often
as the epoch needs (``itertools.cycle`` over the forget loader: the same batches in the same order
within an epoch, reshuffled between epochs). BatchNorm stays on its running statistics
(``model.eval()``) and images are not augmented, as the reference code. Its L2 pull towards the
starting weights has weight 0 there (a class attribute, never a field), so it is left out. Needs D_R:
with_retain only.
"""

import itertools
import math

import torch
import torch.nn.functional as F

from ..unlearn import Trainer, unaugmented


def run(r):
    retain, forget = unaugmented(r.data.retain()), unaugmented(r.data.forget())
    alpha = r.hp.extra["alpha"]
    tr = Trainer(r, bn_train=False)
    try:
        for epoch in range(r.hp.epochs):
            forget_stream = itertools.cycle(list(tr.batches([forget])))
            total, n = torch.zeros((), device=r.device), 0
            for (xr, yr), (xf, yf) in zip(tr.batches([retain]), forget_stream, strict=False):
                loss = alpha * F.cross_entropy(tr.forward(xr), yr) - (1 - alpha) * F.cross_entropy(tr.forward(xf), yf)
                total += tr.update(loss, len(yr) + len(yf)) * len(yr)
                n += len(yr)
            tr.end_epoch(epoch, total / max(n, 1))
    finally:
        tr.close()
    return r.model


def cost(setting, hp, n_forget, n_retain):
    """Every D_R batch is paired with the next batch of the cycled D_F pass."""
    b = hp["batch_size"]
    forget_batches = [min(b, n_forget - i) for i in range(0, n_forget, b)]
    paired = sum(forget_batches[j % len(forget_batches)] for j in range(math.ceil(n_retain / b)))
    return hp["epochs"] * (n_retain + paired)
