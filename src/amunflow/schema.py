"""The config schema, the one source of every default: loading it, filling defaults into a config or
one of its sections, and turning a schema error into one sentence that names the key."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from . import UserError

SCHEMA = Path(__file__).with_name("config.schema.yaml")  # package data (workflow/schemas/ links to it)


def _with_defaults(cls):
    check_properties = cls.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, props, instance, schema)

    return validators.extend(cls, {"properties": properties})


DefaultFillingValidator = _with_defaults(Draft202012Validator)


@functools.cache
def _load(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text())


def load_schema(path=None) -> dict:
    return copy.deepcopy(_load(str(path or SCHEMA)))


def fill(instance, schema: dict, where: str = "") -> None:
    """Fill ``schema``'s defaults into ``instance`` (in place) and check it; raise UserError with one
    sentence naming the first offending key (prefixed by ``where``) and the fix."""
    err = best_match(DefaultFillingValidator(schema).iter_errors(instance))
    if err is None:
        return
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    key = (where + key).lstrip(".") or "(top level)"
    desc = err.schema.get("description") if isinstance(err.schema, dict) else None
    hint = f" ({desc.strip()})" if desc and err.validator != "additionalProperties" else ""
    raise UserError(
        f"config key {key}: {err.message}{hint}; fix it in your config file "
        "(all keys are described in workflow/schemas/config.schema.yaml)."
    )


def subschema(path: str, schema: dict | None = None) -> dict:
    """The schema of config section ``path`` (dotted, e.g. 'unlearn.common')."""
    sub = schema or load_schema()
    for key in path.split("."):
        sub = sub["properties"][key]
    return sub


def section(path: str, partial: dict | None = None) -> dict:
    """A copy of ``partial`` (a section of a config, possibly incomplete) with the schema's defaults
    for section ``path`` filled in and checked."""
    out = copy.deepcopy(partial) if partial is not None else {}
    fill(out, subschema(path), path)
    return out
