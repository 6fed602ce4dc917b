"""What the registry knows about a method without importing it (and so without torch): its access
settings, the artifacts it reads, its own hyperparameters (JSON-schema properties with defaults),
and where its code is."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

SETTINGS = ("with_retain", "forget_only")


@dataclass(frozen=True)
class Method:
    """A registry entry. ``impl`` names the module holding the method's two functions, relative to
    ``amunflow.methods`` (``"amun"``) or absolute (``"my_lab.methods.foo"``):

    * ``run(r: amunflow.unlearn.Run) -> model``: the method itself;
    * ``cost(setting, hp, n_forget, n_retain) -> int``: the work of one run in sample-steps (one
      forward and backward pass of one sample: SGD steps, and gradients taken for other ends such as
      BS's FGSM, SSD's importances or UNSIR's noise), from the resolved hyperparameters ``hp``; what
      ``amunflow-estimate`` adds up.

    The module is imported only when a run or an estimate needs it."""

    impl: str
    description: str
    settings: tuple[str, ...] = SETTINGS  # access settings the method supports
    needs_adv: bool = False  # reads D_A
    needs_mask: bool = False  # reads a SalUn saliency mask (hyperparameter mask_ratio)
    needs_memorization: bool = False  # reads D_F's memorization scores (from the RMIA reference models)
    needs_surrogate: bool = False  # reads the surrogate images (set per run from its hyperparameters)
    wraps: bool = False  # a meta-method: its ``inner`` hyperparameter lists steps that run registered methods
    params: dict = field(default_factory=dict)  # method-specific hyperparameters: name -> JSON-schema property
    # the reference code's values of shared recipe keys (lr, epochs, batch_size, momentum, ...): they
    # take precedence over unlearn.common, and an instance's own keys over them
    recipe: dict = field(default_factory=dict)

    @property
    def extra(self) -> dict:
        """The method-specific hyperparameters' defaults."""
        return {k: p["default"] for k, p in self.params.items()}

    def module(self):
        name = self.impl if "." in self.impl else f"amunflow.methods.{self.impl}"
        return importlib.import_module(name)

    def run(self, r):
        return self.module().run(r)

    def cost(self, setting: str, hp: dict, n_forget: int, n_retain: int) -> int:
        return int(self.module().cost(setting, hp, n_forget, n_retain))


def epochs_over(hp: dict, *sizes: int) -> int:
    """Sample-steps of ``hp['epochs']`` epochs that each pass once over sets of the given sizes."""
    return hp["epochs"] * sum(sizes)


def retain_if_allowed(setting: str, n_retain: int) -> int:
    """|D_R| when the setting gives access to it (for methods that pass over D_R when they can)."""
    return n_retain if setting == "with_retain" else 0


def steps(hp: dict) -> list[dict | None]:
    """A wrapper's ``inner`` steps, each None ("none": leave that group as it is) or ``{"method": name,
    **its keys}`` (a bare name: no keys of its own)."""
    out = []
    for step in hp.get("inner", []):
        if step == "none":
            out.append(None)
        elif isinstance(step, str):
            out.append({"method": step})
        else:
            out.append(dict(step))
    return out
