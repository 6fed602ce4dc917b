# SalUn saliency masks and the unlearning runs.


rule saliency_mask:
    input:
        model=original_path(),
        data=DATA,
        split=split_path(),
    output:
        multiext(mask_path().removesuffix(".pt"), mask=".pt", meta=".json"),
    log:
        f"{RES}/logs/masks/seed{{model_seed}}/{{forget}}/split{{split_seed}}.log",
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


rule unlearn:
    input:
        unpack(unlearn_inputs),
    output:
        multiext(unlearn_path().removesuffix(".pt"), model=".pt", meta=".json"),
    log:
        f"{RES}/logs/unlearn/{{method}}/{{setting}}/{{forget}}/split{{split_seed}}/seed{{model_seed}}/run{{run}}.log",
    benchmark:
        f"{RES}/benchmarks/unlearn/{{method}}/{{setting}}/{{forget}}/split{{split_seed}}/seed{{model_seed}}/run{{run}}.tsv"
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        instance=lambda w: w.method,
        setting=lambda w: w.setting,
        method=lambda w: resolve_hyper(config["unlearn"], w.method, w.setting)[0],
        hyper=final_hyper,
        seed=lambda w: int(w.model_seed) * 1000003
        + int(w.split_seed) * 1009
        + int(w.run),
        device=config["device"],
    script:
        "../workflow/scripts/unlearn.py"
