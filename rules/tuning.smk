# Hyperparameter selection on the tuning forget set: grid runs, their metrics, and the selection.


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
            {
                **configured_hyper(w.instance, w.setting),
                **parse_point(w.point, method_of(w.instance, w.setting)),
            }
        ),
        seed=lambda w: run_seed(w.model_seed, config["tuning_seed"], 0),
        device=config["device"],
        expect_split=lambda w: expect_split(w.forget, config["tuning_seed"]),
        expect_model=lambda w: expect_original(w.model_seed),
        code=lambda w: method_code(w.instance, w.setting),
        record_divergence=True,  # a grid point may diverge: recorded, passed over by the selection
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
        audit=AUDIT_PARAMS,
        device=config["device"],
        expect_split=lambda w: expect_split(w.forget, config["tuning_seed"]),
        expect_model=lambda w: expect_unlearned(w.instance, w.setting, w.model_seed),
        model_on_split=True,
        code=code("evaluate", "evaluate.py"),
    script:
        "../workflow/scripts/evaluate.py"


checkpoint select_hyperparameters:
    input:
        metrics=lambda w: tuning_metric_inputs(w.instance),
    output:
        grid=f"{RES}/tuning/instances/{{instance}}/grid.csv",
        selected=f"{RES}/tuning/instances/{{instance}}/selected.csv",
    log:
        f"{RES}/logs/tuning/select/{{instance}}.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        mia_column=config["tuning"]["mia_column"] or config["evaluation"]["mia_column"],
        methods=lambda w: {w.instance: method_of(w.instance, "with_retain")},
        code=code("tuning", "select_hyperparameters.py"),
    script:
        "../workflow/scripts/select_hyperparameters.py"


rule tuning_report:
    input:
        grids=lambda w: selection_files("grid"),
        selected=lambda w: selection_files("selected"),
    output:
        grid=report(
            f"{RES}/tuning/grid.csv",
            caption="../workflow/report/tuning.rst",
            category="6 Tuning",
        ),
        selected=f"{RES}/tuning/selected.csv",
        html=report(
            f"{RES}/tuning/selected.html",
            caption="../workflow/report/tuning.rst",
            category="6 Tuning",
        ),
        png=report(
            f"{RES}/tuning/gap_vs_lr.png",
            caption="../workflow/report/tuning.rst",
            category="6 Tuning",
        ),
    log:
        f"{RES}/logs/tuning/report.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        unlearned_bar=config["health"]["unlearned_min_closed_share"],
        code=code("tuning_report", "tuning_report.py"),
    script:
        "../workflow/scripts/tuning_report.py"
