# D_A: the adversarial set of each original model (Algorithm 1), its summary table and histogram.


rule build_adversarial:
    input:
        model=original_path(),
        data=DATA,
        split=adversarial_split_input,
    output:
        adv=f"{RES}/adversarial/seed{{model_seed}}/{{scope}}.h5",
    log:
        f"{RES}/logs/adversarial/seed{{model_seed}}/{{scope}}.log",
    cache: "omit-software"
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
        expect_split=adversarial_expect_split,
        expect_model=lambda w: expect_original(w.model_seed),
        code=code("adversarial", "build_adversarial.py"),
    script:
        "../workflow/scripts/build_adversarial.py"


rule summarize_adversarial:
    input:
        adv=f"{RES}/adversarial/seed{{model_seed}}/{{scope}}.h5",
    output:
        table=f"{RES}/adversarial/seed{{model_seed}}/{{scope}}.summary.csv",
        plot=report(
            f"{RES}/adversarial/seed{{model_seed}}/{{scope}}.eps_hist.png",
            caption="../workflow/report/eps_hist.rst",
            category="5 Adversarial sets",
        ),
    log:
        f"{RES}/logs/adversarial/seed{{model_seed}}/{{scope}}.summary.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        code=code("adversarial_summary", "summarize_adversarial.py"),
    script:
        "../workflow/scripts/summarize_adversarial.py"
