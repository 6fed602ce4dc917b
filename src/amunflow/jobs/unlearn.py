"""One unlearning run: (method instance, access setting, forget set, split seed, model seed, run)."""

from __future__ import annotations

import logging

import torch

from .. import UserError
from ..adversarial import load_for_forget_set
from ..checkpoint import save_checkpoint
from ..device import pick_device
from ..io import file_hash, stable_hash
from ..methods import REGISTRY, needs_adv, needs_surrogate
from ..models import param_distance
from ..predict import accuracy
from ..saliency import load_mask
from ..surrogate import load as load_surrogate
from ..unlearn import DataViews, Diverged, Hyper, Run
from .inputs import open_bundle, open_memorization, open_model, open_split

log = logging.getLogger(__name__)


def unlearn_job(
    model_path,
    data_path,
    split_path,
    adv_path,
    mask_path,
    instance: str,
    method: str,
    setting: str,
    hyper: dict,
    seed: int,
    device: str,
    out_model,
    progress_file=None,
    adv_checkpoint=None,
    expect_split: dict | None = None,
    expect_model: dict | None = None,
    chain: str | None = None,
    record_divergence: bool = False,
    ref_logits=(),
    keep_path=None,
    surrogate_path=None,
) -> dict:
    """Run one method and save the unlearned checkpoint. D_A must come from ``adv_checkpoint`` (default:
    the model being unlearned; the original model for AMUN's static D_A in sequential requests). The
    split and the model must be the ones the rule expects (``expect_*``: recorded identities).

    A run that diverges fails, unless ``record_divergence`` (a tuning grid point, where a too-large
    learning rate is an expected outcome): then the checkpoint's sidecar says ``diverged`` with the
    reason, its evaluation writes no metric and the selection passes over the point. A method that reads
    D_F's memorization scores (RUM) gets them from the RMIA reference models' logits and keep matrix."""
    spec = REGISTRY[method]
    data = open_bundle(data_path)
    fp = data.fingerprint()
    split = open_split(split_path, data, expect_split)
    dev = pick_device(device)
    model, meta = open_model(model_path, data, dev, expect_model)
    hp = Hyper.from_dict(hyper)
    if hp.channels_last:
        model = model.to(memory_format=torch.channels_last)
    reads_adv = needs_adv(method, hyper)
    adv, prep_grad_evals = None, 0  # forward+backward passes spent preparing the run, per sample
    if reads_adv:
        imgs, labels, adv_rows = load_for_forget_set(adv_path, adv_checkpoint or model_path, split, fp)
        adv = (imgs, labels)
        prep_grad_evals += int(adv_rows.grad_evals.sum())  # building D_A for this forget set
    mask = None
    if spec.needs_mask:
        mask = load_mask(mask_path, hp.extra["mask_ratio"], dev, split.hash)
        prep_grad_evals += len(split.forget)  # the saliency pass over D_F
    mem = None
    if spec.needs_memorization:
        if not ref_logits:
            raise UserError(f"{instance} ranks D_F by memorization from the RMIA reference models; set rmia.enabled.")
        mem = open_memorization(ref_logits, keep_path, data, confidence=(False, True))[:, split.forget].T
    surrogate = None
    if needs_surrogate(method, hyper):
        if surrogate_path is None:
            raise UserError(f"{instance} distils on surrogate images; set the config's surrogate.root.")
        surrogate = load_surrogate(surrogate_path, data)
    source = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    views = DataViews(
        data.train_x,
        data.train_y,
        split.forget,
        split.retain,
        setting,
        dev,
        adv,
        data.num_classes,
        held_out=(data.test_x, data.test_y),
        memorization=mem,
        surrogate=surrogate,
    )
    run = Run(model, views, hp, seed, dev, mask, progress_file)
    log.info("%s (%s, %s) on %d forget samples: %s", instance, method, setting, len(split.forget), hyper)
    diverged = None
    try:
        model = spec.run(run)
        bad = [n for n, p in model.state_dict().items() if p.is_floating_point() and not torch.isfinite(p).all()]
        if bad:
            raise Diverged(
                f"unlearning produced non-finite weights in {bad[:3]}; lower the learning rate of {instance}."
            )
    except Diverged as e:
        if not record_divergence:
            raise
        diverged = str(e)
        log.warning("%s %s diverged (recorded for the tuning selection): %s", instance, hyper, e)
        run.stats.setdefault("wall_time_s", 0.0)
        run.stats.setdefault("cpu_time_s", 0.0)

    def acc(x, y):
        if diverged:
            return float("nan")
        return accuracy(model, torch.as_tensor(x), y, dev, channels_last=hp.channels_last)  # fp32, as evaluation

    final = {
        "forget_acc": acc(data.train_x[split.forget], data.train_y[split.forget]),
        "retain_acc": acc(data.train_x[split.retain], data.train_y[split.retain]),
        "test_acc": acc(data.test_x, data.test_y),
    }
    out = dict(
        kind="unlearned",
        instance=instance,
        method=method,
        setting=setting,
        hyper=hyper,
        seed=seed,
        model=meta["model"],
        num_classes=meta["num_classes"],
        image_size=meta["image_size"],
        source_checkpoint=str(model_path),
        source_checkpoint_hash=file_hash(model_path),
        adversarial=str(adv_path) if reads_adv else None,
        mask=str(mask_path) if spec.needs_mask else None,
        surrogate=str(surrogate_path) if surrogate is not None else None,
        split_hash=split.hash,
        split_seed=split.attrs["seed"],
        forget_set=split.attrs.get("forget_set"),
        request=split.attrs.get("request"),
        chain=chain,  # the sequential method name (e.g. amun_adaptive) of a chain of requests
        model_seed=meta["model_seed"],
        dataset_fingerprint=fp,
        config_hash=stable_hash({"hyper": hyper, "seed": seed}),
        wall_time_s=run.stats.get("wall_time_s"),
        cpu_time_s=run.stats.get("cpu_time_s"),
        sample_steps=run.stats["sample_steps"],
        extra_grad_evals=run.stats["extra_grad_evals"] + prep_grad_evals,
        # the method's own work (what its registry cost counts): SGD steps and its other gradients
        method_work=run.stats["sample_steps"] + run.stats["extra_grad_evals"],
        seen=run.stats["seen"],
        epochs_run=run.stats.get("epochs_run"),  # where a method stops by itself (SCAR, LoTUS): epochs begun
        l2_moved=float("nan")
        if diverged
        else param_distance({k: v.cpu() for k, v in model.state_dict().items()}, source),
        final_accuracy=final,
        diverged=diverged,
        device=str(dev),
    )
    save_checkpoint(out_model, model, out)
    log.info(
        "saved %s: %s in %.1f s, %d sample-steps", out_model, final, out["wall_time_s"] or 0.0, out["sample_steps"]
    )
    return out
