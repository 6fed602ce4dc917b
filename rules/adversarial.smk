# D_A: the adversarial set of each original model (Algorithm 1), its summary table and histogram.


def adversarial_split_input(wildcards):
    """The split whose forget set a per-forget-set D_A covers (none for the whole training set)."""
    if wildcards.scope == "all":
        return []
    forget, last = os.path.split(wildcards.scope)  # <forget>/split<seed>
    return split_path(forget, last.removeprefix("split"))


def adversarial_targets():
    if config["attack"]["scope"] == "all":
        paths = [adversarial_path(m) for m in config["model_seeds"]]
    else:
        paths = sorted({adversarial_path(m, f, s) for f, s, m in EXP.eval_units()})
    return [
        p.replace(".h5", ext)
        for p in paths
        for ext in (".h5", ".summary.csv", ".eps_hist.png")
    ]


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
