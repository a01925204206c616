"""``build_report(..., engine=...)`` and ``loyalty report --engine``: the headline KPIs, trend,
cohorts and RFM segments computed in DuckDB equal the pandas report's; the sections that need
the order lines in memory are left out, each with a one-line note."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import loyalty_metrics as lm
from loyalty_metrics.cli import cli as main
from loyalty_metrics.report import build_report

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TABLES = ("orders", "surveys", "events", "spend", "customers")
ON_ENGINE = ["kpis", "nps", "cohorts", "rfm", "clv", "ladder"]  # clv: from the engine's summary
NOT_ON_ENGINE = [
    "repeat_rate", "cac", "engagement", "programs", "points", "data_quality",
]  # fmt: skip


def same(a, b) -> bool:
    """Equal, numbers to rounding (rel 1e-9), recursively."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.fixture(scope="module")
def reports():
    frames = {t: getattr(lm, f"read_{t}")(SAMPLE / f"{t}.csv") for t in TABLES}
    kwargs = {"generated_at": "2025-01-02", "freq": "Q", "start": "2023-04-01"}
    expected = build_report(frames, **kwargs)
    on_engine = {**frames, "orders": str(SAMPLE / "orders.csv")}  # DuckDB reads the file
    actual = build_report(on_engine, engine="duckdb", strict=True, **kwargs)
    return expected, actual


def sections(report):
    return {s["id"]: s for s in report["sections"]}


def test_report_on_duckdb_shows_the_pandas_figures(reports):
    expected, actual = reports
    assert same(actual["window"], expected["window"])
    assert actual["inputs"] == expected["inputs"]  # orders: lines counted by the engine
    assert same(actual["comparison"], expected["comparison"])
    want, got = sections(expected), sections(actual)
    assert [s for s in ON_ENGINE if got[s]["shown"]] == ON_ENGINE
    assert same(got["kpis"]["values"], want["kpis"]["values"])
    for section in ON_ENGINE:
        tables = {t["id"]: t["rows"] for t in got[section]["tables"]}
        for table in want[section]["tables"]:
            if section == "kpis" and table["id"] == "categories":
                assert "categories" not in tables  # not on the engine, and said so
                continue
            if section == "clv" and table["id"] == "calibration":
                assert "calibration" not in tables  # the holdout split needs the lines
                continue
            assert same(tables[table["id"]], table["rows"]), (section, table["id"])
    # the cards: the same figures and comparisons, without the line-level extras
    cards = {c["key"]: c for c in got["kpis"]["stats"]}
    for card in want["kpis"]["stats"]:
        if card["key"] in cards:
            assert same(cards[card["key"]]["value"], card["value"]), card["key"]
            assert same(cards[card["key"]]["previous"], card["previous"]), card["key"]
    assert "not computed there" in got["kpis"]["notes"][0]
    # the predictive CLV from the engine's summary: the same figures and top customers
    assert same(
        {c["key"]: c["value"] for c in got["clv"]["stats"]},
        {c["key"]: c["value"] for c in want["clv"]["stats"]},
    )
    # the same caveats (window starts with the data: none here; churn's base period...),
    # and one more: the predictions have no holdout check on the engine, and it says why
    unchecked = [
        c["message"] for c in actual["caveats"] if "no calibration-vs-holdout" in c["message"]
    ]
    assert len(unchecked) == 1 and "order lines in memory, not on duckdb" in unchecked[0]
    assert [c["message"] for c in actual["caveats"] if c["message"] not in unchecked] == [
        c["message"] for c in expected["caveats"] if c["section"] in ON_ENGINE
    ]


@pytest.mark.parametrize("section", NOT_ON_ENGINE)
def test_report_on_duckdb_says_what_it_left_out(reports, section):
    _, actual = reports
    shown = sections(actual)[section]
    assert not shown["shown"]
    assert "not computed on the duckdb engine" in shown["note"]
    assert "--engine pandas" in shown["note"]


def test_cli_report_engine(tmp_path):
    files = [arg for t in TABLES for arg in (f"--{t}", str(SAMPLE / f"{t}.csv"))]
    out = tmp_path / "report.json"
    run = CliRunner().invoke(main, ["report", *files, "--engine", "duckdb", "-o", str(out)])
    assert run.exit_code == 0, run.output
    content = json.loads(out.read_text())
    assert sections(content)["cohorts"]["shown"]
    assert "Ladder" not in run.output  # notes go in the report, not on stderr
    html = tmp_path / "report.html"
    run = CliRunner().invoke(main, ["report", *files, "--engine", "duckdb", "-o", str(html)])
    assert run.exit_code == 0, run.output
    text = html.read_text()
    assert "not computed on the duckdb engine" in text and "Cohort retention" in text


def test_the_ladder_on_duckdb_equals_pandas():
    frames = {t: getattr(lm, f"read_{t}")(SAMPLE / f"{t}.csv") for t in TABLES}
    path = str(SAMPLE / "orders.csv")
    for end in ("2023-06-30", None):
        expected = lm.loyalty_ladder(
            frames["orders"], frames["surveys"], frames["customers"], end=end
        )
        actual = lm.loyalty_ladder(
            path, frames["surveys"], frames["customers"], end=end, engine="duckdb"
        )
        pd.testing.assert_frame_equal(actual, expected)
    expected = lm.ladder_transitions(
        frames["orders"], frames["surveys"], frames["customers"], start="2024-06-30"
    )
    actual = lm.ladder_transitions(
        path, frames["surveys"], frames["customers"], start="2024-06-30", engine="duckdb"
    )
    pd.testing.assert_frame_equal(actual, expected)
