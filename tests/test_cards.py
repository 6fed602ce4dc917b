"""One card per job on a multi-GPU machine without a scheduler (amunflow.cards), with fake card lists."""

import os
import re
import signal
import subprocess
import sys
from datetime import datetime

import pytest
import yaml

from amunflow.cards import claim, claim_for_job

from .helpers import CONFIGS, snakemake

HOLD = """
import sys, time
from amunflow.cards import claim
c = claim(sys.argv[1], [int(x) for x in sys.argv[2].split(",")], int(sys.argv[3]))
print(c.card, c.slot, flush=True)
time.sleep(60)
"""


def holder(lock_dir, cards="0,1,2", share=1):
    """A process that claims a card, prints it, and holds it until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock_dir), cards, str(share)], stdout=subprocess.PIPE, text=True
    )
    card, slot = map(int, proc.stdout.readline().split())
    return proc, card, slot


def test_concurrent_jobs_get_distinct_cards_and_a_killed_jobs_card_is_free_again(tmp_path):
    procs = [holder(tmp_path) for _ in range(3)]
    try:
        assert sorted(card for _, card, _ in procs) == [0, 1, 2]
        with pytest.raises(TimeoutError, match=r"no free card among \[0, 1, 2\]"):
            claim(tmp_path, [0, 1, 2], timeout_s=0.5, poll_s=0.1)
        victim = procs[1]
        victim[0].send_signal(signal.SIGKILL)  # a crash: the kernel drops its lock
        victim[0].wait()
        assert claim(tmp_path, [0, 1, 2], timeout_s=5, poll_s=0.1).card == victim[1]
    finally:
        for p, _, _ in procs:
            p.kill()
            p.wait()


def test_sharing_gives_at_most_the_configured_claims_per_card(tmp_path):
    procs = [holder(tmp_path, "0,1", share=2) for _ in range(4)]
    try:
        cards = sorted(card for _, card, _ in procs)
        assert cards == [0, 0, 1, 1]  # each card's first slot before any card's second
        assert [slot for _, _, slot in procs] == [0, 0, 1, 1]
        with pytest.raises(TimeoutError):
            claim(tmp_path, [0, 1], share=2, timeout_s=0.5, poll_s=0.1)
    finally:
        for p, _, _ in procs:
            p.kill()
            p.wait()


def test_a_scheduler_choice_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("AMUNFLOW_CARDS", "0,1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")  # as SLURM sets it
    assert claim_for_job(tmp_path / "locks", 1) is None and not (tmp_path / "locks").exists()
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("AMUNFLOW_CARDS", "")  # a machine without cards
    assert claim_for_job(tmp_path / "locks", 1) is None
    monkeypatch.setenv("AMUNFLOW_CARDS", "0,1")
    c = claim_for_job(tmp_path / "locks", 1)
    assert c.card == 0 and os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    c.release()


@pytest.mark.workflow
def test_concurrent_snakemake_jobs_hold_different_cards(tmp_path, monkeypatch):
    """The tiny DAG's GPU jobs with --resources gpu=2 and two fake cards: their logs show the card each
    held, and jobs that ran at the same time held different cards."""
    monkeypatch.setenv("AMUNFLOW_CARDS", "0,1")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    cfg = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    cfg["device"] = "auto"  # CPU here, but the jobs claim cards as on a GPU machine
    cfg["rmia"]["num_references"] = 4
    cfg["train"]["epochs"] = 60  # long enough (seconds) that two jobs hold their cards at the same time
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = tmp_path / "run"
    targets = ["results/models/original/seed1.pt"] + [f"results/rmia/ref{k}.pt" for k in range(4)]
    snakemake(work, *targets, "--resources", "gpu=2", "--configfile", str(path))
    logs = [work / "results" / "logs" / "original" / "seed1.log"]
    logs += [work / "results" / "logs" / "rmia" / f"ref{k}.log" for k in range(4)]
    spans = []
    for log in logs:
        text = log.read_text()
        card = int(re.search(r"card (\d) \(slot 0 of 1\) of this machine's \[0, 1\]", text).group(1))
        stamps = [datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in re.findall(r"^(\S+ \S+) INFO", text, re.M)]
        spans.append((stamps[0], stamps[-1], card, log.name))
    overlaps = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if a[0] < b[1] and b[0] < a[1]]
    assert overlaps, spans  # two jobs ran at once
    for a, b in overlaps:
        assert a[2] != b[2], (a, b)
    side = (work / "results" / "models" / "original" / "seed1.json").read_text()
    assert '"card":' in side


def test_an_unusable_lock_folder_is_refused_before_any_job(tmp_path):
    from amunflow import UserError
    from amunflow.cards import check_lock_dir

    check_lock_dir(tmp_path / "locks" / "nested")  # created
    assert (tmp_path / "locks" / "nested").is_dir() and not list((tmp_path / "locks" / "nested").iterdir())
    (tmp_path / "a-file").write_text("x")
    bad = tmp_path / "a-file" / "locks"  # unwritable whoever runs it (root ignores permission bits)
    with pytest.raises(UserError, match=r"resources\.gpu_locks: .*a-file/locks' cannot be used"):
        check_lock_dir(bad)
    cfg = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    cfg["device"] = "auto"
    cfg["resources"]["gpu_locks"] = str(bad)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = snakemake(tmp_path / "run", "-n", "--configfile", str(path), check=False)
    assert out.returncode != 0 and "resources.gpu_locks" in out.stdout + out.stderr
    assert not (tmp_path / "run" / "results").exists()
