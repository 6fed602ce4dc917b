"""GA (gradient ascent, Thudi et al.): every epoch one descent pass over D_R (in order, augmented)
when the setting allows, then one pass of gradient ascent (-CE) over D_F (docs/protocol.md §4)."""

from ..unlearn import Trainer
from .base import epochs_over, retain_if_allowed


def run(r):
    retain = r.data.retain() if r.data.setting == "with_retain" else None
    forget = r.data.forget()
    tr = Trainer(r)
    try:
        for epoch in range(r.hp.epochs):
            if retain is not None:
                tr.pass_over([retain], shuffle=False)
            loss = tr.pass_over([forget], sign=-1.0)
            tr.end_epoch(epoch, loss)
    finally:
        tr.close()
    return r.model


def cost(setting, hp, n_forget, n_retain):
    return epochs_over(hp, retain_if_allowed(setting, n_retain), n_forget)
