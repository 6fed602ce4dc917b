"""Speed of the vectorized D_A builder against the one-sample-at-a-time reference, and its cost in
gradient evaluations per sample against the paper's bound (3 PGD-50 passes = 150 per sample).

    python benchmarks/adv_builder.py        # uses the default run's original model and data if present

Both implementations produce identical results (tests/test_attack.py); here only time is measured.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_attack import pgd_l2_one  # noqa: E402

from amunflow.attack import AttackConfig, pgd_l2_adaptive  # noqa: E402
from amunflow.checkpoint import load_model  # noqa: E402
from amunflow.data import load_bundle  # noqa: E402
from amunflow.device import pick_device  # noqa: E402


def timed_build(model, x, y, cfg, device, warm):
    """Algorithm 1 on (x, y), timed after a warm-up on the first ``warm`` samples with the same config:
    (the result, images/s, warm-up seconds)."""
    t0 = time.perf_counter()
    pgd_l2_adaptive(model, x[:warm], y[:warm], cfg, device, progress_file=False)
    warm_s = time.perf_counter() - t0
    adv = pgd_l2_adaptive(model, x, y, cfg, device, progress_file=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return adv, len(y) / adv.wall_time_s, warm_s


def reference_rate(model, x, y, n_ref, eps_init, steps, device, builder_evals):
    """The per-sample reference on the first ``n_ref`` samples: (its gradient counts, its images/s
    scaled to the builder's mean cost per image ``builder_evals`` so that a speedup compares equal
    work, its gradient evaluations per second)."""
    xf = x[:n_ref].float().div(255).to(device)
    t0 = time.perf_counter()
    evals = [pgd_l2_one(model, xf[i], int(y[i]), eps_init, steps, 0.1)[3] for i in range(n_ref)]
    seconds = time.perf_counter() - t0
    return evals, n_ref / seconds * np.mean(evals) / builder_evals, sum(evals) / seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="results/models/original/seed1.pt")
    ap.add_argument("--data", default="results/data/dataset.h5")
    ap.add_argument("--n", type=int, default=512, help="samples for the vectorized builder")
    ap.add_argument("--n-ref", type=int, default=24, help="samples for the per-sample reference")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--eps-init", type=float, default=0.04)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--no-fold-bn", action="store_true", help="run the attack through the unfolded model")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--csv", default="benchmarks/out/adv_builder.csv")
    args = ap.parse_args()
    if not Path(args.checkpoint).exists():
        sys.exit(
            f"{args.checkpoint} not found: run the default workflow first (see README) or pass --checkpoint/--data"
        )
    device = pick_device(args.device)
    model, meta = load_model(args.checkpoint, device)
    data = load_bundle(args.data)
    rs = np.random.RandomState(0)
    idx = rs.choice(len(data.train_y), args.n, replace=False)
    x, y = torch.as_tensor(data.train_x[idx]), data.train_y[idx]
    cfg = AttackConfig.from_config(
        dict(
            eps_init=args.eps_init,
            steps=args.steps,
            batch_size=args.batch,
            precision=args.precision,
            channels_last=args.channels_last,
            fold_bn=not args.no_fold_bn,
        )
    )

    adv, vec_ips, _ = timed_build(model, x, y, cfg, device, warm=16)
    ref_evals, ref_ips, _ = reference_rate(
        model, x, y, args.n_ref, args.eps_init, args.steps, device, adv.grad_evals.mean()
    )
    if args.precision == "fp32":  # bf16 rounding may move a sample's success by a step
        assert ref_evals == list(adv.grad_evals[: args.n_ref]), "reference and builder disagree on gradient counts"

    dev_name = (
        torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    )
    row = {
        "device": dev_name,
        "model": f"{meta['model']['arch']} width {meta['model']['width']}",
        "samples": len(y),
        "precision": args.precision,
        "channels_last": args.channels_last,
        "fold_bn": not args.no_fold_bn,
        "vectorized_images_per_s": vec_ips,
        "reference_images_per_s": ref_ips,
        "speedup": vec_ips / ref_ips,
        "mean_grad_evals": float(adv.grad_evals.mean()),
        "max_grad_evals": int(adv.grad_evals.max()),
        "paper_bound": 3 * args.steps,
        "share_at_eps_init": float(np.isclose(adv.eps, args.eps_init).mean()),
        "mean_delta_norm": float(adv.delta_norm.mean()),
    }
    print(
        f"\nD_A builder, {row['model']}, eps_init {args.eps_init}, PGD-{args.steps}, {args.precision}, channels_last "
        f"{args.channels_last}, fold_bn {not args.no_fold_bn}, device: {dev_name}\n"
    )
    print("| builder | samples | images/s | speedup | mean grad evals/sample | paper bound |")
    print("|---|---|---|---|---|---|")
    print(
        f"| per-sample reference (at the builder's cost per image) | {args.n_ref} | {ref_ips:.2f} | 1.0x | "
        f"{np.mean(ref_evals):.1f} | {3 * args.steps} |"
    )
    print(
        f"| vectorized (batch {args.batch}, refill) | {len(y)} | {vec_ips:.1f} | {row['speedup']:.1f}x | "
        f"{row['mean_grad_evals']:.1f} (max {row['max_grad_evals']}) | {3 * args.steps} |"
    )
    print(f"\nshare found at eps_init: {row['share_at_eps_init']:.1%}; mean ||delta||_2: {row['mean_delta_norm']:.3f}")
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        w.writeheader()
        w.writerow(row)


if __name__ == "__main__":
    main()
