# Where every artifact lives (under results/). Called with no arguments, a function gives the
# pattern with its wildcards, for a rule's output.

RES = "results"
DATA = f"{RES}/data/dataset.h5"
SURROGATE = f"{RES}/data/surrogate.h5"
SEQ = f"{RES}/sequential"
ULIRA = f"{RES}/ulira"
EPS = f"{RES}/epsilon"


def split_path(forget="{forget}", split_seed="{split_seed}"):
    return f"{RES}/splits/{forget}/seed{split_seed}.h5"


def original_path(model_seed="{model_seed}"):
    return f"{RES}/models/original/seed{model_seed}.pt"


def retrain_path(
    forget="{forget}", split_seed="{split_seed}", model_seed="{model_seed}"
):
    return f"{RES}/models/retrain/{forget}/split{split_seed}/seed{model_seed}.pt"


def adversarial_path(model_seed="{model_seed}", forget=None, split_seed=None):
    """D_A of an original model: the whole-training-set file, or the forget set's own (attack.scope)."""
    if config["attack"]["scope"] == "all":
        return f"{RES}/adversarial/seed{model_seed}/all.h5"
    return f"{RES}/adversarial/seed{model_seed}/{forget}/split{split_seed}.h5"


def mask_path(model_seed="{model_seed}", forget="{forget}", split_seed="{split_seed}"):
    return f"{RES}/masks/seed{model_seed}/{forget}/split{split_seed}.pt"


def unlearn_path(
    instance="{instance}",
    setting="{setting}",
    forget="{forget}",
    split_seed="{split_seed}",
    model_seed="{model_seed}",
    run="{run}",
):
    return f"{RES}/unlearn/{instance}/{setting}/{forget}/split{split_seed}/seed{model_seed}/run{run}.pt"


def metrics_path(
    instance="{instance}",
    setting="{setting}",
    forget="{forget}",
    split_seed="{split_seed}",
    model_seed="{model_seed}",
    run="{run}",
):
    return f"{RES}/metrics/{instance}/{setting}/{forget}/split{split_seed}/seed{model_seed}/run{run}.csv"


def reference_metrics_path(kind, forget, split_seed, model_seed):
    """The metrics of the original (kind "original") or the retrained reference ("retrain")."""
    return metrics_path(kind, "reference", forget, split_seed, model_seed, 0)


def tuning_run_path(
    instance="{instance}",
    setting="{setting}",
    forget="{forget}",
    point="{point}",
    model_seed="{model_seed}",
):
    return (
        f"{RES}/tuning/runs/{instance}/{setting}/{forget}/{point}/seed{model_seed}.pt"
    )


def tuning_metrics_path(
    instance="{instance}",
    setting="{setting}",
    forget="{forget}",
    point="{point}",
    model_seed="{model_seed}",
):
    return f"{RES}/tuning/metrics/{instance}/{setting}/{forget}/{point}/seed{model_seed}.csv"


def seq_path(
    kind,
    ext,
    instance="{instance}",
    setting="{setting}",
    forget="{forget}",
    split_seed="{split_seed}",
    model_seed="{model_seed}",
    request="{request}",
):
    return f"{SEQ}/{kind}/{instance}/{setting}/{forget}/split{split_seed}/seed{model_seed}/req{request}{ext}"


def seq_split_path(
    kind, forget="{forget}", split_seed="{split_seed}", request="{request}"
):
    return f"{SEQ}/splits/{forget}/split{split_seed}/{kind}{request}.h5"


def reference_inputs():
    """The RMIA reference models' logits and their keep matrix, which every metrics job reads (RMIA,
    LiRA); nothing when RMIA is off."""
    if not config["rmia"]["enabled"]:
        return {}
    return {"refs": reference_logits(), "keep": f"{RES}/rmia/keep.npy"}


def reference_logits():
    """The RMIA reference models' logits every metrics job reads (none when RMIA is off)."""
    if not config["rmia"]["enabled"]:
        return []
    return [
        f"{RES}/rmia/ref{k}.logits.npy" for k in range(config["rmia"]["num_references"])
    ]


def shadow_path(name, shadow="{shadow}", forget="{forget}", split_seed="{split_seed}"):
    """A U-LiRA shadow's artifact: its original ("original"), or for one target forget set its split,
    retrains, D_A, mask and unlearned models (``name`` with its extension)."""
    if name == "original":
        return f"{ULIRA}/shadows/shadow{shadow}/original.pt"
    return f"{ULIRA}/shadows/shadow{shadow}/{forget}/split{split_seed}/{name}"


def ulira_path(
    instance="{instance}",
    setting="{setting}",
    forget="{forget}",
    split_seed="{split_seed}",
):
    return f"{ULIRA}/attack/{instance}/{setting}/{forget}/split{split_seed}.csv"


def epsilon_scores_path(
    instance="{instance}",
    setting="{setting}",
    forget="{forget}",
    split_seed="{split_seed}",
):
    """The scores of one epsilon row's N models (instance retrain / reference: the N retrains every row
    is judged against; retrain_again: the calibration row retrain's second set)."""
    return f"{EPS}/scores/{instance}/{setting}/{forget}/split{split_seed}.npz"


def epsilon_path(
    instance="{instance}",
    setting="{setting}",
    forget="{forget}",
    split_seed="{split_seed}",
    ext=".csv",
):
    return f"{EPS}/audit/{instance}/{setting}/{forget}/split{split_seed}{ext}"
