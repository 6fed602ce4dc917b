from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..unlearn import SETTINGS


@dataclass(frozen=True)
class Method:
    run: Callable  # (Run) -> model
    description: str
    settings: tuple[str, ...] = SETTINGS  # access settings the method supports
    needs_adv: bool = False  # reads D_A
    needs_mask: bool = False  # reads a SalUn saliency mask (hyperparameter mask_ratio)
    extra: dict = field(default_factory=dict)  # method-specific hyperparameters and their defaults
