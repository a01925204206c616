"""Reader results: frames that survive pandas and Parquet, ReadResult, read_table_result."""

from __future__ import annotations

import gc
import io
import json
import pickle
import weakref
from pathlib import Path

import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics.errors import ConfigError
from loyalty_metrics.io import READERS, REPORT_ATTR

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TABLES = sorted(READERS)


def _with_a_bad_row(table: str) -> pd.DataFrame:
    """The sample table as text plus one row that ``errors="reject"`` must reject."""
    raw = pd.read_csv(SAMPLE / f"{table}.csv", dtype=str, keep_default_na=False)
    bad = raw.iloc[[0]].copy()
    first_required = {
        "orders": ("amount", "not a number"),
        "surveys": ("score", "11"),
        "events": ("timestamp", "yesterday"),
        "spend": ("amount", "lots"),
        "customers": ("customer_id", ""),
        "points": ("type", "bonus"),
    }[table]
    bad[first_required[0]] = first_required[1]
    return pd.concat([raw, bad], ignore_index=True)


@pytest.fixture(scope="module", params=TABLES)
def read(request):
    table = request.param
    frame = READERS[table](_with_a_bad_row(table), errors="reject")
    return table, frame


def test_every_reader_frame_survives_parquet(read):
    table, frame = read
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow")  # raised TypeError while attrs held objects
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()), engine="pyarrow")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False, check_categorical=False)
    # Only the one-line summary went to the file; it names the read.
    assert back.attrs[REPORT_ATTR] == frame.attrs[REPORT_ATTR]
    assert (
        f"({table}): {len(frame) + 1:,} rows read, {len(frame):,} kept, 1 rejected"
        in (back.attrs[REPORT_ATTR])
    )
    with pytest.raises(ValueError, match="only its summary.*read_table_result"):
        lm.read_report(back)
    json.dumps(frame.attrs)


def test_every_reader_frame_survives_merge_and_concat(read):
    table, frame = read
    report = lm.read_report(frame)
    assert report.rows_rejected == 1 and report.table == table
    both = pd.concat([frame, frame], ignore_index=True)
    assert len(both) == 2 * len(frame)
    assert lm.read_report(both) is report  # one read: the report carries over
    keys = [c for c in frame.columns if frame[c].notna().all()][:1]
    merged = frame.head(50).merge(frame.head(50), on=keys, suffixes=("", "_other"))
    assert len(merged) >= 50
    other = READERS[table](SAMPLE / f"{table}.csv")
    mixed = pd.concat([frame, other], ignore_index=True)  # two reads: no report, no error
    assert len(mixed) == len(frame) + len(other)
    with pytest.raises(ValueError, match="carries no read report"):
        lm.read_report(mixed)
    merged.to_parquet(io.BytesIO())
    mixed.to_parquet(io.BytesIO())


def test_read_table_result_equals_the_reader(read):
    table, frame = read
    result = lm.read_table_result(table, _with_a_bad_row(table), errors="reject")
    assert isinstance(result, lm.ReadResult)
    pd.testing.assert_frame_equal(result.frame, frame)
    assert (result.rows_read, result.rows_kept, result.rows_rejected) == (
        len(frame) + 1,
        len(frame),
        1,
    )
    pd.testing.assert_frame_equal(result.rejected, lm.rejected_rows(frame))
    pd.testing.assert_frame_equal(result.problems, lm.read_report(frame).problems)
    assert lm.read_report(result.frame) is result.report
    assert str(result) == str(result.report)


def test_read_result_from_frame():
    frame = lm.read_spend(SAMPLE / "spend.csv")
    result = lm.ReadResult.from_frame(frame)
    assert result.frame is frame and result.report is lm.read_report(frame)
    assert result.rows_read == result.rows_kept == 96 and result.rows_rejected == 0
    assert result.rejected.empty and result.problems.empty
    with pytest.raises(ValueError, match="carries no read report"):
        lm.ReadResult.from_frame(pd.DataFrame({"a": [1]}))


def test_read_table_result_rejects_unknown_tables_and_options():
    with pytest.raises(ConfigError, match="'table' parameter of read_table_result"):
        lm.read_table_result("order", SAMPLE / "orders.csv")
    with pytest.raises(ConfigError, match="'errors' parameter of read_table_result"):
        lm.read_table_result("orders", SAMPLE / "orders.csv", errors="ignore")


def test_pickle_keeps_the_report_and_the_summary():
    frame = lm.read_surveys(pd.DataFrame({"score": ["9", "11", "7"]}), errors="reject")
    back = pickle.loads(pickle.dumps(frame))
    assert back.attrs[REPORT_ATTR] == frame.attrs[REPORT_ATTR]
    assert lm.rejected_rows(back)["reason"].tolist() == ["score: NPS score outside 0-10"]


def test_each_read_has_its_own_summary():
    raw = pd.DataFrame({"score": ["9"]})
    first, second = lm.read_surveys(raw), lm.read_surveys(raw)
    assert first.attrs[REPORT_ATTR] != second.attrs[REPORT_ATTR]
    assert pd.concat([first, second]).attrs == {}  # pandas drops attrs that differ


def test_the_report_lives_as_long_as_a_frame_of_its_read():
    frame = lm.read_surveys(pd.DataFrame({"score": ["9", "11", "7"]}), errors="reject")
    report = weakref.ref(lm.read_report(frame))
    derived = frame[frame["score"] > 8]
    del frame
    gc.collect()
    assert lm.read_report(derived) is report()  # kept alive by the derived frame
    del derived
    gc.collect()
    assert report() is None  # no registry keeps it beyond its frames
