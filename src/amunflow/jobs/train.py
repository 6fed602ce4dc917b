"""Training jobs: an original model on D, or a retrained reference on D_R (docs/protocol.md §1)."""

from __future__ import annotations

import logging
import platform

import numpy as np
import torch

from .. import UserError
from ..checkpoint import save_checkpoint
from ..device import pick_device
from ..io import atomic_path, file_hash, stable_hash
from ..models import build_model, count_parameters, to_device
from ..predict import accuracy
from ..train import TrainConfig, train
from .inputs import open_bundle, open_split

log = logging.getLogger(__name__)


def train_job(
    data_path,
    split_path,
    model_cfg: dict,
    train_cfg: dict,
    seed: int,
    device: str,
    out_model,
    out_history,
    kind: str,
    progress_file=None,
    expect_split: dict | None = None,
    keep_path=None,
    keep_row: int | None = None,
) -> dict:
    """Train a model from a fresh init (``seed``) on: the split's D_R (a retrain), row ``keep_row`` of the
    keep matrix at ``keep_path`` (a U-LiRA shadow original, on its half of the training set), or all of
    the training set (an original)."""
    cfg = TrainConfig.from_config(train_cfg)
    data = open_bundle(data_path)
    fp = data.fingerprint()
    dev = pick_device(device)
    if split_path:
        split = open_split(split_path, data, expect_split)
        train_idx = split.retain
        eval_sets = {
            "forget": (data.train_x[split.forget], data.train_y[split.forget]),
            "retain": (data.train_x[split.retain], data.train_y[split.retain]),
        }
        identity = {
            "split_hash": split.hash,
            "split_seed": split.attrs["seed"],
            "forget_set": split.attrs.get("forget_set"),
        }
    elif keep_path:
        keep = np.load(keep_path)
        if keep.shape[1:] != data.train_y.shape or not 0 <= keep_row < len(keep):
            raise UserError(
                f"keep matrix {keep_path} ({keep.shape}) has no row {keep_row} over the {len(data.train_y)} "
                "training images; delete it and rerun the workflow."
            )
        train_idx = np.flatnonzero(keep[keep_row])
        eval_sets = {"train": (data.train_x[train_idx], data.train_y[train_idx])}
        identity = {"split_hash": None, "shadow": int(keep_row), "keep_hash": file_hash(keep_path)}
    else:
        train_idx = np.arange(len(data.train_y))
        eval_sets = {"train": (data.train_x, data.train_y)}
        identity = {"split_hash": None}
    eval_sets["test"] = (data.test_x, data.test_y)

    torch.manual_seed(seed)
    model = to_device(build_model(model_cfg, data.num_classes, data.image_size), dev, cfg.channels_last)
    log.info(
        "%s: %s width %s (%d parameters) on %d images, %d epochs, device %s, precision %s",
        kind,
        model_cfg.get("arch"),
        model_cfg.get("width"),
        count_parameters(model),
        len(train_idx),
        cfg.epochs,
        dev,
        cfg.precision,
    )
    with atomic_path(out_history) as tmp_hist:
        result = train(
            model,
            data.train_x[train_idx],
            data.train_y[train_idx],
            cfg,
            seed,
            dev,
            eval_sets=eval_sets,
            history_csv=tmp_hist,
            progress_file=progress_file,
        )
    final = {k: v for k, v in result.history[-1].items() if k.endswith("_acc") and k != "running_acc"}
    meta = {
        "kind": kind,
        "seed": seed,
        "model_seed": seed,
        "model": model_cfg,
        "train": train_cfg,
        "num_classes": data.num_classes,
        "image_size": data.image_size,
        "config_hash": stable_hash({"model": model_cfg, "train": train_cfg, "seed": seed}),
        "dataset_fingerprint": fp,
        **identity,
        "n_train": int(len(train_idx)),
        "epochs": cfg.epochs,
        "wall_time_s": result.wall_time_s,
        "cpu_time_s": result.cpu_time_s,
        "sample_steps": result.sample_steps,
        "images_per_s": result.sample_steps / result.wall_time_s,
        "final_accuracy": final,
        "final_loss": result.history[-1]["loss"],
        "device": str(dev) if dev.type != "cuda" else torch.cuda.get_device_name(dev),
        "host": platform.node(),
    }
    save_checkpoint(out_model, model, meta)
    log.info("saved %s: %s, %.0f s, %.0f images/s", out_model, final, result.wall_time_s, meta["images_per_s"])
    return meta


STATE_KEYS = ("state_dict", "model_state_dict", "model", "net", "state")
PREFIXES = ("module.", "_orig_mod.")  # DataParallel / DistributedDataParallel, torch.compile


def read_state_dict(path) -> dict:
    """The state_dict in a user's model file: a plain state_dict or a checkpoint dict holding one under
    one of ``STATE_KEYS``; wrapper prefixes (``PREFIXES``) removed. Read with weights_only=True, so the
    file cannot run code."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise UserError(
            f"config key originals.path: {path} cannot be read as a PyTorch weights file ({type(e).__name__}: "
            f"{str(e)[:300]}); save it with torch.save(model.state_dict(), path)."
        ) from e
    if isinstance(obj, dict) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        inner = next((obj[k] for k in STATE_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            raise UserError(
                f"config key originals.path: {path} holds a dict with keys {sorted(map(str, obj))[:8]} but no "
                f"state_dict under any of {list(STATE_KEYS)}; save the model's state_dict."
            )
        obj = inner
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"config key originals.path: {path} holds no state_dict of tensors; save model.state_dict().")
    state = {}
    for k, v in obj.items():
        for p in PREFIXES:
            k = k.removeprefix(p)
        state[k] = v
    return state


def import_original_job(data_path, user_path, sha256: str, model_cfg: dict, seed: int, device: str, out_model) -> dict:
    """A user's own original: their weights in the configured network, checked against the dataset
    (every tensor's name and shape), with its accuracy on the training and test images in its sidecar
    (the health table's "did it memorize?"); its identity is the file's content hash ``sha256``."""
    if file_hash(user_path, length=64) != sha256:
        raise UserError(f"config key originals.path: {user_path} changed after the workflow was planned; run it again.")
    data = open_bundle(data_path)
    model = build_model(model_cfg, data.num_classes, data.image_size)
    state, own = read_state_dict(user_path), model.state_dict()
    for k in own:  # older BatchNorm files lack the step counter, which no forward pass reads
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = own[k]
    missing, extra = [k for k in own if k not in state], [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in own.items() if k in state
             and state[k].shape != v.shape]  # fmt: skip
    if missing or extra or wrong:
        arch = f"{model_cfg.get('arch')} width {model_cfg.get('width')}"
        problems = [
            f"{label}: {', '.join(items[:3])}{' ...' if len(items) > 3 else ''}"
            for label, items in (("missing", missing), ("not in the network", extra), ("wrong shape", wrong))
            if items
        ]
        raise UserError(
            f"config key originals.path: {user_path} does not fit the configured {arch} for {data.num_classes} "
            f"classes of {data.image_size}px images ({'; '.join(problems)}); set model to the network it was "
            "saved from."
        )
    model.load_state_dict(state)
    dev = pick_device(device)
    model = model.to(dev)
    x_train, x_test = torch.from_numpy(data.train_x), torch.from_numpy(data.test_x)
    final = {
        "train_acc": accuracy(model, x_train, data.train_y, dev),
        "test_acc": accuracy(model, x_test, data.test_y, dev),
    }
    meta = {
        "kind": "original",
        "seed": seed,
        "model_seed": seed,
        "model": model_cfg,
        "train": None,
        "imported_from": str(user_path),
        "imported_sha256": sha256,
        "num_classes": data.num_classes,
        "image_size": data.image_size,
        "config_hash": stable_hash({"model": model_cfg, "imported_sha256": sha256}),
        "dataset_fingerprint": data.fingerprint(),
        "split_hash": None,
        "n_train": int(len(data.train_y)),
        "epochs": 0,
        "sample_steps": 0,
        "final_accuracy": final,
        "device": str(dev),
        "host": platform.node(),
    }
    save_checkpoint(out_model, model, meta)
    log.info("imported %s (sha256 %s) as the original: %s", user_path, sha256[:16], final)
    return meta
