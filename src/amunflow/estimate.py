"""Cost estimate of a configured experiment before running it: training sample-steps and attack
gradient evaluations per stage, and GPU-hours at a given throughput.

    amunflow-estimate --configfile config/paper.yaml --images-per-s 25000
"""

from __future__ import annotations

import argparse

import yaml

from .config import Experiment, validate_config
from .data import describe_source
from .hyper import parse_point, resolve_hyper
from .methods import REGISTRY
from .splits import forget_count


def estimate(config: dict, n_train: int, n_test: int) -> list[dict]:
    """Rows (stage, jobs, sample_steps, attack_grad_evals) for the experiment. The attack row is the
    paper's bound (3 PGD passes of ``steps`` per sample); measured means are lower (early stopping)."""
    exp = Experiment(config)
    e, u = config["train"]["epochs"], config["unlearn"]
    rows = [
        {
            "stage": "original models",
            "jobs": len(config["model_seeds"]),
            "sample_steps": len(config["model_seeds"]) * e * n_train,
        }
    ]
    retrain = 0
    units = exp.eval_units()
    sizes = {}
    for f, spec in exp.forget_sets.items():  # class-wise: about one class in ten
        sizes[f] = forget_count(spec["size"], n_train) if spec["kind"] == "random" else round(n_train / 10)
    for f, _, _ in units:
        retrain += e * (n_train - sizes[f])
    rows.append({"stage": "retrained references", "jobs": len(units), "sample_steps": retrain})
    if config["rmia"]["enabled"]:
        k = config["rmia"]["num_references"]
        ref_epochs = {**config["train"], **config["rmia"]["train"]}["epochs"]
        rows.append(
            {"stage": "RMIA reference models", "jobs": k, "sample_steps": k * ref_epochs * (n_train + n_test) // 2}
        )
    steps = config["attack"]["steps"]
    if config["attack"]["scope"] == "all":
        n_attack, jobs = len(config["model_seeds"]) * n_train, len(config["model_seeds"])
    else:
        n_attack = sum(sizes[f] for f, s, m in units)
        jobs = len(units)
    rows.append(
        {"stage": "adversarial sets D_A", "jobs": jobs, "sample_steps": 0, "attack_grad_evals": 3 * steps * n_attack}
    )
    unl = sum(_run_steps(u, inst, setting, sizes[f], n_train) for inst, setting, f, *_ in exp.unlearn_units())
    rows.append({"stage": "unlearning runs", "jobs": len(exp.unlearn_units()), "sample_steps": unl})
    tune = exp.tuning_units()
    if tune:
        pairs = {(f, m) for _, _, f, _, m in tune}
        steps = sum(_run_steps(u, inst, setting, sizes[f], n_train, parse_point(p)) for inst, setting, f, p, _ in tune)
        rows.append(
            {
                "stage": "tuning runs (+ tuning-set retrains)",
                "jobs": len(tune) + len(pairs),
                "sample_steps": steps + sum(e * (n_train - sizes[f]) for f, _ in pairs),
            }
        )
    seq = exp.sequential_units()
    if seq:
        q = config["sequential"]
        steps = 0
        for name, setting, f, _, _, k in seq:
            inst = exp.sequential_names()[name][0]
            chunk = sizes[f] // q["requests"]
            steps += _run_steps(u, inst, setting, chunk, n_train - chunk * k)
        rows.append({"stage": "sequential requests", "jobs": len(seq), "sample_steps": steps})
    for r in rows:
        r.setdefault("attack_grad_evals", 0)
    return rows


def _run_steps(unlearn_cfg, inst, setting, k, n, point=None) -> int:
    """Sample-steps of one unlearning run forgetting k of n images (with a tuning grid point's values),
    as the method's registry entry counts them."""
    method, hp = resolve_hyper(unlearn_cfg, inst, setting)
    return REGISTRY[method].cost(setting, {**hp, **(point or {})}, k, n - k)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configfile", default="config/config.yaml")
    ap.add_argument("--images-per-s", type=float, default=None, help="measured training throughput (benchmarks/)")
    ap.add_argument(
        "--attack-evals-per-s", type=float, default=None, help="measured attack throughput (default: 1.5x images/s)"
    )
    ap.add_argument("--n-test", type=int, default=None, help="test images (default: 10000, or dataset.test_subset)")
    args = ap.parse_args(argv)
    config = validate_config(yaml.safe_load(open(args.configfile)), check_data=False)
    n_train = describe_source(config["dataset"])[0]
    n_test = args.n_test or config["dataset"]["test_subset"] or 10000
    rows = estimate(config, n_train, n_test)
    ips = args.images_per_s
    aps = args.attack_evals_per_s or (1.5 * ips if ips else None)
    print(f"{args.configfile}: {n_train} training and {n_test} test images\n")
    print(f"| stage | jobs | training sample-steps | attack gradient evals (bound) |{' GPU-hours |' if ips else ''}")
    print(f"|---|---|---|---|{'---|' if ips else ''}")
    total_h = 0.0
    for r in rows:
        hours = (r["sample_steps"] / ips + (r["attack_grad_evals"] / aps if aps else 0)) / 3600 if ips else None
        total_h += hours or 0
        tail = f" {hours:.2f} |" if ips else ""
        print(f"| {r['stage']} | {r['jobs']} | {r['sample_steps']:,} | {r['attack_grad_evals']:,} |{tail}")
    total = sum(r["sample_steps"] for r in rows)
    print(
        f"| total | {sum(r['jobs'] for r in rows)} | {total:,} | {sum(r['attack_grad_evals'] for r in rows):,} |"
        + (f" {total_h:.2f} |" if ips else "")
    )
    if not ips:
        print("\ngive --images-per-s (from benchmarks/run.py on the target GPU) for GPU-hours")


if __name__ == "__main__":
    main()
