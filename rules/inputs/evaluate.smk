# Input functions and targets of the evaluate stage's rules (rules/evaluate.smk).


def checkpoint_of(w):
    """The checkpoint a metrics job evaluates: the original, the retrain, or an unlearned model."""
    if w.instance == "original":
        return original_path(w.model_seed)
    if w.instance == "retrain":
        return retrain_path(w.forget, w.split_seed, w.model_seed)
    return unlearn_path(
        w.instance, w.setting, w.forget, w.split_seed, w.model_seed, w.run
    )


def expect_evaluated(w):
    """What the evaluated checkpoint must record: its kind, model seed, and (for unlearned models) the
    run that made it."""
    if w.instance in ("original", "retrain"):
        return {"kind": w.instance, "model_seed": int(w.model_seed)}
    return expect_unlearned(w.instance, w.setting, w.model_seed)


def evaluate_inputs(w):
    inputs = {
        "model": checkpoint_of(w),
        "data": DATA,
        "split": split_path(w.forget, w.split_seed),
        **reference_inputs(),
    }
    if w.instance != "retrain":
        inputs["retrain"] = retrain_path(w.forget, w.split_seed, w.model_seed)
    if w.instance != "original":  # RF-JSD's reference on D_T, and the relearn target
        inputs["original"] = original_path(w.model_seed)
    return inputs


def reference_train_config():
    """The reference models' recipe: the train section with rmia.train's overrides."""
    return {**config["train"], **config["rmia"]["train"]}


def all_metric_paths():
    paths = [metrics_path(*u) for u in EXP.unlearn_units()]
    for f, s, m in EXP.eval_units():
        paths += [
            reference_metrics_path(kind, f, s, m) for kind in ("retrain", "original")
        ]
    return paths


def difficulty_eps_inputs():
    """{"forget/split seed/model seed": (its D_A, the original it was built from)} of every evaluation unit."""
    return {
        f"{f}/{s}/{m}": (adversarial_path(m, f, s), original_path(m))
        for f, s, m in EXP.eval_units()
    }


def difficulty_inputs(w):
    eps = difficulty_eps_inputs()
    return {
        "metrics": all_metric_paths(),
        "arrays": [p.replace(".csv", ".npz") for p in all_metric_paths()],
        "data": DATA,
        "eps": sorted({a for a, _ in eps.values()} | {o for _, o in eps.values()}),
        "challenge": list(difficulty_challenge_inputs().values()),
        **reference_inputs(),
    }


def difficulty_challenge_inputs():
    """{"method/setting/forget/split seed/model seed": its per-example epsilon} of every epsilon row (the
    first model seed's; original and retrain are the reference rows)."""
    m0 = config["model_seeds"][0]
    return {
        f"{n}/{st}/{f}/{s}/{m0}": epsilon_path(n, st, f, s, ext=".examples.csv")
        for n, st, f, s in EXP.epsilon_units()
    }
