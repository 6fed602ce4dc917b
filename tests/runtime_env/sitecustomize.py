"""Loaded at start-up by every Python process whose PYTHONPATH holds this folder (the tests set it for
Snakemake and all of its jobs): when AMUNFLOW_BLOCKED_MODULES names top-level modules, they look as
they would on a machine with only the README's plain install: importing one fails, and module
discovery (pkgutil.iter_modules, which Snakemake's plugin registries walk) does not list them
(see tests/conftest.py::runtime_only_env)."""

import importlib.abc
import os
import pkgutil
import sys

_BLOCKED = frozenset(filter(None, os.environ.get("AMUNFLOW_BLOCKED_MODULES", "").split(",")))


class _TestExtrasOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(
                f"No module named {name!r} (installed here only through the test extras, not by `pip install -e .`)",
                name=name,
            )
        return None


def _visible(iter_modules):
    def iter_visible(path=None, prefix=""):
        for info in iter_modules(path, prefix):
            if path is not None or info.name.partition(".")[0] not in _BLOCKED:
                yield info

    return iter_visible


if _BLOCKED:
    sys.meta_path.insert(0, _TestExtrasOnly())
    pkgutil.iter_modules = _visible(pkgutil.iter_modules)
