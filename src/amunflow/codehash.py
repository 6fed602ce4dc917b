"""The version of the code behind a job, for the rerun decision and every artifact's record.

A job's code is its module in ``amunflow.jobs``, every package module it imports (transitively; the
method modules the registry imports lazily are named explicitly), and its workflow script. Each file
is hashed as its syntax tree without docstrings, so editing a comment, a docstring or the layout
changes nothing, while any change to what the code does changes the version: the rules pass it as a
param, so Snakemake reruns exactly the jobs whose code changed (and the between-workflow cache keys
on it too)."""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _module_path(name: str) -> Path:
    """amunflow-relative dotted name -> file ("jobs.train" -> jobs/train.py, "methods" -> methods/__init__.py);
    a name that is no module of the package is looked up as an absolute one (a method plugin's module,
    whose own file is then hashed; the amunflow code it calls is in the job's closure already)."""
    base = PACKAGE.joinpath(*name.split(".")) if name else PACKAGE
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if not path.exists() and name:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            return Path(spec.origin)
    return path


@functools.cache
def _tree(path: Path) -> tuple[str, frozenset[str]]:
    """(normalized dump, package modules imported) of one file."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(getattr(body[0], "value", None), ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    deps = set()
    if path.is_relative_to(PACKAGE):
        rel = path.relative_to(PACKAGE).with_suffix("").parts
        package = list(rel[:-1])
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    target = package[: len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
                elif (node.module or "").split(".")[0] == "amunflow":
                    target = node.module.split(".")[1:]
                else:
                    continue
                for alias in node.names:
                    sub = ".".join(target + [alias.name])
                    deps.add(sub if _module_path(sub).exists() else ".".join(target))
    return ast.dump(tree, annotate_fields=False, include_attributes=False), frozenset(deps)


def closure(*modules: str) -> list[Path]:
    """The files of ``modules`` and of every package module they import, transitively."""
    seen, todo = set(), list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_tree(_module_path(name))[1])
    return sorted({_module_path(m) for m in seen})


@functools.cache
def code_version(*modules: str, script: str | None = None) -> str:
    """The version of the code of ``modules`` (amunflow-relative, e.g. "jobs.train", "methods.bs") and
    of a workflow ``script`` (a path), as a short hash."""
    h = hashlib.sha256()
    files = closure(*modules) + ([Path(script)] if script else [])
    for f in files:
        label = str(f.relative_to(PACKAGE)) if f.is_relative_to(PACKAGE) else f.name
        h.update(label.encode() + b"\0" + _tree(f)[0].encode())
    return h.hexdigest()[:16]
