"""AMUN (Ebrahimpour-Boroojeny et al., ICML 2025; the AMUN code's adversarial_unlearn.py): fine-tune
on the adversarial set D_A (labelled with the model's own wrong predictions, never augmented) mixed
with the clean data the setting allows.

mixture full:    with_retain D_R u D_F u D_A (= D u D_A);  forget_only D_F u D_A
mixture advonly: with_retain D_R u D_A;                    forget_only D_A
One shuffled stream over the concatenation; plain cross-entropy; BN in train mode.
"""

from ..unlearn import fit
from .base import epochs_over, retain_if_allowed


def run(r):
    retain = [r.data.retain()] if r.data.setting == "with_retain" else []
    forget = {"full": [r.data.forget()], "advonly": []}[r.hp.extra["mixture"]]
    parts = retain + forget + [r.data.adversarial()]
    return fit(r, lambda epoch: parts)


def cost(setting, hp, n_forget, n_retain):
    adv_and_forget = n_forget * (2 if hp["mixture"] == "full" else 1)
    return epochs_over(hp, retain_if_allowed(setting, n_retain), adv_and_forget)
