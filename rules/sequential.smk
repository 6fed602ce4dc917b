# Sequential unlearning requests: per-request splits, the chain of unlearned models (AMUN with the
# original model's D_A, AMUN-A with D_A rebuilt on the current model), metrics after every request.


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
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        attack=attack_params(),
        device=config["device"],
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
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        device=config["device"],
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
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        instance=lambda w: EXP.sequential_names()[w.method][0],
        setting=lambda w: w.setting,
        method=lambda w: resolve_hyper(
            config["unlearn"], EXP.sequential_names()[w.method][0], w.setting
        )[0],
        hyper=lambda w: hyper_for(
            EXP.sequential_names()[w.method][0], w.setting, w.forget
        ),
        seed=lambda w: int(w.model_seed) * 1000003
        + int(w.split_seed) * 1009
        + int(w.request),
        device=config["device"],
    script:
        "../workflow/scripts/unlearn.py"


rule sequential_evaluate:
    input:
        model=seq_path("models", ".pt"),
        data=DATA,
        split=seq_split_path("cum"),
        refs=reference_logits(),
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
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        ident=lambda w: {
            "method": w.method,
            "base_method": resolve_hyper(
                config["unlearn"], EXP.sequential_names()[w.method][0], w.setting
            )[0],
            "setting": w.setting,
            "forget": w.forget,
            "split_seed": int(w.split_seed),
            "model_seed": int(w.model_seed),
            "run": 0,
            "request": int(w.request),
        },
        rmia=canon(config["rmia"]),
        mis=MIS_PARAMS,
        device=config["device"],
    script:
        "../workflow/scripts/evaluate.py"


rule sequential_summary:
    input:
        metrics=[seq_path("metrics", ".csv", *u) for u in EXP.sequential_units()],
    output:
        table=report(
            f"{SEQ}/summary.csv",
            caption="../workflow/report/sequential.rst",
            category="Sequential requests",
        ),
        plot=report(
            f"{SEQ}/fr_minus_ft.png",
            caption="../workflow/report/sequential.rst",
            category="Sequential requests",
        ),
    log:
        f"{SEQ}/logs/summary.log",
    conda:
        "../envs/amunflow.yaml"
    script:
        "../workflow/scripts/sequential_summary.py"
