# Health checks and figures for `snakemake --report report.html`.


rule health:
    input:
        unpack(health_inputs),
    output:
        table=f"{RES}/tables/health.csv",
        html=report(
            f"{RES}/tables/health.html",
            caption="../workflow/report/health.rst",
            category="2 Health checks",
        ),
    log:
        f"{RES}/logs/health.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        model_seeds=config["model_seeds"],
        bars=canon(config["health"]),
        code=code("health", "health.py"),
    script:
        "../workflow/scripts/health.py"


rule compare_paper:
    input:
        aggregate=f"{RES}/tables/aggregate.csv",
    output:
        table=f"{RES}/tables/paper.csv",
        md=f"{RES}/tables/paper.md",
        html=report(
            f"{RES}/tables/paper.html",
            caption="../workflow/report/paper.rst",
            category="3 Tables",
        ),
    log:
        f"{RES}/logs/compare_paper.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        mia_column=config["evaluation"]["mia_column"],
        fractions=forget_fractions(),
        differences=protocol_differences(config),
        code=code("report", "compare_paper.py"),
    script:
        "../workflow/scripts/compare_paper.py"


rule plots:
    input:
        aggregate=f"{RES}/tables/aggregate.csv",
        arrays=lambda w: [
            p for s in config["unlearn"]["settings"] for p in example_runs(s).values()
        ],
    output:
        gap=report(
            f"{RES}/plots/gap.png",
            caption="../workflow/report/gap.rst",
            category="4 Plots",
        ),
        confidence=report(
            expand(
                f"{RES}/plots/confidence_{{setting}}.png",
                setting=config["unlearn"]["settings"],
            ),
            caption="../workflow/report/confidence.rst",
            category="4 Plots",
        ),
        roc=report(
            expand(
                f"{RES}/plots/roc_ft_{{setting}}.png",
                setting=config["unlearn"]["settings"],
            ),
            caption="../workflow/report/roc.rst",
            category="4 Plots",
        ),
    log:
        f"{RES}/logs/plots.log",
    conda:
        "../envs/amunflow.yaml"
    params:
        settings=config["unlearn"]["settings"],
        examples={s: example_runs(s) for s in config["unlearn"]["settings"]},
        code=code("report", "plots.py"),
    script:
        "../workflow/scripts/plots.py"
