"""Tests of loyalty_metrics.export: upsert, determinism, refusals, schema evolution, locking.

Crash (SIGKILL) and multi-process tests are in test_export_crash.py, the CLI in
test_export_cli.py.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loyalty_metrics
from loyalty_metrics import export as ex
from loyalty_metrics.errors import DataValidationError, ExportError, LockTimeoutError

FORMATS = ["csv", "jsonl", "parquet", "sqlite"]


# ---------------------------------------------------------------------------------------------
# helpers


def target_of(tmp_path: Path, fmt: str, name: str = "kpis") -> str:
    if fmt == "sqlite":
        return f"sqlite:///{tmp_path / name}.db"
    return str(tmp_path / f"{name}.{fmt}")


def file_of(target: str) -> Path:
    return Path(target.removeprefix("sqlite:///"))


def stamp(periods, *, as_of="2024-03-15", h="h1", freq="M", **kpis) -> pd.DataFrame:
    """Export rows for ``periods`` with the stamp columns and the given KPI columns."""
    n = len(periods)
    data = {
        "period": pd.Series(list(periods), dtype="str"),
        "freq": freq,
        "as_of": as_of,
        "loyalty_metrics_version": "0.1.0",
        "input_hash": h,
    }
    data.update({k: (v if np.ndim(v) else [v] * n) for k, v in kpis.items()})
    return pd.DataFrame(data)


def read_back(target: str, table: str = "kpis") -> pd.DataFrame:
    """The target's rows as plain values (text as str, numbers as float, missing as None)."""
    path = file_of(target)
    if target.startswith("sqlite:"):
        with sqlite3.connect(path) as con:
            cur = con.execute(f'SELECT * FROM "{table}"')
            cols = [d[0] for d in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=cols)
    elif target.endswith(".csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = frame.replace("", None)
    elif target.endswith(".jsonl"):
        lines = path.read_text(encoding="utf-8").split("\n")[:-1]  # LF only, as JSON Lines
        frame = pd.DataFrame([json.loads(line) for line in lines])
    else:
        frame = pd.read_parquet(path)
    return frame.astype(object).where(frame.notna(), None)


def as_number(values) -> list[float | None]:
    return [None if v is None else float(v) for v in values]


def raw_bytes(target: str) -> bytes:
    return file_of(target).read_bytes()


def sqlite_dump(target: str) -> str:
    with sqlite3.connect(file_of(target)) as con:
        return "\n".join(con.iterdump())


# ---------------------------------------------------------------------------------------------
# round trip, sorting, formatting


@pytest.mark.parametrize("fmt", FORMATS)
def test_rows_round_trip_sorted_by_period(tmp_path, fmt):
    target = target_of(tmp_path, fmt)
    # given out of order: written sorted by period
    rows = stamp(["2024-03-31", "2024-01-31", "2024-02-29"], nps=[30.0, -12.5, float("nan")])
    result = ex.write_export(rows, target)
    assert (result.added, result.replaced, result.rows, result.changed) == (3, 0, 3, True)
    assert result.keys == ("2024-01-31", "2024-02-29", "2024-03-31")
    back = read_back(target)
    assert list(back.columns) == [*ex.STAMP_COLUMNS, "nps"]
    assert list(back["period"]) == ["2024-01-31", "2024-02-29", "2024-03-31"]
    assert as_number(back["nps"]) == [-12.5, None, 30.0]
    assert set(back["input_hash"]) == {"h1"}


def test_csv_and_jsonl_number_format(tmp_path):
    values = [0.1, 1 / 3, 1e-5, 1e16, 12.0, -0.0, -3.5, float("nan"), float("inf"), 2.0**60]
    rows = stamp([f"2024-01-{d:02d}" for d in range(1, 11)], v=values)
    ex.write_export(rows, tmp_path / "k.csv")
    ex.write_export(rows, tmp_path / "k.jsonl")
    csv_cells = [line.split(",")[-1] for line in (tmp_path / "k.csv").read_text().splitlines()[1:]]
    # repr (shortest round trip); integral values below 1e15 without ".0"; NaN empty
    assert csv_cells == ["0.1", "0.3333333333333333", "1e-05", "1e+16", "12", "0", "-3.5", "",
                         "inf", "1.152921504606847e+18"]  # fmt: skip
    records = [json.loads(line) for line in (tmp_path / "k.jsonl").read_text().splitlines()]
    # JSON has neither NaN nor infinity: both are null
    assert [r["v"] for r in records] == [0.1, 1 / 3, 1e-5, 1e16, 12, 0, -3.5, None, None, 2.0**60]
    assert (tmp_path / "k.jsonl").read_text().splitlines()[0] == (
        '{"period":"2024-01-01","freq":"M","as_of":"2024-03-15",'
        '"loyalty_metrics_version":"0.1.0","input_hash":"h1","v":0.1}'
    )


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=False, width=64), min_size=1, max_size=12),
    st.sampled_from(["csv", "jsonl"]),
)
def test_floats_round_trip_exactly_and_bytes_are_stable(tmp_path_factory, values, fmt):
    folder = tmp_path_factory.mktemp("rt")
    target = str(folder / f"k.{fmt}")
    periods = [f"p{i:03d}" for i in range(len(values))]
    ex.write_export(stamp(periods, v=values), target)
    first = raw_bytes(target)
    if fmt == "csv":
        back = pd.read_csv(target)["v"].tolist()
    else:
        back = [json.loads(line)["v"] for line in Path(target).read_text().splitlines()]
    for x, y in zip(values, back, strict=True):
        assert (np.isnan(x) and (y is None or np.isnan(y))) or x == y
    # upserting another period re-reads and re-renders the old rows: their bytes do not move
    ex.write_export(stamp(["zzz"], v=1.5), target)
    assert raw_bytes(target).startswith(first)


# ---------------------------------------------------------------------------------------------
# idempotency and upsert


@pytest.mark.parametrize("fmt", FORMATS)
def test_running_twice_is_byte_identical(tmp_path, fmt):
    rows = stamp(["2024-01-31", "2024-02-29"], nps=[10.0, 1 / 3], note=["a", "=b"])
    target = target_of(tmp_path, fmt)
    first = ex.write_export(rows, target)
    before = raw_bytes(target)
    mtime = os.stat(file_of(target)).st_mtime_ns
    second = ex.write_export(rows, target)
    assert raw_bytes(target) == before
    assert os.stat(file_of(target)).st_mtime_ns == mtime  # untouched, not rewritten alike
    assert (second.changed, second.replaced, second.added, second.rows) == (False, 2, 0, 2)
    assert first.rows == second.rows == len(read_back(target)) == 2
    # an independent first run to another path gives the same bytes (no clock, no randomness)
    other = target_of(tmp_path, fmt, name="other")
    ex.write_export(rows, other)
    if fmt == "sqlite":
        assert sqlite_dump(other) == sqlite_dump(target)
    else:
        assert raw_bytes(other) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_upsert_replaces_given_periods_and_keeps_the_others(tmp_path, fmt):
    target = target_of(tmp_path, fmt)
    ex.write_export(stamp(["2024-01-31", "2024-02-29", "2024-03-31"], nps=[1.0, 2.0, 3.0]), target)
    result = ex.write_export(
        stamp(["2024-03-31", "2024-04-30"], as_of="2024-04-10", h="h2", nps=[30.0, 40.0]), target
    )
    assert (result.added, result.replaced, result.rows) == (1, 1, 4)
    back = read_back(target)
    assert list(back["period"]) == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]
    assert as_number(back["nps"]) == [1.0, 2.0, 30.0, 40.0]
    assert list(back["as_of"]) == ["2024-03-15", "2024-03-15", "2024-04-10", "2024-04-10"]
    assert list(back["input_hash"]) == ["h1", "h1", "h2", "h2"]


def test_upsert_leaves_untouched_rows_byte_identical(tmp_path):
    target = tmp_path / "k.csv"
    ex.write_export(
        stamp(["2024-01-31", "2024-02-29"], nps=[1 / 3, 2.5], note=["=x", "-y"]), target
    )
    old_lines = target.read_text().splitlines()
    ex.write_export(stamp(["2024-03-31"], nps=9.0, note="ok"), target)
    new_lines = target.read_text().splitlines()
    assert new_lines[:3] == old_lines  # header and the two old rows, byte for byte
    assert new_lines[3] == "2024-03-31,M,2024-03-15,0.1.0,h1,9,ok"


def test_sqlite_history_over_three_overlapping_runs(tmp_path):
    target = target_of(tmp_path, "sqlite")
    # run 1: Jan-Mar as of Mar 15; run 2: Feb-Apr as of Apr 20; run 3: Apr-May as of May 10
    ex.write_export(stamp(["2024-01-31", "2024-02-29", "2024-03-31"], as_of="2024-03-15",
                          nps=[1.0, 2.0, 3.0]), target)  # fmt: skip
    ex.write_export(stamp(["2024-02-29", "2024-03-31", "2024-04-30"], as_of="2024-04-20",
                          nps=[20.0, 30.0, 40.0]), target)  # fmt: skip
    last = ex.write_export(stamp(["2024-04-30", "2024-05-31"], as_of="2024-05-10",
                                 nps=[400.0, 500.0]), target)  # fmt: skip
    assert (last.added, last.replaced, last.rows) == (1, 1, 5)
    with sqlite3.connect(file_of(target)) as con:
        got = con.execute("SELECT period, as_of, nps FROM kpis ORDER BY period").fetchall()
        (dupes,) = con.execute(
            "SELECT COUNT(*) FROM (SELECT period FROM kpis GROUP BY period HAVING COUNT(*) > 1)"
        ).fetchone()
    assert dupes == 0
    assert got == [
        ("2024-01-31", "2024-03-15", 1.0),
        ("2024-02-29", "2024-04-20", 20.0),
        ("2024-03-31", "2024-04-20", 30.0),
        ("2024-04-30", "2024-05-10", 400.0),
        ("2024-05-31", "2024-05-10", 500.0),
    ]


def test_sqlite_table_is_configurable_and_other_tables_untouched(tmp_path):
    path = tmp_path / "kpis.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE customers (id TEXT, name TEXT)")
        con.execute("INSERT INTO customers VALUES ('a', 'Ann')")
    ex.write_export(stamp(["2024-01-31"], nps=1.0), f"sqlite:///{path}", table="kpis_monthly")
    ex.write_export(stamp(["2024-12-31"], freq="Y", nps=2.0), path, table="kpis_yearly")
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT * FROM customers").fetchall() == [("a", "Ann")]
        assert con.execute("SELECT period, nps FROM kpis_monthly").fetchall() == [
            ("2024-01-31", 1.0)
        ]
        assert con.execute("SELECT period, nps FROM kpis_yearly").fetchall() == [
            ("2024-12-31", 2.0)
        ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_frame_creates_an_empty_export_that_takes_rows_later(tmp_path, fmt):
    target = target_of(tmp_path, fmt)
    result = ex.write_export(stamp([], nps=[]), target)
    assert (result.rows, result.added) == (0, 0)
    assert file_of(target).exists()
    ex.write_export(stamp(["2024-01-31"], nps=5.0), target)
    assert as_number(read_back(target)["nps"]) == [5.0]


# ---------------------------------------------------------------------------------------------
# CSV formula injection


def test_formula_injection_is_neutralised_in_csv_only(tmp_path):
    texts = [
        "=1+1",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\tTAB",
        "\rCR",
        "safe",
        "a=b",
        None,
    ]
    n = len(texts)
    rows = stamp([f"2024-01-{d:02d}" for d in range(1, n + 1)], note=texts, delta=[-3.5] * n)
    csv_target = tmp_path / "k.csv"
    ex.write_export(rows, csv_target)
    back = pd.read_csv(csv_target, dtype=str, keep_default_na=False)
    assert list(back["note"]) == ["'=1+1", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1:A9)",
                                  "'\tTAB", "'\rCR", "safe", "a=b", ""]  # fmt: skip
    assert set(back["delta"]) == {"-3.5"}  # numbers are not text: negative numbers stay numbers
    # the other formats hold the text unchanged
    for fmt in ("jsonl", "parquet", "sqlite"):
        target = target_of(tmp_path, fmt)
        ex.write_export(rows, target)
        assert list(read_back(target)["note"]) == texts
    # reading the CSV back for an upsert does not quote twice
    before = csv_target.read_bytes()
    ex.write_export(stamp(["2025-01-01"], note="=2", delta=1.0), csv_target)
    after = csv_target.read_bytes()
    assert after.startswith(before)
    assert after.endswith(b"2025-01-01,M,2024-03-15,0.1.0,h1,'=2,1\n")


# ---------------------------------------------------------------------------------------------
# refusing to overwrite what is not ours


def _assert_refused(target, call, *fragments):
    path = file_of(str(target))
    before = path.read_bytes()
    with pytest.raises(ExportError) as info:
        call()
    assert path.read_bytes() == before  # untouched
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    return message


def test_refuses_an_unrelated_csv(tmp_path):
    target = tmp_path / "orders.csv"
    target.write_text("customer_id,order_date,amount\na,2024-01-01,10\n")
    message = _assert_refused(
        target,
        lambda: ex.write_export(stamp(["2024-01-31"], nps=1.0), target),
        "Refusing to overwrite",
        "not a KPI export",
        "'as_of'",
        "'customer_id'",
    )
    assert "left untouched" in message


@pytest.mark.parametrize(
    "content",
    [
        "period,value\n2024-01-31,3\n",  # a different tool's KPI file: no stamp columns
        "\x00\x01binary\xff",
        "period,freq,as_of,loyalty_metrics_version,input_hash\n2024-01-31,M,x,0.1,h\n"
        "2024-01-31,M,x,0.1,h\n",  # repeated period: hand-edited or not ours
    ],
    ids=["other-schema", "binary", "repeated-key"],
)
def test_refuses_foreign_csv_files(tmp_path, content):
    target = tmp_path / "k.csv"
    target.write_bytes(content.encode("latin-1"))
    _assert_refused(target, lambda: ex.write_export(stamp(["2024-01-31"], nps=1.0), target),
                    "not a KPI export")  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_refuses_a_different_schema(tmp_path, fmt):
    target = target_of(tmp_path, fmt)
    # our stamps, but `nps` holds text: a different schema
    ex.write_export(stamp(["2024-01-31"], nps="high"), target)
    _assert_refused(target, lambda: ex.write_export(stamp(["2024-02-29"], nps=3.0), target),
                    "different schema", "'nps'")  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_refuses_to_mix_frequencies(tmp_path, fmt):
    target = target_of(tmp_path, fmt)
    ex.write_export(stamp(["2024-01-31"], nps=1.0), target)
    _assert_refused(
        target,
        lambda: ex.write_export(stamp(["2024-03-31"], freq="Q", nps=1.0), target),
        "holds M periods",
        "one frequency per target",
    )


def test_refuses_foreign_jsonl_and_parquet(tmp_path):
    jsonl = tmp_path / "k.jsonl"
    jsonl.write_text('{"period": "2024-01-31"}\nnot json\n')
    _assert_refused(jsonl, lambda: ex.write_export(stamp(["x"], v=1.0), jsonl), "JSON Lines")
    jsonl.write_text('{"event": "click", "user": 3}\n')
    _assert_refused(jsonl, lambda: ex.write_export(stamp(["x"], v=1.0), jsonl), "'period'")
    parquet = tmp_path / "k.parquet"
    parquet.write_bytes(b"PAR1 not really")
    _assert_refused(parquet, lambda: ex.write_export(stamp(["x"], v=1.0), parquet), "Parquet")
    pd.DataFrame({"customer_id": ["a"], "amount": [1.0]}).to_parquet(parquet)
    _assert_refused(parquet, lambda: ex.write_export(stamp(["x"], v=1.0), parquet), "'as_of'")


def test_refuses_a_non_export_sqlite_table_and_a_non_database(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE kpis (period TEXT, value REAL)")
        con.execute("INSERT INTO kpis VALUES ('2024-01-31', 1.0)")
    target = f"sqlite:///{path}"
    _assert_refused(target, lambda: ex.write_export(stamp(["2024-01-31"], nps=1.0), target),
                    "table 'kpis'", "choose another --table")  # fmt: skip
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT * FROM kpis").fetchall() == [("2024-01-31", 1.0)]
    text = tmp_path / "notes.db"
    text.write_text("these are my notes, not a database\n")
    _assert_refused(text, lambda: ex.write_export(stamp(["2024-01-31"], nps=1.0), text),
                    "not a SQLite database")  # fmt: skip


def test_empty_file_counts_as_an_empty_export(tmp_path):
    target = tmp_path / "k.csv"
    target.touch()  # e.g. created beforehand to set permissions
    assert ex.write_export(stamp(["2024-01-31"], nps=1.0), target).added == 1


# ---------------------------------------------------------------------------------------------
# schema evolution


@pytest.mark.parametrize("fmt", FORMATS)
def test_schema_evolution_adds_new_and_keeps_dropped_columns(tmp_path, fmt):
    target = target_of(tmp_path, fmt)
    # version 1 knows nps and csat
    ex.write_export(stamp(["2024-01-31", "2024-02-29"], nps=[1.0, 2.0], csat=[80.0, 90.0]), target)
    # version 2 adds engagement_score: old rows keep their values, the new column is empty there
    ex.write_export(stamp(["2024-02-29", "2024-03-31"], nps=[20.0, 30.0], csat=[91.0, 92.0],
                          engagement_score=[50.0, 60.0]), target)  # fmt: skip
    back = read_back(target)
    assert list(back.columns) == [*ex.STAMP_COLUMNS, "nps", "csat", "engagement_score"]
    assert as_number(back["nps"]) == [1.0, 20.0, 30.0]
    assert as_number(back["csat"]) == [80.0, 91.0, 92.0]
    assert as_number(back["engagement_score"]) == [None, 50.0, 60.0]
    # version 3 no longer has csat: kept for the rows it does not replace (no data dropped)
    ex.write_export(stamp(["2024-04-30"], nps=40.0, engagement_score=70.0), target)
    back = read_back(target)
    assert list(back.columns) == [*ex.STAMP_COLUMNS, "nps", "csat", "engagement_score"]
    assert as_number(back["csat"]) == [80.0, 91.0, 92.0, None]
    assert as_number(back["nps"]) == [1.0, 20.0, 30.0, 40.0]


# ---------------------------------------------------------------------------------------------
# files: temp files, permissions, symlinks, folders


def test_stale_temp_files_of_killed_runs_are_removed(tmp_path):
    target = tmp_path / "k.csv"
    stale = tmp_path / ".k.csv.0123abcd4567.tmp"
    stale.write_text("half a file")
    unrelated = tmp_path / ".other.csv.0123abcd4567.tmp"
    unrelated.write_text("not ours")
    ex.write_export(stamp(["2024-01-31"], nps=1.0), target)
    assert not stale.exists()
    assert unrelated.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".other.csv.0123abcd4567.tmp", "k.csv", "k.csv.lock"]  # fmt: skip


def test_permissions_are_kept_and_symlinks_followed(tmp_path):
    real = tmp_path / "real.csv"
    ex.write_export(stamp(["2024-01-31"], nps=1.0), real)
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    # a symlinked target is followed only when asked (refused by default: see below)
    ex.write_export(stamp(["2024-02-29"], nps=2.0), link, follow_symlinks=True)
    assert link.is_symlink()
    assert real.stat().st_mode & 0o777 == 0o640
    assert as_number(read_back(str(real))["nps"]) == [1.0, 2.0]


def test_missing_folder_and_folder_target_are_export_errors(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        ex.write_export(stamp(["x"], v=1.0), tmp_path / "nope" / "k.csv")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        ex.write_export(stamp(["x"], v=1.0), tmp_path / "d.csv")


# ---------------------------------------------------------------------------------------------
# locking


def test_lock_timeout_when_another_export_holds_the_lock(tmp_path):
    target = tmp_path / "k.csv"
    ex.write_export(stamp(["2024-01-31"], nps=1.0), target)
    before = target.read_bytes()
    dest = ex._parse_target(target, "test")
    with ex._exclusive_lock(dest, 0):  # another holder (a separate open file description)
        started = time.monotonic()
        with pytest.raises(LockTimeoutError) as info:
            ex.write_export(stamp(["2024-02-29"], nps=2.0), target, lock_timeout=0.3)
        waited = time.monotonic() - started
    assert 0.3 <= waited < 3
    message = str(info.value)
    assert str(target) in message and "k.csv.lock" in message and "0.3 s" in message
    assert f"(process {os.getpid()})" in message
    assert target.read_bytes() == before
    assert isinstance(info.value, ExportError)  # callers catching ExportError see it too


def test_second_export_waits_for_the_lock_then_writes(tmp_path):
    target = tmp_path / "k.csv"
    dest = ex._parse_target(target, "test")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with ex._exclusive_lock(dest, 0):
            locked.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    result = ex.write_export(stamp(["2024-01-31"], nps=1.0), target, lock_timeout=10)
    holder.join()
    assert time.monotonic() - started >= 0.25
    assert result.added == 1


def test_sqlite_lock_timeout(tmp_path):
    target = target_of(tmp_path, "sqlite")
    dest = ex._parse_target(target, "test")
    with ex._exclusive_lock(dest, 0), pytest.raises(LockTimeoutError, match="kpis.db.lock"):
        ex.write_export(stamp(["2024-01-31"], nps=1.0), target, lock_timeout=0)


# ---------------------------------------------------------------------------------------------
# parameters


@pytest.mark.parametrize(
    ("target", "match"),
    [
        ("kpis.txt", "must be a path ending in .csv, .jsonl or .parquet"),
        ("sqlite://kpis.db", "must be a SQLite URL"),
        ("sqlite:///", "must be a SQLite URL"),
        (42, "must be a path or a 'sqlite:///' URL"),
    ],
)
def test_bad_targets(target, match):
    with pytest.raises(ValueError, match=match):
        ex.write_export(stamp(["x"], v=1.0), target)


def test_sqlite_urls_and_suffixes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ex._parse_target("sqlite:///rel/k.db", "f").path == str(tmp_path / "rel" / "k.db")
    assert ex._parse_target("sqlite:////abs/k.db", "f").path == "/abs/k.db"
    for name in ("a.db", "a.sqlite", "a.SQLITE3"):
        assert ex._parse_target(name, "f").format == "sqlite"
    assert ex._parse_target(Path("a.Parquet"), "f").format == "parquet"


def test_bad_frames_and_options(tmp_path):
    target = tmp_path / "k.csv"
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['input_hash'\]"):
        ex.write_export(stamp(["x"], v=1.0).drop(columns="input_hash"), target)
    with pytest.raises(ValueError, match="repeats"):
        ex.write_export(stamp(["x", "x"], v=1.0), target)
    with pytest.raises(ValueError, match="missing values"):
        ex.write_export(stamp(["x", None], v=1.0), target)
    with pytest.raises(ValueError, match="'lock_timeout' parameter of write_export"):
        ex.write_export(stamp(["x"], v=1.0), target, lock_timeout=-1)
    with pytest.raises(ValueError, match="'table' parameter"):
        ex.write_export(stamp(["x"], v=1.0), tmp_path / "k.db", table="sqlite_master")
    with pytest.raises(TypeError, match="DataFrame"):
        ex.write_export([1, 2], target)
    assert not target.exists()


def test_value_kinds_are_normalised(tmp_path):
    # datetimes as ISO text, categoricals as text, nullable ints as numbers, bools as bools
    rows = stamp(["a", "b"])
    rows["day"] = pd.to_datetime(["2024-01-02", "2024-01-03"])
    rows["when"] = pd.to_datetime(["2024-01-02 10:30", None])
    rows["segment"] = pd.Categorical(["gold", None])
    rows["count"] = pd.array([3, None], dtype="Int64")
    rows["member"] = pd.array([True, None], dtype="boolean")
    target = tmp_path / "k.csv"
    ex.write_export(rows, target)
    lines = target.read_text().splitlines()
    assert lines[1].endswith(",2024-01-02,2024-01-02T10:30:00.000000,gold,3,true")
    assert lines[2].endswith(",2024-01-03,,,,")
    assert ex.write_export(rows, target).changed is False


# ---------------------------------------------------------------------------------------------
# input hash


def test_input_hash_is_order_independent_and_content_sensitive():
    orders = pd.DataFrame({
        "customer_id": ["a", "b", "a"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01"]),
        "amount": [10.0, 5.0, 7.5],
        "channel": pd.Categorical(["web", "shop", "web"]),
    })  # fmt: skip
    base = ex.input_hash({"orders": orders})
    assert len(base) == 64 and int(base, 16) >= 0
    shuffled = orders.sample(frac=1, random_state=1)[["amount", "channel", "order_date",
                                                       "customer_id"]]  # fmt: skip
    assert ex.input_hash({"orders": shuffled}) == base
    # same dates at microsecond resolution (pandas 3 may infer it), categories in another order
    other_unit = orders.assign(
        order_date=orders["order_date"].dt.as_unit("us"),
        channel=orders["channel"].cat.reorder_categories(["web", "shop"]),
    )
    assert ex.input_hash({"orders": other_unit}) == base
    assert ex.input_hash({"orders": orders, "surveys": None}) == base
    assert ex.input_hash({"orders": orders.assign(amount=[10.0, 5.0, 7.51])}) != base
    assert ex.input_hash({"orders": orders.iloc[:2]}) != base
    assert ex.input_hash({"orders": orders.rename(columns={"amount": "net"})}) != base
    assert ex.input_hash({"spend": orders}) != base  # the table name counts
    assert ex.input_hash({"orders": orders}, options={"margin": 0.3}) != base
    doubled = pd.concat([orders, orders.iloc[[0]]])
    assert ex.input_hash({"orders": doubled}) != base  # duplicates count


# ---------------------------------------------------------------------------------------------
# export_kpis with a stand-in kpis_by_period (to check what it is asked and what is written)


def _fake_kpis_by_period(orders, surveys=None, events=None, spend=None, customers=None, *,
                         freq="M", start=None, end=None, **options):  # fmt: skip
    """customers and revenue per calendar period within start..end; index = period end,
    the last one clipped to `end` (to check that the export key is the calendar end)."""
    _fake_kpis_by_period.calls.append({"freq": freq, "start": start, "end": end, **options})
    days = orders["order_date"].dt.normalize()
    keep = days <= pd.Timestamp(end)
    if start is not None:
        keep &= days >= pd.Timestamp(start)
    o = orders[keep]
    periods = o["order_date"].dt.to_period(freq)
    out = o.groupby(periods).agg(customers=("customer_id", "nunique"), revenue=("amount", "sum"))
    ends = out.index.end_time.normalize()
    out.index = pd.DatetimeIndex(np.minimum(ends, pd.Timestamp(end)))
    return out


@pytest.fixture
def fake_kpis(monkeypatch):
    import loyalty_metrics.snapshot as kpis_module

    _fake_kpis_by_period.calls = []
    monkeypatch.setattr(kpis_module, "kpis_by_period", _fake_kpis_by_period)
    return _fake_kpis_by_period


@pytest.fixture
def orders():
    # Jan: a 10, b 5 | Feb: a 20 | Mar 5: c 7
    return pd.DataFrame({
        "customer_id": ["a", "b", "a", "c"],
        "order_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03", "2024-03-05"]),
        "amount": [10.0, 5.0, 20.0, 7.0],
    })  # fmt: skip


def test_export_kpis_rows_and_stamps(tmp_path, fake_kpis, orders):
    target = tmp_path / "kpis.csv"
    result = ex.export_kpis(orders, target=target, freq="M")
    assert fake_kpis.calls == [
        {"freq": "M", "start": None, "end": pd.Timestamp("2024-03-05"), "window": "expanding",
         "options": None}  # the caller's options, passed on as one object
    ]  # fmt: skip
    assert result.keys == ("2024-01-31", "2024-02-29", "2024-03-31")  # calendar ends
    frame = result.frame
    assert list(frame.columns) == [
        *ex.STAMP_COLUMNS,
        "period_end",
        "status",
        "customers",
        "revenue",
    ]
    assert set(frame["as_of"]) == {"2024-03-05"}  # default: the last order date
    # labelled as kpis_by_period labels them; March is computed as of its 5th: partial
    assert frame["period_end"].tolist() == ["2024-01-31", "2024-02-29", "2024-03-05"]
    assert frame["status"].tolist() == ["complete", "complete", "partial"]
    assert set(frame["loyalty_metrics_version"]) == {loyalty_metrics.__version__}
    assert set(frame["input_hash"]) == {ex.input_hash({"orders": orders})}
    assert frame["revenue"].tolist() == [15.0, 20.0, 7.0]
    assert target.read_text().splitlines()[1] == (
        f"2024-01-31,M,2024-03-05,{loyalty_metrics.__version__},"
        f"{ex.input_hash({'orders': orders})},2024-01-31,complete,2,15"
    )
    again = ex.export_kpis(orders, target=target, freq="M")
    assert again.changed is False


def test_export_kpis_backfill_and_single_period(tmp_path, fake_kpis, orders):
    target = target_of(tmp_path, "sqlite")
    ex.export_kpis(orders, target=target, as_of="2024-02-10")
    # since in mid-February: the whole of February is rewritten; expanding rows are always
    # computed from the first order on (start None), so they equal a full run's rows.
    result = ex.export_kpis(orders, target=target, since="2024-02-15", as_of="2024-03-31")
    assert fake_kpis.calls[-1]["start"] is None
    assert result.keys == ("2024-02-29", "2024-03-31")
    assert (result.added, result.replaced) == (1, 1)
    # single period: since in the as_of period
    single = ex.export_kpis(orders, target=target, since="2024-03-01", as_of="2024-03-31",
                            options=loyalty_metrics.MetricOptions(margin=0.5))  # fmt: skip
    assert single.keys == ("2024-03-31",)
    assert fake_kpis.calls[-1]["options"].margin == 0.5
    back = read_back(target)
    assert list(back["period"]) == ["2024-01-31", "2024-02-29", "2024-03-31"]
    assert list(back["as_of"]) == ["2024-02-10", "2024-03-31", "2024-03-31"]


def test_export_kpis_per_period_rows(tmp_path, fake_kpis, orders):
    target = tmp_path / "kpis.csv"
    result = ex.export_kpis(orders, target=target, since="2024-02-15", window="period")
    # per-period rows need nothing before their period: start aligned to Feb 1
    assert fake_kpis.calls[-1]["start"] == pd.Timestamp("2024-02-01")
    assert fake_kpis.calls[-1]["window"] == "period"
    assert result.keys == ("2024-02-29", "2024-03-31")
    assert set(result.frame["freq"]) == {"M/period"}
    # the two kinds of rows never mix in one target
    with pytest.raises(ExportError, match="one frequency per target"):
        ex.export_kpis(orders, target=target, window="expanding")
    with pytest.raises(ValueError, match="'window' parameter of export_kpis"):
        ex.export_kpis(orders, target=target, window="rolling")


def test_export_kpis_parameter_and_data_errors(tmp_path, fake_kpis, orders):
    target = tmp_path / "k.csv"
    with pytest.raises(ValueError, match=r"'freq' parameter of export_kpis must be one of"):
        ex.export_kpis(orders, target=target, freq="D")
    with pytest.raises(ValueError, match="'since' parameter of export_kpis"):
        ex.export_kpis(orders, target=target, since="2024-04-01")
    with pytest.raises(DataValidationError, match="No orders on or before"):
        ex.export_kpis(orders, target=target, as_of="2023-12-31")
    with pytest.raises(ValueError, match="'target' parameter of export_kpis"):
        ex.export_kpis(orders, target="k.xlsx")
    assert not target.exists()


def test_kpi_rows_keeps_one_key_per_period_whatever_the_index_date():
    frame = pd.DataFrame({"nps": [1.0, 2.0]}, index=pd.to_datetime(["2024-03-31", "2024-04-12"]))
    rows = ex.kpi_rows(frame, freq="Q", as_of="2024-04-12", input_hash="h")
    assert rows["period"].tolist() == ["2024-03-31", "2024-06-30"]
    weekly = ex.kpi_rows(frame, freq="W", as_of="2024-04-12", input_hash="h")
    assert weekly["period"].tolist() == ["2024-03-31", "2024-04-14"]  # weeks end on Sunday
    with pytest.raises(ValueError, match="stamp columns"):
        ex.kpi_rows(frame.rename(columns={"nps": "as_of"}), freq="M", as_of="2024-04-12",
                    input_hash="h")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# export_kpis with the real kpis_by_period


def test_real_kpis_backfill_rows_equal_full_run_rows(tmp_path):
    rng = np.random.default_rng(7)
    n = 400
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 540, n), unit="D")
    orders = pd.DataFrame({
        "customer_id": [f"c{i}" for i in rng.integers(0, 60, n)],
        "order_date": days.as_unit("ns"),
        "amount": rng.gamma(2.0, 20.0, n).round(2),
    })  # fmt: skip
    full = ex.export_kpis(orders, target=tmp_path / "full.csv", freq="M", as_of="2024-05-20")
    part = ex.export_kpis(orders, target=tmp_path / "part.csv", freq="M", as_of="2024-05-20",
                          since="2024-02-10")  # fmt: skip
    assert part.keys == ("2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31")
    full_rows = full.frame.set_index("period").loc[list(part.keys)]
    pd.testing.assert_frame_equal(part.frame.set_index("period"), full_rows)
    assert list(full.frame.columns) == [
        *ex.STAMP_COLUMNS,
        "period_end",
        "status",
        *loyalty_metrics.KPI_KEYS,
    ]
    # the last row is the partial May, as of May 20, under the calendar key: by default the
    # snapshot from the first order on (kpis_by_period's row), per period on request
    from loyalty_metrics.snapshot import kpis

    assert full.frame.iloc[-1]["revenue"] == pytest.approx(
        kpis(orders, end="2024-05-20")["revenue"]
    )
    per_period = ex.export_kpis(orders, target=tmp_path / "pp.csv", as_of="2024-05-20",
                                window="period")  # fmt: skip
    may = kpis(orders, start="2024-05-01", end="2024-05-20")
    assert per_period.frame.iloc[-1]["revenue"] == pytest.approx(may["revenue"])
    backfill = ex.export_kpis(orders, target=tmp_path / "pp2.csv", as_of="2024-05-20",
                              since="2024-02-10", window="period")  # fmt: skip
    pd.testing.assert_frame_equal(
        backfill.frame.set_index("period"),
        per_period.frame.set_index("period").loc[list(backfill.keys)],
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_kpis_on_sample_data_twice_is_byte_identical(tmp_path, fmt):
    tables = loyalty_metrics.generate_sample(120, seed=3, months=5)
    target = target_of(tmp_path, fmt)
    first = ex.export_kpis(**tables, target=target, freq="M")
    before = raw_bytes(target)
    second = ex.export_kpis(**tables, target=target, freq="M")
    assert (first.rows, second.rows, second.changed) == (5, 5, False)
    assert raw_bytes(target) == before
    back = read_back(target)
    assert len(back) == 5 and back["period"].is_unique
    assert set(back["input_hash"]) == {ex.input_hash(tables)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_awkward_text_round_trips_and_stays_stable(tmp_path, fmt):
    # commas, quotes, newlines, CR, and line separators str.splitlines() would split on
    texts = ["a,b", 'say "hi"', "two\nlines", "cr\rhere", "ls\u2028ps\u2029nel\x85", "ünï €"]
    target = target_of(tmp_path, fmt)
    rows = stamp([f"2024-01-{d:02d}" for d in range(1, 7)], note=texts)
    ex.write_export(rows, target)
    assert list(read_back(target)["note"]) == texts
    before = raw_bytes(target)
    assert ex.write_export(rows, target).changed is False  # read back identically
    ex.write_export(stamp(["2024-02-01"], note="x"), target)
    assert list(read_back(target)["note"]) == [*texts, "x"]
    if fmt in ("csv", "jsonl"):
        assert raw_bytes(target).startswith(before)


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "k.csv"
    ex.write_export(stamp(["2024-01-31"], nps=1.0), target)
    before = target.read_bytes()

    def disk_full(frame, kinds, handle):
        handle.write(b"period,half a row")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(ex._RENDERERS, "csv", disk_full)
    with pytest.raises(ExportError, match="No space left on device. It was left as it was"):
        ex.write_export(stamp(["2024-02-29"], nps=2.0), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.csv", "k.csv.lock"]


def test_points_kpis_become_columns_and_an_older_target_gains_them(tmp_path):
    from loyalty_metrics.points import points_kpis

    tables = loyalty_metrics.generate_sample(150, seed=2, months=6)
    target = str(tmp_path / "kpis.csv")
    without = {k: v for k, v in tables.items() if k != "points"}
    ex.export_kpis(**without, target=target, freq="M")  # an export made before the ledger
    as_of = tables["orders"]["order_date"].max()
    last = pd.Period(as_of, freq="M").start_time
    result = ex.export_kpis(**tables, target=target, freq="M", since=last,
                            options=loyalty_metrics.MetricOptions(point_value=0.01))  # fmt: skip
    back = read_back(target)
    assert list(back.columns) == [
        *ex.STAMP_COLUMNS,
        "period_end",
        "status",
        *loyalty_metrics.KPI_KEYS,
        *loyalty_metrics.POINTS_KPI_KEYS,
    ]
    # the rows not replaced keep their values and gain empty points columns
    assert back.iloc[:-1]["points_issued"].isna().all()
    assert back.iloc[:-1]["customers"].notna().all()
    # the new row: points_kpis over the same expanding window, point_value passed on
    first_order = tables["orders"]["order_date"].min()
    expected = points_kpis(tables["points"], tables["customers"], tables["orders"],
                           start=first_order, end=as_of, point_value=0.01)  # fmt: skip
    row = result.frame.iloc[-1]
    for key in loyalty_metrics.POINTS_KPI_KEYS:
        assert row[key] == pytest.approx(expected[key], nan_ok=True), key
    assert row["points_issued"] > 0
    # the ledger is part of the input hash
    assert row["input_hash"] == ex.input_hash(tables, options={"point_value": 0.01})


# ---------------------------------------------------------------------------------------------
# damage outside the data: planted lock files, non-regular targets, other people's temp files


def test_a_symlink_planted_at_the_lock_path_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "k.csv.lock").symlink_to(victim)
    with pytest.raises(ExportError, match="k.csv.lock.*symlink"):
        ex.write_export(stamp(["2024-01-31"], nps=1.0), tmp_path / "k.csv")
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "k.csv").exists()


def test_a_non_regular_lock_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "k.csv.lock")
    with pytest.raises(ExportError, match="not a regular file"):
        ex.write_export(stamp(["2024-01-31"], nps=1.0), tmp_path / "k.csv", lock_timeout=0)


@pytest.mark.parametrize(
    "content",
    [b"precious data that is not a pid\n", b"", b"12345\n", b"x" * 5000],
)
def test_an_existing_lock_file_is_never_truncated_nor_overwritten(tmp_path, content):
    lock = tmp_path / "k.csv.lock"
    lock.write_bytes(content)
    ex.write_export(stamp(["2024-01-31"], nps=1.0), tmp_path / "k.csv")
    after = lock.read_bytes()
    if content in (b"", b"12345\n"):  # an empty lock or one holding a pid: our pid, padded
        assert after == f"{os.getpid():>20}\n".encode()
    else:
        assert after == content


def test_a_hard_linked_lock_file_is_not_written(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"")
    os.link(victim, tmp_path / "k.csv.lock")
    ex.write_export(stamp(["2024-01-31"], nps=1.0), tmp_path / "k.csv")
    assert victim.read_bytes() == b""


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_target_behind_a_symlink_to_a_fifo_is_refused_without_hanging(tmp_path, fmt):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = file_of(target_of(tmp_path, fmt))
    link.symlink_to(fifo)
    with pytest.raises(ExportError, match="is a symlink"):  # the default
        ex.write_export(stamp(["2024-01-31"], nps=1.0), target_of(tmp_path, fmt))
    with pytest.raises(ExportError, match="not a regular file"):  # followed: still refused
        ex.write_export(
            stamp(["2024-01-31"], nps=1.0), target_of(tmp_path, fmt), follow_symlinks=True
        )
    assert link.is_symlink() and Path(os.readlink(link)) == fifo
    assert os.path.exists(fifo) and not os.path.isfile(fifo)


def test_a_target_behind_a_symlink_to_a_device_is_refused(tmp_path):
    (tmp_path / "k.csv").symlink_to("/dev/null")
    with pytest.raises(ExportError, match="is a symlink"):  # the default
        ex.write_export(stamp(["2024-01-31"], nps=1.0), tmp_path / "k.csv")
    with pytest.raises(ExportError, match="not a regular file"):  # followed: still refused
        ex.write_export(stamp(["2024-01-31"], nps=1.0), tmp_path / "k.csv", follow_symlinks=True)
    assert (tmp_path / "k.csv").is_symlink()


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_file_behind_a_symlink_is_not_taken_for_an_empty_export(tmp_path, fmt):
    unrelated = tmp_path / "unrelated"
    unrelated.write_bytes(b"")
    target = target_of(tmp_path, fmt)
    file_of(target).symlink_to(unrelated)
    with pytest.raises(ExportError, match="is a symlink"):  # the default
        ex.write_export(stamp(["2024-01-31"], nps=1.0), target)
    with pytest.raises(ExportError, match="empty file reached through a symlink"):  # followed
        ex.write_export(stamp(["2024-01-31"], nps=1.0), target, follow_symlinks=True)
    assert unrelated.read_bytes() == b""


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_symlinked_target_is_refused_and_nothing_outside_its_folder_touched(
    tmp_path, fmt, orders
):
    # A cron job running as root must not write where a link planted in its output folder
    # points: not the file (even a KPI export), not a lock or temporary file beside it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = target_of(elsewhere, fmt)
    ex.write_export(stamp(["2024-01-31"], nps=1.0), real)
    before = {p.name: p.read_bytes() for p in elsewhere.iterdir()}
    out = tmp_path / "out"
    out.mkdir()
    file_of(target_of(out, fmt)).symlink_to(file_of(real))
    with pytest.raises(ExportError) as refused:
        ex.write_export(stamp(["2024-02-29"], nps=2.0), target_of(out, fmt))
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert "is a symlink" in message and "--follow-symlinks" in message
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir()} == before
    assert [p.name for p in out.iterdir()] == [file_of(target_of(out, fmt)).name]
    with pytest.raises(ExportError, match="is a symlink"):  # export_kpis refuses it too
        ex.export_kpis(orders, target=target_of(out, fmt))
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir()} == before


def test_a_symlinked_folder_on_the_way_is_followed(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "current").symlink_to(real)  # a deployment layout: current -> release
    ex.write_export(stamp(["2024-01-31"], nps=1.0), tmp_path / "current" / "k.csv")
    assert as_number(read_back(str(real / "k.csv"))["nps"]) == [1.0]


def test_stale_temp_cleanup_removes_only_the_names_the_tool_generates(tmp_path):
    target = tmp_path / "k.csv"
    ours = tmp_path / ".k.csv.0123456789ab.tmp"
    ours.write_text("half a file")
    keep = [".k.csv.backup.tmp", ".k.csv.0123456789AB.tmp", ".k.csv.0123456789abc.tmp",
            ".k.csv..tmp", ".k.csv.x.y.tmp"]  # fmt: skip
    for name in keep:
        (tmp_path / name).write_text("someone's file")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / ".k.csv.fedcba987654.tmp").mkdir()  # not a regular file: left alone
    ex.write_export(stamp(["2024-01-31"], nps=1.0), target)
    assert not ours.exists()
    for name in keep:
        assert (tmp_path / name).read_text() == "someone's file"
    assert (tmp_path / ".k.csv.fedcba987654.tmp").is_dir()


@given(name=st.from_regex(r"\A\.k\.csv\.[0-9a-zA-Z._-]{0,16}\.tmp\Z"))
@settings(max_examples=40, deadline=None)
def test_stale_temp_cleanup_property(tmp_path_factory, name):
    # Generated variants of temp-like names: removed exactly when they have the generated shape.
    folder = tmp_path_factory.mktemp("tmp")
    (folder / name).write_text("x")
    ex.write_export(stamp(["2024-01-31"], nps=1.0), folder / "k.csv")
    generated = re.fullmatch(r"\.k\.csv\.[0-9a-f]{12}\.tmp", name) is not None
    assert (folder / name).exists() is not generated


def test_a_symlink_swapped_in_after_the_check_is_not_read_through(tmp_path):
    # The race a planted link could win: checked as a regular file, a symlink when read.
    target = tmp_path / "k.csv"
    ex.write_export(stamp(["2024-01-31"], nps=1.0), target)
    dest = ex._parse_target(str(target), "write_export", follow_symlinks=False)
    secret = tmp_path / "secret.csv"
    secret.write_text("not yours\n")
    target.unlink()
    target.symlink_to(secret)
    with pytest.raises(ExportError, match="is a symlink"):
        ex._read_target(dest)
