# Input functions and targets of the data stage's rules (rules/data.smk).


def surrogate_source():
    """The surrogate root's content hash (None without a root: then no run reads it)."""
    root = config["surrogate"]["root"]
    return surrogate_fingerprint(root) if root else None


def split_inputs(w):
    """The bundle; for a memorized forget set also the reference models' logits and keep matrix, whose
    memorization scores it is drawn from."""
    if EXP.spec(w.forget)["kind"] == "memorized":
        return {"data": DATA, **reference_inputs()}
    return {"data": DATA}


def split_spec(w):
    """What the split is drawn from: the forget_sets entry; a list's with its content hash (an edited
    list reruns its split and what depends on it), a list's tuning split as a random draw of its size
    (so an edit that keeps the size reruns no tuning)."""
    spec = EXP.spec(w.forget)
    if spec["kind"] != "list":
        return canon(spec)
    if EXP.split_role(w.forget, int(w.split_seed)) == "tuning":
        return canon(
            {"kind": "random", "size": EXP.list_size(w.forget), "tuning_for": w.forget}
        )
    return list_spec(w.forget)


def list_spec(forget):
    """A list forget set's entry with its file's content hash: the split's and the request page's identity."""
    spec = EXP.spec(forget)
    return canon({**spec, "sha256": list_sha256(spec["path"])})


def split_dataset(w):
    """A list's image paths are looked up in the source tree: the dataset section for the job."""
    return canon(config["dataset"]) if EXP.spec(w.forget)["kind"] == "list" else None


def data_targets():
    return [split_path(f, s) for f, s in EXP.all_splits()]
