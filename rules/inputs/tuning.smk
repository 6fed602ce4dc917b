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


def tuning_metric_inputs(instance):
    """One instance's tuning metrics, and the tuning sets' retrains and originals they are gapped against."""
    units = [u for u in EXP.tuning_units() if u[0] == instance]
    pairs = sorted({(f, m) for _, _, f, _, m in units})
    # the tuning set's retrain (the target) and original (the start: how far a point got)
    references = [
        reference_metrics_path(kind, f, config["tuning_seed"], m)
        for f, m in pairs
        for kind in ("retrain", "original")
    ]
    return [tuning_metrics_path(*u) for u in units] + references


def selection_files(kind):
    """Every tuned instance's selection ("selected") or grid with gaps ("grid"): one checkpoint each, so a
    method added to the tuning reruns no other method's selection, runs or evaluations.
    """
    tuned = sorted({inst for inst, *_ in EXP.tuning_units()})
    return [f"{RES}/tuning/instances/{inst}/{kind}.csv" for inst in tuned]


def tuning_targets():
    if not EXP.tuning_units():
        return []
    return [
        f"{RES}/tuning/{name}"
        for name in ("grid.csv", "selected.csv", "selected.html", "gap_vs_lr.png")
    ]
