# Input functions and targets of the deletion-request pages (rules/requests.smk).


def request_inputs(w):
    """The request's split, its runs' metrics (unlearned, retrain, original) and the unlearned
    checkpoints' sidecars, the aggregate and the health table."""
    units = [u for u in EXP.unlearn_units() if u[2] == w.forget]
    refs = [
        reference_metrics_path(kind, f, s, m)
        for f, s, m in EXP.eval_units()
        if f == w.forget
        for kind in ("retrain", "original")
    ]
    return {
        "data": DATA,
        "split": split_path(w.forget, 0),
        "metrics": [metrics_path(*u) for u in units] + refs,
        "sidecars": [unlearn_path(*u).replace(".pt", ".json") for u in units],
        "aggregate": f"{RES}/tables/aggregate.csv",
        "health": f"{RES}/tables/health.csv",
    }


def request_targets():
    return [
        f"{RES}/requests/{f}.{e}"
        for f, spec in EXP.forget_sets.items()
        if spec["kind"] == "list"
        for e in ("md", "html")
    ]
