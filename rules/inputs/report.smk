# Input functions and targets of the report stage's rules (rules/report.smk).


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
