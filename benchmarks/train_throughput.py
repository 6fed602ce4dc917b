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

from amunflow.models import build_model
from amunflow.train import TrainConfig, pick_device, train


class UInt8Images(Dataset):
    def __init__(self, x, y, tf):
        self.x, self.y, self.tf = x, y, tf

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.tf(torch.from_numpy(self.x[i])), int(self.y[i])


def dataloader_loop(model, x, y, batch, device, workers):
    """The usual recipe: per-sample transforms in a DataLoader, fp32, one pass; returns images/s."""
    tf = transforms.Compose([
        transforms.ConvertImageDtype(torch.float32), transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
    ])  # fmt: skip
    loader = DataLoader(UInt8Images(x, y, tf), batch_size=batch, shuffle=True, num_workers=workers)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    model.train()
    t0 = time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(y) / (time.perf_counter() - t0)


def workflow_loop(model, x, y, batch, device, precision, channels_last):
    cfg = TrainConfig(epochs=1, batch_size=batch, precision=precision, channels_last=channels_last)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    t0 = time.perf_counter()
    train(model, x, y, cfg, seed=0, device=device, progress_file=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(y) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--images", type=int, default=0, help="images per timed pass (0: 2048 at width<=16, 512 above on CPU)")
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

        def fresh():
            torch.manual_seed(0)
            return build_model({"arch": "resnet18", "width": width}, 10).to(device)

        # warm-up (allocator, cudnn autotune, thread pools)
        workflow_loop(fresh(), x[: 2 * args.batch], y[: 2 * args.batch], args.batch, device, "fp32", False)
        base = dataloader_loop(fresh(), x, y, args.batch, device, args.workers)
        rows.append(dict(width=width, loop=f"DataLoader+transforms (workers={args.workers})", precision="fp32",
                         channels_last=False, images_per_s=base, ratio=1.0))  # fmt: skip
        for prec, cl in (("fp32", False), ("fp32", True), ("bf16", True)):
            ips = workflow_loop(fresh(), x, y, args.batch, device, prec, cl)
            rows.append(dict(width=width, loop="workflow (device-resident)", precision=prec, channels_last=cl,
                             images_per_s=ips, ratio=ips / base))  # fmt: skip
        print(f"width {width} done", flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"\nTraining throughput, ResNet-18 (CIFAR, /2 quirk), batch {args.batch}, device: {name}\n")
    print("| width | loop | precision | channels_last | images/s | vs DataLoader |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['width']} | {r['loop']} | {r['precision']} | {r['channels_last']} | {r['images_per_s']:.0f} | {r['ratio']:.2f}x |")
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) + ["device"])
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, device=name))


if __name__ == "__main__":
    main()
