"""FT (Warnecke et al.): fine-tune on D_R only. Needs D_R, so with_retain only."""

from ..unlearn import fit
from .base import Method


def run(r):
    parts = [r.data.retain()]
    return fit(r, lambda epoch: parts)


METHOD = Method(run, "FT: fine-tune on D_R", settings=("with_retain",))
