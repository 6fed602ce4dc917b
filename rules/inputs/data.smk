# Input functions and targets of the data stage's rules (rules/data.smk).


def split_inputs(w):
    """The bundle; for a memorized forget set also the reference models' logits and keep matrix, whose
    memorization scores it is drawn from."""
    if EXP.spec(w.forget)["kind"] == "memorized":
        return {"data": DATA, **reference_inputs()}
    return {"data": DATA}


def data_targets():
    return [split_path(f, s) for f, s in EXP.all_splits()]
