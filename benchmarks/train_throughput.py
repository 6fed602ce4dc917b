"""Training throughput of the workflow's loop vs a plain torchvision DataLoader + transforms loop.

Same model, batch size, optimizer and device for both; prints a Markdown table and writes a CSV.

    python benchmarks/train_throughput.py                      # widths 16 and 64 on this machine
    python benchmarks/train_throughput.py --widths 64 --batch 512 --images 50000   # on a GPU
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from amunflow.device import autocast, pick_device
from amunflow.models import build_model
from amunflow.train import TrainConfig, train


class UInt8Images(Dataset):
    def __init__(self, x, y, tf):
        self.x, self.y, self.tf = x, y, tf

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.tf(torch.from_numpy(self.x[i])), int(self.y[i])


def dataloader_loop(model, x, y, batch, device, workers, precision="fp32", channels_last=False):
    """The usual recipe: per-sample torchvision transforms in a DataLoader (pinned memory and
    persistent workers on CUDA), one timed pass after a two-batch warm-up; returns images/s."""
    tf = transforms.Compose(
        [
            transforms.ConvertImageDtype(torch.float32),
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
        ]
    )
    loader = DataLoader(
        UInt8Images(x, y, tf),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    model.train()

    def one_pass(max_batches=None):
        for i, (xb, yb) in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with autocast(device, precision):
                loss = F.cross_entropy(model(xb).float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    one_pass(2)
    sync(device)
    t0 = time.perf_counter()
    one_pass()
    sync(device)
    return len(y) / (time.perf_counter() - t0)


def workflow_loop(model, x, y, batch, device, precision, channels_last, compile=False):
    """Images/s of the workflow's ``train`` over (x, y), timed after a warm-up on the same model (which
    also compiles it for both batch shapes of an epoch); returns (images/s, warm-up seconds)."""
    cfg = TrainConfig.from_config(
        dict(epochs=1, batch_size=batch, precision=precision, channels_last=channels_last, compile=compile)
    )
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    n_warm = 2 * batch + len(y) % batch
    t0 = time.perf_counter()
    train(model, x[:n_warm], y[:n_warm], cfg, seed=1, device=device, progress_file=False)
    sync(device)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    train(model, x, y, cfg, seed=0, device=device, progress_file=False)
    sync(device)
    return len(y) / (time.perf_counter() - t0), warm


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument(
        "--images", type=int, default=0, help="images per timed pass (0: 2048 at width<=16, 512 above on CPU)"
    )
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers of the baseline")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--csv", default="benchmarks/out/train_throughput.csv")
    args = ap.parse_args()
    device = pick_device(args.device)
    rows = []
    for width in args.widths:
        n = args.images or (2048 if width <= 16 or device.type == "cuda" else 512)
        rs = np.random.RandomState(0)
        x = rs.randint(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        y = rs.randint(0, 10, n)

        def fresh(width=width):
            torch.manual_seed(0)
            return build_model({"arch": "resnet18", "width": width}, 10).to(device)

        base = dataloader_loop(fresh(), x, y, args.batch, device, args.workers)
        rows.append(
            dict(
                width=width,
                loop=f"DataLoader+transforms (workers={args.workers})",
                precision="fp32",
                channels_last=False,
                images_per_s=base,
                ratio=1.0,
            )
        )
        for prec, cl in (("fp32", False), ("fp32", True), ("bf16", True)):
            ips, _ = workflow_loop(fresh(), x, y, args.batch, device, prec, cl)
            rows.append(
                dict(
                    width=width,
                    loop="workflow (device-resident)",
                    precision=prec,
                    channels_last=cl,
                    images_per_s=ips,
                    ratio=ips / base,
                )
            )
        print(f"width {width} done", flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"\nTraining throughput, ResNet-18 (CIFAR, /2 quirk), batch {args.batch}, device: {name}\n")
    print("| width | loop | precision | channels_last | images/s | vs DataLoader |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['width']} | {r['loop']} | {r['precision']} | {r['channels_last']} "
            f"| {r['images_per_s']:.0f} | {r['ratio']:.2f}x |"
        )
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) + ["device"])
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, device=name))


if __name__ == "__main__":
    main()
