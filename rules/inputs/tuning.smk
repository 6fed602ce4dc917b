# Input functions and targets of the tuning stage's rules (rules/tuning.smk).


def tune_unlearn_inputs(w):
    return method_inputs(w, config["tuning_seed"])


def tune_evaluate_inputs(w):
    t = config["tuning_seed"]
    return {
        "model": tuning_run_path(
            w.instance, w.setting, w.forget, w.point, w.model_seed
        ),
        "data": DATA,
        "split": split_path(w.forget, t),
        "retrain": retrain_path(w.forget, t, w.model_seed),
        **reference_inputs(),
    }


def tuning_metric_inputs():
    units = EXP.tuning_units()
    pairs = sorted({(f, m) for _, _, f, _, m in units})
    # the tuning set's retrain (the target) and original (the start: how far a point got)
    references = [
        reference_metrics_path(kind, f, config["tuning_seed"], m)
        for f, m in pairs
        for kind in ("retrain", "original")
    ]
    return [tuning_metrics_path(*u) for u in units] + references


def tuning_targets():
    if not EXP.tuning_units():
        return []
    return [
        f"{RES}/tuning/{name}"
        for name in ("grid.csv", "selected.csv", "selected.html", "gap_vs_lr.png")
    ]
