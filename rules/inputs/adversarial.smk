# Input functions and targets of the adversarial stage's rules (rules/adversarial.smk).


def adversarial_split_input(wildcards):
    """The split whose forget set a per-forget-set D_A covers (none for the whole training set)."""
    if wildcards.scope == "all":
        return []
    forget, last = os.path.split(wildcards.scope)  # <forget>/split<seed>
    return split_path(forget, last.removeprefix("split"))


def adversarial_expect_split(wildcards):
    if wildcards.scope == "all":
        return None
    forget, last = os.path.split(wildcards.scope)
    return expect_split(forget, last.removeprefix("split"))


def adversarial_targets():
    if config["attack"]["scope"] == "all":
        paths = [adversarial_path(m) for m in config["model_seeds"]]
    else:
        paths = sorted({adversarial_path(m, f, s) for f, s, m in EXP.eval_units()})
    return [
        p.replace(".h5", ext)
        for p in paths
        for ext in (".h5", ".summary.csv", ".eps_hist.png")
    ]
