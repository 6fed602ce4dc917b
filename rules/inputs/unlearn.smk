# Input functions and targets of the unlearn stage's rules (rules/unlearn.smk).


def method_inputs(w, split_seed):
    """The original model, data and split, plus D_A and the saliency mask when the method reads them."""
    spec = spec_of(w.instance, w.setting)
    inputs = {
        "model": original_path(w.model_seed),
        "data": DATA,
        "split": split_path(w.forget, split_seed),
    }
    if spec.needs_adv:
        inputs["adv"] = adversarial_path(w.model_seed, w.forget, split_seed)
    if spec.needs_mask:
        inputs["mask"] = mask_path(w.model_seed, w.forget, split_seed)
    if spec.needs_memorization:  # D_F's memorization scores (RUM)
        inputs.update(reference_inputs())
    if spec.needs_surrogate:  # the surrogate images (SCAR with surrogate: images)
        inputs["surrogate"] = SURROGATE
    return inputs


def selection_input(instance, forget):
    """{"selected": the instance's tuning selection} where the stage tuned ``instance`` on ``forget`` (the
    run then waits for that instance's selection checkpoint and reads it), else {}. ancient(): a run reruns when the
    values selected for it change (its hyper param), not whenever the selection is rewritten, so one
    more grid point or a new table column reruns no run whose point stayed the same."""
    if not EXP.is_tuned(instance, forget):
        return {}
    return {
        "selected": ancient(
            checkpoints.select_hyperparameters.get(instance=instance).output.selected
        )
    }


def unlearn_inputs(w):
    return {**method_inputs(w, w.split_seed), **selection_input(w.instance, w.forget)}


def hyper_for(instance, setting, forget):
    """A run's hyperparameters: the config's, with the tuning stage's selection where it tuned."""
    hp = configured_hyper(instance, setting)
    sel = selection_input(instance, forget)
    if sel:
        hp = {
            **hp,
            **selected_hyper(
                sel["selected"], instance, method_of(instance, setting), setting, forget
            ),
        }
    return canon(hp)


def unlearn_targets():
    return [unlearn_path(*u) for u in EXP.unlearn_units()]
