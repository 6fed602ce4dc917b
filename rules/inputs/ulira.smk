# Input functions and targets of the U-LiRA stage's rules (rules/ulira.smk).


def shadow_seed(shadow, again=False):
    """A shadow original's seed (also its retrain's, as a retrain shares its original's); the calibration
    row "retrain" retrains each shadow a second time with another seed."""
    return (30000 if again else 20000) + int(shadow)


def shadow_train_config():
    """The shadows' recipe: the train section with evaluation.ulira.train's overrides."""
    return {**config["train"], **config["evaluation"]["ulira"]["train"]}


def expect_shadow_split(w):
    expect = expect_split(w.forget, w.split_seed)
    return {**expect, "role": "shadow", "shadow": int(w.shadow)}


def shadow_original_identity(shadow):
    return {
        "kind": "original",
        "shadow": int(shadow),
        "model_seed": shadow_seed(shadow),
    }


def expect_shadow_original(w):
    return shadow_original_identity(w.shadow)


def shadow_unlearn_inputs(w):
    spec = spec_of(w.instance, w.setting)
    inputs = {
        "model": shadow_path("original", w.shadow),
        "data": DATA,
        "split": shadow_path("split.h5", w.shadow, w.forget, w.split_seed),
    }
    if spec.needs_adv:
        inputs["adv"] = shadow_path("adv.h5", w.shadow, w.forget, w.split_seed)
    if spec.needs_mask:
        inputs["mask"] = shadow_path("mask.pt", w.shadow, w.forget, w.split_seed)
    if spec.needs_memorization:  # D_F's memorization scores (RUM)
        inputs.update(reference_inputs())
    if spec.needs_surrogate:  # the surrogate images (SCAR with surrogate: images)
        inputs["surrogate"] = SURROGATE
    return {**inputs, **selection_input(w.instance, w.forget)}


def ulira_base(w):
    if w.instance in ("original", "retrain"):
        return w.instance
    return method_of(w.instance, w.setting)


def shadow_unlearned(w, s):
    """What stands for shadow s's unlearned model: the method's run, the shadow original itself
    (calibration row "original") or its second retrain ("retrain")."""
    if w.instance == "original":
        return shadow_path("original", s)
    if w.instance == "retrain":
        return shadow_path("retrain_again.pt", s, w.forget, w.split_seed)
    return shadow_path(
        f"unlearn/{w.instance}/{w.setting}.pt", s, w.forget, w.split_seed
    )


def ulira_targets(w):
    """The target's models (one per model seed and run) and their retrains; none for the calibration row
    retrain (its target would be the retrain itself, 50% by construction)."""
    m_seeds, runs = config["model_seeds"], config["unlearn"]["runs"]
    f, s = w.forget, w.split_seed
    if w.instance == "original":
        pairs = [(original_path(m), m) for m in m_seeds]
    elif w.instance == "retrain":
        pairs = []
    else:
        pairs = [
            (unlearn_path(w.instance, w.setting, f, s, m, r), m)
            for m in m_seeds
            for r in runs
        ]
    return [p for p, _ in pairs], [retrain_path(f, s, m) for _, m in pairs]


def ulira_inputs(w):
    n = config["evaluation"]["ulira"]["shadows"]
    targets, retrains = ulira_targets(w)
    return {
        "data": DATA,
        "split": split_path(w.forget, w.split_seed),
        "shadow_splits": [
            shadow_path("split.h5", s, w.forget, w.split_seed) for s in range(n)
        ],
        "shadow_unlearned": [shadow_unlearned(w, s) for s in range(n)],
        "shadow_retrains": [
            shadow_path("retrain.pt", s, w.forget, w.split_seed) for s in range(n)
        ],
        "targets": targets,
        "target_retrains": retrains,
    }


def ulira_expect_unlearned(w):
    n = config["evaluation"]["ulira"]["shadows"]
    if w.instance == "original":
        return [shadow_original_identity(s) for s in range(n)]
    if w.instance == "retrain":
        return [
            {"kind": "retrain", "model_seed": shadow_seed(s, again=True)}
            for s in range(n)
        ]
    return [
        {"kind": "unlearned", "instance": w.instance, "setting": w.setting}
        for _ in range(n)
    ]


def ulira_expect_targets(w):
    """What each target model and its retrain must record."""
    m_seeds, runs = config["model_seeds"], config["unlearn"]["runs"]
    if w.instance == "retrain":
        return []
    if w.instance == "original":
        pairs = [({"kind": "original", "model_seed": int(m)}, m) for m in m_seeds]
    else:
        pairs = [
            (expect_unlearned(w.instance, w.setting, m), m)
            for m in m_seeds
            for _ in runs
        ]
    return [(t, {"kind": "retrain", "model_seed": int(m)}) for t, m in pairs]


def ulira_expect_retrains(w):
    """Each shadow's retrain: its own seed (the calibration row's second retrain has another)."""
    n = config["evaluation"]["ulira"]["shadows"]
    return [{"kind": "retrain", "model_seed": shadow_seed(s)} for s in range(n)]


def ulira_targets_all():
    if not EXP.ulira_units():
        return []
    return [f"{RES}/tables/ulira.{e}" for e in ("csv", "md", "html")]
