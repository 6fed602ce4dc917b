# Config validation, wildcard constraints, paths and target lists shared by all rules.

import json
import os

from snakemake.exceptions import WorkflowError

from amunflow import UserError
from amunflow.config import SPEED_KEYS, Experiment, validate_config
from amunflow.methods import REGISTRY
from amunflow.tuning import parse_point, selected_hyper
from amunflow.unlearn_job import resolve_hyper

try:
    validate_config(
        config, workflow.source_path("../workflow/schemas/config.schema.yaml")
    )
except UserError as e:
    raise WorkflowError(str(e)) from None

EXP = Experiment(config)


def canon(section):
    """A config section with keys in sorted order: Snakemake compares params including key order,
    so reordering keys in a config file must not look like a change."""
    return json.loads(json.dumps(section, sort_keys=True))


RES = "results"
DATA = f"{RES}/data/dataset.h5"


wildcard_constraints:
    forget=r"[A-Za-z0-9._+-]+",
    split_seed=r"\d+",
    model_seed=r"\d+",
    scope=r"all|[A-Za-z0-9._+-]+/split\d+",
    method=r"[A-Za-z0-9_]+",
    setting=r"with_retain|forget_only|reference",
    k=r"\d+",
    request=r"\d+",
    point=r"lr[0-9.e+-]+_step\d+(_mask[0-9.e+-]+)?(_mix[a-z]+)?",
    run=r"\d+",


def split_path(forget="{forget}", split_seed="{split_seed}"):
    return f"{RES}/splits/{forget}/seed{split_seed}.h5"


def original_path(model_seed="{model_seed}"):
    return f"{RES}/models/original/seed{model_seed}.pt"


def retrain_path(
    forget="{forget}", split_seed="{split_seed}", model_seed="{model_seed}"
):
    return f"{RES}/models/retrain/{forget}/split{split_seed}/seed{model_seed}.pt"


def adversarial_path(model_seed="{model_seed}", forget=None, split_seed=None):
    """D_A of an original model: the whole-training-set file, or the forget set's own (attack.scope)."""
    if config["attack"]["scope"] == "all":
        return f"{RES}/adversarial/seed{model_seed}/all.h5"
    return f"{RES}/adversarial/seed{model_seed}/{forget}/split{split_seed}.h5"


def attack_params():
    """What decides the attack's result (not where it runs or how the work is split): the speed
    keys (SPEED_KEYS) reach the script from the config, so changing them reruns nothing.
    """
    skip = ("scope", "threads") + SPEED_KEYS["attack"]
    return canon({k: v for k, v in config["attack"].items() if k not in skip})


def train_params(section):
    """A training section without its speed keys (see attack_params)."""
    return canon({k: v for k, v in section.items() if k not in SPEED_KEYS["train"]})


def adversarial_split_input(wildcards):
    if wildcards.scope == "all":
        return []
    forget, last = os.path.split(wildcards.scope)  # <forget>/split<seed>
    return split_path(forget, last.removeprefix("split"))


def adversarial_targets():
    if config["attack"]["scope"] == "all":
        paths = [adversarial_path(m) for m in config["model_seeds"]]
    else:
        paths = sorted({adversarial_path(m, f, s) for f, s, m in EXP.eval_units()})
    return [
        p.replace(".h5", ext)
        for p in paths
        for ext in (".h5", ".summary.csv", ".eps_hist.png")
    ]


def mask_path(model_seed="{model_seed}", forget="{forget}", split_seed="{split_seed}"):
    return f"{RES}/masks/seed{model_seed}/{forget}/split{split_seed}.pt"


def unlearn_path(method="{method}", setting="{setting}", forget="{forget}", split_seed="{split_seed}",
                 model_seed="{model_seed}", run="{run}"):  # fmt: skip
    return f"{RES}/unlearn/{method}/{setting}/{forget}/split{split_seed}/seed{model_seed}/run{run}.pt"


def method_inputs(w, split_seed):
    """The original model, data and split, plus D_A and the saliency mask when the method reads them."""
    spec = REGISTRY[resolve_hyper(config["unlearn"], w.method, w.setting)[0]]
    inputs = {
        "model": original_path(w.model_seed),
        "data": DATA,
        "split": split_path(w.forget, split_seed),
    }
    if spec.needs_adv:
        inputs["adv"] = adversarial_path(w.model_seed, w.forget, split_seed)
    if spec.needs_mask:
        inputs["mask"] = mask_path(w.model_seed, w.forget, split_seed)
    return inputs


def selection_input(inst, forget):
    """{"selected": the tuning selection} where the stage tuned ``inst`` on ``forget`` (the run then
    waits for the selection checkpoint and reads it), else {}."""
    if not EXP.is_tuned(inst, forget):
        return {}
    return {"selected": checkpoints.select_hyperparameters.get().output.selected}


def unlearn_inputs(w):
    return {**method_inputs(w, w.split_seed), **selection_input(w.method, w.forget)}


def hyper_for(inst, setting, forget):
    """A run's hyperparameters: the config's, with the tuning stage's selection where it tuned."""
    hp = resolve_hyper(config["unlearn"], inst, setting)[1]
    sel = selection_input(inst, forget)
    if sel:
        hp = {**hp, **selected_hyper(sel["selected"], inst, setting, forget)}
    return canon(hp)


def final_hyper(w):
    return hyper_for(w.method, w.setting, w.forget)


def tuning_run_path(method="{method}", setting="{setting}", forget="{forget}", point="{point}",
                    model_seed="{model_seed}"):  # fmt: skip
    return f"{RES}/tuning/runs/{method}/{setting}/{forget}/{point}/seed{model_seed}.pt"


def tuning_metrics_path(method="{method}", setting="{setting}", forget="{forget}", point="{point}",
                        model_seed="{model_seed}"):  # fmt: skip
    return (
        f"{RES}/tuning/metrics/{method}/{setting}/{forget}/{point}/seed{model_seed}.csv"
    )


def tune_unlearn_inputs(w):
    return method_inputs(w, config["tuning_seed"])


def tune_evaluate_inputs(w):
    t = config["tuning_seed"]
    inputs = {
        "model": tuning_run_path(w.method, w.setting, w.forget, w.point, w.model_seed),
        "data": DATA,
        "split": split_path(w.forget, t),
        "retrain": retrain_path(w.forget, t, w.model_seed),
    }
    inputs["refs"] = reference_logits()
    return inputs


def tuning_metric_inputs():
    units = EXP.tuning_units()
    pairs = sorted({(f, m) for _, _, f, _, m in units})
    retrains = [
        metrics_path("retrain", "reference", f, config["tuning_seed"], m, 0)
        for f, m in pairs
    ]
    return [tuning_metrics_path(*u) for u in units] + retrains


SEQ = f"{RES}/sequential"


def seq_path(kind, ext, method="{method}", setting="{setting}", forget="{forget}", split_seed="{split_seed}",
             model_seed="{model_seed}", request="{request}"):  # fmt: skip
    return f"{SEQ}/{kind}/{method}/{setting}/{forget}/split{split_seed}/seed{model_seed}/req{request}{ext}"


def seq_split_path(
    kind, forget="{forget}", split_seed="{split_seed}", request="{request}"
):
    return f"{SEQ}/splits/{forget}/split{split_seed}/{kind}{request}.h5"


def seq_previous_model(w):
    """Request k starts from request k-1's model; request 0 from the original."""
    k = int(w.request)
    if k == 0:
        return original_path(w.model_seed)
    return seq_path(
        "models",
        ".pt",
        w.method,
        w.setting,
        w.forget,
        w.split_seed,
        w.model_seed,
        k - 1,
    )


def seq_unlearn_inputs(w):
    inst, adaptive = EXP.sequential_names()[w.method]
    spec = REGISTRY[resolve_hyper(config["unlearn"], inst, w.setting)[0]]
    inputs = {
        "model": seq_previous_model(w),
        "data": DATA,
        "split": seq_split_path("req", w.forget, w.split_seed, w.request),
    }
    if spec.needs_adv and adaptive:  # AMUN-A: D_A of the current model for this request
        inputs["adv"] = seq_path(
            "adversarial",
            ".h5",
            w.method,
            w.setting,
            w.forget,
            w.split_seed,
            w.model_seed,
            w.request,
        )
        inputs["adv_source"] = inputs["model"]
    elif spec.needs_adv:  # AMUN: the original model's D_A, built once
        inputs["adv"] = adversarial_path(w.model_seed, w.forget, w.split_seed)
        inputs["adv_source"] = original_path(w.model_seed)
    inputs.update(
        selection_input(inst, w.forget)
    )  # the one-shot runs' values (no re-tuning)
    if spec.needs_mask:
        inputs["mask"] = seq_path(
            "masks",
            ".pt",
            w.method,
            w.setting,
            w.forget,
            w.split_seed,
            w.model_seed,
            w.request,
        )
    return inputs


def sequential_targets():
    units = EXP.sequential_units()
    if not units:
        return []
    return [seq_path("metrics", ".csv", *u) for u in units] + [
        f"{SEQ}/summary.csv",
        f"{SEQ}/fr_minus_ft.png",
    ]


def reference_logits():
    """The RMIA reference models' logits every metrics job reads (none when RMIA is off)."""
    if not config["rmia"]["enabled"]:
        return []
    return [
        f"{RES}/rmia/ref{k}.logits.npy" for k in range(config["rmia"]["num_references"])
    ]


MIS_PARAMS = {"seed": config["evaluation"]["mis_seed"]}


def reference_train_config():
    """The reference models' recipe: the train section with rmia.train's overrides."""
    return {**config["train"], **config["rmia"]["train"]}


def metrics_path(method="{method}", setting="{setting}", forget="{forget}", split_seed="{split_seed}",
                 model_seed="{model_seed}", run="{run}"):  # fmt: skip
    return f"{RES}/metrics/{method}/{setting}/{forget}/split{split_seed}/seed{model_seed}/run{run}.csv"


def checkpoint_of(w):
    """The checkpoint a metrics job evaluates: the original, the retrain, or an unlearned model."""
    if w.method == "original":
        return original_path(w.model_seed)
    if w.method == "retrain":
        return retrain_path(w.forget, w.split_seed, w.model_seed)
    return unlearn_path(
        w.method, w.setting, w.forget, w.split_seed, w.model_seed, w.run
    )


def evaluate_inputs(w):
    inputs = {
        "model": checkpoint_of(w),
        "data": DATA,
        "split": split_path(w.forget, w.split_seed),
    }
    if w.method != "retrain":
        inputs["retrain"] = retrain_path(w.forget, w.split_seed, w.model_seed)
    inputs["refs"] = reference_logits()
    return inputs


def run_identity(w):
    base = (
        w.method
        if w.method in ("retrain", "original")
        else resolve_hyper(config["unlearn"], w.method, w.setting)[0]
    )
    return {
        "method": w.method, "base_method": base, "setting": w.setting, "forget": w.forget,
        "split_seed": int(w.split_seed), "model_seed": int(w.model_seed), "run": int(w.run),
    }  # fmt: skip


def all_metric_paths():
    paths = [metrics_path(*u) for u in EXP.unlearn_units()]
    for f, s, m in EXP.eval_units():
        paths += [
            metrics_path("retrain", "reference", f, s, m, 0),
            metrics_path("original", "reference", f, s, m, 0),
        ]
    return paths


def example_runs(setting):
    """{label: per-sample arrays} of the first forget set, split seed, model seed and run, for the plots."""
    f, s, m = EXP.eval_units()[0]
    r = config["unlearn"]["runs"][0]
    runs = {
        "original": metrics_path("original", "reference", f, s, m, 0),
        "retrain": metrics_path("retrain", "reference", f, s, m, 0),
    }
    for inst, st, f2, s2, m2, r2 in EXP.unlearn_units():
        if (st, f2, s2, m2, r2) == (setting, f, s, m, r):
            runs[inst] = metrics_path(inst, st, f, s, m, r)
    return {k: v.replace(".csv", ".npz") for k, v in runs.items()}


def report_targets():
    s = config["unlearn"]["settings"]
    return (
        [f"{RES}/tables/aggregate.csv", f"{RES}/plots/gap.png"]
        + [f"{RES}/tables/{x}.{e}" for x in s for e in ("md", "tex", "html")]
        + [f"{RES}/tables/cost.{e}" for e in ("md", "html")]
        + [
            f"{RES}/plots/{kind}_{x}.png"
            for x in s
            for kind in ("confidence", "roc_ft")
        ]
    )


def train_resources(attempt):
    r = config["resources"]
    return {"mem_mb": r["mem_mb"] * attempt, "runtime": r["runtime"] * attempt}


def all_targets():
    targets = [split_path(f, s) for f, s in EXP.all_splits()]
    targets += [original_path(m) for m in config["model_seeds"]]
    targets += [retrain_path(f, s, m) for f, s, m in EXP.eval_units()]
    targets += adversarial_targets()
    targets += [unlearn_path(*u) for u in EXP.unlearn_units()]
    targets += all_metric_paths() + report_targets()
    targets += sequential_targets()
    if EXP.tuning_units():
        targets += [
            f"{RES}/tuning/grid.csv",
            f"{RES}/tuning/selected.csv",
            f"{RES}/tuning/selected.html",
        ]
    return targets
