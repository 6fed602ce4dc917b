# Config validation, wildcard constraints, paths and target lists shared by all rules.

import sys

from snakemake.exceptions import WorkflowError

from amunflow import UserError
from amunflow.config import Experiment, validate_config

try:
    validate_config(
        config, workflow.source_path("../workflow/schemas/config.schema.yaml")
    )
except UserError as e:
    raise WorkflowError(str(e)) from None

EXP = Experiment(config)
RES = "results"
DATA = f"{RES}/data/dataset.h5"


wildcard_constraints:
    forget=r"[A-Za-z0-9._+-]+",
    split_seed=r"\d+",
    model_seed=r"\d+",


def split_path(forget="{forget}", split_seed="{split_seed}"):
    return f"{RES}/splits/{forget}/seed{split_seed}.h5"


def original_path(model_seed="{model_seed}"):
    return f"{RES}/models/original/seed{model_seed}.pt"


def retrain_path(
    forget="{forget}", split_seed="{split_seed}", model_seed="{model_seed}"
):
    return f"{RES}/models/retrain/{forget}/split{split_seed}/seed{model_seed}.pt"


def train_resources(attempt):
    r = config["resources"]
    return {"mem_mb": r["mem_mb"] * attempt, "runtime": r["runtime"] * attempt}


def all_targets():
    targets = [split_path(f, s) for f, s in EXP.all_splits()]
    targets += [original_path(m) for m in config["model_seeds"]]
    targets += [retrain_path(f, s, m) for f, s, m in EXP.eval_units()]
    return targets
