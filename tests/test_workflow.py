"""Real Snakemake runs of the DAG on tiny configs."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from amunflow.data import CIFAR10_CLASSES, load_bundle
from amunflow.io import load_model
from amunflow.splits import load_split

from .conftest import snakemake

pytestmark = pytest.mark.workflow


def test_tiny_workflow_trains_originals_and_retrains_then_does_nothing(tmp_path, tiny_config):
    work = tmp_path / "run"
    snakemake(work, "--configfile", str(tiny_config))
    res = work / "results"
    data = load_bundle(res / "data" / "dataset.h5")
    fp = data.fingerprint()

    split = load_split(res / "splits" / "random0.1" / "seed1.h5", fp)
    np.random.seed(1)
    np.testing.assert_array_equal(split.forget, np.random.choice(256, 26, replace=False))
    tune = load_split(res / "splits" / "random0.1" / "seed2.h5", fp)
    assert tune.attrs["role"] == "tuning" and not np.array_equal(np.sort(tune.forget), np.sort(split.forget))
    cls = load_split(res / "splits" / "classes-class1" / "seed0.h5", fp)
    assert set(data.train_y[cls.forget]) == {1} and 1 not in set(data.train_y[cls.retain])

    orig, meta = load_model(res / "models" / "original" / "seed1.pt")
    assert meta["kind"] == "original" and meta["n_train"] == 256 and meta["dataset_fingerprint"] == fp
    assert meta["sample_steps"] == 2 * 256 and meta["model"]["width"] == 4
    for forget, seed, s in (("random0.1", 1, split), ("classes-class1", 0, cls)):
        ret, rmeta = load_model(res / "models" / "retrain" / forget / f"split{seed}" / "seed1.pt")
        assert rmeta["kind"] == "retrain" and rmeta["split_hash"] == s.hash
        assert rmeta["n_train"] == len(s.retain) and rmeta["sample_steps"] == 2 * len(s.retain)
        hist = pd.read_csv(str(res / "models" / "retrain" / forget / f"split{seed}" / "seed1.history.csv"))
        assert len(hist) == 2 and {"forget_acc", "retain_acc", "test_acc"} <= set(hist.columns)
    assert (res / "benchmarks" / "original" / "seed1.tsv").exists()
    log = (res / "logs" / "original" / "seed1.log").read_text()
    assert "epoch 2/2" in log and "saved" in log

    mtimes = {p: p.stat().st_mtime_ns for p in res.rglob("*.pt")}
    again = snakemake(work, "--configfile", str(tiny_config))
    assert "Nothing to be done" in again.stdout + again.stderr
    assert mtimes == {p: p.stat().st_mtime_ns for p in res.rglob("*.pt")}


def test_snakemake_rejects_bad_config_before_running(tmp_path, tiny_config):
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["forget_sets"][0]["size"] = 1000
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path / "run", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "config key forget_sets[0].size: 1000 means 1000 forget samples out of 256" in proc.stderr
    assert not (tmp_path / "run" / "results").exists()


def test_workflow_on_real_cifar_images(tmp_path, cifar_small_zip):
    cfg = {
        "device": "cpu",
        "dataset": {"name": "imagefolder", "root": str(cifar_small_zip)},
        "forget_sets": [{"kind": "random", "size": 20}, {"kind": "classes", "classes": ["cat"]}],
        "split_seeds": [3],
        "tuning_seed": 4,
        "model_seeds": [7],
        "model": {"width": 8},
        "train": {"epochs": 6, "batch_size": 50, "lr": 0.05, "lr_step": 4},
        "resources": {"threads": 2},
    }
    path = tmp_path / "cifar.yaml"
    path.write_text(yaml.safe_dump(cfg))
    snakemake(tmp_path / "run", "--configfile", str(path))
    res = tmp_path / "run" / "results"
    data = load_bundle(res / "data" / "dataset.h5")
    assert data.classes == CIFAR10_CLASSES and data.train_x.shape == (200, 3, 32, 32)
    split = load_split(res / "splits" / "random20" / "seed3.h5")
    np.random.seed(3)
    np.testing.assert_array_equal(split.forget, np.random.choice(200, 20, replace=False))
    cat = load_split(res / "splits" / "classes-cat" / "seed0.h5")
    assert len(cat.forget) == 20 and set(data.train_y[cat.forget]) == {3}
    meta = json.loads((res / "models" / "retrain" / "classes-cat" / "split0" / "seed7.json").read_text())
    assert meta["n_train"] == 180 and meta["final_accuracy"]["forget_acc"] == 0.0  # a class never seen
    hist = pd.read_csv(str(res / "models" / "original" / "seed7.history.csv"))
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
