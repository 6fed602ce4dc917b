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
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        device=config["device"],
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        expect_model=lambda w: expect_original(w.model_seed),
        code=code("mask", "saliency_mask.py"),
    script:
        "../workflow/scripts/saliency_mask.py"


rule unlearn:
    input:
        unpack(unlearn_inputs),
    output:
        multiext(unlearn_path().removesuffix(".pt"), model=".pt", meta=".json"),
    log:
        f"{RES}/logs/unlearn/{{instance}}/{{setting}}/{{forget}}/split{{split_seed}}/seed{{model_seed}}/run{{run}}.log",
    benchmark:
        f"{RES}/benchmarks/unlearn/{{instance}}/{{setting}}/{{forget}}/split{{split_seed}}/seed{{model_seed}}/run{{run}}.tsv"
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        instance=lambda w: w.instance,
        setting=lambda w: w.setting,
        method=lambda w: method_of(w.instance, w.setting),
        hyper=lambda w: hyper_for(w.instance, w.setting, w.forget),
        seed=lambda w: run_seed(w.model_seed, w.split_seed, w.run),
        device=config["device"],
        expect_split=lambda w: expect_split(w.forget, w.split_seed),
        expect_model=lambda w: expect_original(w.model_seed),
        code=lambda w: method_code(w.instance, w.setting),
    script:
        "../workflow/scripts/unlearn.py"
