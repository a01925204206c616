"""Crash safety and concurrency of loyalty_metrics.export, with real processes.

* A writer killed with SIGKILL at several points of a large write leaves the previous export
  intact and readable (files: temp file + fsync + rename; SQLite: one transaction).
* Two exports of the same target at once never interleave and never lose an update.
* A lock held by another process makes a writer give up with LockTimeoutError.
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from loyalty_metrics import export as ex
from loyalty_metrics.errors import LockTimeoutError

pytestmark = pytest.mark.slow

FORMATS = ["csv", "jsonl", "parquet", "sqlite"]

BIG_FRAME = textwrap.dedent(
    """
    import numpy as np
    import pandas as pd

    def big_frame(n, seed, first=0):
        # n export rows with 20 float KPI columns: a write of a few tenths of a second
        rng = np.random.default_rng(seed)
        data = {
            "period": pd.Series([f"p{i:07d}" for i in range(first, first + n)], dtype="str"),
            "freq": "M", "as_of": f"2024-01-{1 + seed % 28:02d}",
            "loyalty_metrics_version": "0.1.0", "input_hash": f"h{seed}",
        }
        for j in range(20):
            data[f"kpi_{j:02d}"] = rng.normal(size=n)
        return pd.DataFrame(data)
    """
)

CHILD = BIG_FRAME + textwrap.dedent(
    """
    import sys
    from loyalty_metrics.export import write_export

    target, n, seed, first, timeout = sys.argv[1:6]
    frame = big_frame(int(n), int(seed), int(first))
    print("ready", flush=True)
    write_export(frame, target, lock_timeout=float(timeout))
    print("done", flush=True)
    """
)

HOLDER = textwrap.dedent(
    """
    import sys, time
    from loyalty_metrics import export as ex

    with ex._exclusive_lock(ex._parse_target(sys.argv[1], "holder"), 0):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)

_namespace: dict = {}
exec(BIG_FRAME, _namespace)
big_frame = _namespace["big_frame"]

N_BIG = 12_000


def target_of(folder: Path, fmt: str) -> str:
    return f"sqlite:///{folder / 'kpis.db'}" if fmt == "sqlite" else str(folder / f"kpis.{fmt}")


def path_of(target: str) -> Path:
    return Path(target.removeprefix("sqlite:///"))


def snapshot(target: str) -> str | bytes:
    """The target's content: bytes for files, a full SQL dump for SQLite (which it reads,
    rolling back a hot journal left by a killed writer, as any reader would)."""
    if target.startswith("sqlite:"):
        with sqlite3.connect(path_of(target)) as con:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            return "\n".join(con.iterdump())
    return path_of(target).read_bytes()


def readable_rows(target: str) -> int:
    path = path_of(target)
    if target.startswith("sqlite:"):
        with sqlite3.connect(path) as con:
            return con.execute("SELECT COUNT(*) FROM kpis").fetchone()[0]
    if target.endswith(".csv"):
        return len(pd.read_csv(path))
    if target.endswith(".jsonl"):
        return len(pd.read_json(path, lines=True))
    return len(pd.read_parquet(path))


def in_flight(target: str) -> list[str]:
    """Files a write in progress leaves: the temp file, or SQLite's rollback journal."""
    path = path_of(target)
    if target.startswith("sqlite:"):
        return [p for p in (str(path) + "-journal",) if os.path.exists(p)]
    return glob.glob(str(path.parent / f".{path.name}.*.tmp"))


def start_child(script: Path, target: str, n: int, seed: int, first: int = 0,
                timeout: float = 60) -> subprocess.Popen:  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, str(script), target, str(n), str(seed), str(first), str(timeout)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline() == b"ready\n", proc.stderr.read().decode()
    return proc


@pytest.mark.parametrize("fmt", FORMATS)
def test_sigkill_during_a_large_write_keeps_the_previous_export(tmp_path, fmt):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    folder = tmp_path / "out"
    folder.mkdir()
    target = target_of(folder, fmt)
    # the previous export: 300 rows (p0000000..p0000299) with seed 1
    ex.write_export(big_frame(300, 1), target)
    old = snapshot(target)
    backup = tmp_path / "backup"
    shutil.copy(path_of(target), backup)
    # what a completed run gives: the big frame (seed 2) upserted over the previous export
    reference_folder = tmp_path / "reference"
    reference_folder.mkdir()
    reference = target_of(reference_folder, fmt)
    shutil.copy(backup, path_of(reference))
    started = time.monotonic()
    ex.write_export(big_frame(N_BIG, 2), reference)
    duration = time.monotonic() - started
    new = snapshot(reference)
    assert new != old

    rng = random.Random(7)
    delays = [None, rng.uniform(0, duration), rng.uniform(0, duration)]
    killed_mid_write = 0
    for delay in delays:
        shutil.copy(backup, path_of(target))  # start each attempt from the previous export
        proc = start_child(script, target, N_BIG, 2)
        if delay is None:  # the moment the write is under way
            deadline = time.monotonic() + 30
            while not in_flight(target) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
        else:
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        left = in_flight(target)  # a temp file / hot journal outlives only a killed writer
        content = snapshot(target)
        assert content in (old, new), f"torn output after a kill at {delay}"
        if left:
            killed_mid_write += 1
            assert content == old
        assert readable_rows(target) in (300, N_BIG)
    assert killed_mid_write >= 1  # at least one kill landed in the middle of the write

    # the next run cleans up after the killed one and completes
    ex.write_export(big_frame(N_BIG, 2), target)
    assert snapshot(target) == new
    assert in_flight(target) == []


@pytest.mark.parametrize("fmt", ["csv", "sqlite"])
def test_concurrent_exports_do_not_interleave_or_lose_rows(tmp_path, fmt):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    target = target_of(tmp_path, fmt)
    ex.write_export(big_frame(10, 9, first=10**6), target)  # rows of an earlier run
    n = N_BIG // 2
    # two exports of disjoint rows at the same time: the second waits for the first
    first = start_child(script, target, n, 3, first=0)
    second = start_child(script, target, n, 4, first=n)
    assert first.wait(timeout=120) == 0, first.stderr.read().decode()
    assert second.wait(timeout=120) == 0, second.stderr.read().decode()
    for proc in (first, second):
        proc.stdout.close()
        proc.stderr.close()
    expected_folder = tmp_path / "expected"
    expected_folder.mkdir()
    expected = target_of(expected_folder, fmt)
    ex.write_export(big_frame(10, 9, first=10**6), expected)
    ex.write_export(big_frame(n, 3, first=0), expected)
    ex.write_export(big_frame(n, 4, first=n), expected)
    # both updates are there, each row whole: exactly the result of running them in turn
    assert snapshot(target) == snapshot(expected)
    assert readable_rows(target) == 2 * n + 10


def test_lock_held_by_another_process_times_out(tmp_path):
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    target = str(tmp_path / "kpis.csv")
    holder = subprocess.Popen([sys.executable, str(script), target, "30"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        started = time.monotonic()
        with pytest.raises(LockTimeoutError, match=f"process {holder.pid}"):
            ex.write_export(big_frame(3, 1), target, lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5
        assert not os.path.exists(target)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # the lock dies with its holder: the next export goes through at once
    assert ex.write_export(big_frame(3, 1), target, lock_timeout=5).added == 3
