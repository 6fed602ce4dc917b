# Figures for `snakemake --report report.html`.


def example_runs(setting):
    """{label: per-sample arrays} of the first forget set, split seed, model seed and run, for the plots."""
    f, s, m = EXP.eval_units()[0]
    r = config["unlearn"]["runs"][0]
    runs = {
        kind: reference_metrics_path(kind, f, s, m) for kind in ("original", "retrain")
    }
    for inst, st, f2, s2, m2, r2 in EXP.unlearn_units():
        if (st, f2, s2, m2, r2) == (setting, f, s, m, r):
            runs[inst] = metrics_path(inst, st, f, s, m, r)
    return {k: v.replace(".csv", ".npz") for k, v in runs.items()}


def report_targets():
    s = config["unlearn"]["settings"]
    return (
        [f"{RES}/tables/aggregate.csv", f"{RES}/plots/gap.png"]
        + [f"{RES}/tables/{x}.{e}" for x in s for e in ("md", "tex", "html")]
        + [f"{RES}/tables/cost.{e}" for e in ("md", "html")]
        + [
            f"{RES}/plots/{kind}_{x}.png"
            for x in s
            for kind in ("confidence", "roc_ft")
        ]
    )


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
    script:
        "../workflow/scripts/plots.py"
