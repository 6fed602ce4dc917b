"""The default run's shape on a tiny real-CIFAR tree: tuning on, three split seeds, intervals in every
cell, and a method whose only grid point is far too small to change anything named as not having
unlearned in the tables, the ranking, the health checks and the tuning report."""

import pandas as pd
import pytest
import yaml

from .helpers import CONFIGS, dry_run, job_counts, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def verdict_run(tmp_path_factory, cifar_small_zip):
    tmp = tmp_path_factory.mktemp("verdict")
    cfg = yaml.safe_load((CONFIGS / "verdict.yaml").read_text())
    cfg["dataset"]["root"] = str(cifar_small_zip)
    path = tmp / "verdict.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = tmp / "run"
    snakemake(work, "--configfile", str(path))
    return work, path, cfg


def test_a_method_that_did_not_unlearn_is_named_where_the_reader_looks(verdict_run):
    work, _, _ = verdict_run
    res = work / "results"
    runs = pd.read_csv(res / "tables" / "runs.csv")
    # the original memorized its 200 images and the retrains did not see D_F: a distance to close
    refs = runs[runs["setting"] == "reference"].set_index(["method", "split_seed"])["unlearn_acc"]
    for s in (1, 3, 4):
        assert refs[("original", s)] - refs[("retrain", s)] >= 40
    # the share of that distance each run closed, recomputed from the rows by hand
    for r in runs[runs["setting"] == "with_retain"].itertuples():
        o, t = refs[("original", r.split_seed)], refs[("retrain", r.split_seed)]
        assert r.ua_closed == pytest.approx((o - r.unlearn_acc) / (o - t))
    agg = pd.read_csv(res / "tables" / "aggregate.csv").set_index("method")
    assert agg.loc["ft", "unlearned"] == "no" and agg.loc["amun", "unlearned"] == "yes"
    assert agg.loc["ft", "ua_closed_mean"] < 0.25 and agg.loc["ft", "mia_closed_mean"] < 0.25
    for name in ("with_retain.md", "ranking.md", "with_retain.html", "ranking.html"):
        text = (res / "tables" / name).read_text()
        assert "ft (did not unlearn)" in text and "amun (did not unlearn)" not in text, name
    health = pd.read_csv(res / "tables" / "health.csv")
    changed = health[health["check"] == "unlearning changed the model"]
    assert set(changed[changed["scope"].str.startswith("ft ")]["status"]) == {"FAIL"}
    assert set(changed[changed["scope"].str.startswith("amun ")]["status"]) == {"ok"}
    selected = pd.read_csv(res / "tuning" / "selected.csv").set_index("method")
    assert selected.loc["ft", "point"] == "lr1e-07_step3"
    assert "1 selected point(s) did not unlearn" in (res / "tuning" / "selected.html").read_text()
    assert (res / "tuning" / "gap_vs_lr.png").stat().st_size > 10_000


def test_three_seeds_give_every_gap_cell_an_interval_and_the_ranking_a_probability(verdict_run):
    work, _, _ = verdict_run
    res = work / "results"
    agg = pd.read_csv(res / "tables" / "aggregate.csv")
    methods = agg[agg["setting"] == "with_retain"]
    assert set(methods["n_runs"]) == {3}
    assert (methods["avg_gap_ci_lo"] <= methods["avg_gap_mean"]).all()
    assert (methods["avg_gap_mean"] <= methods["avg_gap_ci_hi"]).all()
    assert (methods["avg_gap_ci_hi"] > methods["avg_gap_ci_lo"]).all()
    ranking = (res / "tables" / "ranking.md").read_text()
    rows = [line.split(" | ") for line in ranking.splitlines() if line.startswith(("| amun", "| ft"))]
    assert len(rows) == 2 and sum(float(r[3]) for r in rows) == pytest.approx(1.0)  # P(lowest) sums to one
    health = pd.read_csv(res / "tables" / "health.csv")
    assert set(health[health["check"] == "enough runs for a spread"]["status"]) == {"ok"}


def test_one_more_seed_or_grid_point_runs_only_what_it_adds(verdict_run, tmp_path):
    work, path, cfg = verdict_run
    again = snakemake(work, "--configfile", str(path))
    assert job_counts(again.stdout + again.stderr) == {}  # a finished run does nothing
    more_seeds = {**cfg, "split_seeds": [1, 3, 4, 5]}
    ran = dry_run(work, tmp_path / "seeds.yaml", more_seeds)
    assert ran["train_retrain"] == 1 and ran["unlearn"] == 2 and ran["evaluate"] == 4, ran  # amun, ft, refs
    assert ran["make_split"] == 1, ran
    # D_A over every training image (attack.scope all) serves the new split as it is; nothing of the
    # original, the references or the tuning reruns
    shared = {"build_adversarial", "train_original", "train_reference", "tune_unlearn", "tune_evaluate"}
    assert not (shared | {"select_hyperparameters"}) & set(ran), ran
    grids = {**cfg["tuning"]["grids"], "ft": {"lr": [1.0e-07, 2.0e-07], "lr_step": [3]}}
    more_points = {**cfg, "tuning": {**cfg["tuning"], "grids": grids}}
    points = tmp_path / "points.yaml"
    points.write_text(yaml.safe_dump(more_points))
    out = snakemake(work, "--configfile", str(points))
    ran = job_counts(out.stdout + out.stderr)
    assert ran["tune_unlearn"] == 1 and ran["tune_evaluate"] == 1, ran
    assert not {"train_original", "train_retrain", "train_reference", "build_adversarial"} & set(ran), ran
    # the selection was rewritten, AMUN's selected point with it, unchanged: its runs are not repeated
    # (the selection is read as ancient(); a run reruns when its own selected values change)
    executed = [line for line in (out.stdout + out.stderr).splitlines() if line.strip().startswith("output: ")]
    assert not any("results/unlearn/amun/" in line for line in executed), executed
    # one selection checkpoint per instance: AMUN's is not rerun, so neither are its evaluations
    assert ran["select_hyperparameters"] == 1 and not any("/amun/" in line for line in executed), executed
