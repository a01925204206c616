"""Sections computed in a forked copy of the process: the same report, whatever happens there."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import loyalty_metrics as lm
from loyalty_metrics.orders import shared_kernels
from loyalty_metrics.report import _content, build_report, render_json
from loyalty_metrics.report._parallel import beside, can_fork

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
STAMP = "2025-01-06T08:00:00"
HERE = os.getpid()


# ---------------------------------------------------------------------------------------------
# beside(): a value from a forked copy.


def test_the_copy_sees_this_process_memory_and_its_changes_stay_there():
    data = np.arange(10)
    seen: list[int] = []

    def work() -> tuple[int, int]:
        seen.append(1)  # in the copy: this process's list is not touched
        data[0] = 100
        return int(data.sum()), os.getpid()

    total, pid = beside(work)()
    assert total == 100 + 45
    if can_fork():  # Linux, 2+ cores (CI): it ran in another process, whose changes stay there
        assert pid != HERE
        assert seen == [] and data[0] == 0
    else:  # elsewhere: it ran here, when asked
        assert pid == HERE


def _exit_in_the_copy(value: int) -> int:
    if os.getpid() != HERE:
        os._exit(3)  # killed, out of memory...: no answer comes back
    return value


def test_a_copy_that_dies_without_answering_is_redone_here():
    assert beside(lambda: _exit_in_the_copy(7))() == 7


def test_a_result_that_cannot_be_sent_is_computed_here():
    def unpicklable():
        return lambda: os.getpid()  # a lambda does not pickle

    got = beside(unpicklable)()
    assert got() == HERE


def test_an_error_in_the_copy_is_raised_here_with_its_traceback():
    def fails() -> None:
        raise ValueError(f"bad input in {os.getpid() == HERE}")

    with pytest.raises(ValueError, match="bad input in True"):
        beside(fails)()


def test_a_value_started_ahead_is_taken_once_by_a_copy_forked_after_it():
    first = beside(os.getpid)
    second = beside(lambda: (first(), os.getpid()))  # a sibling of the first copy
    taken, by = second()
    if not can_fork():
        assert (taken, by) == (HERE, HERE)
        return
    assert taken == first._process.pid and by not in (HERE, taken)
    # the sibling took the value: asked for here, it is computed here
    assert first() == HERE
    assert not first._process.is_alive()


def test_values_are_taken_as_they_come(tmp_path):
    import time

    go = tmp_path / "go"

    def second() -> int:
        while not go.exists():  # the copy waits for the test
            time.sleep(0.01)
        return 2

    copy = beside(lambda: 1, second)
    if can_fork():
        got: list[int] = []
        deadline = time.monotonic() + 30
        while not got and time.monotonic() < deadline:
            got = copy.ready()
        assert got == [1]
        assert copy.ready() == []  # the second is not computed yet: no waiting for it
    else:
        assert copy.ready() == []  # nothing is computed ahead here
    go.touch()
    assert copy.rest() == ([2] if can_fork() else [1, 2])
    assert copy.rest() == []  # each value once


def test_from_a_value_the_copy_fails_to_compute_on_the_rest_are_computed_here():
    def second() -> tuple[int, int]:
        if os.getpid() != HERE:
            raise ValueError("fails in the copy")
        return 2, os.getpid()

    values = beside(lambda: (1, os.getpid()), second, lambda: (3, os.getpid())).rest()
    assert [v for v, _ in values] == [1, 2, 3]
    assert [pid == HERE for _, pid in values] == [not can_fork(), True, True]


def test_cancel_stops_a_copy_whose_value_is_not_needed():
    import time

    copy = beside(lambda: time.sleep(3600))
    started = time.monotonic()
    copy.cancel()
    assert time.monotonic() - started < 30
    if can_fork():
        assert not copy._process.is_alive()


# ---------------------------------------------------------------------------------------------
# build_report(parallel=True): the same content.


@pytest.fixture(scope="module")
def sample_frames():
    return lm.read_folder(SAMPLE, errors="reject")


def _report(frames, **options) -> str:
    with shared_kernels():  # as loyalty report computes it
        return render_json(build_report(frames, generated_at=STAMP, **options))


def test_parallel_report_equals_the_sequential_one(sample_frames):
    sequential = _report(sample_frames)
    parallel = _report(sample_frames, parallel=True)
    assert parallel == sequential
    # the CLV section's caveat came back from the copy with its section
    assert '"section": "clv"' in parallel


def test_parallel_report_with_the_window_and_a_weekly_freq(sample_frames):
    options = {"start": "2023-07-01", "end": "2024-06-30", "freq": "W"}
    assert _report(sample_frames, parallel=True, **options) == _report(sample_frames, **options)


def test_the_clv_section_is_computed_in_the_copy(sample_frames, monkeypatch):
    clv = _content._SECTIONS["clv"]

    def clv_with_pid(ctx):
        body = clv(ctx)
        body["notes"] = [*body["notes"], f"pid {os.getpid()}"]
        return body

    monkeypatch.setitem(_content._SECTIONS, "clv", clv_with_pid)
    content = build_report(sample_frames, generated_at=STAMP, parallel=True)
    notes = next(s for s in content["sections"] if s["id"] == "clv")["notes"]
    pid = int(next(n for n in notes if n.startswith("pid ")).split()[1])
    assert (pid != HERE) == can_fork()


def test_the_holdout_check_runs_in_its_own_copy_and_its_caveats_reach_the_clv_section(
    sample_frames, monkeypatch
):
    from loyalty_metrics import caveats
    from loyalty_metrics.errors import LoyaltyWarning
    from loyalty_metrics.report import _section_clv

    check = _section_clv._holdout_check

    def check_with_pid(ctx):
        caveats.emit([LoyaltyWarning(f"check in {os.getpid()}", about=("predictive_clv",))])
        return check(ctx)

    clv = _content._SECTIONS["clv"]

    def clv_with_pid(ctx):
        body = clv(ctx)
        body["notes"] = [*body["notes"], f"section in {os.getpid()}"]
        return body

    monkeypatch.setattr(_section_clv, "_holdout_check", check_with_pid)
    monkeypatch.setitem(_content._SECTIONS, "clv", clv_with_pid)
    notes = {}
    for parallel in (True, False):
        content = build_report(sample_frames, generated_at=STAMP, parallel=parallel)
        notes[parallel] = next(s for s in content["sections"] if s["id"] == "clv")["notes"]
        caveat = next(c for c in content["caveats"] if c["message"].startswith("check in "))
        assert caveat["section"] == "clv" and caveat["about"] == ["predictive_clv"]
    pids = {n.split()[-1] for n in notes[True] if n.split()[-1].isdigit()}
    # where each ran: the check and the section in two copies, or both here
    assert len(pids) == (2 if can_fork() else 1) and (str(HERE) not in pids) == can_fork()
    # the check's caveat in the same place among the section's notes as without parallel
    assert [n.rsplit(" in ", 1)[0] for n in notes[True]] == [
        n.rsplit(" in ", 1)[0] for n in notes[False]
    ]


def test_a_holdout_check_copy_that_dies_leaves_the_report_whole(
    sample_frames, monkeypatch, tmp_path
):
    from loyalty_metrics.report import _section_clv

    check = _section_clv._holdout_check
    died = tmp_path / "died"

    def dies_once_in_a_copy(ctx):
        if os.getpid() != HERE and not died.exists():
            died.touch()
            os._exit(3)
        return check(ctx)

    expected = _report(sample_frames)
    monkeypatch.setattr(_section_clv, "_holdout_check", dies_once_in_a_copy)
    assert _report(sample_frames, parallel=True) == expected
    assert died.exists() == can_fork()


def test_a_copy_that_dies_leaves_the_report_whole(sample_frames, monkeypatch):
    clv = _content._SECTIONS["clv"]

    def dies_in_the_copy(ctx):
        _exit_in_the_copy(0)
        return clv(ctx)

    expected = _report(sample_frames)
    monkeypatch.setitem(_content._SECTIONS, "clv", dies_in_the_copy)
    assert _report(sample_frames, parallel=True) == expected


def test_strict_errors_in_the_copy_are_raised(sample_frames, monkeypatch):
    def broken(ctx):
        raise ZeroDivisionError("in the clv section")

    monkeypatch.setitem(_content._SECTIONS, "clv", broken)
    with pytest.raises(ZeroDivisionError, match="in the clv section"):
        build_report(sample_frames, parallel=True, strict=True)
    # not strict: the section is replaced by a note, as without parallel
    content = build_report(sample_frames, parallel=True)
    clv = next(s for s in content["sections"] if s["id"] == "clv")
    assert not clv["shown"] and "ZeroDivisionError" in clv["note"]


def test_shared_figures_that_fail_leave_every_section_to_meet_the_error(
    sample_frames, monkeypatch
):
    from loyalty_metrics.report._context import _Context

    def broken(self):
        raise RuntimeError("summary out of order")

    monkeypatch.setattr(_Context, "summary", broken)
    parallel = _report(sample_frames, parallel=True)
    assert parallel == _report(sample_frames)
    assert "summary out of order" in parallel  # the sections that read it say so


@pytest.mark.parametrize("fmt", ["html", "json"])
def test_loyalty_report_with_and_without_parallel_writes_the_same_file(tmp_path, monkeypatch, fmt):
    from click.testing import CliRunner

    from loyalty_metrics.cli import cli

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736150400")
    pages = []
    for flag in ("--parallel", "--no-parallel"):
        out = tmp_path / f"report{flag}.{fmt}"
        result = CliRunner().invoke(cli, ["report", str(SAMPLE), "-o", str(out), "--quiet", flag])
        assert result.exit_code == 0, result.output
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]  # same figures, caveats and chart PNG bytes


def test_a_copy_that_hangs_is_stopped_and_its_work_done_here():
    import time

    from loyalty_metrics.report._parallel import Beside

    def hangs_in_the_copy() -> int:
        if os.getpid() != HERE:
            time.sleep(3600)  # as a copy deadlocked on a lock another thread held at the fork
        return 7

    if not can_fork():
        assert beside(hangs_in_the_copy)() == 7
        return
    started = time.monotonic()
    copy = Beside(hangs_in_the_copy)
    assert copy.result(patience=1.0) == 7
    assert time.monotonic() - started < 30  # not an hour
    assert not copy._process.is_alive()
