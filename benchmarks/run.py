"""The benchmark suite: one table of the workflow's speed on whatever device it finds.

    python benchmarks/run.py                  # CPU: width 16, batch 128
    python benchmarks/run.py --width 64 --batch 512 --train-images 50000   # a GPU (see gpu.sh)

Rows: training images/s of the workflow's loop vs a plain DataLoader + transforms loop (same model,
batch, device); share of step time spent on input; D_A builder images/s, speedup over the per-sample
reference and gradient evaluations per sample; one AMUN epoch (with D_R) as a fraction of one
retraining epoch; and, when results/ holds a finished default run, the sum of its jobs' wall times.
Also written to benchmarks/out/suite.csv.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from adv_builder import reference_rate, timed_build  # noqa: E402
from train_throughput import dataloader_loop, sync, workflow_loop  # noqa: E402

from amunflow.attack import AttackConfig  # noqa: E402
from amunflow.augment import augment, to_float  # noqa: E402
from amunflow.checkpoint import load_model  # noqa: E402
from amunflow.data import load_bundle  # noqa: E402
from amunflow.device import pick_device  # noqa: E402
from amunflow.methods import REGISTRY  # noqa: E402
from amunflow.models import build_model  # noqa: E402
from amunflow.train import TrainConfig, train  # noqa: E402
from amunflow.unlearn import DataViews, Hyper, Run  # noqa: E402


def input_share(model, x, y, batch, device, precision, channels_last, steps=20):
    """Time of the input pipeline (gather, to float, augment) over the time of full training steps."""
    xd = torch.as_tensor(x).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    idx = [torch.randint(0, len(y), (batch,), device=device, generator=gen) for _ in range(steps)]
    sync(device)
    t0 = time.perf_counter()
    for i in idx:
        xb = augment(to_float(xd[i], False), gen)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
    sync(device)
    t_in = time.perf_counter() - t0
    n = steps * batch
    cfg = TrainConfig.from_config(dict(epochs=1, batch_size=batch, precision=precision, channels_last=channels_last))
    t0 = time.perf_counter()
    train(model, x[:n], y[:n], cfg, 0, device, progress_file=False)
    sync(device)
    return t_in / (time.perf_counter() - t0)


def amun_vs_retrain_epoch(width, n, batch, device, precision, channels_last):
    """Wall time of one AMUN epoch with D_R (D u D_A, k = n/10) over one retraining epoch (D_R)."""
    rs = np.random.RandomState(0)
    x = rs.randint(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    y = rs.randint(0, 10, n)
    k = n // 10
    forget, retain = np.arange(k), np.arange(k, n)
    adv = (x[:k].astype(np.float32) / 255, (y[:k] + 1) % 10)

    def model():
        torch.manual_seed(0)
        m = build_model({"arch": "resnet18", "width": width}, 10).to(device)
        return m.to(memory_format=torch.channels_last) if channels_last else m

    cfg = TrainConfig.from_config(dict(epochs=1, batch_size=batch, precision=precision, channels_last=channels_last))
    train(model(), x[: batch * 2], y[: batch * 2], cfg, 0, device, progress_file=False)  # warm-up
    t0 = time.perf_counter()
    train(model(), x[retain], y[retain], cfg, 0, device, progress_file=False)
    sync(device)
    t_retrain = time.perf_counter() - t0
    hp = Hyper.from_dict(
        dict(epochs=1, batch_size=batch, precision=precision, channels_last=channels_last, mixture="full")
    )
    views = DataViews(x, y, forget, retain, "with_retain", device, adv, 10)
    t0 = time.perf_counter()
    REGISTRY["amun"].run(Run(model(), views, hp, 0, device, progress_file=False))
    sync(device)
    return (time.perf_counter() - t0) / t_retrain


def attack_model(args, device):
    """The model D_A is built on: the default run's original if present; else one trained here for a
    few epochs on the dataset bundle (if present) or on random images; returns (model, x, y, source)."""
    ckpt, bundle = Path(args.checkpoint), Path(args.data)
    rs = np.random.RandomState(0)
    if bundle.exists():
        data = load_bundle(bundle)
        x_all, y_all = data.train_x, data.train_y
    else:
        x_all = rs.randint(0, 256, (max(args.attack_images, 2048), 3, 32, 32), dtype=np.uint8)
        y_all = rs.randint(0, 10, len(x_all))
    if ckpt.exists():
        model, meta = load_model(ckpt, device)
        src = f"{ckpt} (width {meta['model']['width']})"
    else:
        torch.manual_seed(0)
        model = build_model({"arch": "resnet18", "width": args.width}, int(y_all.max()) + 1).to(device)
        model = model.to(memory_format=torch.channels_last)
        cfg = TrainConfig.from_config(
            dict(
                epochs=args.attack_model_epochs,
                batch_size=128,
                lr=0.05,
                lr_step=10**6,
                precision="bf16",
                channels_last=True,
            )
        )
        train(model, x_all, y_all, cfg, 0, device, progress_file=False)
        data_src = bundle if bundle.exists() else "random images"
        src = f"width {args.width}, trained {args.attack_model_epochs} epochs on {data_src}"
    idx = rs.choice(len(y_all), min(args.attack_images, len(y_all)), replace=False)
    return model, torch.as_tensor(x_all[idx]), y_all[idx], src


def attack_rows(args, device):
    model, x, y, src = attack_model(args, device)
    prec = args.attack_precision
    cfg = AttackConfig.from_config(
        dict(eps_init=0.04, steps=50, batch_size=args.attack_batch, precision=prec, channels_last=True)
    )
    adv, vec, _ = timed_build(model, x, y, cfg, device, warm=8)
    compiled = []
    if args.attack_compile:
        ccfg = AttackConfig(**{**cfg.__dict__, "compile": True})
        _, cvec, warm = timed_build(model, x, y, ccfg, device, warm=args.attack_batch)
        compiled = [
            (
                f"D_A builder ({prec}, channels_last, BN folded, compile)",
                f"{cvec:.1f} images/s",
                f"{cvec / vec:.2f}x the eager builder",
                f"compile + warm-up {warm:.0f} s",
            )
        ]
    n_ref = min(args.reference_images, len(y))
    _, ref, ref_eps = reference_rate(model, x, y, n_ref, 0.04, 50, device, adv.grad_evals.mean())
    label = f"{prec}, channels_last, BN folded, batch {args.attack_batch}"
    return [
        (
            f"D_A builder ({label})",
            f"{vec:.1f} images/s",
            f"{vec / ref:.1f}x the per-sample fp32 reference ({ref:.2f} images/s)",
            f"{len(y)} images; {src}; reference on {n_ref} images, {ref_eps:.0f} gradient evaluations/s",
        ),
        ("D_A for 50,000 images (projected)", f"{50_000 / vec / 60:.1f} min", "", f"at {vec:.0f} images/s"),
        (
            f"D_A gradient evaluations per sample ({prec})",
            f"{adv.grad_evals.mean():.1f}",
            f"paper's bound {3 * 50}; max {adv.grad_evals.max()}",
            f"{np.isclose(adv.eps, 0.04).mean():.0%} found at eps_init",
        ),
    ] + compiled


def default_run_rows(log_dir=".snakemake/log"):
    """End-to-end time of the largest finished workflow run in this checkout's Snakemake logs (first to
    last timestamp of a log that ends in "N of N steps (100%) done")."""
    best = None
    for log in Path(log_dir).glob("*.snakemake.log"):
        text = log.read_text(errors="replace")
        done = re.findall(r"^(\d+) of \1 steps \(100%\) done", text, re.M)
        stamps = re.findall(r"^\[(\w{3} \w{3} +\d+ [\d:]{8} \d{4})\]", text, re.M)
        if done and len(stamps) >= 2 and (best is None or int(done[-1]) > best[0]):
            span = datetime.strptime(stamps[-1], "%a %b %d %H:%M:%S %Y") - datetime.strptime(
                stamps[0], "%a %b %d %H:%M:%S %Y"
            )
            best = (int(done[-1]), span.total_seconds(), log.name)
    if best is None:
        return []
    return [
        (
            "workflow end-to-end (largest finished run)",
            f"{best[1] / 60:.1f} min",
            f"{best[0]} jobs",
            f".snakemake/log/{best[2]}",
        )
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--train-images", type=int, default=2048)
    ap.add_argument(
        "--workers", type=int, default=None, help="DataLoader workers of the baseline (default: 0 on CPU, 8 on CUDA)"
    )
    ap.add_argument("--compile", action="store_true", help="also time the workflow loop under torch.compile")
    ap.add_argument("--skip-attack", action="store_true")
    ap.add_argument("--checkpoint", default="results/models/original/seed1.pt")
    ap.add_argument("--data", default="results/data/dataset.h5")
    ap.add_argument("--attack-images", type=int, default=512)
    ap.add_argument("--attack-batch", type=int, default=512)
    ap.add_argument("--attack-precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--attack-compile", action="store_true", help="also time the builder under torch.compile")
    ap.add_argument(
        "--attack-model-epochs", type=int, default=15, help="epochs of the attacked model when --checkpoint is absent"
    )
    ap.add_argument("--reference-images", type=int, default=32)
    ap.add_argument("--epoch-images", type=int, default=5000)
    ap.add_argument("--csv", default=str(HERE / "out" / "suite.csv"))
    args = ap.parse_args()
    device = pick_device(args.device)
    workers = args.workers if args.workers is not None else (8 if device.type == "cuda" else 0)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}, torch {torch.__version__}", flush=True)
    fast = ("bf16", True)
    rs = np.random.RandomState(0)
    x = rs.randint(0, 256, (args.train_images, 3, 32, 32), dtype=np.uint8)
    y = rs.randint(0, 10, args.train_images)
    rows = []

    def add(*row):
        rows.append(tuple(str(v) for v in row))
        print(rows[-1], flush=True)

    def fresh():
        torch.manual_seed(0)
        return build_model({"arch": "resnet18", "width": args.width}, 10).to(device)

    def guarded(label, fn):
        """Run one measurement; a failure becomes a row, so the rest of the table still comes out."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            add(label, "failed", f"{type(e).__name__}: {str(e)[:160]}", "")

    base = {}

    def baselines():
        workflow_loop(fresh(), x[: 2 * args.batch], y[: 2 * args.batch], args.batch, device, *fast)  # warm-up
        base["fp32"] = dataloader_loop(fresh(), x, y, args.batch, device, workers)
        add("training, DataLoader + transforms (fp32)", f"{base['fp32']:.0f} images/s", "1.00x", f"workers={workers}")
        base["bf16"] = dataloader_loop(fresh(), x, y, args.batch, device, workers, *fast)
        add(
            "training, DataLoader + transforms (bf16, channels_last)",
            f"{base['bf16']:.0f} images/s",
            f"{base['bf16'] / base['fp32']:.2f}x",
            f"workers={workers}",
        )

    def workflow(prec, cl, comp):
        ips, warm = workflow_loop(fresh(), x, y, args.batch, device, prec, cl, comp)
        ref = base.get("fp32", math.nan)
        same = base.get("bf16") if (prec, cl) == fast else (base.get("fp32") if (prec, cl) == ("fp32", False) else None)
        note = f"{ips / same:.2f}x the DataLoader loop at the same precision" if same else ""
        if comp:
            note = (note + "; " if note else "") + f"compile + warm-up {warm:.0f} s"
        label = prec + (", channels_last" if cl else "") + (", compile" if comp else "")
        add(f"training, workflow loop ({label})", f"{ips:.0f} images/s", f"{ips / ref:.2f}x", note)
        if (prec, cl, comp) == ("bf16", True, False):
            epoch_s = 50_000 / ips
            add(
                "CIFAR-10 epoch (50,000 images), workflow bf16",
                f"{epoch_s:.1f} s",
                f"201 epochs: {201 * epoch_s / 60:.1f} min",
                "",
            )

    def share():
        sh = input_share(fresh().to(memory_format=torch.channels_last), x, y, args.batch, device, *fast)
        add("input share of step time (bf16, channels_last)", f"{100 * sh:.1f}%", "", "gather + to float + crop/flip")

    def attack():
        for r in attack_rows(args, device):
            add(*r)

    def amun_epoch():
        ratio = amun_vs_retrain_epoch(args.width, args.epoch_images, args.batch, device, *fast)
        add(
            "AMUN epoch (with D_R) / retraining epoch",
            f"{ratio:.2f}",
            f"{args.epoch_images} images, 10% forget",
            "by sample count: 1.22",
        )

    guarded("training, DataLoader + transforms", baselines)
    variants = [("fp32", False, False), ("fp32", True, False), ("bf16", True, False)]
    if args.compile:
        variants += [("fp32", True, True), ("bf16", True, True)]
    for v in variants:
        guarded(f"training, workflow loop {v}", lambda v=v: workflow(*v))
    guarded("input share of step time", share)
    if not args.skip_attack:
        guarded("D_A builder", attack)
    guarded("AMUN epoch (with D_R) / retraining epoch", amun_epoch)
    for r in default_run_rows():
        add(*r)

    print(
        f"\nBenchmarks: ResNet-18 width {args.width}, batch {args.batch}, device: {name}, torch {torch.__version__}\n"
    )
    print("| measurement | value | comparison | note |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["measurement", "value", "comparison", "note", "device", "width", "batch"])
        for r in rows:
            w.writerow(list(r) + [name, args.width, args.batch])


if __name__ == "__main__":
    main()
