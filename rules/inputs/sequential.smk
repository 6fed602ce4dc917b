# Input functions and targets of the sequential stage's rules (rules/sequential.smk).


def seq_instance(w):
    """(method instance, adaptive D_A) of a sequential name."""
    return EXP.sequential_names()[w.instance]


def seq_previous_model(w):
    """Request k starts from request k-1's model; request 0 from the original."""
    k = int(w.request)
    if k == 0:
        return original_path(w.model_seed)
    return seq_path(
        "models",
        ".pt",
        w.instance,
        w.setting,
        w.forget,
        w.split_seed,
        w.model_seed,
        k - 1,
    )


def seq_expect_split(w, kind):
    return {
        "forget_set": w.forget,
        "seed": int(w.split_seed),
        "role": "sequential",
        "request": int(w.request),
        "cumulative": kind == "cum",
    }


def seq_expect_previous(w):
    """Request k's starting model: the original for k = 0, else request k-1's model of this chain."""
    k = int(w.request)
    if k == 0:
        return expect_original(w.model_seed)
    return expect_unlearned(
        seq_instance(w)[0], w.setting, w.model_seed, request=k - 1, chain=w.instance
    )


def seq_unlearn_inputs(w):
    inst, adaptive = seq_instance(w)
    spec = spec_of(inst, w.setting)
    own = lambda kind, ext: seq_path(
        kind,
        ext,
        w.instance,
        w.setting,
        w.forget,
        w.split_seed,
        w.model_seed,
        w.request,
    )
    inputs = {
        "model": seq_previous_model(w),
        "data": DATA,
        "split": seq_split_path("req", w.forget, w.split_seed, w.request),
    }
    if spec.needs_adv and adaptive:  # AMUN-A: D_A of the current model for this request
        inputs["adv"] = own("adversarial", ".h5")
        inputs["adv_source"] = inputs["model"]
    elif spec.needs_adv:  # AMUN: the original model's D_A, built once
        inputs["adv"] = adversarial_path(w.model_seed, w.forget, w.split_seed)
        inputs["adv_source"] = original_path(w.model_seed)
    if spec.needs_mask:
        inputs["mask"] = own("masks", ".pt")
    if spec.needs_memorization:  # D_F's memorization scores (RUM)
        inputs.update(reference_inputs())
    if spec.needs_surrogate:  # the surrogate images (SCAR with surrogate: images)
        inputs["surrogate"] = SURROGATE
    # the one-shot runs' values (no re-tuning)
    return {**inputs, **selection_input(inst, w.forget)}


def sequential_targets():
    units = EXP.sequential_units()
    if not units:
        return []
    return [seq_path("metrics", ".csv", *u) for u in units] + [
        f"{SEQ}/summary.csv",
        f"{SEQ}/fr_minus_ft.png",
    ]
