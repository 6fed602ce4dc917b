# The dataset bundle and the forget/retain splits.


def data_targets():
    return [split_path(f, s) for f, s in EXP.all_splits()]


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
    script:
        "../workflow/scripts/prepare_data.py"


rule make_split:
    input:
        data=DATA,
    output:
        split=split_path(),
    log:
        f"{RES}/logs/splits/{{forget}}/seed{{split_seed}}.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        spec=lambda w: canon(EXP.spec(w.forget)),
        seed=lambda w: int(w.split_seed),
        role=lambda w: EXP.split_role(w.forget, int(w.split_seed)),
    script:
        "../workflow/scripts/make_split.py"
