# Sequential unlearning requests: per-request splits, the chain of unlearned models (AMUN with the
# original model's D_A, AMUN-A with D_A rebuilt on the current model), metrics after every request.
# The {instance} wildcard holds a sequential name: a method instance, or <instance>_adaptive.


def seq_instance(w):
    """(method instance, adaptive D_A) of a sequential name."""
    return EXP.sequential_names()[w.instance]


def seq_previous_model(w):
    """Request k starts from request k-1's model; request 0 from the original."""
    k = int(w.request)
    if k == 0:
        return original_path(w.model_seed)
    return seq_path(
        "models",
        ".pt",
        w.instance,
        w.setting,
        w.forget,
        w.split_seed,
        w.model_seed,
        k - 1,
    )


def seq_unlearn_inputs(w):
    inst, adaptive = seq_instance(w)
    spec = spec_of(inst, w.setting)
    own = lambda kind, ext: seq_path(
        kind,
        ext,
        w.instance,
        w.setting,
        w.forget,
        w.split_seed,
        w.model_seed,
        w.request,
    )
    inputs = {
        "model": seq_previous_model(w),
        "data": DATA,
        "split": seq_split_path("req", w.forget, w.split_seed, w.request),
    }
    if spec.needs_adv and adaptive:  # AMUN-A: D_A of the current model for this request
        inputs["adv"] = own("adversarial", ".h5")
        inputs["adv_source"] = inputs["model"]
    elif spec.needs_adv:  # AMUN: the original model's D_A, built once
        inputs["adv"] = adversarial_path(w.model_seed, w.forget, w.split_seed)
        inputs["adv_source"] = original_path(w.model_seed)
    if spec.needs_mask:
        inputs["mask"] = own("masks", ".pt")
    # the one-shot runs' values (no re-tuning)
    return {**inputs, **selection_input(inst, w.forget)}


def sequential_targets():
    units = EXP.sequential_units()
    if not units:
        return []
    return [seq_path("metrics", ".csv", *u) for u in units] + [
        f"{SEQ}/summary.csv",
        f"{SEQ}/fr_minus_ft.png",
    ]


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
        mem_mb=job_mem_mb,
        runtime=job_runtime,
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
        mem_mb=job_mem_mb,
        runtime=job_runtime,
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
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        instance=lambda w: seq_instance(w)[0],
        setting=lambda w: w.setting,
        method=lambda w: method_of(seq_instance(w)[0], w.setting),
        hyper=lambda w: hyper_for(seq_instance(w)[0], w.setting, w.forget),
        seed=lambda w: run_seed(w.model_seed, w.split_seed, w.request),
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
