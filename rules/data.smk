# The dataset bundle and the forget/retain splits.


rule prepare_dataset:
    output:
        data=DATA,
    params:
        dataset=config["dataset"],
    log:
        f"{RES}/logs/prepare_dataset.log",
    benchmark:
        f"{RES}/benchmarks/prepare_dataset.tsv"
    script:
        "../workflow/scripts/prepare_data.py"


rule make_split:
    input:
        data=DATA,
    output:
        split=split_path(),
    params:
        spec=lambda w: EXP.spec(w.forget),
        seed=lambda w: int(w.split_seed),
        role=lambda w: EXP.split_role(w.forget, int(w.split_seed)),
    log:
        f"{RES}/logs/splits/{{forget}}/seed{{split_seed}}.log",
    script:
        "../workflow/scripts/make_split.py"
