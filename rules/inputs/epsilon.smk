# Input functions and targets of the epsilon / KLOM stage's rules (rules/epsilon.smk).


def epsilon_models(w):
    """(model paths, the identity each must record, whether it was made on the split) of one set of N
    models: a method's N unlearning runs of the first model seed's original, the N retrains every row
    is judged against (retrain), the calibration row's second retrains (retrain_again), or the one
    original (original)."""
    f, s, m0 = w.forget, w.split_seed, config["model_seeds"][0]
    if w.instance == "original":
        return [original_path(m0)], [expect_original(m0)], False
    if w.instance in ("retrain", "retrain_again"):
        seeds = EXP.epsilon_retrain_seeds(again=w.instance == "retrain_again")
        expect = [{"kind": "retrain", "model_seed": m} for m in seeds]
        return [retrain_path(f, s, m) for m in seeds], expect, True
    runs = EXP.epsilon_runs()
    paths = [unlearn_path(w.instance, w.setting, f, s, m0, r) for r in runs]
    expect = [
        expect_unlearned(w.instance, w.setting, m0, seed=run_seed(m0, s, r))
        for r in runs
    ]
    return paths, expect, True


def epsilon_scores_of(row, setting, forget, split_seed):
    """The scores file of an epsilon row (the calibration row retrain reads the second retrains)."""
    if row == "retrain":
        return epsilon_scores_path("retrain_again", "reference", forget, split_seed)
    return epsilon_scores_path(row, setting, forget, split_seed)


def epsilon_table_inputs():
    units = EXP.epsilon_units()
    return {
        "audits": [epsilon_path(*u) for u in units],
        "examples": [epsilon_path(*u, ext=".examples.csv") for u in units],
    }


def epsilon_targets():
    if not EXP.epsilon_units():
        return []
    return [
        f"{RES}/tables/{t}.{e}"
        for t in ("epsilon", "klom")
        for e in ("csv", "md", "html")
    ] + [f"{RES}/plots/epsilon.png"]
