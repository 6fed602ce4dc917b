# Original models (one per model seed, trained on all of D) and retrained references
# (one per forget set x split seed x model seed, trained on D_R from a fresh init).


def train_targets():
    return [original_path(m) for m in config["model_seeds"]] + [
        retrain_path(f, s, m) for f, s, m in EXP.eval_units()
    ]


rule train_original:
    input:
        data=DATA,
    output:
        multiext(
            original_path().removesuffix(".pt"),
            model=".pt",
            meta=".json",
            history=".history.csv",
        ),
    log:
        f"{RES}/logs/original/seed{{model_seed}}.log",
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
        train=train_params(config["train"]),
        seed=lambda w: int(w.model_seed),
        device=config["device"],
        kind="original",
    script:
        "../workflow/scripts/train.py"


rule train_retrain:
    input:
        data=DATA,
        split=split_path(),
    output:
        multiext(
            retrain_path().removesuffix(".pt"),
            model=".pt",
            meta=".json",
            history=".history.csv",
        ),
    log:
        f"{RES}/logs/retrain/{{forget}}/split{{split_seed}}/seed{{model_seed}}.log",
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
        train=train_params(config["train"]),
        seed=lambda w: int(w.model_seed),
        device=config["device"],
        kind="retrain",
    script:
        "../workflow/scripts/train.py"
