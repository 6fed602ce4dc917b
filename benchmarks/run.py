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
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from reference_attack import pgd_l2_one  # noqa: E402
from train_throughput import dataloader_loop, workflow_loop  # noqa: E402

from amunflow.attack import AttackConfig, pgd_l2_adaptive  # noqa: E402
from amunflow.data import load_bundle  # noqa: E402
from amunflow.io import load_model  # noqa: E402
from amunflow.methods import REGISTRY  # noqa: E402
from amunflow.models import build_model  # noqa: E402
from amunflow.train import TrainConfig, augment, pick_device, to_float, train  # noqa: E402
from amunflow.unlearn import DataViews, Hyper, Run  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


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
    cfg = TrainConfig(epochs=1, batch_size=batch, precision=precision, channels_last=channels_last)
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

    cfg = TrainConfig(epochs=1, batch_size=batch, precision=precision, channels_last=channels_last)
    train(model(), x[:batch * 2], y[:batch * 2], cfg, 0, device, progress_file=False)  # warm-up
    t0 = time.perf_counter()
    train(model(), x[retain], y[retain], cfg, 0, device, progress_file=False)
    sync(device)
    t_retrain = time.perf_counter() - t0
    hp = Hyper(epochs=1, batch_size=batch, precision=precision, channels_last=channels_last, extra={"mixture": "full"})
    views = DataViews(x, y, forget, retain, "with_retain", device, adv, 10)
    t0 = time.perf_counter()
    REGISTRY["amun"].run(Run(model(), views, hp, 0, device, progress_file=False))
    sync(device)
    return (time.perf_counter() - t0) / t_retrain


def attack_rows(args, device):
    ckpt = Path(args.checkpoint)
    if ckpt.exists():
        model, meta = load_model(ckpt, device)
        data = load_bundle(args.data)
        idx = np.random.RandomState(0).choice(len(data.train_y), min(args.attack_images, len(data.train_y)), replace=False)
        x, y, src = torch.as_tensor(data.train_x[idx]), data.train_y[idx], f"{ckpt} (width {meta['model']['width']})"
    else:  # a quickly trained model on random images: the cost comparison still holds
        rs = np.random.RandomState(0)
        x = torch.as_tensor(rs.randint(0, 256, (args.attack_images, 3, 32, 32), dtype=np.uint8))
        y = rs.randint(0, 10, args.attack_images)
        torch.manual_seed(0)
        model = build_model({"arch": "resnet18", "width": args.width}, 10).to(device)
        train(model, x.numpy(), y, TrainConfig(epochs=3, batch_size=128), 0, device, progress_file=False)
        src = f"random-data model, width {args.width}"
    cfg = AttackConfig(eps_init=0.04, steps=50, batch_size=args.attack_batch, precision=args.attack_precision,
                       channels_last=args.attack_precision == "bf16")  # fmt: skip
    pgd_l2_adaptive(model, x[:8], y[:8], cfg, device, progress_file=False)
    adv = pgd_l2_adaptive(model, x, y, cfg, device, progress_file=False)
    sync(device)
    vec = len(y) / adv.wall_time_s
    n_ref = min(args.reference_images, len(y))
    xf = x[:n_ref].float().div(255).to(device)
    t0 = time.perf_counter()
    for i in range(n_ref):
        pgd_l2_one(model, xf[i], int(y[i]), 0.04, 50, 0.1)
    ref = n_ref / (time.perf_counter() - t0)
    return [
        (f"D_A builder (vectorized, {args.attack_precision})", f"{vec:.1f} images/s", f"{vec / ref:.1f}x the per-sample reference ({ref:.2f} images/s)", src),
        (f"D_A gradient evaluations per sample ({args.attack_precision})", f"{adv.grad_evals.mean():.1f}", f"paper's bound {3 * 50}; max {adv.grad_evals.max()}", src),
    ]


def default_run_rows():
    sidecars = list(Path("results").rglob("*.json"))
    if not sidecars:
        return []
    total = 0.0
    for p in sidecars:
        try:
            total += float(json.loads(p.read_text()).get("wall_time_s") or 0)
        except (ValueError, AttributeError):
            pass
    return [("default run: sum of job wall times", f"{total / 60:.1f} min", f"{len(sidecars)} sidecars in results/", "")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--train-images", type=int, default=2048)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--checkpoint", default="results/models/original/seed1.pt")
    ap.add_argument("--data", default="results/data/dataset.h5")
    ap.add_argument("--attack-images", type=int, default=512)
    ap.add_argument("--attack-batch", type=int, default=512)
    ap.add_argument("--attack-precision", default="fp32")
    ap.add_argument("--reference-images", type=int, default=16)
    ap.add_argument("--epoch-images", type=int, default=5000)
    ap.add_argument("--csv", default=str(HERE / "out" / "suite.csv"))
    args = ap.parse_args()
    device = pick_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    fast = ("bf16", True)
    rs = np.random.RandomState(0)
    x = rs.randint(0, 256, (args.train_images, 3, 32, 32), dtype=np.uint8)
    y = rs.randint(0, 10, args.train_images)

    def fresh():
        torch.manual_seed(0)
        return build_model({"arch": "resnet18", "width": args.width}, 10).to(device)

    workflow_loop(fresh(), x[: 2 * args.batch], y[: 2 * args.batch], args.batch, device, *fast)  # warm-up
    base = dataloader_loop(fresh(), x, y, args.batch, device, args.workers)
    rows = [("training, DataLoader + transforms (fp32)", f"{base:.0f} images/s", "1.00x", f"workers={args.workers}")]
    for prec, cl in (("fp32", False), fast):
        ips = workflow_loop(fresh(), x, y, args.batch, device, prec, cl)
        rows.append((f"training, workflow loop ({prec}{', channels_last' if cl else ''})", f"{ips:.0f} images/s",
                     f"{ips / base:.2f}x", ""))  # fmt: skip
        print(rows[-1], flush=True)
    share = input_share(fresh().to(memory_format=torch.channels_last), x, y, args.batch, device, *fast)
    rows.append(("input share of step time (bf16, channels_last)", f"{100 * share:.1f}%", "", ""))
    rows += attack_rows(args, device)
    print(rows[-1], flush=True)
    ratio = amun_vs_retrain_epoch(args.width, args.epoch_images, args.batch, device, *fast)
    rows.append(("AMUN epoch (with D_R) / retraining epoch", f"{ratio:.2f}", f"{args.epoch_images} images, 10% forget", ""))
    rows += default_run_rows()

    print(f"\nBenchmarks: ResNet-18 width {args.width}, batch {args.batch}, device: {name}\n")
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
