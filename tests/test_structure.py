"""The package's layering: configuration (and parsing the Snakefile) needs no torch, io and config
import nothing above them, only plots draws, and a method is one module plus one registry line."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from amunflow import UserError
from amunflow.config import validate_config
from amunflow.estimate import estimate
from amunflow.methods import REGISTRY, Method
from amunflow.models import build_model
from amunflow.unlearn import DataViews, Hyper, Run

from .helpers import CONFIGS, ROOT, runtime_only_env

PKG = ROOT / "src" / "amunflow"
CONFIG_LEVEL = {
    "amunflow",
    "io",
    "schema",
    "methods",
    "methods.base",
    "data",
    "splits",
    "forget_list",
    "hyper",
    "config",
    "surrogate",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(parts) or "amunflow"


def imports() -> dict[str, set[str]]:
    """Module (relative to amunflow, the package itself "amunflow") -> the package modules it imports,
    anywhere in the file."""
    known = {module_name(p) for p in PKG.rglob("*.py")}
    out = {}
    for path in PKG.rglob("*.py"):
        name = module_name(path)
        package = [] if name == "amunflow" else name.split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package[: len(package) - node.level + 1]
            elif (node.module or "").split(".")[0] == "amunflow":
                base = []
                node = ast.ImportFrom(module=node.module.removeprefix("amunflow").lstrip(".") or None, names=node.names)
            else:
                continue
            target = base + (node.module.split(".") if node.module else [])
            for alias in node.names:  # "from . import x" may name a submodule
                sub = ".".join(target + [alias.name])
                deps.add(sub if sub in known else ".".join(target) or "amunflow")
        out[name] = {d if d else "amunflow" for d in deps} - {name}
    return out


def test_config_level_modules_import_nothing_above_them():
    graph = imports()
    assert graph["io"] <= {"amunflow"}, graph["io"]
    for mod in CONFIG_LEVEL - {"amunflow"}:
        assert graph[mod] <= CONFIG_LEVEL, (mod, graph[mod] - CONFIG_LEVEL)


def test_only_plots_draws_and_no_module_imports_a_job():
    for path in PKG.rglob("*.py"):
        if path.name != "plots.py":
            assert "import matplotlib" not in path.read_text(), path
    for mod, deps in imports().items():
        if not mod.startswith("jobs"):
            assert not {d for d in deps if d.startswith("jobs")}, (mod, deps)


def test_the_import_graph_has_no_cycle():
    graph = imports()
    state = {}

    def visit(m, stack):
        if state.get(m) == "done":
            return
        assert state.get(m) != "active", " -> ".join(stack + [m])
        state[m] = "active"
        for d in graph.get(m, ()):
            if d != m:
                visit(d, stack + [m])
        state[m] = "done"

    for m in graph:
        visit(m, [])


def test_config_and_the_snakefile_parse_need_no_torch(tmp_path):
    code = (
        "import amunflow.config, amunflow.estimate, sys; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')]; assert not bad, bad[:5]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    env = runtime_only_env()
    env["AMUNFLOW_BLOCKED_MODULES"] += ",torch,torchvision"
    for cfg in ("tiny.yaml", "tune.yaml", "sequential.yaml"):  # a dry run parses and builds the whole DAG
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(ROOT / "Snakefile"),
                "-d",
                str(tmp_path / cfg),
                "-n",
                "--configfile",
                str(CONFIGS / cfg),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0 and "Job stats" in proc.stdout, proc.stderr[-3000:]


def test_a_toy_method_is_one_module_and_one_registry_line(monkeypatch):
    """tests/toy_method.py plus the one line below: validated, estimated and runnable like the others."""
    shift = {"type": "integer", "minimum": 1, "default": 1}
    toy = Method("tests.toy_method", "toy: flipped labels on D_F", params={"shift": shift})
    monkeypatch.setitem(REGISTRY, "toy", toy)
    cfg = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    cfg["unlearn"]["methods"] = {"toy": {"shift": 2}, "amun": {}}
    cfg = validate_config(cfg, check_data=False)
    rows = {r["stage"]: r for r in estimate(cfg, 256, 128)}
    # 2 settings x 2 forget sets (26 random, ~26 class-wise samples) x 2 epochs, and AMUN's runs
    amun_hp = {"epochs": 2, "mixture": "full"}
    amun = sum(REGISTRY["amun"].cost(s, amun_hp, 26, 230) for s in ("with_retain", "forget_only") for _ in range(2))
    assert rows["unlearning runs"]["sample_steps"] == 2 * 2 * 2 * 26 + amun
    bad = dict(cfg, unlearn={**cfg["unlearn"], "methods": {"toy": {"shift": 0}}})
    with pytest.raises(UserError, match=r"unlearn\.methods\.toy\.shift: 0 is less than the minimum of 1"):
        validate_config(bad, check_data=False)
    # and it runs through the registry like any other method
    rs = np.random.RandomState(0)
    x, y = rs.randint(0, 256, (40, 3, 8, 8), dtype=np.uint8), rs.randint(0, 4, 40)
    torch.manual_seed(0)
    model = build_model({"arch": "resnet18", "width": 4}, 4, 8)
    hp = Hyper.from_dict({"epochs": 1, "batch_size": 8, "shift": 2})
    views = DataViews(x, y, np.arange(10), np.arange(10, 40), "forget_only", "cpu", None, 4)
    run = Run(model, views, hp, 0, "cpu", progress_file=False)
    REGISTRY["toy"].run(run)
    assert run.stats["sample_steps"] == 10 == REGISTRY["toy"].cost("forget_only", {"epochs": 1}, 10, 30)
