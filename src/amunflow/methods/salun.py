"""SalUn (Fan et al.): RL with the saliency mask applied to the gradients."""

from .base import Method
from .rl import run

METHOD = Method(
    run, "SalUn: RL with a saliency mask", needs_mask=True, extra={"mask_ratio": 0.5, "leaky_mask": False}
)
