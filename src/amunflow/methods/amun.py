"""AMUN (SPEC §3): fine-tune on the adversarial set D_A (labelled with the model's own wrong
predictions, never augmented) mixed with the clean data the setting allows.

mixture full:    with_retain D_R u D_F u D_A (= D u D_A);  forget_only D_F u D_A
mixture advonly: with_retain D_R u D_A;                    forget_only D_A
One shuffled stream over the concatenation; plain cross-entropy; BN in train mode.
"""

from .. import UserError
from ..unlearn import fit
from .base import Method


MIXTURES = ("full", "advonly")


def run(r):
    mixture = r.hp.extra["mixture"]
    if mixture not in MIXTURES:
        raise UserError(f"amun hyperparameter mixture: {mixture!r} is not one of {', '.join(MIXTURES)}.")
    clean = []
    if r.data.setting == "with_retain":
        clean.append(r.data.retain())
    if mixture == "full":
        clean.append(r.data.forget())
    parts = clean + [r.data.adversarial()]
    return fit(r, lambda epoch: parts, leaky_mask=r.hp.extra.get("leaky_mask", False))


EXTRA = {"mixture": "full"}
AMUN = Method(run, "AMUN: fine-tune on D_A with D_R u D_F (or D_F alone)", needs_adv=True, extra=EXTRA)
AMUN_SALUN = Method(
    run, "AMUN with SalUn's saliency mask on the gradients", needs_adv=True, needs_mask=True,
    extra=dict(EXTRA, mask_ratio=0.5, leaky_mask=False),
)  # fmt: skip
