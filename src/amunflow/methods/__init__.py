"""The method registry: one line per method. A method is one module in this package with a ``run``
and a ``cost`` function (see :class:`Method`), registered here with what the workflow must know
before running it: its access settings, the artifacts it reads, and its own hyperparameters as
JSON-schema properties with defaults (checked before any job starts). Nothing here imports a
method's module, or torch."""

from __future__ import annotations

from .base import SETTINGS, Method, steps

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

NGPLUS = {
    "alpha": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.95,
        "description": "weight of the D_R descent term; 1 - alpha weighs the D_F ascent term",
    }
}
SCRUB = {
    "alpha": {"type": "number", "minimum": 0, "default": 0.5, "description": "weight of the KL term on D_R"},
    "gamma": {"type": "number", "minimum": 0, "default": 1.0, "description": "weight of the CE term on D_R"},
    "kd_T": {"type": "number", "exclusiveMinimum": 0, "default": 4.0, "description": "distillation temperature"},
    "msteps": {
        "type": "integer",
        "minimum": 0,
        "default": 3,
        "description": "epochs that start with a max pass over D_F",
    },
    "forget_batch_size": {
        "type": "integer",
        "minimum": 1,
        "default": 16,
        "description": "batch size of the max passes",
    },
}
SSD = {
    "selection_weighting": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 10.0,
        "description": "alpha: dampen entries whose D_F importance exceeds alpha x their D importance",
    },
    "dampening_constant": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 1.0,
        "description": "lambda: a selected entry is scaled by min(lambda x imp_D / imp_F, 1)",
    },
}
ADAM = {
    "optimizer": {
        "type": "string",
        "enum": ["adam", "sgd"],
        "default": "adam",
        "description": "adam (the reference code's; momentum unused) or the recipe's SGD",
    }
}
BAD_TEACHER = {
    "kd_T": {"type": "number", "exclusiveMinimum": 0, "default": 1.0, "description": "distillation temperature"},
    "retain_share": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.3,
        "description": "share of D_R distilled from the original (drawn once per run)",
    },
    **ADAM,
}
UNSIR = {
    "noise_steps": {"type": "integer", "minimum": 1, "default": 25, "description": "Adam steps of the noise"},
    "noise_lr": {"type": "number", "exclusiveMinimum": 0, "default": 0.1, "description": "learning rate of the noise"},
    "noise_reg": {"type": "number", "minimum": 0, "default": 0.1, "description": "weight of the noise's L2 energy"},
    "noise_model_mode": {
        "type": "string",
        "enum": ["train", "eval"],
        "default": "train",
        "description": "BatchNorm while the noise is learned: train (the reference's; statistics follow it) or eval",
    },
    "retain_per_class": {
        "type": "integer",
        "minimum": 1,
        "default": 500,
        "description": "D_R images per class in the impair and repair phases (the reference's 500)",
    },
    "repair_batch_size": {
        "type": "integer",
        "minimum": 1,
        "default": 128,
        "description": "batch of the repair phase (the reference's 128; the impair phase uses batch_size)",
    },
    **ADAM,
}
LAST_K = {
    "k": {
        "type": "integer",
        "minimum": 1,
        "default": 1,
        "description": "stages trained (with the classifier), from the last",
    },
    "prox": {
        "type": "number",
        "minimum": 0,
        "default": 0.1,
        "description": "weight of the L2 pull towards the starting values (Deep Unlearn's sgda_weight_decay)",
    },
    "lr_milestones": {
        "type": "array",
        "items": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "default": [0.5, 0.8, 0.9],
        "description": (
            "shares of the epochs after which the lr is multiplied by lr_gamma, as Deep Unlearn's "
            "lr_decay_epochs [int(.5E), int(.8E), int(.9E)] (10 epochs: 6 at lr, 3 at lr/10, 1 at lr/100); "
            "empty: the recipe's StepLR(lr_step)"
        ),
    },
}

SFRON = {
    "iters": {
        "type": "integer",
        "minimum": 1,
        "default": 1500,
        "description": "iterations, each one D_R step (the reference's n_iters for CIFAR-10 10%: 4.3 passes over D_R)",
    },
    "forget_freq": {"type": "integer", "minimum": 1, "default": 5, "description": "a forget step every this many"},
    "forget_alpha": {"type": "number", "minimum": 0, "default": 25.0, "description": "forget loss weight at step 0"},
    "max_norm": {"type": "number", "exclusiveMinimum": 0, "default": 7.0, "description": "forget steps' grad clip"},
    "lambd": {"type": "number", "minimum": 0, "default": 0.5, "description": "adaptive weights' exponent (lambda)"},
    "threshold": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 1.0,
        "description": "the mask keeps entries whose D_F / D_R squared-gradient ratio is at least this (gamma)",
    },
}

SCAR = {
    "lambda_1": {"type": "number", "minimum": 0, "default": 1.0, "description": "weight of the Mahalanobis term"},
    "lambda_2": {"type": "number", "minimum": 0, "default": 5.0, "description": "weight of the surrogate KL"},
    "kd_T": {"type": "number", "exclusiveMinimum": 0, "default": 1.0, "description": "the teacher's logits / kd_T"},
    "delta": {"type": "number", "exclusiveMinimum": 0, "default": 0.5, "description": "Tukey exponent of embeddings"},
    "gamma1": {"type": "number", "minimum": 0, "default": 3.0, "description": "covariance shrinkage, diagonal"},
    "gamma2": {"type": "number", "minimum": 0, "default": 3.0, "description": "covariance shrinkage, off-diagonal"},
    "stats": {
        "type": "string",
        "enum": ["auto", "retain", "forget", "surrogate"],
        "default": "auto",
        "description": (
            "class statistics from D_R (the reference's), D_F, or the surrogate by the original's labels; "
            "auto: D_R where allowed, else D_F, else (no other class in D_F) the surrogate"
        ),
    },
    "surrogate": {
        "type": "string",
        "enum": ["noise", "images"],
        "default": "noise",
        "description": (
            "surrogate images: noise (the reference's offline option) or images, the first surrogate_size of "
            "the config's surrogate section (natural images, as the reference's ImageNet subset)"
        ),
    },
    "surrogate_size": {"type": "integer", "minimum": 1, "default": 10000, "description": "surrogate images"},
    "surrogate_bn": {
        "type": "string",
        "enum": ["train", "eval"],
        "default": "train",
        "description": "BatchNorm on surrogate batches: batch statistics (the reference's) or the running ones",
    },
    "surrogate_steps": {
        "type": "integer",
        "minimum": 1,
        "default": 6,
        "description": "steps per forget batch, each on a surrogate batch (the reference's num_retain_samp + 1)",
    },
    "class_threshold": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.8,
        "description": "a class's forget samples stop pulling once its D_F accuracy is below this",
    },
    "tolerance": {
        "type": "number",
        "minimum": 0,
        "default": 0.015,
        "description": "stop (after epoch 2) once D_F accuracy < the original's held-out accuracy - this",
    },
    "optimizer": {**ADAM["optimizer"], "enum": ["adam"]},
}

LOTUS = {
    "alpha": {
        "type": "number",
        "minimum": 0,
        "default": 8.0,
        "description": "tau = exp(alpha x (D_F accuracy - the original's held-out accuracy)); CIFAR-10's 8",
    },
    "retain_share": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.3,
        "description": "share of D_R trained on beside D_F (drawn once per run)",
    },
    "optimizer": {**ADAM["optimizer"], "enum": ["adamw"], "default": "adamw"},
}

RUM = {
    "inner": {
        "type": "array",
        "minItems": 1,
        "items": {
            "oneOf": [
                {"type": "string"},
                {"type": "object", "required": ["method"], "properties": {"method": {"type": "string"}}},
            ]
        },
        "default": ["none", {"method": "ft", "epochs": 10}, {"method": "salun", "epochs": 5}],
        "description": (
            "one step per memorization group of D_F, lowest first: none, a registered method's name, or "
            "{method: name, key: value, ...} (its keys over this run's recipe); the reference's "
            "nothing / FT 10 epochs / SalUn 5 epochs"
        ),
    },
    "later_in_retain": {
        "type": "boolean",
        "default": True,
        "description": "groups not yet unlearned count as retained in earlier steps (the reference's sequential D_R)",
    },
}

LAST_K_RECIPE = {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.0, "batch_size": 256}  # Deep Unlearn's plain SGD

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
    "ngplus": Method(
        "ngplus",
        "NG+: descent on D_R and ascent on D_F in one step",
        settings=WITH_RETAIN,
        params=NGPLUS,
        recipe={"lr": 0.01, "lr_step": 10, "weight_decay": 0.0, "batch_size": 256},  # Deep Unlearn's
    ),
    "scrub": Method(
        "scrub",
        "SCRUB: max-min distillation from the original",
        settings=WITH_RETAIN,
        params=SCRUB,
        recipe={"lr": 0.0005, "lr_step": 3, "epochs": 5, "batch_size": 32},  # its MIA notebook's
    ),
    "ssd": Method("ssd", "SSD: dampen parameters important to D_F (no training)", settings=WITH_RETAIN, params=SSD),
    "bad_teacher": Method(
        "bad_teacher",
        "Bad Teacher: distill D_F from a random network",
        params=BAD_TEACHER,
        recipe={"lr": 0.0001, "epochs": 1, "batch_size": 256, "weight_decay": 0.0},  # its unlearn.py's
    ),
    "unsir": Method(
        "unsir",
        "UNSIR: error-maximizing noise, impair, repair",
        settings=WITH_RETAIN,
        params=UNSIR,
        recipe={"lr": 0.0001, "epochs": 1, "batch_size": 32, "weight_decay": 0.0},  # the SSD repository's
    ),
    "cfk": Method(
        "cfk",
        "CF-k: fine-tune the last k stages on D_R",
        settings=WITH_RETAIN,
        params=LAST_K,
        recipe=LAST_K_RECIPE,
    ),
    "euk": Method(
        "euk",
        "EU-k: re-initialise and retrain the last k stages on D_R",
        settings=WITH_RETAIN,
        params=LAST_K,
        recipe=LAST_K_RECIPE,
    ),
    "sfron": Method(
        "sfron",
        "SFR-on: masked, clipped adaptive ascent on D_F amid descent on D_R",
        settings=WITH_RETAIN,
        params=SFRON,
        recipe={"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 128},  # its CIFAR-10 10% values
    ),
    "scar": Method(
        "scar",
        "SCAR: Mahalanobis push of D_F to the nearest other class, distillation on surrogate images",
        params=SCAR,
        recipe={"lr": 0.0005, "epochs": 30, "batch_size": 1024, "weight_decay": 0.0},  # its opts.py's
    ),
    "lotus": Method(
        "lotus",
        "LoTUS: Gumbel-softmax targets of the original, softened on D_F by its accuracy gap",
        settings=WITH_RETAIN,
        params=LOTUS,
        # its config.py and CIFAR-10 script: AdamW 1e-4, wd 5e-4, batch 128, 10 epochs; crop, no flip
        recipe={"lr": 0.0001, "weight_decay": 5e-4, "batch_size": 128, "epochs": 10, "crop_padding": 4, "flip": False},
    ),
    "rum": Method(
        "rum",
        "RUM: D_F split by memorization, each group unlearned by its own method in sequence (low to high)",
        needs_memorization=True,
        wraps=True,
        params=RUM,
        # its main_rum.py: SGD lr 0.1, batch 256, momentum 0.9, wd 5e-4, no augmentation, no decay in 10 epochs
        recipe={
            "lr": 0.1,
            "lr_step": 100,
            "batch_size": 256,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "crop_padding": 0,
            "flip": False,
        },  # fmt: skip
    ),
}


def needs_surrogate(method: str, hp: dict) -> bool:
    """Whether a run of ``method`` with resolved hyperparameters ``hp`` reads the surrogate images (its
    ``surrogate`` hyperparameter, or a wrapper step's, is ``images``)."""
    if hp.get("surrogate") == "images":
        return True
    return REGISTRY[method].wraps and any(s.get("surrogate") == "images" for s in steps(hp) if s)


def needs_adv(method: str, hp: dict) -> bool:
    """Whether a run of ``method`` with resolved hyperparameters ``hp`` reads D_A (a wrapper's run does
    when one of its steps' methods does)."""
    spec = REGISTRY[method]
    return spec.needs_adv or (spec.wraps and any(REGISTRY[s["method"]].needs_adv for s in steps(hp) if s))


# Methods of other installed packages: an entry point in this group names a Method, e.g. in the
# plugin's pyproject.toml `[project.entry-points."amunflow.methods"] flip = "my_lab.unlearning:FLIP"`
# with FLIP = Method("my_lab.unlearning.flip", ...): validated, priced, tuned and tabled as ours.
ENTRY_POINT_GROUP = "amunflow.methods"


def _plugins() -> dict[str, Method]:
    from importlib.metadata import entry_points

    from .. import UserError

    out = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = f"method plugin {ep.name!r} ({ep.value}, entry point group {ENTRY_POINT_GROUP})"
        if ep.name in REGISTRY or ep.name in out:
            raise UserError(f"{where}: the name {ep.name!r} is already registered; give the plugin's method another.")
        try:
            method = ep.load()
        except Exception as e:  # noqa: BLE001 - whatever the plugin raises, the user is told which plugin
            raise UserError(f"{where} cannot be loaded ({type(e).__name__}: {e}); fix or uninstall it.") from e
        if not isinstance(method, Method):
            raise UserError(f"{where} names a {type(method).__name__}, not an amunflow.methods.base.Method.")
        if "." not in method.impl:
            raise UserError(f"{where}: impl {method.impl!r} must be the absolute module name of its run and cost.")
        out[ep.name] = method
    return out


REGISTRY.update(_plugins())


__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "SETTINGS", "Method", "needs_adv", "needs_surrogate", "steps"]
