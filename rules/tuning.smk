# Hyperparameter selection on the tuning forget set: grid runs, their metrics, and the selection.


def tune_unlearn_inputs(w):
    return method_inputs(w, config["tuning_seed"])


def tune_evaluate_inputs(w):
    t = config["tuning_seed"]
    return {
        "model": tuning_run_path(
            w.instance, w.setting, w.forget, w.point, w.model_seed
        ),
        "data": DATA,
        "split": split_path(w.forget, t),
        "retrain": retrain_path(w.forget, t, w.model_seed),
        "refs": reference_logits(),
    }


def tuning_metric_inputs():
    units = EXP.tuning_units()
    pairs = sorted({(f, m) for _, _, f, _, m in units})
    retrains = [
        reference_metrics_path("retrain", f, config["tuning_seed"], m) for f, m in pairs
    ]
    return [tuning_metrics_path(*u) for u in units] + retrains


def tuning_targets():
    if not EXP.tuning_units():
        return []
    return [
        f"{RES}/tuning/{name}" for name in ("grid.csv", "selected.csv", "selected.html")
    ]


rule tune_unlearn:
    input:
        unpack(tune_unlearn_inputs),
    output:
        multiext(tuning_run_path().removesuffix(".pt"), model=".pt", meta=".json"),
    log:
        f"{RES}/logs/tuning/{{instance}}/{{setting}}/{{forget}}/{{point}}/seed{{model_seed}}.log",
    benchmark:
        f"{RES}/benchmarks/tuning/{{instance}}/{{setting}}/{{forget}}/{{point}}/seed{{model_seed}}.tsv"
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        instance=lambda w: w.instance,
        setting=lambda w: w.setting,
        method=lambda w: method_of(w.instance, w.setting),
        hyper=lambda w: canon(
            {**configured_hyper(w.instance, w.setting), **parse_point(w.point)}
        ),
        seed=lambda w: run_seed(w.model_seed, config["tuning_seed"], 0),
        device=config["device"],
    script:
        "../workflow/scripts/unlearn.py"


rule tune_evaluate:
    input:
        unpack(tune_evaluate_inputs),
    output:
        metrics=tuning_metrics_path(),
        arrays=tuning_metrics_path().replace(".csv", ".npz"),
    log:
        f"{RES}/logs/tuning/metrics/{{instance}}/{{setting}}/{{forget}}/{{point}}/seed{{model_seed}}.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        ident=lambda w: identity(w, config["tuning_seed"], 0, point=w.point),
        rmia=canon(config["rmia"]),
        mis=MIS_PARAMS,
        device=config["device"],
    script:
        "../workflow/scripts/evaluate.py"


checkpoint select_hyperparameters:
    input:
        metrics=tuning_metric_inputs(),
    output:
        grid=report(
            f"{RES}/tuning/grid.csv",
            caption="../workflow/report/tuning.rst",
            category="Tuning",
        ),
        selected=f"{RES}/tuning/selected.csv",
        html=report(
            f"{RES}/tuning/selected.html",
            caption="../workflow/report/tuning.rst",
            category="Tuning",
        ),
    log:
        f"{RES}/logs/tuning/select.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        mia_column=config["tuning"]["mia_column"] or config["evaluation"]["mia_column"],
    script:
        "../workflow/scripts/select_hyperparameters.py"
