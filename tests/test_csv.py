"""Every CSV the tool writes neutralises spreadsheet formulas (loyalty_metrics/_csv.py).

The class: a text cell, index label or header starting with = + - @ tab or CR is written as
'=... so that a spreadsheet shows it instead of running it; numbers stay numbers. Checked on the
shared writer by property, and on every command that writes a CSV by fixture.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics._csv import to_csv
from loyalty_metrics.cli import cli

RISKY = re.compile(r"[=+\-@\t\r]")
CDNOW = Path(__file__).parent / "data" / "cdnow" / "cdnow_sample.txt"

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
risky_texts = st.builds(lambda a, b: a + b, st.sampled_from(list("=+-@\t\r")), texts)


def cells_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def assert_no_live_formula(text: str) -> None:
    """No cell of ``text`` starts a formula, except numbers (-3.5 is a number, not a formula)."""
    for row in cells_of(text):
        for cell in row:
            if RISKY.match(cell):
                float(cell)  # raises for any text cell that a spreadsheet would run


@given(values=st.lists(st.one_of(texts, risky_texts, st.none()), min_size=1, max_size=8),
       numbers=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=8, max_size=8),
       label=st.one_of(texts, risky_texts))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_text_cells_labels_and_headers_are_neutralised_and_numbers_kept(values, numbers, label):
    n = len(values)
    frame = pd.DataFrame({"note": values, label: numbers[:n]}, index=[f"{v}" for v in values])
    before = frame.copy()
    text = to_csv(frame, float_format="%.17g")
    assert_no_live_formula(text)
    rows = cells_of(text)
    expect = ("'" + label) if RISKY.match(label) else label
    assert rows[0][2] == expect
    for row, value, number in zip(rows[1:], values, numbers, strict=False):
        want = "" if value is None else ("'" + value if RISKY.match(value) else value)
        assert row[1] == want  # the quote is added, nothing else changes
        assert float(row[2]) == number  # negative numbers are not quoted
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not modified


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """Orders whose ids, categories and rejected rows carry formula payloads."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "orders.csv").write_text(
        "customer_id,order_date,amount,category\n"
        '"=HYPERLINK(""http://x"",""y"")",2024-01-05,10,@SUM(A1:A9)\n'
        "b,2024-01-20,5,+cmd|' /C calc'!A0\n"
        '"=HYPERLINK(""http://x"",""y"")",2024-02-03,20,tv\n'
        "c,2024-03-05,-1,\tTAB\n"
        "+bad,2024-03-06,oops,=1+1\n"
        "@bad,2024-13-45,7,ok\n"
    )
    return folder


def test_demo_summary_and_rejected_rows(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["demo", str(hostile), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = (out / "customer_summary.csv").read_text()
    rejected = (out / "rejected" / "orders.csv").read_text()
    for text in (summary, rejected):
        assert_no_live_formula(text)
    assert "'=HYPERLINK(" in summary
    assert "'+bad" in rejected and "'=1+1" in rejected and "'@bad" in rejected


def test_validate_rejects(hostile: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(hostile), "--rejects", str(tmp_path)])
    assert result.exit_code == 1
    text = (tmp_path / "orders.rejected.csv").read_text()
    assert_no_live_formula(text)
    assert len(cells_of(text)) == 3  # header + the two rejected rows


def test_kpis_and_cohorts_csv(hostile: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["kpis", str(hostile), "--freq", "M", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert_no_live_formula(result.stdout)
    out = tmp_path / "cohorts.csv"
    result = CliRunner().invoke(cli, ["cohorts", str(hostile), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert_no_live_formula(out.read_text())


def test_clv_csv(tmp_path: Path) -> None:
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, dtype="str",
                      names=["full", "customer_id", "date", "cds", "amount"])  # fmt: skip
    # every third customer id is a formula payload
    ids = raw["customer_id"].where(
        raw["customer_id"].astype(int) % 3 != 0, "=" + raw["customer_id"]
    )
    dates = pd.to_datetime(raw["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d")
    orders = pd.DataFrame({"customer_id": ids, "order_date": dates, "amount": raw["amount"]})
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False)
    out = tmp_path / "clv.csv"
    result = CliRunner().invoke(
        cli, ["clv", "--orders", str(path), "--as-of", "1997-09-30", "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert_no_live_formula(text)
    assert "\n'=0003," in text
