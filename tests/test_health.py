"""Each health check fires on a constructed bad case and passes on a good one."""

import pandas as pd
import pytest

from amunflow import UserError
from amunflow.health import checks
from amunflow.jobs.health import health_job
from amunflow.schema import section

BARS = section("health")


def good():
    originals = {1: {"final_accuracy": {"train_acc": 99.0, "test_acc": 75.0}}}
    retrains = [
        {
            "forget_set": "random0.1",
            "split_seed": 1,
            "model_seed": 1,
            "final_accuracy": {"forget_acc": 74.0, "test_acc": 75.5},
        }
    ]
    adversarial = [{"scope": "all", "found_share": 1.0, "share_at_eps_init": 0.3, "repaired": 2}]
    references = [{"in_acc": 98.0}, {"in_acc": 99.5}]
    base = {"forget": "random0.1", "split_seed": 1, "model_seed": 1, "setting": "with_retain", "l2_moved": 0.0}
    runs = pd.DataFrame(
        [
            {
                **base,
                "method": "original",
                "setting": "reference",
                "run": 0,
                "unlearn_acc": 99.0,
                "ua_closed": 0.0,
                "mia_closed": 0.0,
            },
            {
                **base,
                "method": "retrain",
                "setting": "reference",
                "run": 0,
                "unlearn_acc": 74.0,
                "ua_closed": 1.0,
                "mia_closed": 1.0,
            },
            {
                **base,
                "method": "amun",
                "run": 1,
                "unlearn_acc": 80.0,
                "l2_moved": 2.5,
                "ua_closed": 0.76,
                "mia_closed": 0.5,
            },
            {
                **base,
                "method": "amun",
                "run": 2,
                "unlearn_acc": 81.0,
                "l2_moved": 2.4,
                "ua_closed": 0.72,
                "mia_closed": 0.1,
            },
        ]
    )
    agg = pd.DataFrame([{"method": "amun", "setting": "with_retain", "forget": "random0.1", "n_runs": 2}])
    return originals, retrains, adversarial, references, runs, agg


def status(table, check):
    return set(table[table["check"] == check]["status"])


def test_a_healthy_run_passes_every_check():
    table = checks(*good(), BARS)
    assert set(table["status"]) == {"ok"} and len(table) == 8


def untrained_original(o, r, a, f, u, g):
    o[1]["final_accuracy"]["train_acc"] = 71.6  # the old default: 40 epochs of StepLR(16)
    f[:] = [{"in_acc": 71.0}, {"in_acc": 72.0}]  # references trained alike, so only the original fails


def retrain_that_remembers(o, r, a, f, u, g):
    r[0]["final_accuracy"]["forget_acc"] = 99.0


def invalid_adversarial_set(o, r, a, f, u, g):
    a[0]["found_share"] = 0.97


def references_trained_otherwise(o, r, a, f, u, g):
    f.append({"in_acc": 64.0})


def no_op_unlearning(o, r, a, f, u, g):
    u.loc[2, "l2_moved"] = 0.0  # the parameters did not move (epochs 0, or lr 1e-12) ...
    u.loc[2, ["unlearn_acc", "ua_closed", "mia_closed"]] = [99.0, 0.0, 0.0]  # ... and UA is the original's


def a_tenth_of_the_way(o, r, a, f, u, g):
    # the run: UA 96.6 -> 93.8 against a retrain at 70.4 moves UA by 2.8 points (the old bar,
    # 0.1 points, passed it) but closes a tenth of the distance, and the MIA column a fifth
    u.loc[2, ["unlearn_acc", "ua_closed", "mia_closed"]] = [96.5, 0.1, 0.2]


def moved_only_the_mia(o, r, a, f, u, g):
    u.loc[2, ["ua_closed", "mia_closed"]] = [0.05, 0.6]  # UA stayed, the attack no longer sees D_F: ok


def one_run_per_cell(o, r, a, f, u, g):
    g.loc[0, "n_runs"] = 1


@pytest.mark.parametrize(
    "spoil,check",
    [
        (untrained_original, "original memorized its training set"),
        (retrain_that_remembers, "retrain treats D_F as unseen data"),
        (invalid_adversarial_set, "D_A rows are adversarial"),
        (references_trained_otherwise, "references are trained like the original"),
        (no_op_unlearning, "unlearning changed the model"),
        (a_tenth_of_the_way, "unlearning changed the model"),
        (one_run_per_cell, "enough runs for a spread"),
    ],
)
def test_each_check_fires_on_a_bad_case(spoil, check):
    parts = good()
    spoil(*parts)
    table = checks(*parts, BARS)
    assert "FAIL" in status(table, check), table
    assert set(table[table["check"] != check]["status"]) == {"ok"}, table


def test_class_wise_retrains_are_information_only():
    parts = good()
    parts[1][0].update(forget_set="classes-cat", final_accuracy={"forget_acc": 0.0, "test_acc": 70.0})
    assert status(checks(*parts, BARS), "retrain treats D_F as unseen data") == {"info"}


def test_strict_turns_a_failed_check_into_a_failed_job(tmp_path):
    import json

    o, r, a, f, u, g = good()
    untrained_original(o, r, a, f, u, g)
    (tmp_path / "o.json").write_text(json.dumps(o[1]))
    (tmp_path / "r.json").write_text(json.dumps(r[0]))
    pd.DataFrame([a[0]]).to_csv(tmp_path / "a.csv", index=False)
    for i, ref in enumerate(f):
        (tmp_path / f"f{i}.json").write_text(json.dumps(ref))
    u.to_csv(tmp_path / "runs.csv", index=False)
    g.to_csv(tmp_path / "agg.csv", index=False)
    args = (
        {1: tmp_path / "o.json"},
        [tmp_path / "r.json"],
        [tmp_path / "a.csv"],
        [tmp_path / "f0.json", tmp_path / "f1.json"],
        tmp_path / "runs.csv",
        tmp_path / "agg.csv",
    )
    table = health_job(*args, BARS, tmp_path / "h.csv", tmp_path / "h.html")
    assert "FAIL" in set(table["status"]) and "1 of 8 checks failed" in (tmp_path / "h.html").read_text()
    with pytest.raises(UserError, match=r"1 health checks failed \(health.strict is true\), e.g. 'original memorized"):
        health_job(*args, {**BARS, "strict": True}, tmp_path / "h.csv", tmp_path / "h.html")
    assert (tmp_path / "h.csv").exists()  # the table is written before the run fails


def test_a_run_that_closed_the_mia_distance_alone_has_unlearned():
    parts = good()
    moved_only_the_mia(*parts)
    assert status(checks(*parts, BARS), "unlearning changed the model") == {"ok"}


def test_a_run_without_an_original_to_compare_is_information_only():
    parts = good()
    parts[4].loc[2, ["ua_closed", "mia_closed"]] = [float("nan"), float("nan")]  # e.g. original and retrain agree
    table = checks(*parts, BARS)
    assert list(table[table["check"] == "unlearning changed the model"]["status"]) == ["info", "ok"]
