# Input functions and targets of the data stage's rules (rules/data.smk).


def data_targets():
    return [split_path(f, s) for f, s in EXP.all_splits()]
