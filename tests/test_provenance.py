"""Artifacts carry their identity (split, kind, lineage, code) and every consumer checks it: a
swapped or stale file is refused with a sentence naming what was found and what was expected."""

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from amunflow import UserError
from amunflow.data import save_bundle, synthetic
from amunflow.gaps import add_gaps
from amunflow.io import atomic_path, file_hash
from amunflow.jobs.data import split_job
from amunflow.jobs.evaluate import evaluate_job
from amunflow.jobs.inputs import open_bundle, open_split
from amunflow.jobs.rmia import keep_job, reference_job
from amunflow.jobs.train import train_job
from amunflow.jobs.unlearn import unlearn_job

RANDOM = {"kind": "random", "size": 0.1}
MODEL = {"arch": "resnet18", "width": 4}
TRAIN = {"epochs": 1, "batch_size": 32, "lr": 0.05}
RMIA = {"temp": 2.0, "margin": 0.6, "taylor_terms": 4, "gamma": 2.0, "auc_seeds": [0, 1, 2]}


@pytest.fixture(scope="module")
def art(tmp_path_factory):
    d = tmp_path_factory.mktemp("prov")
    save_bundle(d / "data.h5", synthetic(n_train=120, n_test=40, num_classes=4, image_size=8, seed=3))
    for seed, role in ((1, "eval"), (10, "eval"), (2, "tuning")):
        split_job(d / "data.h5", RANDOM, "random0.1", seed, role, d / f"split{seed}.h5")
    train_job(d / "data.h5", None, MODEL, TRAIN, 7, "cpu", d / "orig.pt", d / "orig.csv", "original", False)
    for seed in (1, 10):
        train_job(
            d / "data.h5",
            d / f"split{seed}.h5",
            MODEL,
            TRAIN,
            7,
            "cpu",
            d / f"retrain{seed}.pt",
            d / f"retrain{seed}.csv",
            "retrain",
            False,
            expect_split=expect(seed),
        )
    return d


def expect(seed, role="eval"):
    return {"forget_set": "random0.1", "seed": seed, "role": role}


def unlearn(d, model, split, expect_model, out, split_seed=1):
    hyper = {"epochs": 1, "batch_size": 32, "lr": 0.01}
    return unlearn_job(
        model,
        d / "data.h5",
        split,
        None,
        None,
        "ga",
        "ga",
        "forget_only",
        hyper,
        0,
        "cpu",
        out,
        False,
        expect_split=expect(split_seed),
        expect_model=expect_model,
    )


def test_a_swapped_split_file_is_refused_naming_both(art):
    data = open_bundle(art / "data.h5")
    assert open_split(art / "split1.h5", data, expect(1)).attrs["seed"] == 1
    with pytest.raises(
        UserError,
        match=r"split file .*split10\.h5 is not the one this job needs \(its seed is 10 "
        r"where 1 is expected\)",
    ):
        open_split(art / "split10.h5", data, expect(1))  # another valid split in split1's place
    with pytest.raises(UserError, match=r"its role is 'tuning' where 'eval' is expected"):
        open_split(art / "split2.h5", data, {**expect(2), "role": "eval"})


def test_unlearning_refuses_a_retrain_in_the_originals_place(art):
    original = {"kind": "original", "model_seed": 7}
    side = unlearn(art, art / "orig.pt", art / "split1.h5", original, art / "u.pt")
    assert side["model_seed"] == 7 and side["split_seed"] == 1 and side["forget_set"] == "random0.1"
    with pytest.raises(
        UserError,
        match=r"checkpoint .*retrain1\.pt is not the one this job needs \(its kind is "
        r"'retrain' where 'original' is expected\)",
    ):
        unlearn(art, art / "retrain1.pt", art / "split1.h5", original, art / "bad.pt")
    with pytest.raises(UserError, match=r"its model_seed is 7 where 8 is expected"):
        unlearn(art, art / "orig.pt", art / "split1.h5", {"kind": "original", "model_seed": 8}, art / "bad.pt")


def evaluate(art, model, retrain, expect_model, out, refs=(), split="split1.h5", keep=None):
    on_split = expect_model.get("kind") != "original"
    return evaluate_job(
        model,
        art / "data.h5",
        art / split,
        retrain,
        list(refs),
        keep,
        {"method": "m"},
        {"rmia": RMIA, "lira": {"enabled": True, "fix_variance": "auto"}, "mis_seed": 1},
        "cpu",
        art / f"{out}.csv",
        art / f"{out}.npz",
        expect_split=expect(1),
        expect_model=expect_model,
        model_on_split=on_split,
    )


def test_evaluation_refuses_a_retrain_or_model_of_another_split(art):
    unlearned = {"kind": "unlearned", "model_seed": 7}
    unlearn(art, art / "orig.pt", art / "split1.h5", {"kind": "original", "model_seed": 7}, art / "u1.pt")
    row = evaluate(art, art / "u1.pt", art / "retrain1.pt", unlearned, "ok")
    assert row["split_hash"] == open_split(art / "split1.h5", open_bundle(art / "data.h5")).hash
    # the retrain of forget set seed 10 put where seed 1's belongs: the gap would compare different sets
    with pytest.raises(
        UserError,
        match=r"checkpoint .*retrain10\.pt is not the one this job needs \(its "
        r"split_hash is '\w+' where '\w+' is expected\)",
    ):
        evaluate(art, art / "u1.pt", art / "retrain10.pt", unlearned, "bad")
    # an unlearned model made from the other split's file (content swapped in, names alike)
    os.replace(art / "split1.h5", art / "split1.keep")
    try:
        (art / "split1.h5").write_bytes((art / "split10.h5").read_bytes())
        with pytest.raises(UserError, match=r"split file .*split1\.h5 is not the one this job needs"):
            evaluate(art, art / "u1.pt", art / "retrain1.pt", unlearned, "bad")
    finally:
        os.replace(art / "split1.keep", art / "split1.h5")


def test_reference_logits_are_checked_with_their_path(art):
    keep_job(art / "data.h5", 2, 0, art / "keep.npy")
    refs = [art / f"ref{k}.logits.npy" for k in range(2)]
    for k in range(2):
        reference_job(art / "data.h5", art / "keep.npy", k, MODEL, TRAIN, 5, "cpu", art / f"ref{k}.pt", refs[k])
    row = evaluate(art, art / "orig.pt", art / "retrain1.pt", {"kind": "original"}, "refs", refs, keep=art / "keep.npy")
    assert 0 <= row["ft_auc"] <= 100 and 0 <= row["lira_online_auc"] <= 100 and 0 <= row["lira_offline_auc"] <= 100
    assert row["js_to_retrain"] > 0
    np.save(art / "keep3.npy", np.ones((3, 5), bool))
    with pytest.raises(UserError, match=r"keep matrix .*keep3\.npy has shape \(3, 5\)"):
        evaluate(art, art / "orig.pt", art / "retrain1.pt", {"kind": "original"}, "refs", refs, keep=art / "keep3.npy")
    np.save(art / "ref0.logits.npy", np.zeros((5, 4), dtype=np.float32))  # replaced after it was written
    with pytest.raises(UserError, match=r"reference logits .*ref0\.logits\.npy .*cannot be read .*content hash"):
        evaluate(art, art / "orig.pt", art / "retrain1.pt", {"kind": "original"}, "refs", [art / "ref0.logits.npy"])
    side = json.loads((art / "ref0.json").read_text())  # as if code had written the wrong shape itself
    (art / "ref0.json").write_text(json.dumps(dict(side, logits_sha256=file_hash(art / "ref0.logits.npy"))))
    with pytest.raises(UserError, match=r"reference logits .*ref0\.logits\.npy have shape \(5, 4\)"):
        evaluate(art, art / "orig.pt", art / "retrain1.pt", {"kind": "original"}, "refs", [art / "ref0.logits.npy"])
    (art / "ref0.logits.npy").write_bytes(b"not numpy")
    with pytest.raises(UserError, match=r"reference logits .*ref0\.logits\.npy \(or ref0\.json\) cannot be read"):
        evaluate(art, art / "orig.pt", art / "retrain1.pt", {"kind": "original"}, "refs", [art / "ref0.logits.npy"])


def test_aggregation_refuses_rows_of_one_split_seed_from_two_splits():
    rows = [
        {"method": "retrain", "forget": "random0.1", "split_seed": 1, "split_hash": "aaa"},
        {"method": "amun", "forget": "random0.1", "split_seed": 1, "split_hash": "bbb"},
    ]
    with pytest.raises(UserError, match=r"forget set random0\.1, split seed 1 come from 2 different splits"):
        add_gaps(pd.DataFrame(rows), "ft_auc")


def test_results_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "r.csv") as tmp:
            tmp.write_text("x")
        assert stat.S_IMODE((tmp_path / "r.csv").stat().st_mode) == 0o644  # readable by the lab, as open() makes
        os.umask(0o077)
        with atomic_path(tmp_path / "p.csv") as tmp:
            tmp.write_text("x")
        assert stat.S_IMODE((tmp_path / "p.csv").stat().st_mode) == 0o600
    finally:
        os.umask(old)
