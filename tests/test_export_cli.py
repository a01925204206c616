"""Tests of ``loyalty export`` (loyalty_metrics/cli/export.py): exit codes, logs, options."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from loyalty_metrics import export as ex
from loyalty_metrics.cli import cli
from loyalty_metrics.cli.export import EXIT_LOCK

ORDERS = """customer_id,order_date,amount
a,2024-01-05,10
b,2024-01-20,5
a,2024-02-03,20
c,2024-03-05,7
"""


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "orders.csv").write_text(ORDERS)
    return folder


def run(*args: str):
    return CliRunner().invoke(cli, ["export", *map(str, args)])


def json_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]


def test_export_writes_one_row_per_month_silently_and_idempotently(data, tmp_path):
    target = tmp_path / "kpis.csv"
    result = run(data, "--to", target, "--freq", "M")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""  # cron mails nothing on success
    frame = pd.read_csv(target)
    assert frame["period"].tolist() == ["2024-01-31", "2024-02-29", "2024-03-31"]
    assert set(frame["as_of"]) == {"2024-03-05"}
    # expanding (default): revenue from the first order to each month's end: 15 | 35 | 42
    assert frame["revenue"].tolist() == [15.0, 35.0, 42.0]
    per_period = tmp_path / "per_period.csv"
    assert run(data, "--to", per_period, "--window", "period").exit_code == 0
    assert pd.read_csv(per_period)["revenue"].tolist() == [15.0, 20.0, 7.0]  # 10+5 | 20 | 7
    before = target.read_bytes()
    again = run(data, "--to", target, "--freq", "M")
    assert again.exit_code == 0
    assert target.read_bytes() == before


def test_json_logs_one_object_per_line(data, tmp_path):
    target = f"sqlite:///{tmp_path / 'kpis.db'}"
    result = run(data, "--to", target, "--since", "2024-02-10", "--as-of", "2024-02-29",
                 "--log-format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json_lines(result.stderr)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    done = records[-1]
    assert done["event"] == "export_done"
    assert (done["periods"], done["added"], done["changed"]) == (["2024-02-29"], 1, True)
    assert done["time"].endswith("Z")
    quiet = run(data, "--to", target, "--log-format", "json", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    with sqlite3.connect(tmp_path / "kpis.db") as con:
        assert con.execute("SELECT period FROM kpis").fetchall() == [
            ("2024-01-31",), ("2024-02-29",), ("2024-03-31",)]  # fmt: skip


def test_single_period_run_and_start_as_since(data, tmp_path):
    target = tmp_path / "kpis.jsonl"
    assert run(data, "--to", target, "--as-of", "2024-02-29").exit_code == 0
    assert (
        run(data, "--to", target, "--since", "2024-03-01", "--as-of", "2024-03-31").exit_code == 0
    )
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["period"], r["as_of"]) for r in rows] == [
        ("2024-01-31", "2024-02-29"),
        ("2024-02-29", "2024-02-29"),
        ("2024-03-31", "2024-03-31"),
    ]
    both = run(data, "--to", target, "--since", "2024-03-01", "--start", "2024-03-01")
    assert both.exit_code == 2 and "not both" in both.stderr


def test_config_export_table_is_used(data, tmp_path):
    (data / "loyalty.toml").write_text('[export]\ntable = "monthly"\nlock_timeout = 5\n')
    result = run(data, "--to", f"sqlite:///{tmp_path / 'k.db'}")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "k.db") as con:
        assert con.execute("SELECT COUNT(*) FROM monthly").fetchone() == (3,)
    with_table = run(data, "--to", f"sqlite:///{tmp_path / 'k.db'}", "--table", "other")
    assert with_table.exit_code == 0
    with sqlite3.connect(tmp_path / "k.db") as con:
        assert con.execute("SELECT COUNT(*) FROM other").fetchone() == (3,)


def test_exit_1_on_bad_data(data, tmp_path):
    (data / "orders.csv").write_text(ORDERS + "d,2024-03-06,not-a-number\n")
    result = run(data, "--to", tmp_path / "k.csv")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "amount" in result.stderr
    assert not (tmp_path / "k.csv").exists()
    as_json = run(data, "--to", tmp_path / "k.csv", "--log-format", "json")
    assert as_json.exit_code == 1
    (record,) = json_lines(as_json.stderr)
    assert (record["level"], record["exit_code"], record["error"]) == (
        "error", 1, "DataValidationError")  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--freq", "M"], "Missing option '--to'"),
        (["--to", "kpis.xlsx"], "is not a KPI export target"),
        (["--to", "k.csv", "--freq", "D"], "'D' is not one of"),
        (["--to", "k.csv", "--since", "last tuesday"], "is not a date"),
        (["--to", "k.csv", "--table", "t"], "--table applies to SQLite targets"),
        (["--to", "k.csv", "--lock-timeout", "-1"], "-1"),
    ],
)
def test_exit_2_on_usage_errors(data, tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    result = run(data, *args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert not (tmp_path / "k.csv").exists()


def test_exit_2_on_config_errors(data, tmp_path):
    (data / "loyalty.toml").write_text("[export]\ntabel = 'x'\n")
    result = run(data, "--to", tmp_path / "k.csv")
    assert result.exit_code == 2
    assert "did you mean 'table'" in result.stderr
    json_mode = run(data, "--to", tmp_path / "k.csv", "--table", "t", "--log-format", "json")
    assert json_mode.exit_code == 2
    assert json_lines(json_mode.stderr)[0]["exit_code"] == 2


def test_exit_3_on_a_refused_target(data, tmp_path):
    target = tmp_path / "orders.csv"
    target.write_text(ORDERS)
    result = run(data, "--to", target)
    assert result.exit_code == 3
    assert "Refusing to overwrite" in result.stderr and "left untouched" in result.stderr
    assert target.read_text() == ORDERS


def test_exit_4_on_lock_timeout(data, tmp_path):
    target = tmp_path / "k.csv"
    with ex._exclusive_lock(ex._parse_target(target, "test"), 0):
        text = run(data, "--to", target, "--lock-timeout", "0.2")
        as_json = run(data, "--to", target, "--lock-timeout", "0", "--log-format", "json")
    assert text.exit_code == EXIT_LOCK == 4
    assert text.stderr.startswith("Error: Another export") and "0.2 s" in text.stderr
    assert as_json.exit_code == 4
    (record,) = json_lines(as_json.stderr)
    assert (record["error"], record["exit_code"]) == ("LockTimeoutError", 4)
    assert not target.exists()


def test_help_has_an_example_and_the_exit_codes():
    result = CliRunner().invoke(cli, ["export", "--help"])
    assert result.exit_code == 0
    assert "loyalty export data/ --to sqlite:///kpis.db --freq M" in result.output
    assert "4 lock timeout" in result.output


# Two guest-checkout lines (blank customer id) and one line with an unreadable amount.
WITH_GUESTS = """customer_id,order_date,amount
a,2024-01-05,10
,2024-01-06,4.5
b,2024-01-20,5
,2024-02-01,3
a,2024-02-03,20
c,2024-03-05,7
d,2024-03-06,not-a-number
"""


def test_errors_reject_exports_the_good_rows_and_logs_rejects_per_reason(data, tmp_path):
    (data / "orders.csv").write_text(WITH_GUESTS)
    target = tmp_path / "k.csv"
    strict = run(data, "--to", target)  # strict stays the default (cron)
    assert strict.exit_code == 1 and "customer_id" in strict.stderr
    assert not target.exists()
    result = run(data, "--to", target, "--errors", "reject")
    assert result.exit_code == 0, result.output
    # off a terminal (cron): the rejects are a warning line, nothing else
    assert result.stderr == (
        "loyalty export: orders.csv: 3 of 7 rows rejected: amount: unparseable number (1); "
        "customer_id: blank value (2)\n"
    )
    frame = pd.read_csv(target)
    # identified customers as before: 15 | 35 | 42; guests: 4.5 (Jan 6) | + 3 (Feb 1)
    assert frame["revenue"].tolist() == [15.0, 35.0, 42.0]
    assert frame["guest_revenue"].tolist() == [4.5, 7.5, 7.5]
    assert frame["total_revenue"].tolist() == [19.5, 42.5, 49.5]
    per_period = tmp_path / "p.csv"
    assert run(data, "--to", per_period, "--errors", "reject", "--window", "period").exit_code == 0
    assert pd.read_csv(per_period)["guest_revenue"].tolist() == [4.5, 3.0, 0.0]
    as_json = run(data, "--to", tmp_path / "j.csv", "--errors", "reject", "--log-format", "json")
    rejects = json_lines(as_json.stderr)[0]
    assert (rejects["level"], rejects["event"], rejects["rows_rejected"]) == (
        "warning", "rows_rejected", 3)  # fmt: skip
    assert rejects["reasons"] == {"amount: unparseable number": 1, "customer_id: blank value": 2}
    quiet = run(data, "--to", tmp_path / "q.csv", "--errors", "reject", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_config_errors_reject_and_the_option_overrides_it(data, tmp_path):
    (data / "orders.csv").write_text(WITH_GUESTS)
    (data / "loyalty.toml").write_text('[export]\nerrors = "reject"\n')
    assert run(data, "--to", tmp_path / "k.csv").exit_code == 0
    assert run(data, "--to", tmp_path / "s.csv", "--errors", "raise").exit_code == 1


def test_a_clean_strict_export_has_zero_guest_revenue(data, tmp_path):
    assert run(data, "--to", tmp_path / "k.csv").exit_code == 0
    frame = pd.read_csv(tmp_path / "k.csv")
    assert frame["guest_revenue"].tolist() == [0.0, 0.0, 0.0]
    assert frame["total_revenue"].tolist() == frame["revenue"].tolist()


def test_a_target_that_is_not_a_regular_file_exits_3_in_one_line(data, tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "kpis.csv").symlink_to(tmp_path / "pipe")
    # followed on request: the FIFO behind the link is refused (by default the link is)
    result = run(data, "--to", tmp_path / "kpis.csv", "--follow-symlinks")
    assert result.exit_code == 3
    assert len(result.stderr.splitlines()) == 1 and "not a regular file" in result.stderr


def test_a_symlinked_target_exits_3_in_one_line_unless_followed(data, tmp_path):
    real = tmp_path / "real.csv"
    assert run(data, "--to", real).exit_code == 0
    before = real.read_bytes()
    (tmp_path / "kpis.csv").symlink_to(real)
    result = run(data, "--to", tmp_path / "kpis.csv")
    assert result.exit_code == 3 and real.read_bytes() == before
    assert result.stderr == (
        f"Error: {tmp_path / 'kpis.csv'} is a symlink (to {real}): refused, an export writes "
        "only the file it is given. It was left untouched; give the real path, or allow "
        "writing through the link with --follow-symlinks (follow_symlinks=True).\n"
    )
    (data / "orders.csv").write_text(ORDERS + "d,2024-04-02,9\n")
    followed = run(data, "--to", tmp_path / "kpis.csv", "--follow-symlinks")
    assert followed.exit_code == 0 and (tmp_path / "kpis.csv").is_symlink()
    assert pd.read_csv(real)["period"].tolist()[-1] == "2024-04-30"


def test_date_warnings_are_logged_like_the_other_commands_print_them(data, tmp_path):
    # 90% of the dates end by 2024-03-05; 2026-06-01 is more than 2 years (732 days) after it
    (data / "orders.csv").write_text(ORDERS + "d,2026-06-01,3\n")
    result = run(data, "--to", tmp_path / "k.csv")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines == [
        f"loyalty export: Warning: {data / 'orders.csv'}: column 'order_date': 1 date more than "
        "2 years after 90% of the column (up to 2024-03-05), e.g. line 6: '2026-06-01' read as "
        "2026-06-01"
    ]
    # the same message as `loyalty kpis` prints after its "Warning: " prefix
    kpis = CliRunner().invoke(cli, ["kpis", str(data)])
    assert lines[0].removeprefix("loyalty export: ") in kpis.stderr.splitlines()
    as_json = json_lines(run(data, "--to", tmp_path / "j.csv", "--log-format", "json").stderr)
    dated = [r for r in as_json if r.get("event") == "date_warning"]
    assert [(r["level"], r["table"]) for r in dated] == [("warning", "orders")]
    quiet = run(data, "--to", tmp_path / "q.csv", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_a_strict_export_stops_on_a_date_after_today_from_a_two_digit_year(data, tmp_path):
    (data / "orders.csv").write_text(
        "customer_id,order_date,amount\na,05/01/24,10\nb,20/01/24,5\nz,17/01/68,5\n"
    )
    result = run(data, "--to", tmp_path / "k.csv")  # --errors raise, the default
    assert result.exit_code == 1
    assert not (tmp_path / "k.csv").exists()
    *warnings, error = result.stderr.splitlines()
    assert len(warnings) == 1 and "'17/01/68' read as 2068-01-17" in warnings[0]
    assert error.startswith(f"Error: {data / 'orders.csv'}: column 'order_date'")
    assert error.endswith("--errors raise stops on a date after today read from a two-digit year: write the years with four digits.")  # fmt: skip
    lenient = run(data, "--to", tmp_path / "k.csv", "--errors", "reject")
    # a lenient read keeps the date (warned): the export then runs monthly up to 2068
    assert lenient.exit_code == 0
    assert pd.read_csv(tmp_path / "k.csv")["period"].iloc[-1] == "2068-01-31"


def test_json_logs_cover_the_errors_found_while_parsing_the_options(data, tmp_path):
    missing = tmp_path / "no" / "kpis.csv"
    # the output folder is checked before any data is read, whichever option comes first
    for args in (
        ("--to", missing, "--log-format", "json"),
        ("--log-format=json", "--to", missing),
    ):
        result = run(data, *args)
        assert result.exit_code == 3
        (line,) = json_lines(result.stderr)
        assert (line["level"], line["error"], line["exit_code"]) == ("error", "OutputError", 3)
        assert line["message"] == f"{missing}: no such file or directory"
    (usage,) = json_lines(run(data, "--log-format", "json", "--to", tmp_path / "k.txt").stderr)
    assert (usage["error"], usage["exit_code"]) == ("BadParameter", 2)
    assert f"'{tmp_path / 'k.txt'}' is not a KPI export target" in usage["message"]
    text = run(data, "--to", missing)  # text logs: the one plain line, as before
    assert text.exit_code == 3 and text.stderr == f"Error: {missing}: no such file or directory\n"
