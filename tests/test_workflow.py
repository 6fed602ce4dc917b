"""Real Snakemake runs of the DAG on tiny configs. The tests named test_tiny_* read one shared run of
tests/configs/tiny.yaml (in file order: the last one changes the attack's scope in it)."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from amunflow import UserError
from amunflow.adversarial import load_for_forget_set
from amunflow.augment import to_float
from amunflow.checkpoint import load_model
from amunflow.codehash import code_version
from amunflow.config import validate_config
from amunflow.data import CIFAR10_CLASSES, load_bundle
from amunflow.hyper import method_of, settings_of, spec_for
from amunflow.io import file_hash
from amunflow.jobs.epsilon import audit_job
from amunflow.methods import REGISTRY
from amunflow.metrics import lira_scores, logit_scaled_confidence
from amunflow.splits import load_split

from .helpers import CONFIGS, ROOT, dry_run, job_counts, runtime_only_env, snakemake

pytestmark = pytest.mark.workflow


def test_runtime_only_env_blocks_what_only_the_test_extras_install():
    env = runtime_only_env()
    ok = subprocess.run([sys.executable, "-c", "import amunflow.jobs.report, snakemake, torch, sklearn, h5py"], env=env)
    assert ok.returncode == 0
    bad = subprocess.run([sys.executable, "-c", "import pytest"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "only through the test extras" in bad.stderr
    assert "pygments" not in env["AMUNFLOW_BLOCKED_MODULES"].split(",")  # snakemake --report needs it


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One run of the tiny DAG (and its report) with only what `pip install -e .` installs importable."""
    base = tmp_path_factory.mktemp("tiny")
    config = base / "tiny.yaml"
    shutil.copy(CONFIGS / "tiny.yaml", config)
    work, plain = base / "run", runtime_only_env()
    snakemake(work, "--configfile", str(config), env=plain, timeout=1800)  # every method: minutes, not a hang
    snakemake(work, "--configfile", str(config), "--report", str(work / "report.html"), env=plain)
    res = work / "results"
    data = load_bundle(res / "data" / "dataset.h5")
    split = load_split(res / "splits" / "random0.1" / "seed1.h5", data.fingerprint())
    return SimpleNamespace(base=base, config=config, work=work, res=res, data=data, split=split)


def tiny_units(config_path) -> list[tuple[str, str, str, bool]]:
    """(instance, registry method, setting, reads D_A) of every configured run of a tiny config's method
    instances (RUM's runs only where its steps can, and read D_A where a step does)."""
    u = validate_config(yaml.safe_load(Path(config_path).read_text()), check_data=False)["unlearn"]
    return [(i, method_of(u, i), s, spec_for(u, i, s).needs_adv) for i in u["methods"] for s in settings_of(u, i)]


def sidecar(res, method, setting, forget="random0.1", split_seed=1):
    path = res / "unlearn" / method / setting / forget / f"split{split_seed}" / "seed1" / "run1.json"
    return json.loads(path.read_text())


def test_tiny_splits_are_the_papers_draw(tiny):
    np.random.seed(1)
    np.testing.assert_array_equal(tiny.split.forget, np.random.choice(256, 26, replace=False))
    fp = tiny.data.fingerprint()
    tune = load_split(tiny.res / "splits" / "random0.1" / "seed2.h5", fp)
    assert tune.attrs["role"] == "tuning" and not np.array_equal(np.sort(tune.forget), np.sort(tiny.split.forget))
    cls = load_split(tiny.res / "splits" / "classes-class1" / "seed0.h5", fp)
    assert set(tiny.data.train_y[cls.forget]) == {1} and 1 not in set(tiny.data.train_y[cls.retain])


def test_tiny_originals_and_retrains(tiny):
    res, fp = tiny.res, tiny.data.fingerprint()
    _, meta = load_model(res / "models" / "original" / "seed1.pt")
    assert meta["kind"] == "original" and meta["n_train"] == 256 and meta["dataset_fingerprint"] == fp
    assert meta["sample_steps"] == 4 * 256 and meta["model"]["width"] == 8
    for forget, seed in (("random0.1", 1), ("classes-class1", 0)):
        s = load_split(res / "splits" / forget / f"seed{seed}.h5", fp)
        _, rmeta = load_model(res / "models" / "retrain" / forget / f"split{seed}" / "seed1.pt")
        assert rmeta["kind"] == "retrain" and rmeta["split_hash"] == s.hash
        assert rmeta["n_train"] == len(s.retain) and rmeta["sample_steps"] == 4 * len(s.retain)
        hist = pd.read_csv(str(res / "models" / "retrain" / forget / f"split{seed}" / "seed1.history.csv"))
        assert len(hist) == 4 and {"forget_acc", "retain_acc", "test_acc"} <= set(hist.columns)
    assert meta["peak_rss_mb"] > 0 and meta["wall_time_s"] > 0  # cached rules record their cost in sidecars
    log = (res / "logs" / "original" / "seed1.log").read_text()
    assert "epoch 4/4" in log and "saved" in log


def test_tiny_adversarial_set_covers_the_training_set(tiny):
    res, split = tiny.res, tiny.split
    original = res / "models" / "original" / "seed1.pt"
    da = res / "adversarial" / "seed1" / "all.h5"
    imgs, labels, adv = load_for_forget_set(da, original, split, tiny.data.fingerprint())
    np.testing.assert_array_equal(adv.index, split.forget)
    assert (labels[adv.found] != tiny.data.train_y[split.forget][adv.found]).all()
    summary = pd.read_csv(str(res / "adversarial" / "seed1" / "all.summary.csv"))
    assert summary["n"][0] == 256 and summary["paper_bound_mean_grad_evals"][0] == 15
    assert (res / "adversarial" / "seed1" / "all.eps_hist.png").read_bytes()[:4] == b"\x89PNG"


def test_tiny_every_method_runs_in_every_setting_it_supports(tiny):
    split, units = tiny.split, tiny_units(tiny.config)
    assert {(m, s) for m, spec in REGISTRY.items() for s in spec.settings} <= {(m, s) for _, m, s, _ in units}
    for instance, method, setting, reads_adv in units:
        spec = REGISTRY[method]
        side = sidecar(tiny.res, instance, setting)
        assert side["method"] == method and side["setting"] == setting and side["split_hash"] == split.hash
        assert ("retain" in side["seen"]) == (setting == "with_retain")
        # NG+ replays D_F batches; SSD takes no step; SFR-on cycles both streams and steps on neither
        # in its mask pass; SCAR reads D_R for its class statistics without a step
        if method not in ("ngplus", "ssd", "sfron", "scar"):
            assert side["sample_steps"] == sum(side["seen"].values())
        assert side["hyper"]["epochs"] == spec.recipe.get("epochs", 2)  # a reference recipe over common
        # the registry's cost model (what amunflow-estimate adds up) is what the run did; a method that
        # stops by itself (LoTUS, SCAR) is priced at its maximum and records the epochs it ran
        ran = {**side["hyper"], "epochs": side["epochs_run"] or side["hyper"]["epochs"]}
        assert side["method_work"] == spec.cost(setting, ran, len(split.forget), len(split.retain))
        if reads_adv and not spec.wraps:  # (RUM's steps read their groups' rows)
            assert side["seen"]["adversarial"] == 2 * len(split.forget)
    assert (tiny.res / "masks" / "seed1" / "random0.1" / "split1.pt").exists()
    bench = tiny.res / "benchmarks" / "unlearn" / "amun" / "with_retain" / "random0.1" / "split1" / "seed1" / "run1.tsv"
    assert pd.read_csv(str(bench), sep="\t")["max_rss"][0] > 0


def test_tiny_metrics_gaps_and_tables(tiny):
    res, split = tiny.res, tiny.split
    runs = pd.read_csv(str(res / "tables" / "runs.csv"))
    units = tiny_units(tiny.config)
    n_units = len(units)
    assert len(runs) == 2 * (n_units + 2)  # two forget sets; + the retrain and original rows
    assert runs["ft_auc"].between(0, 100).all() and runs["mis"].between(0, 100).all()
    mine = (runs["method"] == "amun") & (runs["setting"] == "with_retain") & (runs["forget"] == "random0.1")
    row, side = runs[mine].iloc[0], sidecar(res, "amun", "with_retain")
    assert row["unlearn_acc"] == pytest.approx(side["final_accuracy"]["forget_acc"])
    assert row["test_acc"] == pytest.approx(side["final_accuracy"]["test_acc"])
    ret = runs[(runs["method"] == "retrain") & (runs["forget"] == "random0.1")].iloc[0]
    gap = np.mean([abs(row[c] - ret[c]) for c in ("unlearn_acc", "retain_acc", "test_acc", "ft_auc")])
    assert row["avg_gap"] == pytest.approx(gap) and ret["avg_gap"] == pytest.approx(0.0)
    assert row["sample_steps_vs_retrain"] == pytest.approx(side["sample_steps"] / (4 * len(split.retain)))
    table = (res / "tables" / "with_retain.md").read_text()
    n_rows = 2 + sum(s == "with_retain" for *_, s, _ in units)  # + original and retrain
    assert table.count("\n") == 1 + n_rows + 2 and "**" in table and "±" not in table.split("\n\n")[0]  # one run
    assert "\\toprule" in (res / "tables" / "forget_only.tex").read_text()
    # LiRA from the same references and keep matrix as RMIA; distances to the retrained model
    lira = [c for c in runs if c.startswith("lira_")]
    assert len(lira) == 6 and runs[lira].apply(lambda c: c.between(0, 100)).all().all()
    assert (ret[["js_to_retrain", "act_dist_to_retrain", "class_acc_gap"]] == 0).all()
    assert row["js_to_retrain"] > 0 and 0 < row["act_dist_to_retrain"] <= np.sqrt(2)
    arrays = np.load(str(res / "metrics" / "amun" / "with_retain" / "random0.1" / "split1" / "seed1" / "run1.npz"))
    y = np.r_[tiny.data.train_y, tiny.data.test_y]
    ref_phi = np.stack([logit_scaled_confidence(np.load(str(res / "rmia" / f"ref{k}.logits.npy")), y) for k in (0, 1)])
    again = lira_scores(arrays["phi"].astype(np.float64), ref_phi, np.load(str(res / "rmia" / "keep.npy")), True)
    np.testing.assert_allclose(arrays["lira_online_score"], again["online"], rtol=1e-3, atol=1e-3)
    audits = (res / "tables" / "audits.md").read_text()
    block = audits.split("**random0.1**")[1].split("**")[0]
    assert "| LiRA TPR@1% |" in block and block.count("\n| ") == 3 + n_units  # head, retrain, original, runs
    amun_line = next(line for line in block.splitlines() if line.startswith("| amun | with_retain |"))
    assert f"| {row['lira_online_auc']:.2f} |" in amun_line
    # per-example difficulty: every run's D_F split into groups by eps and by memorization score
    diff = pd.read_csv(str(res / "tables" / "difficulty.csv"))
    sizes = diff.groupby(["method", "setting", "forget", "run", "grouping"])["n"].sum()
    assert set(diff["grouping"]) == {"eps", "memorization"}
    assert (sizes.xs("random0.1", level="forget") == len(split.forget)).all()
    amun_eps = diff[(diff["method"] == "amun") & (diff["setting"] == "with_retain") & (diff["grouping"] == "eps")]
    first = amun_eps[amun_eps["forget"] == "random0.1"]
    assert len(first) >= 2 and np.average(first["ua"], weights=first["n"]) == pytest.approx(row["unlearn_acc"])
    # each group's UA gap: to the retrain's UA on the same group of the same forget set (the retrain's own: 0)
    unit = ["forget", "split_seed", "model_seed", "grouping", "group"]
    retrain_ua = {tuple(r[unit]): r["ua"] for _, r in diff[diff["method"] == "retrain"].iterrows()}
    for _, r in diff.iterrows():
        assert r["ua_gap"] == pytest.approx(abs(r["ua"] - retrain_ua[tuple(r[unit])])), tuple(r)
    assert (diff.loc[diff["method"] == "retrain", "ua_gap"] == 0).all() and "| UA gap |" in (
        res / "tables" / "difficulty.md"
    ).read_text()


def test_tiny_cost_puts_work_first(tiny):
    """work = sample-steps + the run's other gradient passes, then CPU and wall time."""
    res, split = tiny.res, tiny.split
    _, _, adv = load_for_forget_set(res / "adversarial" / "seed1" / "all.h5", split=split)
    amun_evals = int(adv.grad_evals.sum())  # building D_A for this forget set
    runs = pd.read_csv(str(res / "tables" / "runs.csv"))
    costs = runs[(runs["forget"] == "random0.1") & runs["setting"].isin(["with_retain", "reference"])]
    costs = costs.set_index("method")
    assert costs.loc["amun", "extra_grad_evals"] == amun_evals
    assert costs.loc["amun_salun", "extra_grad_evals"] == amun_evals + len(split.forget)  # + the saliency pass
    assert costs.loc["bs", "extra_grad_evals"] == 2 * len(split.forget)  # one FGSM pass per epoch
    assert costs.loc["ft", "extra_grad_evals"] == 0 and costs.loc["retrain", "work_vs_retrain"] == 1.0
    assert costs.loc["amun", "work_vs_retrain"] == pytest.approx(
        (costs.loc["amun", "sample_steps"] + amun_evals) / costs.loc["retrain", "sample_steps"]
    )
    assert (costs["cpu_time_s"] > 0).all()
    cost_md = (res / "tables" / "cost.md").read_text()
    assert cost_md.startswith("| method | setting | forget | n_runs | work ÷ retrain |") and "load-dependent" in cost_md


def test_tiny_plots_and_the_report_from_the_plain_install(tiny):
    for png in ("gap", "confidence_with_retain", "roc_ft_forget_only"):
        assert (tiny.res / "plots" / f"{png}.png").read_bytes()[:4] == b"\x89PNG"
    html = (tiny.work / "report.html").read_text()
    assert "gap.png" in html and "with_retain.html" in html and "cost.html" in html and "eps_hist.png" in html
    assert "health.html" in html and "paper.html" in html and "ranking.html" in html


def test_tiny_health_ranking_and_the_paper_side_by_side(tiny):
    health = pd.read_csv(str(tiny.res / "tables" / "health.csv"))
    status = health.groupby("check")["status"].agg(set).to_dict()
    assert status["original memorized its training set"] == {"FAIL"}  # 4 epochs on 256 images: far from it
    assert status["enough runs for a spread"] == {"FAIL"}  # one run per cell
    assert status["D_A rows are adversarial"] == {"ok"}
    assert status["retrain treats D_F as unseen data"] <= {"ok", "FAIL", "info"}  # class-wise: info
    assert "info" in status["retrain treats D_F as unseen data"]
    ranking = (tiny.res / "tables" / "ranking.md").read_text()
    assert "**with_retain, random0.1**" in ranking and "P(lowest)" in ranking
    paper = pd.read_csv(str(tiny.res / "tables" / "paper.csv"))
    assert set(paper["forget"]) == {"random0.1"}  # the class-wise set has no paper cell
    amun = paper[(paper["method"] == "amun") & (paper["setting"] == "with_retain") & (paper["metric"] == "avg_gap")]
    assert amun["paper"].iloc[0] == 0.62
    text = (tiny.res / "tables" / "paper.md").read_text()
    assert "the run's protocol differs (dataset synthetic" in text and "Kendall's tau" in text
    agg = pd.read_csv(str(tiny.res / "tables" / "aggregate.csv"))
    assert "avg_gap_ci_lo" in agg and agg["avg_gap_ci_lo"].isna().all()  # one run: no interval


def test_tiny_rerun_does_nothing(tiny):
    mtimes = {p: p.stat().st_mtime_ns for p in tiny.res.rglob("*.pt")}
    again = snakemake(tiny.work, "--configfile", str(tiny.config))
    assert "Nothing to be done" in again.stdout + again.stderr
    assert mtimes == {p: p.stat().st_mtime_ns for p in tiny.res.rglob("*.pt")}


def test_tiny_changes_rerun_only_what_depends_on_them(tiny):
    units = {}  # instance -> its runs: settings x forget sets
    for instance, *_ in tiny_units(tiny.config):
        units[instance] = units.get(instance, 0) + 2
    # one method's learning rate: its runs, their metrics and the aggregates
    cfg = yaml.safe_load(tiny.config.read_text())
    cfg["unlearn"]["methods"] = {"amun": {"lr": 0.02, "lr_step": 1}}
    plan = dry_run(tiny.work, tiny.base / "lr.yaml", cfg)
    assert plan == {
        "unlearn": units["amun"],
        "evaluate": units["amun"],
        "aggregate": 1,
        "difficulty": 1,
        "plots": 1,
        "health": 1,
        "compare_paper": 1,
        "all": 1,
    }, plan
    # the attack's step count: D_A and everything after it, but no training
    cfg = yaml.safe_load(tiny.config.read_text())
    cfg["attack"]["steps"] = 6
    plan = dry_run(tiny.work, tiny.base / "steps.yaml", cfg)
    da_users = 2 * sum(reads_adv for *_, reads_adv in tiny_units(tiny.config))
    assert plan == {
        "build_adversarial": 1,
        "summarize_adversarial": 1,
        "unlearn": da_users,
        "evaluate": da_users,
        "aggregate": 1,
        "difficulty": 1,
        "health": 1,
        "compare_paper": 1,
        "plots": 1,
        "all": 1,
    }, plan
    # speed-only keys (attack batch size, torch.compile, evaluation batch size): nothing
    cfg = yaml.safe_load(tiny.config.read_text())
    cfg["attack"]["batch_size"] = 7
    cfg["train"]["compile"] = True
    cfg["train"]["eval_batch_size"] = 64
    assert dry_run(tiny.work, tiny.base / "speed.yaml", cfg) == {}


def test_tiny_artifacts_record_the_code_that_made_them(tiny):
    script = ROOT / "workflow" / "scripts" / "train.py"
    side = json.loads((tiny.res / "models" / "original" / "seed1.json").read_text())
    assert side["code_version"] == code_version("jobs.train", script=str(script))
    runs = pd.read_csv(str(tiny.res / "tables" / "runs.csv"))
    bs = runs[runs["method"] == "bs"]["code_version"].iloc[0]
    script = str(ROOT / "workflow" / "scripts" / "unlearn.py")
    assert (
        bs
        == code_version("jobs.unlearn", "methods.bs", script=script)
        != code_version("jobs.unlearn", "methods.ga", script=script)
    )


def edited_copy(tmp_path, edits: dict):
    """A copy of the workflow and package with ``edits`` (file -> (old, new)) applied."""
    copy = tmp_path / "copy"
    copy.mkdir(parents=True)
    for name in ("Snakefile", "rules", "workflow", "profiles", "envs"):
        src = ROOT / name
        shutil.copytree(src, copy / name, symlinks=True) if src.is_dir() else shutil.copy(src, copy / name)
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for rel, (old, new) in edits.items():
        path = copy / rel
        text = path.read_text()
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1))
    return copy


def plan_with(copy, tiny) -> dict:
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(copy / "Snakefile"), "-d", str(tiny.work), "--cores", "2", "-n",
           "--configfile", str(tiny.config)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return job_counts(proc.stdout + proc.stderr)


def test_tiny_code_changes_rerun_exactly_what_they_change(tiny, tmp_path):
    """A comment, docstring or layout edit reruns nothing; a change to what code does reruns the jobs
    whose code it is, and only them (never the training when an audit changes)."""
    cosmetic = {
        "src/amunflow/train.py": ('"""Training on a device-resident', '# a comment\n"""Training, on a device-resident'),
        "workflow/scripts/unlearn.py": ("def main(smk, logfile):", "def main(smk, logfile):  # reformatted"),
    }
    assert plan_with(edited_copy(tmp_path / "a", cosmetic), tiny) == {}
    audit = {"src/amunflow/metrics.py": ("100.0 * float(np.mean(v)) for", "100.0 * float(np.mean(v)) + 0.0 for")}
    plan = plan_with(edited_copy(tmp_path / "b", audit), tiny)
    n_metrics = 2 * (len(tiny_units(tiny.config)) + 2)
    assert plan == {
        "evaluate": n_metrics,
        "aggregate": 1,
        "difficulty": 1,
        "plots": 1,
        "health": 1,
        "compare_paper": 1,
        "all": 1,
    }, plan
    method = {"src/amunflow/methods/bs.py": ('r.hp.extra["discretize"]', 'bool(r.hp.extra["discretize"])')}
    plan = plan_with(edited_copy(tmp_path / "c", method), tiny)
    n_bs = 2 * len(REGISTRY["bs"].settings)
    assert plan == {
        "unlearn": n_bs,
        "evaluate": n_bs,
        "aggregate": 1,
        "difficulty": 1,
        "plots": 1,
        "health": 1,
        "compare_paper": 1,
        "all": 1,
    }, plan


def test_tiny_per_forget_set_attack_gives_the_same_rows(tiny):
    """Last: it changes the shared run. Only the attack jobs and their dependents run."""
    res, split = tiny.res, tiny.split
    imgs, labels, _ = load_for_forget_set(res / "adversarial" / "seed1" / "all.h5", split=split)
    cfg = yaml.safe_load(tiny.config.read_text())
    cfg["attack"]["scope"] = "forget"
    forget_cfg = tiny.base / "forget.yaml"
    forget_cfg.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tiny.work, "--configfile", str(forget_cfg))
    ran = job_counts(proc.stdout + proc.stderr)
    da_users = 2 * sum(reads_adv for *_, reads_adv in tiny_units(tiny.config))
    assert ran == {
        "build_adversarial": 2,
        "summarize_adversarial": 2,
        "unlearn": da_users,
        "evaluate": da_users,
        "aggregate": 1,
        "difficulty": 1,
        "health": 1,
        "compare_paper": 1,
        "plots": 1,
        "all": 1,
    }, ran
    f_imgs, f_labels, _ = load_for_forget_set(res / "adversarial" / "seed1" / "random0.1" / "split1.h5", split=split)
    np.testing.assert_array_equal(f_labels, labels)
    np.testing.assert_allclose(f_imgs, imgs, atol=1e-5)


def test_tiny_a_swapped_split_is_refused_before_it_is_used(tiny):
    """Last of the shared run: another valid split file (same mtime) in place of the evaluation split
    stops the next job that reads it, naming the file and both identities."""
    split = tiny.res / "splits" / "random0.1" / "seed1.h5"
    keep = split.with_suffix(".keep")
    times = split.stat()
    shutil.copy(split, keep)
    try:
        shutil.copy(tiny.res / "splits" / "random0.1" / "seed2.h5", split)  # the tuning split
        os.utime(split, ns=(times.st_atime_ns, times.st_mtime_ns))
        cfg = yaml.safe_load(tiny.config.read_text())
        cfg["unlearn"]["methods"] = {"amun": {"lr": 0.02, "lr_step": 1}}
        path = tiny.base / "swap.yaml"
        path.write_text(yaml.safe_dump(cfg))
        proc = snakemake(tiny.work, "--configfile", str(path), check=False)
        assert proc.returncode != 0
        out = proc.stdout + proc.stderr
        assert "split file results/splits/random0.1/seed1.h5 is not the one this job needs" in out, out[-3000:]
        assert "its seed is 2 where 1 is expected" in out and "its role is 'tuning' where 'eval' is expected" in out
    finally:
        os.replace(keep, split)


def test_tiny_a_damaged_checkpoint_or_metrics_file_is_refused_not_reported(tiny):
    """After the shared run: one byte flipped in an unlearned checkpoint, and one digit changed in a
    metrics file, each with its modification time kept (a flaky disk, not an edit Snakemake sees). The
    evaluation that reads the checkpoint, and the aggregation that reads the metrics, refuse them by
    name; no table is written from them."""
    where = Path("ft") / "with_retain" / "random0.1" / "split1" / "seed1"  # untouched by the swap test
    ckpt, csv = tiny.res / "unlearn" / where / "run1.pt", tiny.res / "metrics" / where / "run1.csv"
    kept = {p: (p.read_bytes(), p.stat()) for p in (ckpt, csv, csv.with_suffix(".npz"))}
    tables = {p: p.read_bytes() for p in (tiny.res / "tables").glob("*.csv")}
    kept.update({p: (p.read_bytes(), p.stat()) for p in (tiny.res / "tables").iterdir()})

    def restore(files):
        for p, (data, times) in files.items():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            os.utime(p, ns=(times.st_atime_ns, times.st_mtime_ns))

    def damage(path, edit):
        times = path.stat()
        path.write_bytes(edit(path.read_bytes()))
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))

    try:
        damage(ckpt, lambda b: b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 1]) + b[len(b) // 2 + 1 :])
        target = str(csv.relative_to(tiny.work))
        again = snakemake(tiny.work, "--configfile", str(tiny.config), "-n", target)
        assert "Nothing to be done" in again.stdout + again.stderr  # the damage is invisible to Snakemake
        proc = snakemake(tiny.work, "--configfile", str(tiny.config), "-f", target, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and f"checkpoint {ckpt.relative_to(tiny.work)} cannot be read" in out, out[-3000:]
        assert "content hash" in out
        restore(kept)  # the failed job's outputs (and their folder) were removed: put them back
        row = csv.read_text().split("\n")[1].split(",")
        ua = pd.read_csv(csv).columns.get_loc("unlearn_acc")
        changed = ",".join(row[:ua] + [str(float(row[ua]) + 10)] + row[ua + 1 :])
        damage(csv, lambda b: b.decode().replace(",".join(row), changed).encode())
        assert pd.read_csv(csv)["unlearn_acc"][0] == float(row[ua]) + 10  # pandas would read it as it is
        proc = snakemake(tiny.work, "--configfile", str(tiny.config), "--forcerun", "aggregate", check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and f"metrics file {csv.relative_to(tiny.work)} cannot be used" in out, out[-3000:]
        assert "does not match the checksum" in out
        now = {p: p.read_bytes() for p in (tiny.res / "tables").glob("*.csv")}
        assert tiny.res / "tables" / "aggregate.csv" not in now  # the failed aggregation's outputs are gone
        assert all(tables[p] == data for p, data in now.items())  # and nothing was written from the damage
    finally:
        restore(kept)


def test_a_report_of_an_unfinished_run_says_what_remains(tmp_path, tiny_config):
    proc = snakemake(tmp_path / "run", "--configfile", str(tiny_config), "--report", "r.html", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and not (tmp_path / "run" / "r.html").exists()
    assert re.search(r"the run is unfinished: (\d+) of its \1 results are missing \(metrics/ \(\d+\), ", out), out
    assert "MissingInputException" not in out


def test_snakemake_rejects_bad_config_before_running(tmp_path, tiny_config):
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["forget_sets"][0]["size"] = 1000
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path / "run", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "config key forget_sets[0].size: 1000 means 1000 forget samples out of 256" in proc.stderr
    assert not (tmp_path / "run" / "results").exists()
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["unlearn"]["methods"] = {"salun": {"mask_ratio": 2}}
    bad.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path / "run", "--configfile", str(bad), check=False)
    assert (
        proc.returncode != 0 and "unlearn.methods.salun.mask_ratio: 2 is greater than the maximum of 1" in proc.stderr
    )
    assert not (tmp_path / "run" / "results").exists()
    if not torch.cuda.is_available():  # device: cuda without a GPU: refused before the first job
        proc = snakemake(tmp_path / "run", "--configfile", str(tiny_config), "--config", "device=cuda", check=False)
        assert proc.returncode != 0 and "config key device: cuda was asked for but no CUDA device" in proc.stderr
        assert not (tmp_path / "run" / "results").exists()


def test_a_changed_source_rebuilds_the_bundle_and_is_not_served_from_the_cache(tmp_path, cifar_small_zip, monkeypatch):
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "hashes"))
    (tmp_path / "cache").mkdir()
    source = tmp_path / "images.zip"
    shutil.copy(cifar_small_zip, source)
    cfg = {
        "device": "cpu",
        "dataset": {"name": "imagefolder", "root": str(source)},
        "forget_sets": [{"kind": "random", "size": 20}],
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    target = "results/data/dataset.h5"
    snakemake(tmp_path / "a", target, "--cache", "--configfile", str(path))
    snakemake(tmp_path / "same", target, "--cache", "--configfile", str(path))
    log = Path("results") / "logs" / "prepare_dataset.log"
    same_log = tmp_path / "same" / log
    assert not same_log.exists() or same_log.read_text() == ""  # the same source: served from the cache
    with zipfile.ZipFile(cifar_small_zip) as zin, zipfile.ZipFile(source, "w") as zout:  # one image fewer
        names = [n for n in zin.namelist() if n.endswith(".jpg")]
        for n in names[:-1]:
            zout.writestr(n, zin.read(n))
    plan = snakemake(tmp_path / "a", target, "-n", "--configfile", str(path))
    assert job_counts(plan.stdout + plan.stderr) == {"prepare_dataset": 1}  # planned again
    snakemake(tmp_path / "b", target, "--cache", "--configfile", str(path))
    assert "decode train" in (tmp_path / "b" / log).read_text()  # built from the changed zip
    assert len(list((tmp_path / "cache").iterdir())) == 2
    a, b = load_bundle(tmp_path / "a" / target), load_bundle(tmp_path / "b" / target)
    assert a.attrs["source_hash"] != b.attrs["source_hash"]
    assert len(b.train_y) + len(b.test_y) == len(a.train_y) + len(a.test_y) - 1


def test_workflow_on_real_cifar_images(tmp_path, cifar_small_zip):
    """Real images from a zip, with a random, a class-wise and a listed forget set (a deletion request
    naming image paths and an index, tuned on a random set of its size)."""
    with zipfile.ZipFile(cifar_small_zip) as zf:
        dogs = sorted(n.removeprefix("cifar-small/") for n in zf.namelist() if "/train/dog/" in n)
    request = tmp_path / "request.csv"
    request.write_text("unlearn_idx\n" + "\n".join([*dogs[:4], "0", "199"]) + "\n")
    cfg = {
        "device": "cpu",
        "dataset": {"name": "imagefolder", "root": str(cifar_small_zip)},
        "forget_sets": [
            {"kind": "random", "size": 20},
            {"kind": "classes", "classes": ["cat"]},
            {"kind": "list", "path": str(request)},
        ],
        "tuning": {"enabled": True, "grids": {"amun": {"lr": [0.01], "lr_step": [1], "mixture": ["full"]}}},
        "split_seeds": [3],
        "tuning_seed": 4,
        "model_seeds": [7],
        "model": {"width": 8},
        "train": {"epochs": 6, "batch_size": 50, "lr": 0.05, "lr_step": 4},
        "resources": {"threads": 2},
        "attack": {"steps": 10},
        "unlearn": {"common": {"epochs": 1}, "methods": {"amun": {"lr": 0.01}}, "threads": 2},
        "rmia": {"num_references": 2, "train": {"epochs": 2}},
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
    # the request: its images (the first four training dogs, ImageFolder's first and last training
    # images), in its order; its tuning set a random draw of its size with the tuning seed
    listed = load_split(res / "splits" / "list-request" / "seed0.h5")
    source = data.attrs["train_source_index"][listed.forget]
    assert source.tolist() == [100, 101, 102, 103, 0, 199] and set(data.train_y[listed.forget[:4]]) == {5}
    tune = load_split(res / "splits" / "list-request" / "seed4.h5")
    np.random.seed(4)
    np.testing.assert_array_equal(tune.forget, np.random.choice(200, 6, replace=False))
    # an edited request (same size) reruns its split and what depends on it, and no tuning; the same
    # content written again reruns nothing
    request.write_text("unlearn_idx\n" + "\n".join([*dogs[4:8], "0", "199"]) + "\n")
    plan = dry_run(tmp_path / "run", path, cfg)
    assert plan["make_split"] == 1 and plan["train_retrain"] == 1 and plan["unlearn"] == 2, plan
    assert not {"prepare_dataset", "train_original", "tune_unlearn", "tune_evaluate"} & set(plan), plan
    request.write_text("unlearn_idx\n" + "\n".join([*dogs[:4], "0", "199"]) + "\n")
    assert dry_run(tmp_path / "run", path, cfg) == {}


def test_scar_distils_on_surrogate_images_of_the_dataset_root(tmp_path, cifar_small_zip):
    """SCAR with surrogate: images reads results/data/surrogate.h5, drawn from the training images of the
    dataset's zip that the bundle did not draw; another draw seed reruns the surrogate and the runs that read
    it, nothing upstream."""
    cfg = {
        "device": "cpu",
        "dataset": {"name": "imagefolder", "root": str(cifar_small_zip), "subset": 150, "test_subset": 30},
        "surrogate": {"root": str(cifar_small_zip), "size": 50, "seed": 0},
        "forget_sets": [{"kind": "random", "size": 15}],
        "tuning": {"enabled": False},
        "split_seeds": [3],
        "model_seeds": [7],
        "model": {"width": 8},
        "train": {"epochs": 3, "batch_size": 50, "lr": 0.05, "lr_step": 2},
        "resources": {"threads": 2},
        "attack": {"steps": 5},
        "unlearn": {
            "settings": ["forget_only"],
            "common": {"epochs": 1, "batch_size": 16},
            "methods": {
                "scar_images": {"method": "scar", "surrogate": "images", "surrogate_size": 40, "surrogate_steps": 1},
                "scar": {"surrogate_size": 40, "surrogate_steps": 1},
            },
            "threads": 2,
        },
        "rmia": {"enabled": False},
        "evaluation": {"mia_column": "mis"},
    }
    path = tmp_path / "surrogate.yaml"
    path.write_text(yaml.safe_dump(cfg))
    snakemake(tmp_path / "run", "--configfile", str(path))
    res = tmp_path / "run" / "results"
    data = load_bundle(res / "data" / "dataset.h5")
    with h5py.File(res / "data" / "surrogate.h5") as f:
        sur = f["x"][()]
    assert sur.shape == (50, 3, 32, 32)
    assert not {a.tobytes() for a in sur} & {a.tobytes() for a in np.concatenate([data.train_x, data.test_x])}
    unit = "forget_only/random15/split3/seed7/run1.json"
    side = json.loads((res / "unlearn" / "scar_images" / unit).read_text())
    noise = json.loads((res / "unlearn" / "scar" / unit).read_text())
    assert side["surrogate"] == "results/data/surrogate.h5" and side["seen"]["surrogate"] > 0
    assert noise["surrogate"] is None
    plan = dry_run(tmp_path / "run", path, {**cfg, "surrogate": {**cfg["surrogate"], "seed": 1}})
    assert plan["prepare_surrogate"] == 1 and plan["unlearn"] == 1 and plan["evaluate"] == 1, plan
    assert not {"prepare_dataset", "train_original", "make_split", "train_retrain"} & set(plan), plan


def test_killed_run_restarts_cleanly(tmp_path, tiny_config):
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"]["epochs"] = 40
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = tmp_path / "run"
    target = "results/models/original/seed1.pt"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(work),
        "--cores",
        "2",
        target,
        "--configfile",
        str(path),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    log = work / "results" / "logs" / "original" / "seed1.log"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and "epoch 3/40" in log.read_text()):
        time.sleep(0.2)
    assert log.exists() and "epoch 3/40" in log.read_text(), "training never started"
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job tree, mid-training
    proc.wait()
    folder = work / "results" / "models" / "original"
    assert not (folder / "seed1.pt").exists() and not (folder / "seed1.json").exists()
    assert not (folder / "seed1.history.csv").exists()  # the history is only renamed into place at the end

    # as after a power loss or OOM kill: release the stale lock, then run again
    snakemake(work, "--unlock", "--configfile", str(path))
    snakemake(work, target, "--configfile", str(path))
    _, meta = load_model(folder / "seed1.pt")
    assert meta["epochs"] == 40 and meta["sample_steps"] == 40 * 256
    assert len(pd.read_csv(str(folder / "seed1.history.csv"))) == 40
    assert not list((work / "results").rglob("*.tmp")), "a partial file was left behind"


def test_shared_artifacts_come_from_the_between_workflow_cache(tmp_path, tiny_config, monkeypatch):
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    target = "results/models/original/seed1.pt"
    snakemake(tmp_path / "a", target, "--cache", "--configfile", str(tiny_config))
    second = snakemake(tmp_path / "b", target, "--cache", "--configfile", str(tiny_config))
    a, b = tmp_path / "a" / target, tmp_path / "b" / target
    assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "b" / target.replace(".pt", ".json")).exists()
    assert b.is_symlink() and b.resolve().parent == tmp_path / "cache"
    log = tmp_path / "b" / "results" / "logs" / "original" / "seed1.log"
    assert not log.exists() or log.read_text() == ""  # not trained again
    assert "Symlinking output file results/models/original/seed1.pt from cache" in second.stdout + second.stderr


def test_ulira_on_a_tiny_dag(tmp_path):
    """U-LiRA end to end (tests/configs/ulira.yaml: 4 shadows, a memorized forget set): exact unlearning
    (a second retrain) reads near 50%, no unlearning far above; each shadow unlearns its share of D_F."""
    work = tmp_path / "run"
    proc = snakemake(work, "--configfile", str(CONFIGS / "ulira.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["ulira_shadow_original"] == 4 and counts["ulira_shadow_retrain"] == 8  # + the calibration row's
    assert counts["ulira_shadow_unlearn"] == 4 and counts["ulira_attack"] == 3
    res = work / "results"
    data = load_bundle(res / "data" / "dataset.h5")
    fp, n = data.fingerprint(), len(data.train_y)
    target = load_split(res / "splits" / "memorized40-q0.5-1.0" / "seed1.h5", fp)
    # the forget set comes from the upper half of the references' memorization scores
    y = np.r_[data.train_y, data.test_y]
    keep = np.load(str(res / "rmia" / "keep.npy"))
    right = np.stack([np.load(str(res / "rmia" / f"ref{k}.logits.npy")).argmax(1) == y for k in (0, 1)])
    mem = np.array([right[keep[:, i], i].mean() - right[~keep[:, i], i].mean() for i in range(len(y))])[:n]
    assert mem[target.forget].min() >= np.sort(mem)[n // 2] and len(target.forget) == 40
    shadow_keep = np.load(str(res / "ulira" / "keep.npy"))
    assert shadow_keep.shape == (4, n) and (shadow_keep.sum(0) == 2).all()
    for s in range(4):
        base = res / "ulira" / "shadows" / f"shadow{s}"
        _, orig = load_model(base / "original.pt")
        assert orig["kind"] == "original" and orig["n_train"] == shadow_keep[s].sum()  # about half
        sh = load_split(base / "memorized40-q0.5-1.0" / "split1" / "split.h5", fp)
        inside = np.flatnonzero(shadow_keep[s])
        np.testing.assert_array_equal(sh.forget, [i for i in target.forget if shadow_keep[s, i]])  # D_F's order
        np.testing.assert_array_equal(sh.retain, np.setdiff1d(inside, target.forget))
        _, ret = load_model(base / "memorized40-q0.5-1.0" / "split1" / "retrain.pt")
        assert ret["split_hash"] == sh.hash and ret["n_train"] == len(sh.retain)
        _, unl = load_model(base / "memorized40-q0.5-1.0" / "split1" / "unlearn" / "amun" / "with_retain.pt")
        assert unl["split_hash"] == sh.hash and unl["source_checkpoint"].endswith(f"shadow{s}/original.pt")
    table = pd.read_csv(str(res / "tables" / "ulira.csv")).set_index("method")
    assert table.loc["original", "ulira_acc"] > 75  # the shadow originals still fit their forget examples
    assert 35 < table.loc["retrain", "ulira_acc"] < 65  # a second retrain cannot be told from the first
    assert np.isnan(table.loc["retrain", "ulira_target_acc"])  # no second target retrain to judge
    assert table.loc["original", "ulira_target_acc"] > 50 and table.loc["original", "n_targets"] == 1
    assert (table["ulira_examples"] == 2 * 40).all()  # every example judged in each of the 2 shadows it is in
    assert "50 = indistinguishable" in (res / "tables" / "ulira.md").read_text()
    again = snakemake(work, "--configfile", str(CONFIGS / "ulira.yaml"))
    assert job_counts(again.stdout + again.stderr) == {}
    # a change to how the attacks score reruns the attack (and the evaluations), never a shadow's training
    audit = {"src/amunflow/metrics.py": ("100.0 * float(np.mean(v)) for", "100.0 * float(np.mean(v)) + 0.0 for")}
    plan = plan_with(edited_copy(tmp_path / "edit", audit), SimpleNamespace(work=work, config=CONFIGS / "ulira.yaml"))
    assert plan["ulira_attack"] == 3 and plan["evaluate"] == 3, plan
    assert not [rule for rule in plan if rule.startswith(("ulira_shadow", "train", "unlearn", "make_split"))], plan


def _phi_and_right(path, x, y):
    """An independent forward pass: the plain model in eval mode (no BatchNorm folding), the log-softmax's
    true-class log-probability minus log(1 - p_y), and whether the argmax is right."""
    model, _ = load_model(path)
    model.eval()
    with torch.no_grad():
        logp = torch.log_softmax(model(to_float(torch.as_tensor(x), False)).double(), 1)
    lp = logp[torch.arange(len(y)), torch.as_tensor(y)]
    return (lp - torch.log1p(-lp.exp())).numpy(), (logp.argmax(1).numpy() == y)


def test_epsilon_and_klom_on_a_tiny_dag(tmp_path):
    """The epsilon / KLOM stage end to end (tests/configs/epsilon.yaml, N = 8): the rows' models are the
    unlearn and retrain stages' own jobs with N distinct seeds, the scores an independent forward pass
    gives, the calibration rows at their ends of the scale; a rerun does nothing, a damaged scores file
    is refused, and adding a method runs only that method's models."""
    work, cfg = tmp_path / "run", CONFIGS / "epsilon.yaml"
    proc = snakemake(work, "--configfile", str(cfg))
    counts = job_counts(proc.stdout + proc.stderr)
    # 8 retrains + the calibration row's 8 more; AMUN's 8 runs and ft's one main run
    assert counts["train_retrain"] == 16 and counts["unlearn"] == 9, counts
    assert counts["epsilon_scores"] == 4 and counts["epsilon_audit"] == 3, counts
    res = work / "results"
    data = load_bundle(res / "data" / "dataset.h5")
    split = load_split(res / "splits" / "random32" / "seed1.h5", data.fingerprint())
    scores = {
        name: np.load(str(res / "epsilon" / "scores" / name / "random32" / "split1.npz"))
        for name in ("retrain/reference", "retrain_again/reference", "original/reference", "amun/with_retain")
    }
    first, second = scores["retrain/reference"]["seeds"], scores["retrain_again/reference"]["seeds"]
    assert first.tolist() == [1, 0, 2, 3, 4, 5, 6, 7] and second.tolist() == list(range(8, 16))
    amun_seeds = scores["amun/with_retain"]["seeds"].tolist()
    assert len(set(amun_seeds)) == 8 and amun_seeds[0] == 1 * 1000003 + 1 * 1009 + 1  # the main run's seed first
    assert len(set(scores["original/reference"]["seeds"].tolist())) == 1
    x, y = np.concatenate([data.train_x, data.test_x]), np.concatenate([data.train_y, data.test_y])
    ra = []
    for k, m in enumerate(first):
        path = res / "models" / "retrain" / "random32" / "split1" / f"seed{m}.pt"
        phi, right = _phi_and_right(path, x, y)
        if k < 2:
            np.testing.assert_allclose(scores["retrain/reference"]["score"][k], phi, rtol=1e-3, atol=2e-3)
        ra.append(100 * right[split.retain].mean())
    phi, _ = _phi_and_right(
        res / "unlearn" / "amun" / "with_retain" / "random32" / "split1" / "seed1" / "run3.pt", x, y
    )
    np.testing.assert_allclose(
        scores["amun/with_retain"]["score"][amun_seeds.index(1000003 + 1009 + 3)], phi, rtol=1e-3, atol=2e-3
    )
    table = pd.read_csv(str(res / "tables" / "epsilon.csv")).set_index("method")
    assert table.loc["retrain", "ra_retrain"] == pytest.approx(np.mean(ra))
    for name in ("original", "retrain", "amun"):
        setting = "with_retain" if name == "amun" else "reference"
        eps = pd.read_csv(str(res / "epsilon" / "audit" / name / setting / "random32" / "split1.examples.csv"))
        assert eps["index"].tolist() == split.forget.tolist()
        # F by hand: buckets of 0.5 up to ceil(ln 7) = 2, i.e. k = 0..3 score 2^-k, beyond scores 0
        k = np.floor(eps["eps"].to_numpy() / 0.5)
        assert table.loc[name, "forget_quality"] == pytest.approx(np.where(k < 4, 0.5**k, 0).mean())
    # no unlearning: N copies of one model, a zero spread the scorer caps; exact unlearning well below
    assert table.loc["original", "eps_median"] == 50 and table.loc["original", "forget_quality"] == 0
    assert table.loc["retrain", "forget_quality"] > 0.1 and table.loc["retrain", "eps_median"] < np.log(7)
    klom = pd.read_csv(str(res / "tables" / "klom.csv")).set_index("method")
    assert klom.loc["retrain", "klom_forget_p50"] < klom.loc["original", "klom_forget_p50"]
    assert "resolves" in (res / "tables" / "epsilon.md").read_text()
    assert "challenge eps (median)" in (res / "tables" / "difficulty.md").read_text()
    again = snakemake(work, "--configfile", str(cfg))
    assert job_counts(again.stdout + again.stderr) == {}
    # a damaged scores file is refused when read, naming it
    bad = tmp_path / "bad.npz"
    bad.write_bytes(
        (res / "epsilon" / "scores" / "amun" / "with_retain" / "random32" / "split1.npz").read_bytes()[:500]
    )
    with pytest.raises(UserError, match="bad.npz is missing or damaged"):
        audit_job(
            res / "data" / "dataset.h5",
            res / "splits" / "random32" / "seed1.h5",
            bad,
            res / "epsilon" / "scores" / "retrain" / "reference" / "random32" / "split1.npz",
            {"method": "amun"},
            8,
            tmp_path / "a.csv",
            tmp_path / "a.examples.csv",
        )
    # ft joins the audit: its 7 further runs, its scores and row, the tables; no retrain, no other row
    more = yaml.safe_load(cfg.read_text())
    more["evaluation"]["epsilon"]["methods"].append("ft")
    (tmp_path / "more.yaml").write_text(yaml.safe_dump(more))
    proc = snakemake(work, "--configfile", str(tmp_path / "more.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts == {
        "unlearn": 7,
        "epsilon_scores": 1,
        "epsilon_audit": 1,
        "epsilon_table": 1,
        "difficulty": 1,
        "all": 1,
    }, counts


PLUGIN_INIT = '''"""An out-of-tree method package: its registry line, found through the amunflow.methods entry point."""
from amunflow.methods.base import Method

FLIP = Method(
    "mylab_unlearn.flip",
    "flip: fine-tune on D_F with shifted labels",
    params={"shift": {"type": "integer", "minimum": 1, "default": 1, "description": "label shift"}},
)
'''
PLUGIN_RUN = (Path(__file__).parent / "toy_method.py").read_text()  # the toy method's run and cost


def install_plugin(site: Path, entry_points: str = "[amunflow.methods]\nflip = mylab_unlearn:FLIP\n") -> dict:
    """An installed distribution as pip leaves it (package + dist-info with entry_points.txt) in
    ``site``; the environment that puts ``site`` on every process's path."""
    (site / "mylab_unlearn").mkdir(parents=True)
    (site / "mylab_unlearn" / "__init__.py").write_text(PLUGIN_INIT)
    (site / "mylab_unlearn" / "flip.py").write_text(PLUGIN_RUN)
    info = site / "mylab_unlearn-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mylab-unlearn\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)}


@pytest.mark.parametrize(
    "entry_points,match",
    [
        ("[amunflow.methods]\namun = mylab_unlearn:FLIP\n", "the name 'amun' is already registered"),
        ("[amunflow.methods]\nflip = mylab_unlearn:PLUGIN_RUN_MISSING\n", "cannot be loaded \\(AttributeError"),
        ("[amunflow.methods]\nflip = mylab_unlearn.flip:run\n", "names a function, not an amunflow"),
    ],
)
def test_a_broken_plugin_is_named(tmp_path, entry_points, match):
    env = install_plugin(tmp_path / "site", entry_points)
    proc = subprocess.run([sys.executable, "-c", "import amunflow.methods"], env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and re.search(match, proc.stderr), proc.stderr[-2000:]
    assert "method plugin" in proc.stderr and "entry point group amunflow.methods" in proc.stderr


def test_tiny_bring_your_own_list_model_and_method_at_once(tiny, tmp_path):
    """A user's own folder (the workflow as a Snakemake module) with a deletion request (a forget list),
    their own trained original (the tiny run's, saved as DataParallel leaves it) and their own method
    (an installed plugin), all at once: each is used, the request gets its page, nothing is written
    into this repository, and each edit reruns what depends on it and nothing else."""
    env = install_plugin(tmp_path / "site")
    trained, trained_meta = load_model(tiny.res / "models" / "original" / "seed1.pt")
    state = trained.state_dict()
    project = tmp_path / "my-study"
    (project / "config").mkdir(parents=True)
    (project / "models").mkdir()
    torch.save(
        {"epoch": 4, "state_dict": {f"module.{k}": v for k, v in state.items()}}, project / "models" / "mine.pth"
    )
    (project / "requests").mkdir()
    request = [200, 7, 31, 150, 64, 99, 3, 18, 240, 120]
    (project / "requests" / "r0412.csv").write_text("unlearn_idx\n" + "\n".join(map(str, request)) + "\n")
    cfg = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    cfg["forget_sets"] = [{"kind": "random", "size": 0.1}, {"kind": "list", "path": "requests/r0412.csv"}]
    cfg["originals"] = {"path": "models/mine.pth"}
    cfg["unlearn"]["methods"] = {"flip": {"shift": 2}, "ft": {"lr": 0.01}}
    cfg["tuning"] = {"enabled": True, "grids": {"flip": {"lr": [0.01, 0.02]}, "ft": {"lr": [0.01]}}}
    cfg["rmia"] = {"enabled": False}
    cfg["evaluation"] = {"mia_column": "mis"}
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (project / "Snakefile").write_text(
        'configfile: "config/config.yaml"\n\n\n'
        f'module amunflow:\n    snakefile:\n        "{ROOT / "Snakefile"}"\n    config:\n        config\n\n\n'
        "use rule * from amunflow\n"
    )
    repo = ["git", "status", "--porcelain", "--ignored"]
    repo_before = subprocess.run(repo, cwd=ROOT, capture_output=True, text=True).stdout

    def smk(*args, env=env, check=True):
        cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
        proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=900, env=env)
        assert proc.returncode == 0 or not check, (proc.stdout + proc.stderr)[-4000:]
        return proc

    def dry(proc):
        return job_counts(proc.stdout + proc.stderr)

    bad = project / "config" / "bad.yaml"
    bad.write_text(yaml.safe_dump({"unlearn": {"methods": {"flip": {"shift": 0}}}}))
    proc = smk("--configfile", "config/config.yaml", str(bad), "-n", check=False)
    assert "unlearn.methods.flip.shift: 0 is less than the minimum of 1" in proc.stdout + proc.stderr
    proc = smk()
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["import_original"] == 1 and "train_original" not in counts and counts["request_report"] == 1
    res = project / "results"
    # the request: its own split in the file's order, tuned on a random draw of its size
    data = load_bundle(res / "data" / "dataset.h5")
    listed = load_split(res / "splits" / "list-r0412" / "seed0.h5", data.fingerprint())
    assert listed.forget.tolist() == request and listed.attrs["list_sha256"]
    # the original is the user's file, scored as ours
    model, meta = load_model(res / "models" / "original" / "seed1.pt")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert meta["final_accuracy"]["train_acc"] == pytest.approx(trained_meta["final_accuracy"]["train_acc"])
    assert (
        meta["imported_from"] == "models/mine.pth" and not (res / "models" / "original" / "seed1.history.csv").exists()
    )
    # the plugin's method ran from its registry line, tuned and tabled
    side = sidecar(res, "flip", "forget_only", forget="list-r0412", split_seed=0)
    assert side["hyper"]["shift"] == 2 and side["sample_steps"] == 2 * len(request)
    assert side["source_checkpoint_hash"] == file_hash(res / "models" / "original" / "seed1.pt")
    assert "flip" in (res / "tables" / "ranking.md").read_text()
    assert side["hyper"]["lr"] in (0.01, 0.02)  # the tuning's selection from its grid
    # the request's page: the checkpoints with their hashes, and each sample's fate under each model,
    # which an independent forward pass of the flip checkpoint reproduces
    page = (res / "requests" / "list-r0412.md").read_text()
    assert "requests/r0412.csv" in page and "10 training images" in page
    ckpt = res / "unlearn" / "flip" / "forget_only" / "list-r0412" / "split0" / "seed1" / "run1.pt"
    assert f"{ckpt.relative_to(project)} | {side['content_sha256']}" in page
    flip_model, _ = load_model(ckpt)
    flip_model.eval()
    with torch.no_grad():
        pred = flip_model(torch.from_numpy(data.train_x[request]).float() / 255).argmax(1).numpy()
    rows = [r for r in page.split("## Each sample")[1].splitlines() if r.startswith("| ") and r[2].isdigit()]
    heads = [h.strip() for h in page.split("## Each sample")[1].splitlines()[2].strip("|").split("|")]
    col = heads.index("flip forget_only")
    fate = [float(r.strip("|").split("|")[col]) for r in rows]
    assert fate == [float(p == y) for p, y in zip(pred, data.train_y[request], strict=True)]
    assert "## The health checks that concern this request" in page and "random0.1" not in page
    assert subprocess.run(repo, cwd=ROOT, capture_output=True, text=True).stdout == repo_before
    again = smk()
    assert job_counts(again.stdout + again.stderr) == {}  # a rerun does nothing
    # an edited request (same size): its split and what follows, no tuning, not the original
    (project / "requests" / "r0412.csv").write_text("unlearn_idx\n" + "\n".join(map(str, request[::-1])) + "\n")
    plan = dry(smk("-n"))
    assert plan["make_split"] == 1 and plan["unlearn"] == 3 and plan["request_report"] == 1, plan
    assert not {"import_original", "tune_unlearn", "prepare_dataset"} & set(plan), plan
    # the plugin's code: its runs (tuning points included), nothing else
    (project / "requests" / "r0412.csv").write_text("unlearn_idx\n" + "\n".join(map(str, request)) + "\n")
    flip = tmp_path / "site" / "mylab_unlearn" / "flip.py"
    flip.write_text(flip.read_text().replace("return hp[", "return 1 * hp["))
    plan = dry(smk("-n"))
    # (a dry run also lists ft's runs: they wait on the selection, which reruns; a real run then finds
    # their selected values unchanged and skips them)
    assert plan["tune_unlearn"] == 2 * 2 * 2 and plan["unlearn"] in (2 * 2, 2 * 2 + 2), plan
    assert not {"import_original", "make_split", "train_retrain"} & set(plan), plan
    # the user's model file: the original and everything after it, not the dataset or the splits
    torch.save(
        {"state_dict": {k: v + 0.01 if v.is_floating_point() else v for k, v in state.items()}},
        project / "models" / "mine.pth",
    )
    plan = dry(smk("-n"))
    assert plan["import_original"] == 1 and not {"prepare_dataset", "make_split"} & set(plan), plan
    # without the plugin installed: one sentence naming the method
    proc = smk("-n", env=None, check=False)
    assert proc.returncode != 0 and "unlearn.methods.flip" in proc.stdout + proc.stderr
