"""Tests of read_points: the ledger's types, signs and the reader guarantees it shares."""

from __future__ import annotations

import io

import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics.errors import DataValidationError

LEDGER = (
    "customer_id;date;points;type;order_id;note\n"
    "a;05/03/2024;120,5;Earn;O1;\n"  # line 2: type in any case, decimal comma, day-first
    "a;06/03/2024;-50;REDEEM;;\n"
    "b;31/03/2024;-20; expire ;;\n"
    "b;01/04/2024;7;adjust;;goodwill\n"
    "b;02/04/2024;-7;Adjust;O2;refund R2\n"
)


def test_reads_a_ledger_with_any_case_and_the_usual_formats():
    points = lm.read_points(io.StringIO(LEDGER))
    assert list(points.columns) == ["customer_id", "date", "points", "type", "order_id", "note"]
    assert points["type"].tolist() == ["earn", "redeem", "expire", "adjust", "adjust"]
    assert list(points["type"].cat.categories) == ["adjust", "earn", "expire", "redeem"]
    assert points["points"].tolist() == [120.5, -50.0, -20.0, 7.0, -7.0]
    assert points["date"].tolist() == list(
        pd.to_datetime(["2024-03-05", "2024-03-06", "2024-03-31", "2024-04-01", "2024-04-02"])
    )
    report = lm.read_report(points)
    assert (report.settings["sep"], report.settings["decimal"]) == (";", ",")
    assert lm.points_kpis(points)["points_issued"] == 120.5


def test_a_sign_that_contradicts_the_type_is_an_error_naming_file_column_and_line():
    bad = LEDGER + "c;03/04/2024;-5;earn;;\n" + "c;04/04/2024;30;redeem;;\n"
    with pytest.raises(DataValidationError) as caught:
        lm.read_points(io.StringIO(bad))
    message = str(caught.value)
    assert "column 'points': line 7: earn row with negative points (earn >= 0)" in message
    assert "column 'points': line 8: redeem row with positive points (redeem <= 0)" in (message)
    problems = caught.value.problems
    assert problems[["line", "column", "value"]].values.tolist() == [
        [7, "points", "-5"],
        [8, "points", "30"],
    ]


def test_unknown_type_blank_id_and_bad_number_in_reject_mode():
    bad = (
        "customer_id,date,points,type\n"
        "a,2024-03-05,10,earn\n"
        "a,2024-03-06,10,bonus\n"  # line 3: unknown type
        ",2024-03-07,10,earn\n"  # line 4: blank id
        "b,2024-03-08,ten,expire\n"  # line 5: unparseable, so no sign check
        "b,2024-03-09,5,expire\n"  # line 6: positive expire
        "b,2024-03-10,,adjust\n"  # line 7: blank points
        "b,2024-03-11,0,redeem\n"  # line 8: zero is fine for every type
    )
    points = lm.read_points(io.StringIO(bad), errors="reject")
    report = lm.read_report(points)
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (7, 2, 5)
    assert points["type"].tolist() == ["earn", "redeem"]
    assert list(points["type"].cat.categories) == ["earn", "redeem"]  # bonus was rejected
    reasons = dict(zip(report.rejected["line"], report.rejected["reason"], strict=True))
    assert reasons == {
        3: "type: unknown type (expected earn, redeem, expire, adjust)",
        4: "customer_id: blank value",
        5: "points: unparseable number",
        6: "points: expire row with positive points (expire <= 0)",
        7: "points: blank value",
    }


def test_read_folder_and_validate_pick_up_points_csv(tmp_path):
    (tmp_path / "orders.csv").write_text("customer_id,order_date,amount\na,2024-03-05,10\n")
    (tmp_path / "points.csv").write_text(
        "customer_id,date,points,type\na,2024-03-05,10,earn\na,2024-03-06,4,redeem\n"
    )
    with pytest.raises(DataValidationError, match="points.csv: column 'points': line 3"):
        lm.read_folder(tmp_path)
    frames = lm.read_folder(tmp_path, errors="reject")
    assert sorted(frames) == ["orders", "points"]
    assert lm.read_report(frames["points"]).rows_rejected == 1

    from click.testing import CliRunner

    from loyalty_metrics.cli import cli

    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "points.csv:3: points: redeem row with positive points" in result.output
