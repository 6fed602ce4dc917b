# The dataset bundle, the surrogate images and the forget/retain splits.


rule prepare_dataset:
    output:
        data=DATA,
    log:
        f"{RES}/logs/prepare_dataset.log",
    cache: "omit-software"
    conda:
        "../envs/amunflow.yaml"
    params:
        dataset=canon(config["dataset"]),
        # the source's content hash: a changed zip or folder reruns this (and is a new cache key)
        source=source_fingerprint(config["dataset"]),
        code=code("data", "prepare_data.py"),
    script:
        "../workflow/scripts/prepare_data.py"


rule prepare_surrogate:
    input:
        data=DATA,
    output:
        x=SURROGATE,
    log:
        f"{RES}/logs/prepare_surrogate.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        surrogate=canon(config["surrogate"]),
        dataset=canon(config["dataset"]),
        # the root's content hash: changed images rerun this and the runs that read them
        source=surrogate_source(),
        code=code("data", "prepare_surrogate.py"),
    script:
        "../workflow/scripts/prepare_surrogate.py"


rule make_split:
    input:
        unpack(split_inputs),
    output:
        split=split_path(),
    log:
        f"{RES}/logs/splits/{{forget}}/seed{{split_seed}}.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        spec=split_spec,
        dataset=split_dataset,
        forget=lambda w: w.forget,
        seed=lambda w: int(w.split_seed),
        role=lambda w: EXP.split_role(w.forget, int(w.split_seed)),
        code=code("data", "make_split.py"),
    script:
        "../workflow/scripts/make_split.py"
