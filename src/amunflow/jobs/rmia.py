"""RMIA's reference models (docs/protocol.md §5): the keep matrix, and one model per row trained on its IN half
of the population, with its fp32 logits on all of it."""

from __future__ import annotations

import logging

import numpy as np
import torch

from .. import UserError
from ..checkpoint import save_checkpoint
from ..data import population
from ..device import pick_device
from ..io import atomic_path, file_hash, stable_hash
from ..models import build_model, to_device
from ..predict import predict_logits
from ..splits import keep_matrix
from ..train import TrainConfig, train
from .inputs import open_bundle

log = logging.getLogger(__name__)


def save_array(path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, arr)


def keep_job(data_path, k: int, seed: int, out_path, points: str = "population") -> None:
    """The keep matrix of k models over the population (RMIA's references) or the training set alone
    (U-LiRA's shadow originals)."""
    data = open_bundle(data_path)
    n = len(data.train_y) + (len(data.test_y) if points == "population" else 0)
    save_array(out_path, keep_matrix(k, n, seed))


def reference_job(
    data_path, keep_path, k: int, model_cfg, train_cfg, seed, device, out_model, out_logits, progress_file=None
) -> dict:
    """Train reference model k on its IN half of the population; save it and its logits on all of P."""
    data = open_bundle(data_path)
    keep = np.load(keep_path)
    x, y = population(data)
    if keep.shape[1] != len(y):
        raise UserError(f"keep matrix {keep_path} covers {keep.shape[1]} points, not {len(y)}; delete it and rerun.")
    cfg = TrainConfig.from_config(train_cfg)
    dev = pick_device(device)
    torch.manual_seed(seed)
    model = to_device(build_model(model_cfg, data.num_classes, data.image_size), dev, cfg.channels_last)
    inside = np.flatnonzero(keep[k])
    res = train(model, x[inside], y[inside], cfg, seed, dev, progress_file=progress_file)
    # scored in fp32 whatever the training precision, as every target model is (evaluate_job): a bf16
    # reference signal would differ from an fp32 one by float rounding alone
    logits = predict_logits(model, torch.as_tensor(x), dev, cfg.eval_batch_size, "fp32", cfg.channels_last)
    save_array(out_logits, logits.numpy().astype(np.float32))
    meta = dict(
        kind="reference",
        index=k,
        seed=seed,
        model=model_cfg,
        train=train_cfg,
        num_classes=data.num_classes,
        image_size=data.image_size,
        n_train=len(inside),
        dataset_fingerprint=data.fingerprint(),
        config_hash=stable_hash({"model": model_cfg, "train": train_cfg, "seed": seed, "k": k}),
        wall_time_s=res.wall_time_s,
        cpu_time_s=res.cpu_time_s,
        sample_steps=res.sample_steps,
        in_acc=float((logits[inside].argmax(1).numpy() == y[inside]).mean() * 100),
        logits_sha256=file_hash(out_logits),
    )
    save_checkpoint(out_model, model, meta)
    log.info("reference %d: %d IN points, %.0f s, IN accuracy %.2f", k, len(inside), res.wall_time_s, meta["in_acc"])
    return meta
