# Config validation, wildcard constraints, and the named helpers every stage uses. Paths are in
# paths.smk; each stage's input functions and targets are beside its rules.

import json
import os
import sys
from collections import Counter

from snakemake.exceptions import WorkflowError

from amunflow import UserError
from amunflow.cards import check_lock_dir
from amunflow.codehash import code_version
from amunflow.config import SPEED_KEYS, Experiment, load_config_file, validate_config
from amunflow.data import describe_source, source_fingerprint
from amunflow.forget_list import list_sha256
from amunflow.io import file_hash
from amunflow.hyper import parse_point, resolve_hyper, selected_hyper, spec_for
from amunflow.paper import protocol_differences
from amunflow.surrogate import fingerprint as surrogate_fingerprint

try:
    # a key given twice: Snakemake's loader keeps the last silently, so each file is read again here
    for path in workflow.configfiles:
        load_config_file(path)
    validate_config(config)
    if config["device"] != "cpu":
        check_lock_dir(config["resources"]["gpu_locks"])
except UserError as e:
    raise WorkflowError(str(e)) from None

EXP = Experiment(config)
# this repository's workflow scripts, also when the workflow is a module of a user's Snakefile (whose
# workflow.basedir is then the user's folder)
SCRIPTS = os.path.join(
    os.path.dirname(str(workflow.current_basedir)), "workflow", "scripts"
)


wildcard_constraints:
    forget=r"[A-Za-z0-9._+-]+",
    split_seed=r"\d+",
    model_seed=r"\d+",
    scope=r"all|[A-Za-z0-9._+-]+/split\d+",
    instance=r"[A-Za-z0-9_]+",
    setting=r"with_retain|forget_only|reference",
    k=r"\d+",
    request=r"\d+",
    point=r"[A-Za-z]+[A-Za-z0-9.+-]*(_[A-Za-z]+[A-Za-z0-9.+-]*)*",
    run=r"\d+",
    shadow=r"\d+",
    again=r"retrain|retrain_again",


def check_device():
    """device: cuda needs a GPU where the jobs run: checked before the first job when they run on
    this machine (a cluster's submit host may have none, so remote jobs check in the job).
    """
    if config["device"] != "cuda" or not workflow.local_exec:
        return
    import torch  # only here: parsing the Snakefile imports no torch

    if not torch.cuda.is_available():
        raise WorkflowError(
            "config key device: cuda was asked for but no CUDA device is visible on this machine; "
            "use auto (CUDA when visible, else the CPU) or cpu."
        )


def canon(section):
    """A config section with keys in sorted order: Snakemake compares params including key order,
    so reordering keys in a config file must not look like a change."""
    return json.loads(json.dumps(section, sort_keys=True))


def method_of(instance, setting):
    """The registry method a method instance runs in an access setting."""
    return resolve_hyper(config["unlearn"], instance, setting)[0]


def spec_of(instance, setting):
    """The registry entry (what the method reads) of a method instance in a setting."""
    return spec_for(config["unlearn"], instance, setting)


def configured_hyper(instance, setting):
    return resolve_hyper(config["unlearn"], instance, setting)[1]


def run_seed(model_seed, split_seed, run):
    """The seed of one unlearning run (data order, augmentation, random labels)."""
    return int(model_seed) * 1000003 + int(split_seed) * 1009 + int(run)


def identity(w, split_seed, run, base=None, **extra):
    """A metrics row's identifying columns: ``base`` is the registry method (default: that of the
    instance; the reference rows are their own); ``extra`` e.g. a grid point or a request.
    """
    if base is None:
        reference = w.instance in ("retrain", "original")
        base = w.instance if reference else method_of(w.instance, w.setting)
    return {
        "method": w.instance,
        "base_method": base,
        "setting": w.setting,
        "forget": w.forget,
        "split_seed": int(split_seed),
        "model_seed": int(w.model_seed),
        "run": int(run),
        **extra,
    }


def code(job, script, *more):
    """The version of a job's code (amunflow.codehash): a param of every rule, so a change to what the
    code does reruns exactly its jobs (comments, docstrings and layout do not count)."""
    path = os.path.join(SCRIPTS, script)
    return code_version(f"jobs.{job}", *more, script=path)


def method_code(instance, setting):
    """The unlearning job's code with the method's own module (imported lazily by the registry)."""
    impl = spec_of(instance, setting).impl
    return code("unlearn", "unlearn.py", impl if "." in impl else f"methods.{impl}")


def attack_params():
    """What decides the attack's result (not where it runs or how the work is split): the speed
    keys (SPEED_KEYS) reach the script from the config, so changing them reruns nothing.
    """
    skip = ("scope", "threads") + SPEED_KEYS["attack"]
    return canon({k: v for k, v in config["attack"].items() if k not in skip})


def train_params(section):
    """A training section without its speed keys (see attack_params)."""
    return canon({k: v for k, v in section.items() if k not in SPEED_KEYS["train"]})


# what every metrics job needs beside the RMIA section (the relearn time: evaluation runs only, so
# that changing it reruns no tuning point or sequential request)
AUDIT_PARAMS = canon(
    {
        "mis_seed": config["evaluation"]["mis_seed"],
        "lira": config["evaluation"]["lira"],
    }
)
EVAL_AUDIT_PARAMS = canon({**AUDIT_PARAMS, "relearn": config["evaluation"]["relearn"]})


# What a job expects of its inputs, checked against what they record (amunflow.jobs.inputs): a
# split file drawn for the wildcards' forget set, seed and role; a checkpoint of the expected kind
# and lineage. A swapped or stale file is refused with a sentence naming both.
def expect_split(forget, split_seed):
    s = int(split_seed)
    return {"forget_set": forget, "seed": s, "role": EXP.split_role(forget, s)}


def expect_original(model_seed):
    return {"kind": "original", "model_seed": int(model_seed)}


def expect_unlearned(instance, setting, model_seed, **more):
    return {
        "kind": "unlearned",
        "instance": instance,
        "setting": setting,
        "model_seed": int(model_seed),
        **more,
    }


# Resources of the jobs that train, attack, unlearn or evaluate (they also ask for gpu=1); a retry
# asks for more memory and time.
def job_mem_mb(wildcards, attempt):
    return config["resources"]["mem_mb"] * attempt


def job_runtime(wildcards, attempt):
    return config["resources"]["runtime"] * attempt
