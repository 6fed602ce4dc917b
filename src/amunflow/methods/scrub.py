"""SCRUB (Kurmanji et al., "Towards unbounded machine unlearning", NeurIPS 2023), as the authors' code
runs it (meghdadk/SCRUB: MIA_experiments.ipynb with thirdparty/repdistiller/helper/loops.py
``train_distill`` and distiller_zoo/KD.py ``DistillKL``). The defaults in config/baselines.yaml are
that notebook's, whose setting is CIFAR-10 ResNet-18 forgetting 100 images of class 5 (not random
forgetting): SGD lr 5e-4 (momentum 0.9, weight decay 5e-4), 5 epochs with the lr x0.1 after epoch 3,
3 max-step epochs, retain batch 32, forget batch 16, alpha 0.5, gamma 1, T 4.

The teacher is a frozen copy of the original, the student starts from it. Every epoch:

* max steps (the first ``msteps`` epochs only): one shuffled pass over D_F in batches of
  ``forget_batch_size``, each step on -KL_T(teacher || student);
* min steps: one shuffled pass over D_R, each step on gamma * CE + alpha * KL_T(teacher || student);

with KL_T(t || s) = sum over classes of softmax(t/T) (log softmax(t/T) - log softmax(s/T)), averaged
over the batch and multiplied by T^2. One SGD optimizer (momentum carried across max and min steps),
learning rate decayed by lr_gamma every lr_step epochs (the notebook's [3, 5, 9] milestones are
lr_step 3 for its 5 epochs). The student's BatchNorm is in train mode in both passes, the teacher's in
eval mode; images are not augmented. SCRUB+R (rewinding to the epoch whose forget error matches a
held-out error of the forget classes) is not implemented. Needs D_R: with_retain only.
"""

import torch
import torch.nn.functional as F

from ..unlearn import Trainer, frozen_copy, teacher_logits, unaugmented


def distill_kl(student: torch.Tensor, teacher: torch.Tensor, T: float) -> torch.Tensor:
    """KL(teacher || student) at temperature T, summed over classes, averaged over the batch, times
    T^2 (repdistiller's DistillKL)."""
    log_s = F.log_softmax(student / T, dim=1)
    p_t = F.softmax(teacher / T, dim=1)
    return F.kl_div(log_s, p_t, reduction="sum") * T**2 / len(student)


def run(r):
    retain, forget = unaugmented(r.data.retain()), unaugmented(r.data.forget())
    ex = r.hp.extra
    T, alpha, gamma = ex["kd_T"], ex["alpha"], ex["gamma"]
    teacher = frozen_copy(r.model)
    tr = Trainer(r)
    try:
        for epoch in range(r.hp.epochs):
            if epoch < ex["msteps"]:
                for x, _ in tr.batches([forget], batch_size=ex["forget_batch_size"]):
                    tr.update(-distill_kl(tr.forward(x), teacher_logits(teacher, x, r), T), len(x))
            total, n = torch.zeros((), device=r.device), 0
            for x, y in tr.batches([retain]):
                out = tr.forward(x)
                loss = gamma * F.cross_entropy(out, y) + alpha * distill_kl(out, teacher_logits(teacher, x, r), T)
                total += tr.update(loss, len(y)) * len(y)
                n += len(y)
            tr.end_epoch(epoch, total / max(n, 1))
    finally:
        tr.close()
    return r.model


def cost(setting, hp, n_forget, n_retain):
    return hp["epochs"] * n_retain + min(hp["msteps"], hp["epochs"]) * n_forget
