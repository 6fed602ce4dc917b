# Input functions and targets of the train stage's rules (rules/train.smk).


def train_targets():
    return [original_path(m) for m in config["model_seeds"]] + [
        retrain_path(f, s, m) for f, s, m in EXP.eval_units()
    ]
