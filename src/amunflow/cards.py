"""One GPU per job on a machine with several and no scheduler.

Snakemake's local executor limits how many ``gpu=1`` jobs run at once (``--resources gpu=N``) but
does not tell a job which card is its own, so every job would pick card 0. Here a job claims a free
card for its lifetime: one lock file per (card, slot) in a folder every job of the machine shares,
locked with ``flock``, which the kernel releases when the process ends, crash or kill included; the
job then sees only that card (``CUDA_VISIBLE_DEVICES``, set before CUDA starts). ``share`` slots per
card let several small jobs hold one card (``--resources gpu=k`` with k > cards).

Nothing is claimed when a scheduler (SLURM) or the user already set ``CUDA_VISIBLE_DEVICES``, or when
the machine has no card. ``AMUNFLOW_CARDS`` (e.g. "0,1") overrides the card list, for tests.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Claim:
    card: int
    slot: int
    cards: list[int]
    handle: object  # the open, locked file: the claim lasts as long as it stays open

    def release(self) -> None:
        self.handle.close()


def check_lock_dir(lock_dir) -> None:
    """Refuse, before any job starts, a lock folder (``resources.gpu_locks``) that cannot be created
    or written: every GPU job would otherwise fail on it after the CPU stages ran."""
    from . import UserError

    try:
        Path(lock_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=lock_dir, prefix=".probe-"):
            pass
    except OSError as e:
        raise UserError(
            f"config key resources.gpu_locks: {str(lock_dir)!r} cannot be used for the GPU jobs' card locks "
            f"({e.strerror or e}); point it at a folder this user can write."
        ) from None


def machine_cards() -> list[int]:
    """The cards of this machine: ``AMUNFLOW_CARDS`` when set, else what ``nvidia-smi`` lists (asked in
    a child process, so this process's CUDA is not started before it knows its card)."""
    fake = os.environ.get("AMUNFLOW_CARDS")
    if fake is not None:
        return [int(c) for c in fake.split(",") if c.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=60
    )
    return [int(line) for line in out.stdout.split() if line.strip().isdigit()] if out.returncode == 0 else []


def claim(lock_dir, cards: list[int], share: int = 1, timeout_s: float | None = None, poll_s: float = 0.5) -> Claim:
    """Lock a free (card, slot) in ``lock_dir``, trying cards in order of how few claims they hold,
    waiting (``poll_s``) while all are taken; TimeoutError after ``timeout_s`` seconds."""
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    start, warned = time.monotonic(), False
    while True:
        for slot in range(share):  # fill every card's first slot before any card's second
            for card in cards:
                handle = open(lock_dir / f"card{card}.slot{slot}.lock", "a+")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                handle.seek(0)
                handle.truncate()
                handle.write(f"{os.getpid()}\n")
                handle.flush()
                return Claim(card, slot, list(cards), handle)
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            raise TimeoutError(f"no free card among {cards} ({share} job(s) per card) in {lock_dir}")
        if not warned and time.monotonic() - start > 60:
            log.warning("waiting for a free card among %s (%d job(s) per card)", cards, share)
            warned = True
        time.sleep(poll_s)


def claim_for_job(lock_dir, share: int) -> Claim | None:
    """Claim a card for this job and make it the only one it sees, unless a scheduler chose already."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return None
    cards = machine_cards()
    if not cards:
        return None
    c = claim(lock_dir, cards, share)
    os.environ["CUDA_VISIBLE_DEVICES"] = str(c.card)
    return c
