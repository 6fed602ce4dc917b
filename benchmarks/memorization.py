"""Does a recipe reach the paper's regime at CPU scale? Trains the default experiment's model on its
5,000-image CIFAR-10 subset with each given recipe and prints training accuracy (eval mode, no
augmentation: what the health check reads), test accuracy and time.

    python benchmarks/memorization.py --epochs 60 80 --schedule onecycle --lr 0.2 --nesterov
    python benchmarks/memorization.py --epochs 40 --schedule step --lr 0.1 --lr-step 16   # the old default
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import torch

from amunflow.data import prepare
from amunflow.device import pick_device
from amunflow.models import build_model, to_device
from amunflow.predict import accuracy
from amunflow.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / ".." / "shared" / "data" / "cifar10-jpeg.zip"))
    ap.add_argument("--subset", type=int, default=5000)
    ap.add_argument("--test-subset", type=int, default=2000)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--epochs", type=int, nargs="+", default=[80])
    ap.add_argument("--schedule", nargs="+", default=["onecycle"])
    ap.add_argument("--lr", type=float, nargs="+", default=[0.2])
    ap.add_argument("--lr-step", type=int, default=40)
    ap.add_argument("--weight-decay", type=float, nargs="+", default=[5e-4])
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--crop-padding", type=int, nargs="+", default=[4], help="random-crop padding (0: flips only)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = pick_device("auto")
    with tempfile.TemporaryDirectory() as tmp:
        data = prepare(
            {"name": "imagefolder", "root": args.data, "subset": args.subset, "test_subset": args.test_subset},
            Path(tmp) / "d.h5",
        )
    print(f"{len(data.train_y)} training / {len(data.test_y)} test images, width {args.width}, {dev}\n")
    print("| schedule | lr | weight decay | crop padding | epochs | train acc (eval) | test acc | minutes |")
    print("|---|---|---|---|---|---|---|---|")
    grid = itertools.product(args.schedule, args.lr, args.weight_decay, args.crop_padding, args.epochs)
    for schedule, lr, wd, pad, epochs in grid:
        cfg = TrainConfig.from_config(
            {
                "epochs": epochs,
                "lr": lr,
                "weight_decay": wd,
                "schedule": schedule,
                "lr_step": args.lr_step,
                "nesterov": args.nesterov,
                "crop_padding": pad,
                "precision": "bf16",
                "channels_last": True,
            }
        )
        torch.manual_seed(1)
        model = to_device(build_model({"width": args.width}, data.num_classes, data.image_size), dev, True)
        t0 = time.perf_counter()
        train(model, data.train_x, data.train_y, cfg, 1, dev, progress_file=False)
        minutes = (time.perf_counter() - t0) / 60
        tr = accuracy(model, torch.as_tensor(data.train_x), data.train_y, dev)
        te = accuracy(model, torch.as_tensor(data.test_x), data.test_y, dev)
        print(f"| {schedule} | {lr} | {wd} | {pad} | {epochs} | {tr:.1f} | {te:.1f} | {minutes:.1f} |", flush=True)


if __name__ == "__main__":
    main()
