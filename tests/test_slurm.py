"""The tiny DAG through a real SLURM (scripts/slurm/start.sh) with profiles/slurm."""

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from .helpers import CONFIGS, ROOT, snakemake

GPU_RULES = {"train_original", "train_retrain", "build_adversarial", "unlearn", "evaluate"}


def slurm_up() -> bool:
    if shutil.which("scontrol") is None:
        return False
    out = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    return "is UP" in out.stdout


@pytest.fixture
def slurm():
    if not slurm_up():
        msg = "no SLURM controller (start one with scripts/slurm/start.sh)"
        if os.environ.get("AMUNFLOW_REQUIRE_SLURM") == "1":
            pytest.fail(msg + " but AMUNFLOW_REQUIRE_SLURM=1")
        pytest.skip(msg)


def job_records() -> dict:
    """job id -> (state, comment, TresPerJob) for every job the controller still remembers."""
    out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i|%T|%k"], capture_output=True, text=True, check=True)
    jobs = {}
    for line in out.stdout.split():
        jid, state, comment = line.split("|", 2)
        show = subprocess.run(["scontrol", "show", "job", jid], capture_output=True, text=True).stdout
        tres = re.search(r"TresPerJob=(\S+)", show)
        jobs[jid] = (state, comment, tres.group(1) if tres else "")
    return jobs


@pytest.mark.workflow
def test_tiny_dag_runs_through_slurm_with_gpu_requests(tmp_path, slurm):
    before = set(job_records())
    work = tmp_path / "run"
    snakemake(
        work, "--profile", str(ROOT / "profiles" / "slurm"), "--configfile", str(CONFIGS / "slurm.yaml"), timeout=1200
    )
    jobs = {j: rec for j, rec in job_records().items() if j not in before}
    rules = {}
    for state, comment, tres in jobs.values():
        rule = re.match(r"rule_([a-z_]+?)(_wildcards|$)", comment).group(1)
        rules.setdefault(rule, []).append((state, tres))
    # every GPU rule went through SLURM, completed, and asked for one GPU; light rules ran locally
    assert GPU_RULES <= set(rules), rules
    assert rules["evaluate"] and len(rules["evaluate"]) == 3  # amun, retrain, original
    for rule, recs in rules.items():
        for state, tres in recs:
            assert state == "COMPLETED", (rule, state)
            assert (tres == "gres:gpu:1") == (rule in GPU_RULES), (rule, tres)
    assert not {"make_split", "aggregate", "plots"} & set(rules)
    # the jobs' own logs: SLURM's per-job output, and ours saying which job and GPU ran it
    slurm_logs = list((work / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(slurm_logs) == len(jobs)
    log = (work / "results" / "logs" / "original" / "seed1.log").read_text()
    job_id = re.search(r"SLURM_JOB_ID=(\d+)", log).group(1)
    assert job_id in jobs and re.search(r"CUDA_VISIBLE_DEVICES=\d", log)
    runs = pd.read_csv(str(work / "results" / "tables" / "runs.csv"))
    assert set(runs["method"]) == {"amun", "retrain", "original"} and runs["mis"].notna().all()
