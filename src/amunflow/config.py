"""Config validation (schema + defaults + checks against the data) and the experiment's unit lists.

This module sits at the bottom of the package with ``schema``, ``hyper``, ``io``, ``data``,
``forget_list`` and ``splits``: parsing the Snakefile imports it, and nothing here imports torch.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import yaml

from . import UserError
from .data import describe_source
from .forget_list import list_name
from .forget_list import resolve as resolve_list
from .hyper import check_grids, grid_of, grid_points, method_of, point_id, resolve_hyper, settings_of, tuned_instances
from .methods import REGISTRY, SETTINGS, needs_surrogate, steps
from .schema import fill, load_schema, subschema
from .splits import check_size, forget_count, resolve_classes
from .surrogate import fingerprint as surrogate_fingerprint

# forget sets drawn at random for each split seed (the others are deterministic: split seed 0)
DRAWN = ("random", "memorized")
# forget sets that are tuned: on a draw of their own kind with tuning_seed (a list: a random set of its size)
TUNED = (*DRAWN, "list")

# the networks whose stages (amunflow.models.stages) CF-k and EU-k know
STAGED_ARCHS = ("resnet18", "vgg19_bn")

# the calibration rows of U-LiRA and of the epsilon / KLOM stage: no unlearning, and exact unlearning (a
# second retrain)
CALIBRATION = ("original", "retrain")

# Keys that change how fast a job runs, not what it computes (up to float rounding): they are left
# out of the rules' params, so changing them reruns nothing; the scripts read them from the config.
SPEED_KEYS = {"attack": ("batch_size", "compile"), "train": ("compile", "eval_batch_size")}


def merge_config(config: dict, overlay: dict) -> dict:
    """``overlay`` merged into ``config`` in place as Snakemake merges ``--configfile a b``: mappings key by
    key, anything else (lists included) replaced."""
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            merge_config(config[key], value)
        else:
            config[key] = copy.deepcopy(value)
    return config


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml's SafeLoader, but a mapping that names a key twice is an error (SafeLoader keeps the last
    value silently, so ``train: {lr: 0.05, lr: 5.0}`` would train at 5.0)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            keys = []
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may be overridden key by key
                    continue
                key = self.construct_object(key_node, deep=deep)
                if key in keys:
                    problem = f"key {key!r} is given twice in one mapping"
                    raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
                keys.append(key)
        return super().construct_mapping(node, deep)


def load_config_file(path) -> dict:
    """A config file's mapping; a missing file, invalid YAML, a key given twice or a top level that is
    not a mapping raises UserError with one sentence naming the file."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        why = getattr(e, "strerror", None) or e
        raise UserError(f"config file {path}: cannot be read ({why}); check the path.") from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserError(f"config file {path}: {e.problem or e.context}{where}; fix the file.") from None
    except yaml.YAMLError as e:
        raise UserError(f"config file {path}: not valid YAML ({' '.join(str(e).split())}).") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file {path}: holds a {type(data).__name__}, not a mapping of config keys.")
    return data


def validate_config(config: dict, schema_path=None, check_data: bool = True) -> dict:
    """Fill defaults into ``config`` (in place), check it, and return it.

    Raises UserError with one sentence naming the offending key and the fix.
    """
    _check_finite(config)
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    if model.get("arch", "resnet18") != "resnet18" and "block" in model:
        raise UserError(
            f"config key model.block: it shapes resnet18's projection blocks and has no meaning for "
            f"{model['arch']}; remove it."
        )
    fill(config, load_schema(schema_path))
    if config["model"]["arch"] != "resnet18":
        del config["model"]["block"]  # so that the default does not enter what a vgg model is hashed by
    _check(config, check_data)
    return config


def _check_surrogate(config: dict, inst: str, setting: str) -> None:
    """A run that reads surrogate images needs the surrogate section's root, with enough images."""
    method, hp = resolve_hyper(config["unlearn"], inst, setting)
    if not needs_surrogate(method, hp):
        return
    sur = config["surrogate"]
    if sur["root"] is None:
        raise UserError(
            f"config key unlearn.methods.{inst}.surrogate: images needs natural images; set surrogate.root to a "
            "folder or .zip of images (e.g. the dataset's own root: its images the bundle did not draw)."
        )
    sizes = [{**REGISTRY[s["method"]].extra, **s} for s in steps(hp) if s] if REGISTRY[method].wraps else [hp]
    wanted = max(h.get("surrogate_size", 0) for h in sizes)
    if sur["size"] < wanted:
        raise UserError(
            f"config key surrogate.size: {sur['size']} images, but unlearn.methods.{inst} takes surrogate_size "
            f"{wanted}; raise surrogate.size or lower surrogate_size."
        )


def _check_something_to_do(config: dict) -> None:
    """An enabled stage that would schedule no job, or a method that runs in no configured setting, is
    refused: the workflow would otherwise finish green with the stage or the method silently absent."""
    u = config["unlearn"]
    if not u["methods"]:
        raise UserError("config key unlearn.methods: it is empty, so there is nothing to compare; name a method.")
    for inst in u["methods"]:
        spec = REGISTRY[method_of(u, inst)]
        if not settings_of(u, inst):
            where = " (where each of its inner steps' methods can)" if spec.wraps else ""
            raise UserError(
                f"config key unlearn.methods.{inst}: it runs only {_keys(spec.settings, 'or')}{where}, none of "
                f"unlearn.settings {u['settings']}; add a setting it supports or remove it."
            )
        for setting in settings_of(u, inst):
            _check_surrogate(config, inst, setting)
        if spec.needs_memorization and not config["rmia"]["enabled"]:
            raise UserError(
                f"config key unlearn.methods.{inst}: it ranks D_F by the memorization scores of the RMIA reference "
                "models; set rmia.enabled: true."
            )
    if config["tuning"]["enabled"] and not any(s["kind"] in TUNED for s in config["forget_sets"]):
        raise UserError(
            "config key tuning.enabled: tuning draws its own forget set from a random, memorized or list entry of "
            "forget_sets, and there is none (class-wise sets are not tuned); add one or set tuning.enabled: false."
        )
    seeds = config["tuning"]["model_seeds"]
    extra = [m for m in seeds if m not in config["model_seeds"]]
    if config["tuning"]["enabled"] and extra:
        raise UserError(
            f"config key tuning.model_seeds: {extra} is not in model_seeds {config['model_seeds']}, so an original "
            "would be trained for tuning alone; tune on models the experiment evaluates."
        )
    q = config["sequential"]
    if q["enabled"] and not (q["methods"] or q["adaptive"]):
        raise UserError("config key sequential.methods: sequential requests are enabled with no method; name one.")
    if q["enabled"]:
        alone = [m for m in q["adaptive"] if m not in q["methods"]]
        if alone:
            raise UserError(
                f"config key sequential.adaptive: {alone[0]!r} is not in sequential.methods, so its adaptive run "
                "would have no plain run to compare with; add it to sequential.methods too."
            )


def _check(config: dict, check_data: bool) -> None:
    if check_data and config["surrogate"]["root"] is not None:
        surrogate_fingerprint(config["surrogate"]["root"])  # a root that is not a folder or zip is named here
    if config["tuning_seed"] in config["split_seeds"]:
        raise UserError(
            f"config key tuning_seed: {config['tuning_seed']} is also in split_seeds; the tuning forget set must be "
            "drawn with a seed of its own, so pick another value."
        )
    for i, spec in enumerate(config["forget_sets"]):
        need = {"random": ("size",), "memorized": ("size", "quantiles"), "classes": ("classes",), "list": ("path",)}
        own = need[spec["kind"]] + (("column", "name") if spec["kind"] == "list" else ())
        other = tuple(k for k in ("size", "quantiles", "classes", "path", "column", "name") if k not in own)
        if any(k not in spec for k in need[spec["kind"]]) or any(k in spec for k in other):
            raise UserError(
                f"config key forget_sets[{i}]: a {spec['kind']} forget set takes {_keys(need[spec['kind']], 'and')} "
                f"and not {_keys([k for k in other if k in spec] or other, 'or')}; "
                "e.g. {kind: random, size: 0.1}, {kind: memorized, size: 0.05, quantiles: [0.8, 1.0]}, "
                "{kind: classes, classes: [cat]} or {kind: list, path: requests/forget.csv}."
            )
        if spec["kind"] == "list" and config["tuning"]["enabled"] and config["tuning_seed"] == 0:
            raise UserError(
                f"config key tuning_seed: 0 is forget_sets[{i}]'s (a list's) own split seed; tune with another seed."
            )
        if spec["kind"] == "memorized":
            lo, hi = spec["quantiles"]
            if not 0 <= lo < hi <= 1:
                raise UserError(
                    f"config key forget_sets[{i}].quantiles: {spec['quantiles']} is not a band [lo, hi] with "
                    "0 <= lo < hi <= 1; e.g. [0.8, 1.0] for the most memorized fifth."
                )
            if not config["rmia"]["enabled"]:
                raise UserError(
                    f"config key forget_sets[{i}]: a memorized forget set is drawn from the RMIA reference "
                    "models' memorization scores; set rmia.enabled: true."
                )
    for inst in config["unlearn"]["methods"]:
        if inst in ("retrain", "original"):
            raise UserError(
                f"config key unlearn.methods.{inst}: '{inst}' names the reference rows; call the method otherwise."
            )
        if not re.fullmatch(r"[A-Za-z0-9_]+", inst):
            raise UserError(f"config key unlearn.methods.{inst}: use letters, digits and _ only in method names.")
        for setting in SETTINGS:  # checks the method name and every hyperparameter key and value
            resolve_hyper(config["unlearn"], inst, setting)
    if config["evaluation"]["mia_column"] == "ft_auc" and not config["rmia"]["enabled"]:
        raise UserError("config key evaluation.mia_column: ft_auc needs rmia.enabled: true; enable RMIA or use mis.")
    tuned_instances(config)  # checks the names
    check_grids(config)
    mia = config["tuning"]["mia_column"] or config["evaluation"]["mia_column"]
    if config["tuning"]["enabled"] and mia == "ft_auc" and not config["rmia"]["enabled"]:
        raise UserError("config key tuning.mia_column: ft_auc needs rmia.enabled: true; enable RMIA or use mis.")
    _check_sequential(config)
    _check_rmia_train(config)
    _check_ulira(config)
    _check_audited(config, "epsilon")
    for i, spec in enumerate(config["forget_sets"]):
        bad = [c for c in spec.get("classes", []) if isinstance(c, str) and not re.fullmatch(r"[A-Za-z0-9._+]+", c)]
        if bad:
            raise UserError(
                f"config key forget_sets[{i}].classes: {bad[0]!r} cannot be part of a file name; give the class "
                "by its index instead."
            )
    ids = [forget_set_id(s) for s in config["forget_sets"]]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise UserError(f"config key forget_sets: {sorted(dup)} is listed twice; remove the duplicate.")
    for i, spec in enumerate(config["forget_sets"]):
        if spec["kind"] in DRAWN:
            _named(check_size, i, spec["size"])  # its form; the count needs the data (below)
    _check_original(config)
    if config["model"]["arch"] not in STAGED_ARCHS:
        staged = [i for i in config["unlearn"]["methods"] if method_of(config["unlearn"], i) in ("cfk", "euk")]
        if staged:
            raise UserError(
                f"config key unlearn.methods.{staged[0]}: CF-k and EU-k act on the last k stages of resnet18 or "
                f"vgg19_bn, which {config['model']['arch']} does not have; remove it or use one of those networks."
            )
    _check_something_to_do(config)
    if check_data:
        _check_against_data(config)


def _check_finite(value, key: str = "") -> None:
    """NaN and infinities pass every minimum and maximum of the schema (and every comparison after it),
    so none is taken anywhere in the config."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{key}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise UserError(
            f"config key {key or '(top level)'}: {value} is not a finite number; give a finite value (YAML's .nan "
            "and .inf are refused)."
        )


def _keys(keys, sep: str) -> str:
    return f" {sep} ".join(f"'{k}'" for k in keys)


def _named(fn, i, *args):
    """Call ``fn``; a UserError about forget_sets[] names entry ``i``."""
    try:
        return fn(*args)
    except UserError as e:
        raise UserError(str(e).replace("forget_sets[]", f"forget_sets[{i}]")) from None


def _check_against_data(config: dict) -> None:
    """What needs the dataset's size and classes (read without decoding an image)."""
    n, class_names = describe_source(config["dataset"])
    drawn = {}  # what each forget set resolves to, to find two spellings of one set
    for i, spec in enumerate(config["forget_sets"]):
        if spec["kind"] in DRAWN and n is not None:
            k = _named(forget_count, i, spec["size"], n)
            drawn[i] = (spec["kind"], k, *spec.get("quantiles", ()))
            lo, hi = spec.get("quantiles", (0, 1))
            band = int(math.ceil(hi * n)) - int(math.floor(lo * n))
            if band < k:
                raise UserError(
                    f"config key forget_sets[{i}].quantiles: the band {spec['quantiles']} holds {band} of the {n} "
                    f"training images, fewer than the {k} to forget; widen the band or lower size."
                )
        elif spec["kind"] == "list":
            idx = _named(resolve_list, i, spec, config["dataset"])
            drawn[i] = ("list", tuple(sorted(idx.tolist())))
        elif spec["kind"] == "classes" and class_names is not None:
            classes = _named(resolve_classes, i, spec["classes"], class_names)
            if len(classes) == len(class_names):
                raise UserError(
                    f"config key forget_sets[{i}].classes: {spec['classes']} are all the classes; nothing would be "
                    "retained, so leave at least one out."
                )
            drawn[i] = ("classes", tuple(classes))
    seen = {}
    for i, key in drawn.items():
        if key in seen:
            raise UserError(
                f"config key forget_sets: entries {seen[key]} and {i} are the same forget set "
                f"({config['forget_sets'][seen[key]]} and {config['forget_sets'][i]}); remove one."
            )
        seen[key] = i
    q = config["sequential"]
    if q["enabled"] and drawn.get(q["forget_set"], (None,))[0] in DRAWN:
        k = drawn[q["forget_set"]][1]
        if q["requests"] > k:
            raise UserError(
                f"config key sequential.requests: {q['requests']} requests cannot split forget_sets[{q['forget_set']}] "
                f"({k} samples); ask for at most {k}."
            )


def _check_original(config: dict) -> None:
    """A given original model: a file that exists, and one model seed (it is one model)."""
    path = config["originals"]["path"]
    if path is None:
        return
    if not Path(path).is_file():
        raise UserError(
            f"config key originals.path: {path} does not exist (paths are relative to the directory Snakemake runs "
            "in); give the model file, or null to train the original."
        )
    if len(config["model_seeds"]) != 1:
        raise UserError(
            f"config key model_seeds: {config['model_seeds']} names {len(config['model_seeds'])} originals, but "
            "originals.path gives one model; set model_seeds to one seed (the retrains' seed)."
        )


def _check_rmia_train(config: dict) -> None:
    """rmia.train overrides the train section, so it takes the train section's keys and values."""
    fill(copy.deepcopy(config["rmia"]["train"]), subschema("train"), "rmia.train")


def _check_ulira(config: dict) -> None:
    u = config["evaluation"]["ulira"]
    fill(copy.deepcopy(u["train"]), subschema("train"), "evaluation.ulira.train")
    _check_audited(config, "ulira")


def _check_audited(config: dict, stage: str) -> None:
    """evaluation.<stage>.methods names configured method instances or the calibration rows, and
    something when the stage is on."""
    q = config["evaluation"][stage]
    if q["enabled"] and not q["methods"]:
        raise UserError(
            f"config key evaluation.{stage}.methods: the stage is enabled with nothing to audit; name a method."
        )
    for name in q["methods"]:
        if name not in CALIBRATION and name not in config["unlearn"]["methods"]:
            raise UserError(
                f"config key evaluation.{stage}.methods: {name!r} is not in unlearn.methods (nor original or "
                "retrain); add it there first."
            )


def _check_sequential(config: dict) -> None:
    q = config["sequential"]
    if not q["enabled"]:
        return
    if q["forget_set"] >= len(config["forget_sets"]) or config["forget_sets"][q["forget_set"]]["kind"] not in DRAWN:
        raise UserError("config key sequential.forget_set: it must index a random or memorized entry of forget_sets.")
    for key in ("methods", "adaptive"):
        for name in q[key]:
            if name not in config["unlearn"]["methods"]:
                raise UserError(f"config key sequential.{key}: {name!r} is not in unlearn.methods; add it there first.")
    for name in q["methods"]:
        runs_in = settings_of(config["unlearn"], name)
        if not [s for s in runs_in if not q["settings"] or s in q["settings"]]:
            raise UserError(
                f"config key sequential.methods: {name!r} runs in {runs_in or 'no configured setting'}, none of "
                f"sequential.settings {q['settings'] or config['unlearn']['settings']}; add a setting it supports."
            )
    for name in q["adaptive"]:
        if not REGISTRY[method_of(config["unlearn"], name)].needs_adv:
            raise UserError(f"config key sequential.adaptive: {name!r} does not use D_A; list AMUN instances only.")


def forget_set_id(spec: dict) -> str:
    """A short, path-safe name: random0.1, random5000, classes3, classes-cat-dog."""
    if spec["kind"] in DRAWN:
        size = spec["size"]
        name = f"{spec['kind']}{int(size) if float(size).is_integer() else size}"
        return name + ("-q{}-{}".format(*spec["quantiles"]) if spec["kind"] == "memorized" else "")
    if spec["kind"] == "list":
        return "list-" + list_name(spec)
    return "classes-" + "-".join(str(c) for c in spec["classes"])


class Experiment:
    """The units of work a (validated) config asks for."""

    def __init__(self, config: dict):
        self.config = config
        self.forget_sets = {forget_set_id(s): s for s in config["forget_sets"]}
        self._list_sizes: dict[str, int] = {}

    def spec(self, forget_id: str) -> dict:
        return self.forget_sets[forget_id]

    def split_seeds(self, forget_id: str) -> list[int]:
        """Evaluation split seeds: the configured ones, or [0] for a deterministic class-wise set."""
        return list(self.config["split_seeds"]) if self.spec(forget_id)["kind"] in DRAWN else [0]

    def list_size(self, forget_id: str) -> int:
        """The number of samples a list forget set names (its tuning set is a random set of as many)."""
        if forget_id not in self._list_sizes:  # read once per plan, not once per job that asks
            self._list_sizes[forget_id] = len(resolve_list(self.spec(forget_id), self.config["dataset"]))
        return self._list_sizes[forget_id]

    def split_role(self, forget_id: str, seed: int) -> str:
        return "tuning" if self.spec(forget_id)["kind"] in TUNED and seed == self.config["tuning_seed"] else "eval"

    def all_splits(self) -> list[tuple[str, int]]:
        out = []
        for fid, spec in self.forget_sets.items():
            out += [(fid, s) for s in self.split_seeds(fid)]
            if spec["kind"] in DRAWN or (spec["kind"] == "list" and self.config["tuning"]["enabled"]):
                out.append((fid, self.config["tuning_seed"]))
        return out

    def unlearn_units(self) -> list[tuple[str, str, str, int, int, int]]:
        """(method instance, setting, forget set, split seed, model seed, run) for every unlearning run."""
        u = self.config["unlearn"]
        return [
            (inst, setting, f, s, m, r)
            for inst in u["methods"]
            for setting in settings_of(u, inst)
            for f, s, m in self.eval_units()
            for r in u["runs"]
        ]

    def tuning_units(self) -> list[tuple[str, str, str, str, int]]:
        """(method instance, setting, forget set, grid point id, model seed) of every tuning run."""
        c = self.config
        seeds = c["tuning"]["model_seeds"] or c["model_seeds"][:1]
        out = []
        for inst in tuned_instances(c):
            method = method_of(c["unlearn"], inst)
            for setting in settings_of(c["unlearn"], inst):
                points = grid_points(grid_of(c, inst, setting), method)
                for f in self.tuned_forget_sets():
                    out += [(inst, setting, f, point_id(p), m) for p in points for m in seeds]
        return out

    def tuned_forget_sets(self) -> list[str]:
        return (
            [f for f, spec in self.forget_sets.items() if spec["kind"] in TUNED]
            if self.config["tuning"]["enabled"]
            else []
        )

    def is_tuned(self, inst: str, forget: str) -> bool:
        return forget in self.tuned_forget_sets() and inst in tuned_instances(self.config)

    def sequential_names(self) -> dict[str, tuple[str, bool]]:
        """Sequential method name -> (method instance, adaptive D_A)."""
        q = self.config["sequential"]
        if not q["enabled"]:
            return {}
        names = {m: (m, False) for m in q["methods"]}
        names.update({f"{m}_adaptive": (m, True) for m in q["adaptive"]})
        return names

    def sequential_units(self) -> list[tuple[str, str, str, int, int, int]]:
        """(sequential method name, setting, forget set, split seed, model seed, request)."""
        q = self.config["sequential"]
        if not q["enabled"]:
            return []
        f = forget_set_id(self.config["forget_sets"][q["forget_set"]])
        out = []
        for name, (inst, _) in self.sequential_names().items():
            settings = [s for s in settings_of(self.config["unlearn"], inst) if not q["settings"] or s in q["settings"]]
            out += [
                (name, setting, f, s, m, k)
                for setting in settings
                for s in self.config["split_seeds"]
                for m in self.config["model_seeds"]
                for k in range(q["requests"])
            ]
        return out

    def ulira_units(self) -> list[tuple[str, str, str, int]]:
        """(method instance or calibration row, setting, forget set, split seed) of every U-LiRA audit; the
        calibration rows' setting is "reference"."""
        units = self._audited("ulira")
        return [(n, st, f, s) for n, st in units for f in self.forget_sets for s in self.split_seeds(f)]

    def epsilon_units(self) -> list[tuple[str, str, str, int]]:
        """(method instance or calibration row, setting, forget set, split seed) of every epsilon / KLOM
        audit: each forget set's first split seed; the calibration rows' setting is "reference"."""
        return [(n, st, f, self.split_seeds(f)[0]) for n, st in self._audited("epsilon") for f in self.forget_sets]

    def _audited(self, stage: str) -> list[tuple[str, str]]:
        """(method instance or calibration row, setting) of an enabled evaluation stage's rows; the
        calibration rows' setting is "reference"."""
        q = self.config["evaluation"][stage]
        if not q["enabled"]:
            return []
        unlearn = self.config["unlearn"]
        return [
            (name, st)
            for name in q["methods"]
            for st in (["reference"] if name in CALIBRATION else settings_of(unlearn, name))
        ]

    def epsilon_runs(self) -> list[int]:
        """The N unlearning runs of an epsilon row (of the first model seed's original): the configured runs
        first, so that the main table's runs are among them."""
        return _first_n(self.config["unlearn"]["runs"], self.config["evaluation"]["epsilon"]["n_models"])

    def epsilon_retrain_seeds(self, again: bool = False) -> list[int]:
        """The model seeds of the N retrains every epsilon row is judged against (the configured model seeds
        first, so that the main table's retrains are among them), or of the calibration row retrain's
        second set (the next N)."""
        n = self.config["evaluation"]["epsilon"]["n_models"]
        seeds = _first_n(self.config["model_seeds"], 2 * n)
        return seeds[n:] if again else seeds[:n]

    def eval_units(self) -> list[tuple[str, int, int]]:
        """(forget set, split seed, model seed) for every evaluation run."""
        return [(f, s, m) for f in self.forget_sets for s in self.split_seeds(f) for m in self.config["model_seeds"]]


def _first_n(given: list[int], n: int) -> list[int]:
    """``given`` (in its order) followed by the smallest other non-negative integers, n in all."""
    out = list(dict.fromkeys(int(v) for v in given))[:n]
    v = 0
    while len(out) < n:
        if v not in out:
            out.append(v)
        v += 1
    return out
