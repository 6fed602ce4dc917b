"""Sequential unlearning requests (docs/protocol.md §5, "Sequential requests"): a forget set split into k
consecutive requests, the model carried from one request to the next."""

from __future__ import annotations

import numpy as np

from . import UserError
from .splits import Split


def request_splits(base: Split, requests: int, k: int) -> tuple[Split, Split]:
    """(request k's split, the cumulative split after request k).

    Request k forgets chunk k of the base forget set (in draw order, as the AMUN code's
    [1000k, 1000k + 1000) of its index file); its retain set is everything not forgotten by requests
    0..k. The cumulative split, used for the metrics after request k, forgets chunks 0..k."""
    if not 1 <= requests <= len(base.forget):
        raise UserError(
            f"config key sequential.requests: {requests} requests do not fit {len(base.forget)} forget samples."
        )
    if not 0 <= k < requests:
        raise ValueError(f"request {k} out of range 0..{requests - 1}")
    size = len(base.forget) // requests
    chunk = base.forget[k * size : (k + 1) * size]
    done = base.forget[: (k + 1) * size]
    everything = np.arange(base.n, dtype=np.int64)
    retain = np.setdiff1d(everything, done)
    attrs = dict(base.attrs, role="sequential", request=k, requests=requests)
    req = Split(chunk, retain, dict(attrs, n_forget=len(chunk), cumulative=False))
    cum = Split(done, retain, dict(attrs, n_forget=len(done), cumulative=True))
    return req, cum
