# Input functions and targets of the report stage's rules (rules/report.smk).


def example_runs(setting):
    """{label: per-sample arrays} of the first forget set, split seed, model seed and run, for the plots."""
    f, s, m = EXP.eval_units()[0]
    r = config["unlearn"]["runs"][0]
    runs = {
        kind: reference_metrics_path(kind, f, s, m) for kind in ("original", "retrain")
    }
    # sorted: the order unlearn.methods is written in must not rerun the plots
    for inst, st, f2, s2, m2, r2 in sorted(EXP.unlearn_units()):
        if (st, f2, s2, m2, r2) == (setting, f, s, m, r):
            runs[inst] = metrics_path(inst, st, f, s, m, r)
    return {k: v.replace(".csv", ".npz") for k, v in runs.items()}


def report_targets():
    s = config["unlearn"]["settings"]
    return (
        [f"{RES}/tables/aggregate.csv", f"{RES}/plots/gap.png"]
        + [f"{RES}/tables/{x}.{e}" for x in s for e in ("md", "tex", "html")]
        + [
            f"{RES}/tables/{t}.{e}"
            for t in ("cost", "ranking", "audits")
            for e in ("md", "html")
        ]
        + [f"{RES}/tables/health.{e}" for e in ("csv", "html")]
        + [f"{RES}/tables/difficulty.{e}" for e in ("csv", "md", "html")]
        + [f"{RES}/tables/paper.{e}" for e in ("csv", "md", "html")]
        + [
            f"{RES}/plots/{kind}_{x}.png"
            for x in s
            for kind in ("confidence", "roc_ft")
        ]
    )


def health_inputs(w):
    """What the health checks read: every original's, retrain's and reference's sidecar, the D_A
    summaries, and the metric tables."""
    sidecar = lambda path: path.replace(".pt", ".json")
    inputs = {
        "originals": [sidecar(original_path(m)) for m in config["model_seeds"]],
        "retrains": [sidecar(retrain_path(f, s, m)) for f, s, m in EXP.eval_units()],
        "adversarial": [p for p in adversarial_targets() if p.endswith(".summary.csv")],
        "runs": f"{RES}/tables/runs.csv",
        "aggregate": f"{RES}/tables/aggregate.csv",
    }
    if config["rmia"]["enabled"]:
        inputs["references"] = [
            f"{RES}/rmia/ref{k}.json" for k in range(config["rmia"]["num_references"])
        ]
    return inputs


def forget_fractions():
    """Each forget set's share of the training set (None for class-wise sets), to find the paper's cell."""
    n = describe_source(config["dataset"])[0] or 50000
    out = {}
    for f, spec in EXP.forget_sets.items():
        if spec["kind"] != "random":
            out[f] = None
        else:
            size = spec["size"]
            out[f] = size if isinstance(size, float) else size / n
    return out


def check_report_ready(targets):
    """`snakemake --report` on an unfinished run would fail on the first missing plot after dozens of
    warnings; say instead that the run is unfinished and what remains, by results folder.
    """
    if not any(a == "--report" or a.startswith("--report=") for a in sys.argv):
        return
    missing = [str(p) for p in targets if not os.path.exists(p)]
    if missing:
        where = Counter(p.removeprefix(f"{RES}/").split("/")[0] for p in missing)
        remains = ", ".join(f"{folder}/ ({n})" for folder, n in where.most_common())
        raise WorkflowError(
            f"the run is unfinished: {len(missing)} of its {len(targets)} results are missing ({remains}); "
            "finish it with the same command without --report (e.g. snakemake --cores 2), then make the report."
        )
