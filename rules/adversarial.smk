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
        mem_mb=lambda w, attempt: train_resources(attempt)["mem_mb"],
        runtime=lambda w, attempt: train_resources(attempt)["runtime"],
    params:
        attack=attack_params(),
        device=config["device"],
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
            category="Adversarial sets",
        ),
    log:
        f"{RES}/logs/adversarial/seed{{model_seed}}/{{scope}}.summary.log",
    conda:
        "../envs/amunflow.yaml"
    script:
        "../workflow/scripts/summarize_adversarial.py"
