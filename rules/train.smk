# Original models (one per model seed, trained on all of D) and retrained references
# (one per forget set x split seed x model seed, trained on D_R from a fresh init).


if config["originals"]["path"]:

    rule import_original:
        input:
            data=DATA,
        output:
            multiext(original_path().removesuffix(".pt"), model=".pt", meta=".json"),
        log:
            f"{RES}/logs/original/seed{{model_seed}}.log",
        conda:
            "../envs/amunflow.yaml"
        threads: config["resources"]["threads"]
        resources:
            gpu=1,
            mem_mb=job_mem_mb,
            runtime=job_runtime,
        params:
            path=config["originals"]["path"],
            # the file's content hash is the original's identity: a changed file reruns it and all after
            sha256=file_hash(config["originals"]["path"], length=64),
            model=canon(config["model"]),
            seed=lambda w: int(w.model_seed),
            device=config["device"],
            code=code("train", "import_original.py"),
        script:
            "../workflow/scripts/import_original.py"

else:

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
            code=code("train", "train.py"),
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
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        code=code("train", "train.py"),
    script:
        "../workflow/scripts/train.py"
