"""The method registry: one line per method. A method is one module in this package with a ``run``
and a ``cost`` function (see :class:`Method`), registered here with what the workflow must know
before running it: its access settings, the artifacts it reads, and its own hyperparameters as
JSON-schema properties with defaults (checked before any job starts). Nothing here imports a
method's module, or torch."""

from __future__ import annotations

from .base import SETTINGS, Method

WITH_RETAIN = ("with_retain",)
MIXTURE = {
    "type": "string",
    "enum": ["full", "advonly"],
    "default": "full",
    "description": "full: D_R u D_F u D_A (D_F u D_A without D_R); advonly: D_R u D_A (D_A alone)",
}
MASK = {
    "mask_ratio": {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1,
        "default": 0.5,
        "description": "share of parameter entries the saliency mask keeps trainable",
    },
    "leaky_mask": {
        "type": "boolean",
        "default": False,
        "description": "let SGD's weight decay move masked entries, as the AMUN code",
    },
}
BS = {
    "fgsm_eps": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 0.1,
        "description": "L-inf bound of the FGSM step",
    },
    "discretize": {"type": "boolean", "default": True, "description": "round FGSM images to the 1/255 grid"},
    "teacher": {
        "type": "string",
        "enum": ["after_retain", "epoch_start"],
        "default": "after_retain",
        "description": "when the labelling copy is taken: after the epoch's D_R pass (the AMUN code) or before",
    },
}
L1 = {
    "alpha": {"type": "number", "minimum": 0, "default": 5e-4, "description": "l1 weight of the first epoch"},
    "alpha_schedule": {
        "type": "string",
        "enum": ["compound", "linear"],
        "default": "compound",
        "description": "compound: the AMUN code's (2 - 2t/E) growth; linear: alpha (1 - t/E)",
    },
}

REGISTRY: dict[str, Method] = {
    "amun": Method(
        "amun", "AMUN: fine-tune on D_A with D_R u D_F (or D_F alone)", needs_adv=True, params={"mixture": MIXTURE}
    ),
    "amun_salun": Method(
        "amun",
        "AMUN with SalUn's saliency mask on the gradients",
        needs_adv=True,
        needs_mask=True,
        params={"mixture": MIXTURE, **MASK},
    ),
    "ft": Method("ft", "FT: fine-tune on D_R", settings=WITH_RETAIN),
    "rl": Method("rl", "RL: random wrong labels on D_F (+ D_R)"),
    "ga": Method("ga", "GA: gradient ascent on D_F (after a descent pass on D_R)"),
    "bs": Method("bs", "BS: boundary shrinking with FGSM labels", params=BS),
    "l1_sparse": Method("l1_sparse", "l1-sparse: FT on D_R with an l1 penalty", settings=WITH_RETAIN, params=L1),
    "salun": Method("rl", "SalUn: RL with a saliency mask", needs_mask=True, params=MASK),
}

__all__ = ["REGISTRY", "SETTINGS", "Method"]
