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
        code=code("rmia", "rmia_keep.py"),
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
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        model=canon(config["model"]),
        train=train_params(reference_train_config()),
        k=lambda w: int(w.k),
        seed=lambda w: 10000 + int(w.k),
        device=config["device"],
        code=code("rmia", "train_reference.py"),
    script:
        "../workflow/scripts/train_reference.py"


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        metrics=metrics_path(),
        arrays=metrics_path().replace(".csv", ".npz"),
    log:
        f"{RES}/logs/metrics/{{instance}}/{{setting}}/{{forget}}/split{{split_seed}}/seed{{model_seed}}/run{{run}}.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        ident=lambda w: identity(w, w.split_seed, w.run),
        rmia=canon(config["rmia"]),
        audit=EVAL_AUDIT_PARAMS,
        device=config["device"],
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        expect_model=expect_evaluated,
        model_on_split=lambda w: w.instance != "original",
        code=code("evaluate", "evaluate.py"),
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
            category="3 Tables",
        ),
        tables=expand(
            f"{RES}/tables/{{setting}}.{{ext}}",
            setting=config["unlearn"]["settings"],
            ext=["md", "tex"],
        )
        + [f"{RES}/tables/{t}.md" for t in ("cost", "ranking", "audits")],
        ranking=report(
            f"{RES}/tables/ranking.html",
            caption="../workflow/report/ranking.rst",
            category="1 Answer: the ranking",
        ),
        html=report(
            expand(
                f"{RES}/tables/{{setting}}.html",
                setting=config["unlearn"]["settings"] + ["cost", "audits"],
            ),
            caption="../workflow/report/table.rst",
            category="3 Tables",
        ),
    log:
        f"{RES}/logs/tables/aggregate.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        mia_column=config["evaluation"]["mia_column"],
        settings=config["unlearn"]["settings"],
        bootstrap=canon(config["evaluation"]["bootstrap"]),
        unlearned_bar=config["health"]["unlearned_min_closed_share"],
        code=code("report", "aggregate.py"),
    script:
        "../workflow/scripts/aggregate.py"


rule difficulty:
    input:
        unpack(difficulty_inputs),
    output:
        table=f"{RES}/tables/difficulty.csv",
        md=f"{RES}/tables/difficulty.md",
        html=report(
            f"{RES}/tables/difficulty.html",
            caption="../workflow/report/difficulty.rst",
            category="3 Tables",
        ),
    log:
        f"{RES}/logs/tables/difficulty.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        eps_inputs=difficulty_eps_inputs(),
        challenge=list(difficulty_challenge_inputs()),
        bins=config["evaluation"]["difficulty_bins"],
        code=code("difficulty", "difficulty.py"),
    script:
        "../workflow/scripts/difficulty.py"
