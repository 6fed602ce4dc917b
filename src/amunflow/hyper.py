"""Hyperparameters at the configuration level (no torch): what a method instance runs with in each
access setting, which settings it runs in, and the tuning grid (docs/protocol.md §3; the AMUN code's
hyperparam_tune.py)."""

from __future__ import annotations

import csv
import itertools

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from . import UserError
from .methods import REGISTRY, SETTINGS
from .schema import section, subschema

RECIPE = subschema("unlearn.common")["properties"]  # the hyperparameters every method shares


def method_of(unlearn_cfg: dict, instance: str) -> str:
    """The registry method a configured instance runs (its ``method:`` key, else its own name)."""
    method = (unlearn_cfg["methods"][instance] or {}).get("method", instance)
    if method not in REGISTRY:
        raise UserError(
            f"config key unlearn.methods.{instance}: unknown method {method!r}; set 'method:' to one of "
            f"{', '.join(REGISTRY)}."
        )
    return method


def resolve_hyper(unlearn_cfg: dict, instance: str, setting: str) -> tuple[str, dict]:
    """(registry method, hyperparameters) of a configured method instance in one access setting.

    Precedence: the method's own defaults < unlearn.common < the instance's keys < its setting's keys.
    Every key and value is checked against the schema (shared keys) or the registry (the method's
    own), with the config key named."""
    method = method_of(unlearn_cfg, instance)
    inst = dict(unlearn_cfg["methods"][instance] or {})
    inst.pop("method", None)
    per_setting = {k: inst.pop(k) for k in SETTINGS if k in inst}
    hp = dict(REGISTRY[method].extra)
    hp.update(section("unlearn.common", unlearn_cfg.get("common") or {}))
    hp.update(inst)
    own = per_setting.get(setting) or {}
    hp.update(own)
    where = f"unlearn.methods.{instance}" + (f".{setting}" if own else "")
    _check(hp, method, where)
    return method, dict(sorted(hp.items()))


def _check(hp: dict, method: str, where: str) -> None:
    props = {**RECIPE, **REGISTRY[method].params}
    unknown = sorted(set(hp) - set(props))
    if unknown:
        raise UserError(
            f"config key {where}: unknown hyperparameter(s) {unknown} for method {method}; allowed: {sorted(props)}."
        )
    schema = {"type": "object", "properties": props}
    err = best_match(Draft202012Validator(schema).iter_errors(hp))
    if err is not None:
        key = err.absolute_path[0] if err.absolute_path else "?"
        raise UserError(f"config key {where}.{key}: {err.message}; fix it in your config file.")


def settings_of(unlearn_cfg: dict, instance: str) -> list[str]:
    """The configured access settings the instance's method supports."""
    return [s for s in unlearn_cfg["settings"] if s in REGISTRY[method_of(unlearn_cfg, instance)].settings]


# --------------------------------------------------------------------------- the tuning grid

GRID_KEYS = ("lr", "lr_step", "mask_ratio", "mixture")
SHORT = {"lr": "lr", "lr_step": "step", "mask_ratio": "mask", "mixture": "mix"}


def tuned_instances(config: dict) -> list[str]:
    t = config["tuning"]
    if not t["enabled"]:
        return []
    names = t["methods"] or list(config["unlearn"]["methods"])
    unknown = [n for n in names if n not in config["unlearn"]["methods"]]
    if unknown:
        raise UserError(
            f"config key tuning.methods: {unknown} are not in unlearn.methods; tune configured methods only."
        )
    return names


def grid_points(grid: dict, method: str) -> list[dict]:
    """Every combination of the grid's values that are hyperparameters of ``method`` (mask_ratio for
    SalUn variants, mixture for AMUN variants)."""
    keys = [k for k in GRID_KEYS if k in grid and (k in RECIPE or k in REGISTRY[method].params)]
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def point_id(point: dict) -> str:
    """A path-safe name of a grid point, e.g. lr0.01_step1_mask0.5_mixfull (values never contain '_')."""
    return "_".join(f"{SHORT[k]}{v:g}" if isinstance(v, float) else f"{SHORT[k]}{v}" for k, v in point.items())


def parse_point(pid: str) -> dict:
    out = {}
    for part in pid.split("_"):
        for key, short in SHORT.items():
            val = part[len(short) :]
            if part.startswith(short) and val and val.isalpha() == (key == "mixture"):
                out[key] = val if key == "mixture" else int(val) if key == "lr_step" else float(val)
                break
        else:
            raise ValueError(f"not a grid point id: {pid!r}")
    return out


def selected_hyper(selected_csv, instance: str, setting: str, forget: str) -> dict:
    """The tuning stage's selected grid values of one instance, setting and forget set ({} if not tuned)."""
    with open(selected_csv, newline="") as f:
        for row in csv.DictReader(f):
            if (row["method"], row["setting"], row["forget"]) == (instance, setting, forget):
                return parse_point(row["point"])
    return {}
