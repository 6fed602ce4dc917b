# Figures for `snakemake --report report.html`.


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
            category="Plots",
        ),
        confidence=report(
            expand(
                f"{RES}/plots/confidence_{{setting}}.png",
                setting=config["unlearn"]["settings"],
            ),
            caption="../workflow/report/confidence.rst",
            category="Plots",
        ),
        roc=report(
            expand(
                f"{RES}/plots/roc_ft_{{setting}}.png",
                setting=config["unlearn"]["settings"],
            ),
            caption="../workflow/report/roc.rst",
            category="Plots",
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
