"""Cost estimate of a configured experiment before running it: training sample-steps and attack
gradient evaluations per stage, and GPU-hours at a given throughput.

    amunflow-estimate --configfile config/paper.yaml --images-per-s 25000
"""

from __future__ import annotations

import argparse
import math

from . import UserError
from .config import Experiment, load_config_file, merge_config, validate_config
from .data import describe_source
from .hyper import method_of, parse_point, resolve_hyper, spec_for
from .methods import REGISTRY
from .splits import forget_count


def estimate(config: dict, n_train: int, n_test: int) -> list[dict]:
    """Rows (stage, jobs, sample_steps, attack_grad_evals) for the experiment. The attack row is the
    paper's bound (3 PGD passes of ``steps`` per sample); measured means are lower (early stopping)."""
    exp = Experiment(config)
    e, u = config["train"]["epochs"], config["unlearn"]
    rows = [
        {
            "stage": "original models" + (" (imported)" if config["originals"]["path"] else ""),
            "jobs": len(config["model_seeds"]),
            "sample_steps": 0 if config["originals"]["path"] else len(config["model_seeds"]) * e * n_train,
        }
    ]
    retrain = 0
    units = exp.eval_units()
    sizes = {}
    for f, spec in exp.forget_sets.items():  # class-wise: about one class in ten
        if spec["kind"] == "list":
            sizes[f] = exp.list_size(f)
        else:
            sizes[f] = forget_count(spec["size"], n_train) if "size" in spec else round(n_train / 10)
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
    else:  # one per evaluation split, and one per tuning split when a tuned method reads D_A
        tuned = [(f, m) for inst, st, f, _, m in exp.tuning_units() if spec_for(u, inst, st).needs_adv]
        pairs = [(f, s, m) for f, s, m in units] + [(f, config["tuning_seed"], m) for f, m in sorted(set(tuned))]
        n_attack, jobs = sum(sizes[f] for f, _, _ in pairs), len(pairs)
    rows.append(
        {"stage": "adversarial sets D_A", "jobs": jobs, "sample_steps": 0, "attack_grad_evals": 3 * steps * n_attack}
    )
    unl = sum(_run_steps(u, inst, setting, sizes[f], n_train) for inst, setting, f, *_ in exp.unlearn_units())
    rows.append({"stage": "unlearning runs", "jobs": len(exp.unlearn_units()), "sample_steps": unl})
    tune = exp.tuning_units()
    if tune:
        pairs = {(f, m) for _, _, f, _, m in tune}
        steps = sum(
            _run_steps(u, inst, setting, sizes[f], n_train, parse_point(p, method_of(u, inst)))
            for inst, setting, f, p, _ in tune
        )
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
    relearn = config["evaluation"]["relearn"]
    if relearn["enabled"]:  # every unlearned model and retrain, at most max_epochs over D_F
        evaluated = [f for _, _, f, *_ in exp.unlearn_units()] + [f for f, _, _ in units]
        rows.append(
            {
                "stage": "relearn time (in the evaluation jobs; bound)",
                "jobs": 0,
                "sample_steps": sum(relearn["max_epochs"] * sizes[f] for f in evaluated),
            }
        )
    rows += _ulira_rows(config, exp, sizes, n_train)
    rows += _epsilon_rows(config, exp, sizes, n_train)
    for r in rows:
        r.setdefault("attack_grad_evals", 0)
    return rows


def _ulira_rows(config: dict, exp: Experiment, sizes: dict, n_train: int) -> list[dict]:
    """U-LiRA's shadows: S originals on half the training set; per forget set and split seed, S retrains
    without the half's share of D_F (S more for the calibration row retrain), S D_A builds where an AMUN
    variant is audited, and S unlearning runs per audited method and setting."""
    units = exp.ulira_units()
    if not units:
        return []
    q, u = config["evaluation"]["ulira"], config["unlearn"]
    s, half = q["shadows"], n_train // 2
    e = {**config["train"], **q["train"]}["epochs"]
    pairs = sorted({(f, sd) for _, _, f, sd in units})
    retrains = [(f, sd) for f, sd in pairs] + [(f, sd) for name, _, f, sd in units if name == "retrain"]
    runs = [(n, st, f) for n, st, f, _ in units if n not in ("original", "retrain")]
    adv = {(f, sd) for n, st, f, sd in units if (n, st, f) in runs and spec_for(u, n, st).needs_adv}
    steps = config["attack"]["steps"]
    return [
        {"stage": "U-LiRA shadow originals", "jobs": s, "sample_steps": s * e * half},
        {
            "stage": "U-LiRA shadow retrains",
            "jobs": s * len(retrains),
            "sample_steps": sum(s * e * (half - sizes[f] // 2) for f, _ in retrains),
        },
        {
            "stage": "U-LiRA shadow D_A",
            "jobs": s * len(adv),
            "sample_steps": 0,
            "attack_grad_evals": sum(s * 3 * steps * (sizes[f] // 2) for f, _ in adv),
        },
        {
            "stage": "U-LiRA shadow unlearning runs",
            "jobs": s * len(runs),
            "sample_steps": sum(s * _run_steps(u, n, st, sizes[f] // 2, half) for n, st, f in runs),
        },
    ]


def _epsilon_rows(config: dict, exp: Experiment, sizes: dict, n_train: int) -> list[dict]:
    """The epsilon / KLOM stage: per forget set, N retrains (2N with the calibration row retrain) and N
    unlearning runs per audited method and setting, less those the main runs already train (the
    configured model seeds' retrains and runs). Its scoring passes are inference only, not counted."""
    units = exp.epsilon_units()
    if not units:
        return []
    u = config["unlearn"]
    e = config["train"]["epochs"]
    pairs = sorted({(f, sd) for _, _, f, sd in units})
    again = any(name == "retrain" for name, *_ in units)
    seeds = exp.epsilon_retrain_seeds() + (exp.epsilon_retrain_seeds(again=True) if again else [])
    new_retrains = [m for m in seeds if m not in config["model_seeds"]]
    new_runs = [r for r in exp.epsilon_runs() if r not in u["runs"]]
    runs = [(n, st, f) for n, st, f, _ in units if n not in ("original", "retrain")]
    return [
        {
            "stage": "epsilon / KLOM retrains",
            "jobs": len(new_retrains) * len(pairs),
            "sample_steps": sum(len(new_retrains) * e * (n_train - sizes[f]) for f, _ in pairs),
        },
        {
            "stage": "epsilon / KLOM unlearning runs",
            "jobs": len(new_runs) * len(runs),
            "sample_steps": sum(len(new_runs) * _run_steps(u, n, st, sizes[f], n_train) for n, st, f in runs),
        },
    ]


def _run_steps(unlearn_cfg, inst, setting, k, n, point=None) -> int:
    """Sample-steps of one unlearning run forgetting k of n images (with a tuning grid point's values),
    as the method's registry entry counts them."""
    method, hp = resolve_hyper(unlearn_cfg, inst, setting)
    return REGISTRY[method].cost(setting, {**hp, **(point or {})}, k, n - k)


def hours(rows: list[dict], images_per_s: float, attack_evals_per_s: float | None = None, gpus: int = 1) -> list[dict]:
    """Each stage's GPU-hours at the given throughputs, and its wall-clock hours on ``gpus`` cards, one
    job per card (:mod:`amunflow.cards`): ceil(jobs / gpus) rounds of a stage's average job."""
    aps = attack_evals_per_s or 1.5 * images_per_s
    out = []
    for r in rows:
        gpu_h = (r["sample_steps"] / images_per_s + r["attack_grad_evals"] / aps) / 3600
        rounds = -(-r["jobs"] // gpus) if r["jobs"] else 0
        # a stage of no jobs of its own (relearn runs inside the evaluation jobs) adds its hours serially
        out.append({**r, "gpu_hours": gpu_h, "wall_hours": gpu_h / r["jobs"] * rounds if r["jobs"] else gpu_h})
    return out


def _positive(kind):
    """An argparse type: a positive finite number of ``kind`` (int or float)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive {'integer' if kind is int else 'number'}")
        return value

    return parse


def count_test_images(dataset: dict, n_test: int | None = None) -> int:
    """Test images the experiment has: ``n_test`` when given, else dataset.test_subset, else the synthetic
    set's n_test, else 10,000 (CIFAR's; an ImageFolder's is not counted)."""
    full = dataset["synthetic"]["n_test"] if dataset["name"] == "synthetic" else 10000
    return n_test or dataset["test_subset"] or full


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="amunflow-estimate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--configfile", nargs="+", default=["config/config.yaml"], help="one or more, merged as Snakemake merges them"
    )
    ap.add_argument(
        "--images-per-s", type=_positive(float), default=None, help="measured training throughput (benchmarks/)"
    )
    ap.add_argument(
        "--attack-evals-per-s",
        type=_positive(float),
        default=None,
        help="measured attack throughput (default: 1.5x images/s)",
    )
    ap.add_argument(
        "--gpus", type=_positive(int), default=1, help="cards of the machine, for wall-clock hours (default 1)"
    )
    ap.add_argument(
        "--n-test",
        type=_positive(int),
        default=None,
        help="test images (default: dataset.test_subset, a synthetic set's n_test, else 10000)",
    )
    args = ap.parse_args(argv)
    try:
        config = {}
        for path in args.configfile:
            merge_config(config, load_config_file(path))
        config = validate_config(config, check_data=False)
        n_train = describe_source(config["dataset"])[0]
    except UserError as e:
        ap.exit(2, f"{ap.prog}: error: {e}\n")
    n_test = count_test_images(config["dataset"], args.n_test)
    rows = estimate(config, n_train, n_test)
    print(f"{' + '.join(args.configfile)}: {n_train} training and {n_test} test images\n")
    head = "| stage | jobs | training sample-steps | attack gradient evals (bound) |"
    if args.images_per_s:
        rows = hours(rows, args.images_per_s, args.attack_evals_per_s, args.gpus)
        head += f" GPU-hours | wall-clock hours on {args.gpus} card{'s' if args.gpus > 1 else ''} |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    total = {"jobs": 0, "sample_steps": 0, "attack_grad_evals": 0, "gpu_hours": 0.0, "wall_hours": 0.0}
    for r in rows:
        for k in total:
            total[k] += r.get(k, 0)
        _row(r["stage"], r, args.images_per_s)
    _row("total", total, args.images_per_s)
    if args.images_per_s:
        print("\nwall-clock: a stage's jobs (taken as equal) one per card, stages one after another")
    else:
        print("\ngive --images-per-s (from benchmarks/run.py on the target GPU) for GPU-hours and wall-clock")


def _row(name, r, with_hours) -> None:
    line = f"| {name} | {r['jobs']} | {r['sample_steps']:,} | {r['attack_grad_evals']:,} |"
    if with_hours:
        line += f" {r['gpu_hours']:.2f} | {r['wall_hours']:.2f} |"
    print(line)


if __name__ == "__main__":
    main()
