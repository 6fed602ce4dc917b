"""CF-k (catastrophic forgetting of the last k layers; Goel et al., "Towards adversarial evaluation of
machine unlearning", 2022) as the Deep Unlearn benchmark runs it (xcadet/deepunlearn:
munl/unlearning/catastrophic_forgetting_k.py with scrub_utils.py ``fk_finetune``): every parameter
frozen except those of the last k stages (ResNet-18: layer1..layer4, so k counts stages of two blocks
and saturates at 4; VGG-19: the conv groups between max-pools) and of the classifier, which is always
trained; then fine-tuning on D_R alone, BatchNorm on its running statistics, no augmentation, CE plus
prox / 2 * ||theta - theta_0||^2 over the trained parameters (theta_0: their values when fine-tuning
starts; Deep Unlearn's sgda_weight_decay, 0.1). The reference uses plain SGD (no momentum, no weight
decay; the recipe's SGD here, so config/baselines.yaml sets momentum 0 and weight_decay 0, with its
batch of 256) with the lr decayed x0.1 after int(.5E), int(.8E) and int(.9E) epochs (``lr_milestones``,
the default: 10 epochs give 6 at lr, 3 at lr/10, 1 at lr/100; util.py ``adjust_learning_rate``).
Needs D_R: with_retain only.

EU-k (module ``euk``) is the same after re-initialising the trained layers.
"""

from ..models import stages
from ..unlearn import fit, unaugmented


def last_k(model, k: int) -> list:
    """The modules CF-k and EU-k train: the last k stages (all of them when k exceeds their number)
    and the classifier."""
    groups, head = stages(model)
    return [m for g in groups[-k:] for m in g] + [head]


def finetune_last_k(r, modules, augment: bool):
    """Fine-tune only ``modules`` on D_R with the L2 pull towards their current values."""
    trained = [p for m in modules for p in m.parameters()]
    anchor = [p.detach().clone() for p in trained]
    prox = r.hp.extra["prox"]
    retain = r.data.retain()
    parts = [retain if augment else unaugmented(retain)]

    def pull(epoch):
        return lambda model: prox / 2 * sum(((p - a) ** 2).sum() for p, a in zip(trained, anchor, strict=True))

    frozen = [p for p in r.model.parameters() if all(p is not q for q in trained)]
    for p in frozen:
        p.requires_grad_(False)
    try:
        return fit(r, lambda epoch: parts, extra_loss=pull if prox else None, params=trained, bn_train=False)
    finally:
        for p in frozen:
            p.requires_grad_(True)


def run(r):
    return finetune_last_k(r, last_k(r.model, r.hp.extra["k"]), augment=False)


def cost(setting, hp, n_forget, n_retain):
    return hp["epochs"] * n_retain
