import copy
import math
import re

import pytest
import yaml

from amunflow import UserError
from amunflow.config import Experiment, forget_set_id, load_config_file, merge_config, validate_config
from amunflow.methods import REGISTRY

from .helpers import CONFIGS, ROOT


def tiny():
    return yaml.safe_load((CONFIGS / "tiny.yaml").read_text())


def test_defaults_are_filled_from_schema():
    cfg = validate_config({"dataset": {"name": "synthetic"}})
    assert cfg["train"]["epochs"] == 201 and cfg["train"]["lr"] == 0.1 and cfg["train"]["lr_step"] == 40
    assert cfg["train"]["augment"] == {"crop_padding": 4, "flip": True}
    assert cfg["model"] == {"arch": "resnet18", "width": 64, "block": "amun"}
    assert cfg["split_seeds"] == [1, 10, 100] and cfg["model_seeds"] == [1, 10, 100]
    assert cfg["forget_sets"] == [{"kind": "random", "size": 0.1}]


def test_shipped_configs_are_valid():
    for name in ("config.yaml", "paper.yaml"):
        cfg = yaml.safe_load((ROOT / "config" / name).read_text())
        validate_config(cfg, check_data=False)
    default = load_config_file(ROOT / "config" / "config.yaml")
    for overlay in ("quick.yaml", "sequential.yaml", "other_seeds.yaml", "baselines.yaml"):
        merged = merge_config(copy.deepcopy(default), load_config_file(ROOT / "config" / overlay))
        validate_config(merged, check_data=False)


def test_the_default_answers_with_every_method_tuned_over_three_seeds():
    cfg = validate_config(load_config_file(ROOT / "config" / "config.yaml"), check_data=False)
    exp = Experiment(cfg)
    assert cfg["tuning"]["enabled"] and len(exp.eval_units()) >= 3
    tuned = {(i, s) for i, s, _, _, _ in exp.tuning_units()}
    runs = {(i, s) for i, s, _, _, _, _ in exp.unlearn_units()}
    assert runs and tuned == runs  # every method, in every access setting it runs in
    quick = merge_config(copy.deepcopy(cfg), load_config_file(ROOT / "config" / "quick.yaml"))
    assert not quick["tuning"]["enabled"] and quick["split_seeds"] == [1]


def test_the_baselines_overlay_merges_as_snakemake_merges_it():
    from snakemake.utils import update_config

    base, overlay = (yaml.safe_load((ROOT / "config" / n).read_text()) for n in ("config.yaml", "baselines.yaml"))
    ours = merge_config(copy.deepcopy(base), overlay)
    theirs = copy.deepcopy(base)
    update_config(theirs, overlay)
    assert ours == theirs
    cfg = validate_config(ours, check_data=False)
    newer = validate_config(merge_config(copy.deepcopy(ours), load_config_file(ROOT / "config" / "newer.yaml")), False)
    assert set(REGISTRY) <= {m.get("method", i) for i, m in newer["unlearn"]["methods"].items()}  # every method
    assert cfg["unlearn"]["methods"]["amun"] == base["unlearn"]["methods"]["amun"]  # kept, not replaced
    assert cfg["tuning"]["methods"] == []  # all fifteen tuned, each over its own grid
    assert set(cfg["tuning"]["grids"]) == set(cfg["unlearn"]["methods"])


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda c: c["dataset"].update(name="mnist"), r"dataset\.name: 'mnist' is not one of"),
        (lambda c: c["forget_sets"][0].update(size=0), r"forget_sets\[0\]\.size"),
        (lambda c: c["forget_sets"][0].update(size=256), r"forget_sets\[0\]\.size: 256 means 256 .* below 256"),
        (lambda c: c["forget_sets"][0].update(size=1.5), r"forget_sets\[0\]\.size: fraction 1.5"),
        (lambda c: c["forget_sets"][1].update(classes=["cat"]), r"forget_sets\[1\]\.classes: no class named 'cat'"),
        (lambda c: c["forget_sets"][1].update(classes=[9]), r"forget_sets\[1\]\.classes: class index 9"),
        (lambda c: c["train"].update(lrr=0.1), r"config key train: .*'lrr' was unexpected"),
        (lambda c: c["train"].update(epochs=0), r"train\.epochs: 0 is less than the minimum"),
        (lambda c: c.update(tuning_seed=1), r"tuning_seed: 1 is also in split_seeds"),
        (lambda c: c["forget_sets"].append({"kind": "random", "size": 0.1}), r"listed twice"),
        (
            lambda c: c["forget_sets"].append({"kind": "random", "classes": [1]}),
            r"forget_sets\[2\]: a random forget set takes 'size'",
        ),
        (
            lambda c: c["dataset"].update(name="imagefolder", root="/no/such/dir"),
            r"dataset\.root: '/no/such/dir' does not exist",
        ),
        (lambda c: c["dataset"].update(name="cifar10", root="/no/such/dir"), r"dataset\.root: no cifar10 under"),
        # hyperparameters, shared and per method, each named where it is wrong
        (lambda c: c["unlearn"]["common"].update(lrr=0.1), r"config key unlearn\.common: .*'lrr' was unexpected"),
        (
            lambda c: c["unlearn"]["common"].update(precision="fp16"),
            r"unlearn\.common\.precision: 'fp16' is not one of",
        ),
        (lambda c: c["unlearn"].update(methods={"amun": {"epochs": 0}}), r"unlearn\.methods\.amun\.epochs: 0 is less"),
        (
            lambda c: c["unlearn"].update(methods={"amun": {"mixture": "bogus"}}),
            r"unlearn\.methods\.amun\.mixture: 'bogus'",
        ),
        (lambda c: c["rmia"].update(train={"epochz": 3}), r"config key rmia\.train: .*'epochz' was unexpected"),
        (lambda c: c["rmia"].update(train={"lr": -1}), r"config key rmia\.train\.lr: -1 is less than or equal"),
        # seeds and runs once each; one forget set, one spelling
        (lambda c: c.update(split_seeds=[1, 1]), r"config key split_seeds: \[1, 1\] has non-unique elements"),
        (lambda c: c.update(model_seeds=[3, 3]), r"config key model_seeds: \[3, 3\] has non-unique elements"),
        (lambda c: c["unlearn"].update(runs=[1, 1]), r"config key unlearn\.runs: \[1, 1\] has non-unique"),
        (lambda c: c["forget_sets"][0].update(size=1.0), r"forget_sets\[0\]\.size: 1\.0 is ambiguous .* integer \(1\)"),
        (
            lambda c: c["forget_sets"].append({"kind": "random", "size": 26}),  # 0.1 of 256 images is 26
            r"config key forget_sets: entries 0 and 2 are the same forget set",
        ),
        (
            lambda c: c["forget_sets"].append({"kind": "classes", "classes": [1]}),  # [class1] by its index
            r"config key forget_sets: entries 1 and 2 are the same forget set",
        ),
        (
            lambda c: c["forget_sets"].append({"kind": "classes", "classes": ["my class"]}),
            r"forget_sets\[2\]\.classes: 'my class' cannot be part of a file name",
        ),
        # what used to fail only inside a job
        (lambda c: c["dataset"].update(subset=300), r"dataset\.subset: 300 is more than the 256 training images"),
        (
            lambda c: c["forget_sets"][1].update(classes=[0, 1, 2, 3]),
            r"forget_sets\[1\]\.classes: \[0, 1, 2, 3\] are all the classes",
        ),
        (
            lambda c: c.update(sequential={"enabled": True, "requests": 27, "methods": ["amun"], "adaptive": []}),
            r"sequential\.requests: 27 requests cannot split forget_sets\[0\] \(26 samples\)",
        ),
        (
            lambda c: c.update(sequential={"enabled": True, "methods": ["ft"], "settings": ["forget_only"]}),
            r"sequential\.methods: 'ft' runs in \['with_retain'\], none of sequential\.settings \['forget_only'\]",
        ),
        # an enabled stage that would schedule nothing, a method that would run nowhere, keys ignored
        (lambda c: c["unlearn"].update(methods={}), r"config key unlearn\.methods: it is empty"),
        (
            lambda c: c["unlearn"].update(methods={"ft": {}}, settings=["forget_only"]),
            r"unlearn\.methods\.ft: it runs only 'with_retain', none of unlearn\.settings \['forget_only'\]",
        ),
        (
            lambda c: c.update(forget_sets=[{"kind": "classes", "classes": [1]}], tuning={"enabled": True}),
            r"config key tuning\.enabled: tuning draws its own forget set .* there is none",
        ),
        (
            lambda c: c.update(tuning={"enabled": True, "model_seeds": [99]}),
            r"config key tuning\.model_seeds: \[99\] is not in model_seeds \[1\]",
        ),
        (
            lambda c: c.update(evaluation={"ulira": {"enabled": True, "methods": []}}),
            r"config key evaluation\.ulira\.methods: the stage is enabled with nothing to audit",
        ),
        (
            lambda c: c.update(evaluation={"epsilon": {"enabled": True, "methods": []}}),
            r"config key evaluation\.epsilon\.methods: the stage is enabled with nothing to audit",
        ),
        (
            lambda c: c.update(evaluation={"epsilon": {"enabled": True, "methods": ["nosuch"]}}),
            r"config key evaluation\.epsilon\.methods: 'nosuch' is not in unlearn\.methods",
        ),
        (
            lambda c: c.update(evaluation={"epsilon": {"enabled": True, "n_models": 2}}),
            r"evaluation\.epsilon\.n_models",
        ),
        (
            lambda c: c.update(sequential={"enabled": True, "methods": [], "adaptive": []}),
            r"config key sequential\.methods: sequential requests are enabled with no method",
        ),
        (
            lambda c: c.update(sequential={"enabled": True, "methods": ["rl"], "adaptive": ["amun"]}),
            r"config key sequential\.adaptive: 'amun' is not in sequential\.methods",
        ),
        (
            lambda c: c["model"].update(arch="vgg19_bn", block="standard"),
            r"config key model\.block: .* no meaning for vgg19_bn; remove it",
        ),
        (
            lambda c: c["model"].update(arch="torchvision.resnet18"),
            r"config key unlearn\.methods\.cfk: CF-k and EU-k act on the last k stages of resnet18 or vgg19_bn",
        ),
        (
            lambda c: c["model"].update(arch="timm.resnet18"),
            r"config key model\.arch: 'timm\.resnet18' does not match",
        ),
        (
            lambda c: c.update(originals={"path": "/nonexistent/mine.pth"}),
            r"config key originals\.path: /nonexistent/mine\.pth does not exist",
        ),
        (
            lambda c: c.update(originals={"path": str(CONFIGS / "tiny.yaml")}, model_seeds=[1, 2]),
            r"config key model_seeds: \[1, 2\] names 2 originals, but originals\.path gives one model",
        ),
    ],
)
def test_bad_configs_rejected_with_one_clear_sentence(edit, match):
    cfg = tiny()
    edit(cfg)
    with pytest.raises(UserError, match=match) as e:
        validate_config(cfg)
    assert "\n" not in str(e.value)


def test_a_vgg_model_is_not_hashed_with_resnet_s_block_default():
    cfg = tiny()
    cfg["model"] = {"arch": "vgg19_bn", "width": 8}
    assert validate_config(cfg)["model"] == {"arch": "vgg19_bn", "width": 8}


def test_a_baseline_starts_from_its_reference_recipe_over_the_shared_one():
    from amunflow.hyper import resolve_hyper

    u = {"common": {"epochs": 10, "batch_size": 128, "lr": 0.05}, "methods": {"scrub": {}, "ft": {}, "x": None}}
    u["methods"]["x"] = {"method": "unsir", "batch_size": 64, "with_retain": {"epochs": 3}}
    _, scrub = resolve_hyper(u, "scrub", "with_retain")
    assert (scrub["lr"], scrub["epochs"], scrub["batch_size"], scrub["lr_step"]) == (0.0005, 5, 32, 3)
    assert scrub["momentum"] == 0.9 and scrub["msteps"] == 3  # the schema's and the registry's own defaults
    _, ft = resolve_hyper(u, "ft", "with_retain")  # the paper's methods train the shared recipe
    assert (ft["lr"], ft["epochs"], ft["batch_size"]) == (0.05, 10, 128)
    _, x = resolve_hyper(u, "x", "with_retain")  # the instance's keys, then its setting's, win
    assert (x["lr"], x["batch_size"], x["epochs"], x["weight_decay"]) == (0.0001, 64, 3, 0.0)


def test_experiment_units():
    cfg = validate_config(tiny())
    exp = Experiment(cfg)
    assert list(exp.forget_sets) == ["random0.1", "classes-class1"]
    assert exp.all_splits() == [("random0.1", 1), ("random0.1", 2), ("classes-class1", 0)]
    assert exp.split_role("random0.1", 2) == "tuning" and exp.split_role("random0.1", 1) == "eval"
    assert exp.eval_units() == [("random0.1", 1, 1), ("classes-class1", 0, 1)]
    assert forget_set_id({"kind": "random", "size": 5000}) == "random5000"
    assert forget_set_id({"kind": "random", "size": 0.5}) == "random0.5"
    assert forget_set_id({"kind": "classes", "classes": [3, "dog"]}) == "classes-3-dog"
    assert copy.deepcopy(cfg) == validate_config(copy.deepcopy(cfg))  # idempotent


def test_speed_keys_reach_the_scripts_from_the_config():
    from types import SimpleNamespace

    from amunflow.smk import with_speed_keys

    smk = SimpleNamespace(
        config={"attack": {"batch_size": 7, "compile": True, "steps": 3}, "train": {"compile": False}}
    )
    assert with_speed_keys(smk, "attack", {"steps": 3}) == {"steps": 3, "batch_size": 7, "compile": True}
    assert with_speed_keys(smk, "train", {"epochs": 2}) == {"epochs": 2, "compile": False}
    assert with_speed_keys(smk, "train", {"epochs": 2}, overrides={"compile": True}) == {"epochs": 2, "compile": True}


def test_paper_config_is_the_authors_protocol():
    """What config/paper.yaml resolves to, per method and setting: the AMUN code's settings."""
    from amunflow.hyper import grid_points, resolve_hyper, settings_of, tuned_instances

    cfg = validate_config(yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()), check_data=False)
    assert cfg["train"]["precision"] == cfg["attack"]["precision"] == "fp32"  # fp32 throughout
    assert cfg["train"]["epochs"] == 201 and cfg["rmia"]["train"] == {"epochs": 161}
    assert cfg["rmia"]["num_references"] == 128 and cfg["evaluation"]["mis_seed"] == 1
    assert cfg["tuning"]["enabled"] and tuned_instances(cfg) == list(cfg["unlearn"]["methods"])
    assert cfg["tuning"]["model_seeds"] == [1, 10, 100]
    exp = Experiment(cfg)
    assert exp.tuned_forget_sets() == ["random0.1", "random0.5"]  # per forget size
    for inst in cfg["unlearn"]["methods"]:
        for setting in settings_of(cfg["unlearn"], inst):
            method, hp = resolve_hyper(cfg["unlearn"], inst, setting)
            assert hp["precision"] == "fp32" and hp["epochs"] == 10 and hp["batch_size"] == 128
            assert hp["momentum"] == 0.9 and hp["weight_decay"] == 5e-4 and hp["lr_gamma"] == 0.1
            if "mask_ratio" in hp:  # SalUn and AMUN+SalUn: masked weights still decay, as the code
                assert hp["leaky_mask"] is True
            if method == "l1_sparse":
                assert hp["alpha"] == 5e-4 and hp["alpha_schedule"] == "compound"
            if method == "bs":
                assert hp["teacher"] == "after_retain"
            points = grid_points(cfg["tuning"]["grid"], method)
            lrs = sorted({p["lr"] for p in points})
            assert lrs == [1e-5, 1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1] and {p["lr_step"] for p in points} == {1, 5, 10}
            assert len(points) == (42 if method.startswith("amun") else 21)  # amun and advonly for AMUN
    seq = cfg["sequential"]
    assert seq["enabled"] and seq["requests"] == 5 and seq["adaptive"] == ["amun"]


SEED_KEYS = [  # every seed key of the schema, as a path into the config ([0]: a list of seeds)
    ("dataset", "subset_seed"),
    ("dataset", "synthetic", "seed"),
    ("split_seeds", 0),
    ("tuning_seed",),
    ("model_seeds", 0),
    ("attack", "calibration", "seed"),
    ("unlearn", "runs", 0),
    ("rmia", "keep_seed"),
    ("rmia", "auc_seeds", 0),
    ("evaluation", "bootstrap", "seed"),
    ("evaluation", "ulira", "keep_seed"),
    ("evaluation", "mis_seed"),
    ("tuning", "model_seeds", 0),
    ("surrogate", "seed"),
]


def _set(cfg: dict, path: tuple, value) -> None:
    for key, below in zip(path[:-1], path[1:], strict=True):
        cfg = cfg.setdefault(key, [] if isinstance(below, int) else {})
    if isinstance(path[-1], int):
        cfg[:] = [value]
    else:
        cfg[path[-1]] = value


def _name(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


@pytest.mark.parametrize("path", SEED_KEYS, ids=_name)
@pytest.mark.parametrize("seed", [-1, 2**32])
def test_seeds_numpy_cannot_take_are_refused_naming_the_key(path, seed):
    cfg = tiny()
    _set(cfg, path, seed)
    if path == ("tuning_seed",):
        cfg["split_seeds"] = [1]
    with pytest.raises(UserError, match=re.escape(f"config key {_name(path)}: {seed} is ")) as e:
        validate_config(cfg, check_data=False)
    assert "\n" not in str(e.value)


def test_every_seed_key_of_the_schema_is_bounded_to_numpys_range():
    from amunflow.schema import load_schema

    def seeds(schema, path=()):
        for name, sub in schema.get("properties", {}).items():
            if "seed" in name or path + (name,) == ("unlearn", "runs"):
                yield path + (name,), sub.get("items", sub)
            yield from seeds(sub, path + (name,))

    found = dict(seeds(load_schema()))
    assert {p[: len(p) - (isinstance(p[-1], int))] for p in SEED_KEYS} == set(found)
    for path, sub in found.items():
        assert (sub.get("minimum"), sub.get("maximum")) == (0, 2**32 - 1), path
    cfg = tiny()
    for path in SEED_KEYS:
        _set(cfg, path, 2**32 - 1)
    cfg["split_seeds"], cfg["tuning_seed"] = [0], 2**32 - 1
    validate_config(cfg, check_data=False)  # the range's ends are taken


@pytest.mark.parametrize(
    "edit,key,value",
    [
        (lambda c: c["train"].update(lr=math.nan), "train.lr", "nan"),
        (lambda c: c["attack"].update(eps_init=math.inf), "attack.eps_init", "inf"),
        (lambda c: c.update(evaluation={"bootstrap": {"level": math.nan}}), "evaluation.bootstrap.level", "nan"),
        (lambda c: c["unlearn"]["common"].update(lr=math.inf), "unlearn.common.lr", "inf"),
        (lambda c: c["unlearn"]["methods"]["scrub"].update(alpha=math.nan), "unlearn.methods.scrub.alpha", "nan"),
        (
            lambda c: c["unlearn"]["methods"]["rl"].update(forget_only={"lr": -math.inf}),
            "unlearn.methods.rl.forget_only.lr",
            "-inf",
        ),
        (lambda c: c.update(tuning={"grid": {"lr": [0.1, math.nan]}}), r"tuning.grid.lr[1]", "nan"),
        (lambda c: c.update(tuning={"grids": {"scrub": {"alpha": [math.inf]}}}), "tuning.grids.scrub.alpha[0]", "inf"),
        (lambda c: c["forget_sets"][0].update(size=math.inf), "forget_sets[0].size", "inf"),
        (lambda c: c.update(health={"original_train_acc": -math.inf}), "health.original_train_acc", "-inf"),
        (lambda c: c["rmia"].update(train={"lr": math.nan}), "rmia.train.lr", "nan"),
    ],
)
def test_nan_and_inf_are_refused_anywhere_naming_the_key(edit, key, value):
    cfg = tiny()
    edit(cfg)
    with pytest.raises(UserError, match=re.escape(f"config key {key}: {value} is not a finite number")) as e:
        validate_config(cfg, check_data=False)
    assert "\n" not in str(e.value)


def test_config_files_load_with_duplicate_keys_refused(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train: {lr: 0.05, lr: 5.0}\n")
    with pytest.raises(UserError, match=rf"config file {re.escape(str(f))}: key 'lr' is given twice .* line 1") as e:
        load_config_file(f)
    assert "\n" not in str(e.value)
    f.write_text("train:\n  epochs: 3\nmodel: {width: 8}\ntrain:\n  lr: 0.1\n")  # a section given twice
    with pytest.raises(UserError, match=r"key 'train' is given twice .* line 4"):
        load_config_file(f)
    # what yaml.safe_load reads is read the same, a merge key's override included
    f.write_text("base: &b {lr: 0.1, epochs: 3}\ntrain: {<<: *b, lr: 0.05}\n")
    assert load_config_file(f) == yaml.safe_load(f.read_text())
    assert load_config_file(f)["train"] == {"lr": 0.05, "epochs": 3}
    f.write_text("")
    assert load_config_file(f) == {}
    assert load_config_file(ROOT / "config" / "paper.yaml") == yaml.safe_load(
        (ROOT / "config" / "paper.yaml").read_text()
    )


@pytest.mark.parametrize(
    "text,match",
    [
        (None, r"cannot be read \(No such file or directory\)"),
        ("train: {lr: 0.1\n", r"line \d+, column \d+; fix the file\."),
        ("train:\n  lr: 0.1\n lr: 3\n", r"line 3, column 2; fix the file\."),
        ("- 1\n- 2\n", r"holds a list, not a mapping of config keys"),
        ("split_seeds: !!python/tuple [1, 2]\n", r"could not determine a constructor for the tag .*python/tuple"),
        ("split_seeds: !custom [1, 2]\n", r"could not determine a constructor for the tag '!custom'"),
    ],
)
def test_unreadable_config_files_are_named_in_one_sentence(tmp_path, text, match):
    f = tmp_path / "c.yaml"
    if text is not None:
        f.write_text(text)
    with pytest.raises(UserError, match=rf"config file {re.escape(str(f))}: .*{match}") as e:
        load_config_file(f)
    assert "\n" not in str(e.value)


def test_snakemake_refuses_a_config_file_with_a_key_given_twice(tmp_path):
    from .helpers import snakemake

    text = (CONFIGS / "tiny.yaml").read_text().replace("  lr: 0.05\n", "  lr: 0.05\n  lr: 5.0\n", 1)
    assert text.count("lr: 5.0") == 1
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    proc = snakemake(tmp_path / "run", "--configfile", str(path), "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"config file {path}: key 'lr' is given twice in one mapping at line" in out
