# SalUn saliency masks and the unlearning runs.


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
    return inputs


def selection_input(instance, forget):
    """{"selected": the tuning selection} where the stage tuned ``instance`` on ``forget`` (the run
    then waits for the selection checkpoint and reads it), else {}."""
    if not EXP.is_tuned(instance, forget):
        return {}
    return {"selected": checkpoints.select_hyperparameters.get().output.selected}


def unlearn_inputs(w):
    return {**method_inputs(w, w.split_seed), **selection_input(w.instance, w.forget)}


def hyper_for(instance, setting, forget):
    """A run's hyperparameters: the config's, with the tuning stage's selection where it tuned."""
    hp = configured_hyper(instance, setting)
    sel = selection_input(instance, forget)
    if sel:
        hp = {**hp, **selected_hyper(sel["selected"], instance, setting, forget)}
    return canon(hp)


def unlearn_targets():
    return [unlearn_path(*u) for u in EXP.unlearn_units()]


rule saliency_mask:
    input:
        model=original_path(),
        data=DATA,
        split=split_path(),
    output:
        multiext(mask_path().removesuffix(".pt"), mask=".pt", meta=".json"),
    log:
        f"{RES}/logs/masks/seed{{model_seed}}/{{forget}}/split{{split_seed}}.log",
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        device=config["device"],
    script:
        "../workflow/scripts/saliency_mask.py"


rule unlearn:
    input:
        unpack(unlearn_inputs),
    output:
        multiext(unlearn_path().removesuffix(".pt"), model=".pt", meta=".json"),
    log:
        f"{RES}/logs/unlearn/{{instance}}/{{setting}}/{{forget}}/split{{split_seed}}/seed{{model_seed}}/run{{run}}.log",
    benchmark:
        f"{RES}/benchmarks/unlearn/{{instance}}/{{setting}}/{{forget}}/split{{split_seed}}/seed{{model_seed}}/run{{run}}.tsv"
    conda:
        "../envs/amunflow.yaml"
    threads: config["unlearn"]["threads"]
    resources:
        gpu=1,
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        instance=lambda w: w.instance,
        setting=lambda w: w.setting,
        method=lambda w: method_of(w.instance, w.setting),
        hyper=lambda w: hyper_for(w.instance, w.setting, w.forget),
        seed=lambda w: run_seed(w.model_seed, w.split_seed, w.run),
        device=config["device"],
    script:
        "../workflow/scripts/unlearn.py"
