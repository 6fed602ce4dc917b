# Sequential unlearning requests: per-request splits, the chain of unlearned models (AMUN with the
# original model's D_A, AMUN-A with D_A rebuilt on the current model), metrics after every request.
# The {instance} wildcard holds a sequential name: a method instance, or <instance>_adaptive.


rule sequential_split:
    input:
        split=split_path(),
    output:
        request=seq_split_path("req"),
        cumulative=seq_split_path("cum"),
    log:
        f"{SEQ}/logs/splits/{{forget}}/split{{split_seed}}/req{{request}}.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        requests=config["sequential"]["requests"],
        k=lambda w: int(w.request),
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        code=code("sequential", "sequential_split.py"),
    script:
        "../workflow/scripts/sequential_split.py"


rule sequential_adversarial:
    input:
        model=seq_previous_model,
        data=DATA,
        split=seq_split_path("req"),
    output:
        adv=seq_path("adversarial", ".h5"),
    log:
        seq_path("logs/adversarial", ".log"),
    conda:
        "../envs/amunflow.yaml"
    threads: config["attack"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        attack=attack_params(),
        device=config["device"],
        expect_split=lambda w: seq_expect_split(w, "req"),
        expect_model=seq_expect_previous,
        code=code("adversarial", "build_adversarial.py"),
    script:
        "../workflow/scripts/build_adversarial.py"


rule sequential_mask:
    input:
        model=seq_previous_model,
        data=DATA,
        split=seq_split_path("req"),
    output:
        multiext(seq_path("masks", ""), mask=".pt", meta=".json"),
    log:
        seq_path("logs/masks", ".log"),
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        device=config["device"],
        expect_split=lambda w: seq_expect_split(w, "req"),
        expect_model=seq_expect_previous,
        code=code("mask", "saliency_mask.py"),
    script:
        "../workflow/scripts/saliency_mask.py"


rule sequential_unlearn:
    input:
        unpack(seq_unlearn_inputs),
    output:
        multiext(seq_path("models", ""), model=".pt", meta=".json"),
    log:
        seq_path("logs/unlearn", ".log"),
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        instance=lambda w: seq_instance(w)[0],
        setting=lambda w: w.setting,
        method=lambda w: method_of(seq_instance(w)[0], w.setting),
        hyper=lambda w: hyper_for(seq_instance(w)[0], w.setting, w.forget),
        seed=lambda w: run_seed(w.model_seed, w.split_seed, w.request),
        device=config["device"],
        expect_split=lambda w: seq_expect_split(w, "req"),
        expect_model=seq_expect_previous,
        chain=lambda w: w.instance,
        code=lambda w: method_code(seq_instance(w)[0], w.setting),
    script:
        "../workflow/scripts/unlearn.py"


rule sequential_evaluate:
    input:
        **reference_inputs(),
        model=seq_path("models", ".pt"),
        data=DATA,
        split=seq_split_path("cum"),
    output:
        metrics=seq_path("metrics", ".csv"),
        arrays=seq_path("metrics", ".npz"),
    log:
        seq_path("logs/metrics", ".log"),
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        ident=lambda w: identity(
            w,
            w.split_seed,
            0,
            base=method_of(seq_instance(w)[0], w.setting),
            request=int(w.request),
        ),
        rmia=canon(config["rmia"]),
        audit=AUDIT_PARAMS,
        device=config["device"],
        expect_split=lambda w: seq_expect_split(w, "cum"),
        expect_model=lambda w: expect_unlearned(
            seq_instance(w)[0],
            w.setting,
            w.model_seed,
            request=int(w.request),
            chain=w.instance,
        ),
        model_on_split=False,
        code=code("evaluate", "evaluate.py"),
    script:
        "../workflow/scripts/evaluate.py"


rule sequential_summary:
    input:
        metrics=[seq_path("metrics", ".csv", *u) for u in EXP.sequential_units()],
    output:
        table=report(
            f"{SEQ}/summary.csv",
            caption="../workflow/report/sequential.rst",
            category="7 Sequential requests",
        ),
        plot=report(
            f"{SEQ}/fr_minus_ft.png",
            caption="../workflow/report/sequential.rst",
            category="7 Sequential requests",
        ),
    log:
        f"{SEQ}/logs/summary.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        code=code("sequential", "sequential_summary.py"),
    script:
        "../workflow/scripts/sequential_summary.py"
