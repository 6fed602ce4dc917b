# RMIA reference models, per-run metrics, and their aggregation into the paper's tables.


rule rmia_keep:
    input:
        data=DATA,
    output:
        keep=f"{RES}/rmia/keep.npy",
    log:
        f"{RES}/logs/rmia/keep.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        k=config["rmia"]["num_references"],
        seed=config["rmia"]["keep_seed"],
    script:
        "../workflow/scripts/rmia_keep.py"


rule train_reference:
    input:
        data=DATA,
        keep=f"{RES}/rmia/keep.npy",
    output:
        multiext(
            f"{RES}/rmia/ref{{k}}", model=".pt", meta=".json", logits=".logits.npy"
        ),
    log:
        f"{RES}/logs/rmia/ref{{k}}.log",
    cache: "omit-software"
    conda:
        "../envs/amunflow.yaml"
    threads: config["resources"]["threads"]
    resources:
        gpu=1,
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        model=canon(config["model"]),
        train=train_params(reference_train_config()),
        k=lambda w: int(w.k),
        seed=lambda w: 10000 + int(w.k),
        device=config["device"],
    script:
        "../workflow/scripts/train_reference.py"


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        metrics=metrics_path(),
        arrays=metrics_path().replace(".csv", ".npz"),
    log:
        f"{RES}/logs/metrics/{{method}}/{{setting}}/{{forget}}/split{{split_seed}}/seed{{model_seed}}/run{{run}}.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        ident=lambda w: run_identity(w),
        rmia=canon(config["rmia"]),
        mis=MIS_PARAMS,
        device=config["device"],
    script:
        "../workflow/scripts/evaluate.py"


rule aggregate:
    input:
        metrics=all_metric_paths(),
    output:
        runs=f"{RES}/tables/runs.csv",
        aggregate=report(
            f"{RES}/tables/aggregate.csv",
            caption="../workflow/report/aggregate.rst",
            category="Tables",
        ),
        tables=expand(
            f"{RES}/tables/{{setting}}.{{ext}}",
            setting=config["unlearn"]["settings"],
            ext=["md", "tex"],
        )
        + [f"{RES}/tables/cost.md"],
        html=report(
            expand(
                f"{RES}/tables/{{setting}}.html",
                setting=config["unlearn"]["settings"] + ["cost"],
            ),
            caption="../workflow/report/table.rst",
            category="Tables",
        ),
    log:
        f"{RES}/logs/tables/aggregate.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        mia_column=config["evaluation"]["mia_column"],
        settings=config["unlearn"]["settings"],
    script:
        "../workflow/scripts/aggregate.py"
