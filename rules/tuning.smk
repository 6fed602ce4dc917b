# Hyperparameter selection on the tuning forget set: grid runs, their metrics, and the selection.


rule tune_unlearn:
    input:
        unpack(tune_unlearn_inputs),
    output:
        multiext(tuning_run_path().removesuffix(".pt"), model=".pt", meta=".json"),
    log:
        f"{RES}/logs/tuning/{{method}}/{{setting}}/{{forget}}/{{point}}/seed{{model_seed}}.log",
    benchmark:
        f"{RES}/benchmarks/tuning/{{method}}/{{setting}}/{{forget}}/{{point}}/seed{{model_seed}}.tsv"
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        instance=lambda w: w.method,
        setting=lambda w: w.setting,
        method=lambda w: resolve_hyper(config["unlearn"], w.method, w.setting)[0],
        hyper=lambda w: canon(
            {
                **resolve_hyper(config["unlearn"], w.method, w.setting)[1],
                **parse_point(w.point),
            }
        ),
        seed=lambda w: int(w.model_seed) * 1000003 + config["tuning_seed"] * 1009,
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
        f"{RES}/logs/tuning/metrics/{{method}}/{{setting}}/{{forget}}/{{point}}/seed{{model_seed}}.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        ident=lambda w: {
            "method": w.method,
            "base_method": resolve_hyper(config["unlearn"], w.method, w.setting)[0],
            "setting": w.setting,
            "forget": w.forget,
            "split_seed": config["tuning_seed"],
            "model_seed": int(w.model_seed),
            "run": 0,
            "point": w.point,
        },
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
