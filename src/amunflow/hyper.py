"""Hyperparameters at the configuration level (no torch): what a method instance runs with in each
access setting, which settings it runs in, and the tuning grid (docs/protocol.md §3; the AMUN code's
hyperparam_tune.py)."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import re

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from . import UserError
from .methods import REGISTRY, SETTINGS, Method, needs_adv, needs_surrogate, steps
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


def pop_settings(entry: dict, method: str, where: str) -> dict:
    """Remove and return the access-setting keys (with_retain, forget_only) of a config ``entry`` at
    config key ``where``; a setting ``method`` does not run in is refused, naming the key."""
    per_setting = {s: entry.pop(s) for s in SETTINGS if s in entry}
    for s in per_setting:
        if s not in REGISTRY[method].settings:
            raise UserError(
                f"config key {where}.{s}: method {method} needs the retain set D_R, so it runs "
                f"{' and '.join(REGISTRY[method].settings)} only; remove the {s} key."
            )
    return per_setting


def resolve_hyper(unlearn_cfg: dict, instance: str, setting: str) -> tuple[str, dict]:
    """(registry method, hyperparameters) of a configured method instance in one access setting.

    Precedence: the method's own defaults < unlearn.common < the recipe of the method's reference code
    (the registry's ``recipe``, for baselines whose code trains otherwise than the paper's recipe) <
    the instance's keys < its setting's keys.
    Every key and value is checked against the schema (shared keys) or the registry (the method's
    own), with the config key named."""
    method = method_of(unlearn_cfg, instance)
    inst = dict(unlearn_cfg["methods"][instance] or {})
    inst.pop("method", None)
    per_setting = pop_settings(inst, method, f"unlearn.methods.{instance}")
    hp = dict(REGISTRY[method].extra)
    hp.update(section("unlearn.common", unlearn_cfg.get("common") or {}))
    hp.update(REGISTRY[method].recipe)
    hp.update(inst)
    own = per_setting.get(setting) or {}
    hp.update(own)
    where = f"unlearn.methods.{instance}" + (f".{setting}" if own else "")
    _check(hp, method, where)
    if REGISTRY[method].wraps:
        _check_steps(hp, f"{where}.inner")
    return method, dict(sorted(hp.items()))


def _check_steps(hp: dict, where: str) -> None:
    """A wrapper's steps: registered methods, not wrappers themselves, with keys of their own."""
    for i, step in enumerate(steps(hp)):
        if step is None:
            continue
        name = step["method"]
        if name not in REGISTRY or REGISTRY[name].wraps:
            allowed = ["none"] + [m for m, spec in REGISTRY.items() if not spec.wraps]
            raise UserError(f"config key {where}[{i}]: {name!r} is not a method a step can run; use one of {allowed}.")
        _check({k: v for k, v in step.items() if k != "method"}, name, f"{where}[{i}]")


def spec_for(unlearn_cfg: dict, instance: str, setting: str) -> Method:
    """The registry entry of an instance's method as its run in ``setting`` reads artifacts: D_A (a
    wrapper's when one of its steps does) and the surrogate images (by its hyperparameters)."""
    method, hp = resolve_hyper(unlearn_cfg, instance, setting)
    return dataclasses.replace(
        REGISTRY[method], needs_adv=needs_adv(method, hp), needs_surrogate=needs_surrogate(method, hp)
    )


def _check(hp: dict, method: str, where: str, prefix: bool = True) -> None:
    """Check hyperparameter keys and values against the schema; ``where`` is the config key (with the
    offending key appended when ``prefix``)."""
    props = hyper_props(method)
    unknown = sorted(set(hp) - set(props))
    if unknown:
        raise UserError(
            f"config key {where}: unknown hyperparameter(s) {unknown} for method {method}; allowed: {sorted(props)}."
        )
    schema = {"type": "object", "properties": props}
    err = best_match(Draft202012Validator(schema).iter_errors(hp))
    if err is not None:
        key = err.absolute_path[0] if err.absolute_path else "?"
        raise UserError(
            f"config key {where}{'.' + str(key) if prefix else ''}: {err.message}; fix it in your config file."
        )


def settings_of(unlearn_cfg: dict, instance: str) -> list[str]:
    """The configured access settings the instance's method supports (a wrapper: where every step's does)."""
    spec = REGISTRY[method_of(unlearn_cfg, instance)]
    out = [s for s in unlearn_cfg["settings"] if s in spec.settings]
    if spec.wraps:
        out = [
            s
            for s in out
            if all(
                s in REGISTRY[st["method"]].settings for st in steps(resolve_hyper(unlearn_cfg, instance, s)[1]) if st
            )
        ]
    return out


# --------------------------------------------------------------------------- the tuning grid

GRID_ORDER = ("lr", "lr_step", "mask_ratio", "mixture")  # these first, in this order; then by name
SHORT = {"lr": "lr", "lr_step": "step", "mask_ratio": "mask", "mixture": "mix"}


def hyper_props(method: str) -> dict:
    """Every hyperparameter of ``method``: name -> JSON-schema property."""
    return {**RECIPE, **REGISTRY[method].params}


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


def grid_of(config: dict, instance: str, setting: str | None = None) -> dict:
    """The values searched for one instance in one access setting: its tuning.grids entry if it has
    one (with the setting's own keys, tuning.grids.<instance>.<setting>, replacing the instance's),
    else the keys of tuning.grid its method has; each key and value checked, with the config key
    named. Without ``setting``: the instance's keys only (its per-setting keys checked too)."""
    t, method = config["tuning"], method_of(config["unlearn"], instance)
    props = hyper_props(method)
    own = instance in t["grids"]
    entry = dict(t["grids"][instance] or {}) if own else {}
    per_setting = pop_settings(entry, method, f"tuning.grids.{instance}")
    base = entry if own else {k: v for k, v in t["grid"].items() if k in props}
    where_base = f"tuning.grids.{instance}" if own else "tuning.grid"
    checked = [(base, where_base)] + [(g, f"tuning.grids.{instance}.{s}") for s, g in per_setting.items()]
    for grid, where in checked:
        unknown = sorted(set(grid) - set(props))
        if unknown:
            raise UserError(
                f"config key {where}: {unknown} are not hyperparameters of method {method}; allowed: {sorted(props)}."
            )
        reads = sorted({"inner", "surrogate"} & set(grid))
        if reads:
            raise UserError(
                f"config key {where}.{reads[0]}: it decides what the runs read (D_A, surrogate images) and is not "
                "tuned; configure one instance per choice (e.g. scar_images: {method: scar, surrogate: images})."
            )
        for key, values in grid.items():
            for i, v in enumerate(values):
                _check({key: v}, method, f"{where}.{key}[{i}]", prefix=False)
    return {**base, **(per_setting.get(setting) or {})}


def check_grids(config: dict) -> None:
    """Every key of tuning.grid is a hyperparameter of some method; every grids entry a tuned instance."""
    t = config["tuning"]
    known = set(RECIPE).union(*(m.params for m in REGISTRY.values()))
    unknown = sorted(set(t["grid"]) - known)
    if unknown:
        raise UserError(f"config key tuning.grid: {unknown} are not hyperparameters of any method.")
    tuned = tuned_instances(config)
    for inst in t["grids"]:
        if t["enabled"] and inst not in tuned:
            raise UserError(
                f"config key tuning.grids.{inst}: {inst!r} is not a tuned method instance; add it to "
                "tuning.methods (and unlearn.methods)."
            )
    for inst in tuned:
        grid_of(config, inst)


def grid_points(grid: dict, method: str) -> list[dict]:
    """Every combination of the grid's values that are hyperparameters of ``method`` (mask_ratio for
    SalUn variants, mixture for AMUN variants, a method's own keys for it)."""
    props = hyper_props(method)
    keys = sorted(
        (k for k in grid if k in props), key=lambda k: (GRID_ORDER.index(k) if k in GRID_ORDER else len(GRID_ORDER), k)
    )
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def _short(key: str) -> str:
    return SHORT.get(key, key.replace("_", ""))


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    return f"{v:g}" if isinstance(v, float) else str(v)


def point_id(point: dict) -> str:
    """A path-safe name of a grid point, e.g. lr0.01_step1_mask0.5_mixfull: each key's short name
    (lr, step, mask, mix, else the key without underscores) followed by its value."""
    return "_".join(f"{_short(k)}{_fmt(v)}" for k, v in point.items())


def _value(text: str, prop: dict):
    kind = prop.get("type")
    if kind == "boolean":
        return {"true": True, "false": False}[text]
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ValueError(text)
        return int(text)
    if kind == "number":
        if not re.fullmatch(r"-?[0-9.]+(e[+-]?[0-9]+)?", text):
            raise ValueError(text)
        return float(text)
    if "enum" in prop and text not in prop["enum"]:
        raise ValueError(text)
    return text


def parse_point(pid: str, method: str) -> dict:
    """The grid point a :func:`point_id` names, for a run of ``method``."""
    props = hyper_props(method)
    shorts = sorted(((_short(k), k) for k in props), key=lambda t: -len(t[0]))
    out = {}
    for part in pid.split("_"):
        for short, key in shorts:
            if part.startswith(short) and len(part) > len(short):
                try:
                    out[key] = _value(part[len(short) :], props[key])
                    break
                except (ValueError, KeyError):
                    continue
        else:
            raise ValueError(f"not a grid point id of method {method}: {pid!r} ({part!r})")
    return out


def selected_hyper(selected_csv, instance: str, method: str, setting: str, forget: str) -> dict:
    """The tuning stage's selected grid values of one instance (of ``method``), setting and forget set
    ({} if not tuned)."""
    with open(selected_csv, newline="") as f:
        for row in csv.DictReader(f):
            if (row["method"], row["setting"], row["forget"]) == (instance, setting, forget):
                return parse_point(row["point"], method)
    return {}
