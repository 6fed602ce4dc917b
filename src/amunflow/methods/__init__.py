"""The method registry. A method is one module with a ``METHOD = Method(...)`` entry point taking a
:class:`amunflow.unlearn.Run` and returning the unlearned model; adding one is one file and one line
in ``REGISTRY``."""

from __future__ import annotations

from . import amun, bs, ft, ga, l1_sparse, rl, salun
from .base import Method

REGISTRY: dict[str, Method] = {
    "amun": amun.AMUN,
    "amun_salun": amun.AMUN_SALUN,
    "ft": ft.METHOD,
    "rl": rl.METHOD,
    "ga": ga.METHOD,
    "bs": bs.METHOD,
    "l1_sparse": l1_sparse.METHOD,
    "salun": salun.METHOD,
}

__all__ = ["REGISTRY", "Method"]
