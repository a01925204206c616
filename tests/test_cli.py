"""The report, kpis and cohorts commands: outputs, exit codes, errors, progress, docs."""

from __future__ import annotations

import datetime as dt
import json
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

import loyalty_metrics as lm
from loyalty_metrics.cli import _common, cli
from loyalty_metrics.cli._docs import command_help, generate
from loyalty_metrics.errors import DataValidationError
from loyalty_metrics.schema import DATE_RANGE

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1736150400"  # 2025-01-06T08:00:00+00:00


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A small sample data folder (the bundled generator, 200 customers)."""
    folder = tmp_path_factory.mktemp("data")
    lm.write_sample(folder, customers=200, seed=5)
    return folder


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return CliRunner()


def _run(runner: CliRunner, *args: str):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("Error: ")
    return lines[-1]


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-section" in attrs:
            self.sections.append(attrs["data-section"])


# ---------------------------------------------------------------------------------------------
# loyalty report


def test_report_html_file(runner, data_dir, tmp_path):
    out = tmp_path / "report.html"
    result = _run(runner, "report", data_dir, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the report went to the file
    # no progress (stderr is not a terminal), only the analyst's caveats on the figures
    caveats = result.stderr.splitlines()
    assert caveats and all(line.startswith("Warning: ") for line in caveats)
    assert any(line.startswith("Warning: new_customers equals customers") for line in caveats)
    parser = _Sections()
    parser.feed(out.read_text(encoding="utf-8"))
    assert parser.sections[:2] == ["kpis", "nps"] and "data_quality" in parser.sections


def test_report_json_matches_the_library(runner, data_dir, tmp_path):
    out = tmp_path / "report.json"
    result = _run(runner, "report", data_dir, "-o", out, "--end", "2024-06-30")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["generated_at"] == "2025-01-06T08:00:00+00:00"  # SOURCE_DATE_EPOCH
    assert data["window"]["as_of"] == "2024-06-30"
    tables = lm.read_folder(data_dir)
    expected = lm.kpis(
        tables["orders"],
        tables["surveys"],
        tables["events"],
        tables["spend"],
        tables["customers"],
        end="2024-06-30",
    )
    values = next(s for s in data["sections"] if s["id"] == "kpis")["values"]
    for key, value in expected.items():
        assert values[key] == (None if pd.isna(value) else float(value)), key


def test_report_text_and_markdown_on_stdout(runner, data_dir):
    text = _run(runner, "report", data_dir, "--format", "text", "--title", "Week 12")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == "Week 12"
    assert any(line.startswith("KPI ") and "Value" in line for line in lines)
    markdown = _run(runner, "report", data_dir, "--format", "md", "--freq", "Q")
    assert markdown.exit_code == 0
    assert markdown.stdout.startswith("# Customer loyalty report\n")


def test_report_defaults_to_html_in_a_pipe(runner, data_dir):
    result = _run(runner, "report", "--orders", data_dir / "orders.csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>")


def test_report_is_byte_identical_across_runs(runner, data_dir, tmp_path):
    first, second = tmp_path / "a.md", tmp_path / "b.md"
    assert _run(runner, "report", data_dir, "-o", first).exit_code == 0
    assert _run(runner, "report", data_dir, "-o", second).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


# ---------------------------------------------------------------------------------------------
# Exit codes: 1 data, 2 usage / config, 3 I/O.


def test_exit_2_on_usage_errors(runner, data_dir, tmp_path):
    unknown_suffix = _run(runner, "report", data_dir, "-o", tmp_path / "r.pdf")
    assert unknown_suffix.exit_code == 2
    assert "cannot tell the format from 'r.pdf'" in unknown_suffix.stderr
    no_input = _run(runner, "report")
    assert no_input.exit_code == 2
    assert "give a DATA_DIR or at least --orders" in no_input.stderr
    bad_choice = _run(runner, "kpis", data_dir, "--freq", "D")
    assert bad_choice.exit_code == 2
    bad_kpi = _run(runner, "kpis", data_dir, "--kpi", "revenu")
    assert bad_kpi.exit_code == 2 and "did you mean 'revenue'?" in bad_kpi.stderr


def test_exit_3_when_an_input_path_does_not_exist(runner, data_dir, tmp_path):
    # A missing folder or file is an I/O problem (3), not a usage error (2), for every command.
    missing_dir = _run(runner, "cohorts", tmp_path / "nope")
    assert missing_dir.exit_code == 3
    assert "nope: no such folder" in missing_dir.stderr
    missing_file = _run(runner, "report", data_dir, "--orders", tmp_path / "none.csv")
    assert missing_file.exit_code == 3 and "none.csv: no such file" in missing_file.stderr
    missing_config = _run(runner, "kpis", data_dir, "--config", tmp_path / "none.toml")
    assert missing_config.exit_code == 3


def test_exit_2_on_an_unknown_config_key(runner, data_dir, tmp_path):
    folder = tmp_path / "with_config"
    folder.mkdir()
    (folder / "orders.csv").write_bytes((data_dir / "orders.csv").read_bytes())
    (folder / "loyalty.toml").write_text('[metrics]\nchurn_perod = "90D"\n', encoding="utf-8")
    for command in ("report", "kpis", "cohorts"):
        result = _run(runner, command, folder)
        assert result.exit_code == 2, command
        line = _one_error_line(result)
        assert "unknown key 'churn_perod' in [metrics]; did you mean 'churn_period'?" in line


def test_config_is_read_from_the_folder_or_given(runner, data_dir, tmp_path):
    folder = tmp_path / "configured"
    folder.mkdir()
    (folder / "orders.csv").write_bytes((data_dir / "orders.csv").read_bytes())
    (folder / "loyalty.toml").write_text(
        '[metrics]\ncurrency = "EUR"\n[report]\ntitle = "Q2"\n', encoding="utf-8"
    )
    auto = _run(runner, "report", folder, "--format", "text")
    assert auto.exit_code == 0, auto.output
    assert auto.stdout.startswith("Q2\n") and " EUR" in auto.stdout
    other = tmp_path / "other.toml"
    other.write_text('[report]\ntitle = "Given"\n', encoding="utf-8")
    given = _run(runner, "report", folder, "--format", "text", "--config", other)
    assert given.stdout.startswith("Given\n") and " EUR" not in given.stdout
    snapshot = _run(runner, "kpis", folder, "--kpi", "revenue")
    assert snapshot.exit_code == 0 and " EUR" in snapshot.stdout


def _with_bad_row(data_dir: Path, folder: Path) -> Path:
    folder.mkdir()
    orders = (data_dir / "orders.csv").read_text(encoding="utf-8")
    header, first, rest = orders.split("\n", 2)
    bad = first.split(",")
    bad[2] = "not-a-number"
    (folder / "orders.csv").write_text(
        "\n".join([header, first, ",".join(bad), rest]), encoding="utf-8"
    )
    return folder


def test_bad_rows_are_reported_or_exit_1_with_strict(runner, data_dir, tmp_path):
    folder = _with_bad_row(data_dir, tmp_path / "bad")
    lenient = _run(runner, "kpis", folder, "--kpi", "customers")
    assert lenient.exit_code == 0
    assert lenient.stderr.startswith("Warning: orders.csv: 1 of ")
    assert "left out" in lenient.stderr
    quiet = _run(runner, "kpis", folder, "--kpi", "customers", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    strict = _run(runner, "kpis", folder, "--strict")
    assert strict.exit_code == 1
    line = _one_error_line(strict)
    assert "orders.csv" in line and "amount" in line
    report = _run(runner, "report", folder, "--format", "json", "--quiet")
    data = json.loads(report.stdout)
    quality = next(s for s in data["sections"] if s["id"] == "data_quality")
    assert quality["tables"][0]["rows"][0]["rows_rejected"] == 1
    assert quality["tables"][1]["rows"][0]["lines"] == "3"


def test_exit_1_on_a_file_that_breaks_its_contract(runner, tmp_path):
    (tmp_path / "orders.csv").write_text(
        "customer,when,amount\na,2024-01-01,3\n", encoding="utf-8"
    )
    result = _run(runner, "report", tmp_path, "--format", "text")
    assert result.exit_code == 1
    assert "order_date" in _one_error_line(result) or "customer_id" in result.stderr


def test_exit_3_on_io_errors(runner, data_dir, tmp_path):
    unwritable = _run(runner, "report", data_dir, "-o", tmp_path / "missing" / "report.html")
    assert unwritable.exit_code == 3
    assert _one_error_line(unwritable) == (
        f"Error: {tmp_path / 'missing' / 'report.html'}: no such file or directory"
    )
    chart = _run(runner, "cohorts", data_dir, "-o", tmp_path / "missing" / "c.png")
    assert chart.exit_code == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    no_orders = _run(runner, "kpis", empty)
    assert no_orders.exit_code == 3
    assert "no orders file" in _one_error_line(no_orders)


def test_debug_shows_the_traceback(runner, tmp_path):
    (tmp_path / "orders.csv").write_text(
        "customer,when,amount\na,2024-01-01,3\n", encoding="utf-8"
    )
    result = runner.invoke(cli, ["kpis", str(tmp_path), "--debug"])
    assert isinstance(result.exception, DataValidationError)
    quiet = runner.invoke(cli, ["kpis", str(tmp_path)])
    assert quiet.exception is None or isinstance(quiet.exception, SystemExit)


def test_unexpected_errors_are_one_line_too(runner, data_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(lm, "kpis", broken)
    result = _run(runner, "kpis", data_dir)
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert line.startswith("Error: unexpected KeyError: 'surprise'")
    assert "--debug" in line


# ---------------------------------------------------------------------------------------------
# loyalty kpis


def test_kpis_snapshot_formats(runner, data_dir, tmp_path):
    tables = lm.read_folder(data_dir)
    expected = lm.kpis(
        tables["orders"], tables["surveys"], tables["events"], tables["spend"], tables["customers"]
    )
    table = _run(runner, "kpis", data_dir)
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split() == ["KPI", "key", "Value"]
    assert any(line.startswith("NPS ") for line in table.stdout.splitlines())
    as_json = json.loads(_run(runner, "kpis", data_dir, "--format", "json").stdout)
    assert list(as_json) == sorted([*lm.KPI_KEYS, "caveats"])  # the caveats: see below
    for key, value in expected.items():
        assert as_json[key] == (None if pd.isna(value) else pytest.approx(float(value))), key
    out = tmp_path / "kpis.csv"
    assert _run(runner, "kpis", data_dir, "-o", out).exit_code == 0
    frame = pd.read_csv(out, index_col="kpi")
    assert frame.loc["revenue", "value"] == pytest.approx(expected["revenue"], rel=1e-14)


def test_kpis_by_period(runner, data_dir):
    result = _run(
        runner,
        "kpis",
        data_dir,
        "--freq",
        "Q",
        "--format",
        "csv",
        "--kpi",
        "revenue",
        "--kpi",
        "nps",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "period_end,status,revenue,nps"
    tables = lm.read_folder(data_dir)
    expected = lm.kpis_by_period(tables["orders"], tables["surveys"], freq="Q", window="period")
    assert len(lines) == len(expected) + 1
    first = lines[1].split(",")
    assert first[0] == expected.index[0].strftime("%Y-%m-%d")
    assert float(first[2]) == pytest.approx(expected["revenue"].iloc[0], rel=1e-14)
    # the last quarter ends after the as-of date: partial, like the first when the data
    # begin after its first day
    last_end = expected.index[-1]
    assert lines[-1].split(",")[1] == (
        "partial" if pd.Period(last_end, "Q").end_time.normalize() > last_end else "complete"
    )
    by_month = json.loads(_run(runner, "kpis", data_dir, "--freq", "M", "--format", "json").stdout)
    assert list(by_month) == ["caveats", "periods"]  # the rows, beside the caveats
    rows = by_month["periods"]
    monthly = lm.kpis_by_period(tables["orders"], tables["surveys"], freq="M", window="period")
    assert [r["period_end"] for r in rows] == [d.strftime("%Y-%m-%d") for d in monthly.index]
    assert set(rows[0]) == {"period_end", "status", *lm.KPI_KEYS}
    assert {r["status"] for r in rows} <= {"complete", "partial"}
    table = _run(runner, "kpis", data_dir, "--freq", "Y")
    assert table.stdout.splitlines()[0].split()[:3] == ["period_end", "status", "customers"]


def test_kpis_json_carries_the_caveats_printed_on_stderr(runner, data_dir):
    # The sample's window starts on the first day of its data: "new customers = customers".
    result = _run(runner, "kpis", data_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    caveats = json.loads(result.stdout)["caveats"]
    assert [f"Warning: {c['message']}" for c in caveats] == result.stderr.splitlines()
    new = [c for c in caveats if c["message"].startswith("new_customers equals customers")]
    assert len(new) == 1 and new[0]["about"] == ["new_customers", "cac", "ltv_cac_ratio"]
    # --quiet silences stderr, not the document
    quiet = _run(runner, "kpis", data_dir, "--format", "json", "--quiet")
    assert quiet.stderr == "" and json.loads(quiet.stdout)["caveats"] == caveats
    later = _run(runner, "kpis", data_dir, "--start", "2024-06-01", "--format", "json")
    assert not any(c["message"].startswith("new_") for c in json.loads(later.stdout)["caveats"])


def test_kpis_json_of_periods_carries_the_caveats():
    from loyalty_metrics.cli.kpis import render_kpis
    from loyalty_metrics.errors import DataCoverageWarning

    rows = pd.DataFrame(
        {"status": ["partial"], "nps": [float("nan")]}, index=[pd.Timestamp("2024-01-31")]
    )
    note = DataCoverageWarning("nps: few responses", about=("nps",))
    assert json.loads(render_kpis(rows, "json", notes=[note])) == {
        "periods": [{"period_end": "2024-01-31", "status": "partial", "nps": None}],
        "caveats": [{"about": ["nps"], "message": "nps: few responses"}],
    }
    assert json.loads(render_kpis(rows, "json"))["caveats"] == []


# ---------------------------------------------------------------------------------------------
# loyalty cohorts


def test_cohorts_outputs(runner, data_dir, tmp_path):
    text = _run(runner, "cohorts", data_dir, "--period", "Q")
    assert text.exit_code == 0, text.output
    assert text.stdout.splitlines()[0].split()[:3] == ["cohort", "0", "1"]
    assert "100.0%" in text.stdout
    png, svg, csv = tmp_path / "c.png", tmp_path / "c.svg", tmp_path / "c.csv"
    assert _run(runner, "cohorts", data_dir, "-o", png).exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert _run(runner, "cohorts", data_dir, "--values", "revenue", "-o", svg).exit_code == 0
    assert b"<svg" in svg.read_bytes()
    assert _run(runner, "cohorts", data_dir, "--values", "customers", "-o", csv).exit_code == 0
    frame = pd.read_csv(csv, index_col="cohort")
    orders = lm.read_folder(data_dir)["orders"]
    # each cohort's partial cell is the period holding the as-of date: k = months from the
    # cohort's month to the as-of month
    as_of = pd.Period(orders["order_date"].max(), "M")
    months = [(as_of - pd.Period(c, "M")).n for c in frame.index]
    assert frame.pop("partial_period").tolist() == months
    assert "* partial: the period holding the as-of date" in text.stdout
    expected = pd.DataFrame(lm.cohort_table(orders, values="customers"))  # not a CohortTable
    pd.testing.assert_frame_equal(
        frame,
        expected.set_axis(expected.index.astype("str")).set_axis(frame.columns, axis=1),
        check_names=False,
        check_index_type=False,
        check_dtype=False,
    )
    bad = _run(runner, "cohorts", data_dir, "-o", tmp_path / "c.xlsx")
    assert bad.exit_code == 2


# ---------------------------------------------------------------------------------------------
# Shared pieces: progress, help, docs.


def test_progress_only_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    _common.progress("working")
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _common.progress("working")
    assert capsys.readouterr().err == "working\n"
    _common.progress("working", quiet=True)
    assert capsys.readouterr().err == ""


def test_generated_at_honours_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert _common.generated_at() == "2025-01-06T08:00:00+00:00"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert _common.generated_at().endswith("+00:00")


@pytest.mark.parametrize("name", ["report", "kpis", "cohorts"])
def test_help_shows_examples_and_exit_codes(runner, name):
    result = _run(runner, name, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"loyalty {name} sample_data/" in result.stdout
    assert "Exit codes: 0 ok, 1 data problem, 2 usage or config error, 3 I/O error." in (
        result.stdout
    )


def test_every_command_has_an_example():
    for name in cli.list_commands(None):
        assert "Example" in command_help(name), name


def test_docs_cli_md_is_in_sync():
    path = ROOT / "docs" / "cli.md"
    assert path.read_text(encoding="utf-8") == generate(), "run `make docs`"
    text = generate()
    for code in (0, 1, 2, 3):
        assert f"| {code} | " in text
    for name in cli.list_commands(None):
        assert f"## loyalty {name}\n" in text


# ---------------------------------------------------------------------------------------------
# Every error is one line on stderr with the documented exit code (click's usage errors too).


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["kpis", "{data}", "--end", "9999-12-31"], 2, "'9999-12-31' is not a date"),
        (["kpis", "{data}", "--start", "0001-01-01"], 2, "'0001-01-01' is not a date"),
        (["report", "{data}", "--as-of", "2024-02-30"], 2, "'2024-02-30' is not a date"),
        (["kpis", "{data}", "--start", "2024-03-01", "--end", "2024-01-01"], 2,
         "--start 2024-03-01 is after --end 2024-01-01"),
        (["export", "{data}", "--to", "{tmp}/k.csv", "--lock-timeout", "nan"], 2,
         "nan is not a number of seconds"),
        (["kpis", "{data}", "--bogus"], 2, "No such option '--bogus'"),
        (["kpis", "{data}", "--freq", "D"], 2, "'D' is not one of"),
        (["bogus"], 2, "No such command 'bogus'"),
        (["kpis", "--orders", "{tmp}"], 3, "is a folder"),
        (["cohorts", "--orders", "{tmp}"], 3, "is a folder"),
    ],
)  # fmt: skip
def test_errors_are_one_line_with_the_documented_exit_code(runner, data_dir, tmp_path, args,
                                                           code, fragment):  # fmt: skip
    args = [a.format(data=data_dir, tmp=tmp_path) for a in args]
    result = _run(runner, *args)
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert fragment in result.stderr
    assert result.stdout == ""


@given(day=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
@example(day=dt.date(1900, 1, 1))  # the widest window: 1731 overflowed pandas.Timedelta (found)
@settings(max_examples=25, deadline=None)
def test_any_calendar_day_is_computed_or_refused_as_a_usage_error(tmp_path_factory, day):
    # Dates inside the computable range (schema.DATE_RANGE) run; others exit 2 in one line,
    # never an OverflowError from pandas.
    folder = tmp_path_factory.mktemp("d")
    (folder / "orders.csv").write_text("customer_id,order_date,amount\na,2024-01-05,10\n")
    low, high = (dt.date.fromisoformat(d) for d in DATE_RANGE)
    for option in ("--start", "--end"):
        result = CliRunner().invoke(cli, ["kpis", str(folder), option, day.isoformat()])
        if not low <= day <= high:
            assert result.exit_code == 2 and result.stderr.count("\n") == 1
        elif option == "--start" and day > dt.date(2024, 1, 5):
            assert result.exit_code in (0, 1)  # past the only order: an empty window
        else:
            assert result.exit_code == 0, result.output
        assert "unexpected" not in result.stderr


@pytest.mark.parametrize("command", ["kpis", "report", "cohorts"])
def test_every_order_row_rejected_is_a_data_error_not_zeros(runner, tmp_path, command):
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,order_date,amount\na,2024-13-01,1\nb,2024-01-01,x\n")
    result = _run(runner, command, "--orders", orders)
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "orders.csv: all 2 rows rejected (line 2: order_date: unparseable date)" in line
    assert result.stdout == ""


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EIO"])
@pytest.mark.parametrize("command", [["report", "-o", "{out}/r.html"], ["demo", "--out", "{out}"],
                                     ["kpis", "-o", "{out}/k.csv"]])  # fmt: skip
def test_write_errors_start_with_the_file_name_and_exit_3(runner, data_dir, tmp_path, monkeypatch,
                                                          errno_name, command):  # fmt: skip
    import errno
    import os

    real_fsync = os.fsync

    def full_disk(fd):
        real_fsync(fd)
        raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))

    monkeypatch.setattr(os, "fsync", full_disk)
    out = tmp_path / "out"
    out.mkdir()
    args = [a.format(out=out) for a in command]
    result = _run(runner, args[0], data_dir, *args[1:])
    assert result.exit_code == 3, result.output
    line = _one_error_line(result)
    # one error line; before it only the analyst's caveats on the figures (warnings)
    before = result.stderr.splitlines()[:-1]
    assert line.startswith(f"Error: {out}/") and result.stderr.count("Error: ") == 1
    assert all(other.startswith("Warning: ") for other in before)
    assert os.strerror(getattr(errno, errno_name)).lower() in line.lower()
    assert not [p for p in out.rglob("*.tmp")]  # no temporary file left behind


@pytest.mark.parametrize(
    "command",
    [["report", "-o", "{missing}/r.html"], ["kpis", "-o", "{missing}/k.csv"],
     ["cohorts", "-o", "{missing}/c.png"], ["clv", "-o", "{missing}/c.csv"],
     ["export", "--to", "{missing}/k.csv"], ["export", "--to", "sqlite:///{missing}/k.db"],
     ["report", "-o", "{file}/r.html"]],
)  # fmt: skip
def test_output_targets_are_checked_before_any_data_is_read(runner, tmp_path, command):
    # The lead's finding: report -o into a missing folder computed the whole report first.
    # The data folder does not exist either: the output is checked first, so that is not
    # what the error names.
    (tmp_path / "file").write_text("")
    args = [a.format(missing=tmp_path / "missing", file=tmp_path / "file") for a in command]
    result = _run(runner, args[0], tmp_path / "no_data", *args[1:])
    assert result.exit_code == 3
    if "{file}" in " ".join(command):
        assert result.stderr.startswith(f"Error: {tmp_path / 'file'}: not a folder (to write ")
    else:  # the message writing would give, only before the work
        assert result.stderr == f"Error: {args[-1]}: no such file or directory\n"
    assert result.stderr.count("\n") == 1 and "no_data" not in result.stderr
    assert not (tmp_path / "missing").exists()  # refused, not created


def test_output_folders_are_created_up_front(runner, tmp_path):
    # demo --out, validate --rejects and sample --out name folders: made before any reading
    for args in (["demo", tmp_path / "no_data", "--out", tmp_path / "a" / "out"],
                 ["validate", tmp_path / "no_data", "--rejects", tmp_path / "b" / "rej"]):  # fmt: skip
        result = _run(runner, *args)
        assert result.exit_code == 3 and "no_data" in result.stderr  # the data is what failed
        assert args[-1].is_dir()
    (tmp_path / "file").write_text("")
    result = _run(runner, "demo", tmp_path / "no_data", "--out", tmp_path / "file" / "out")
    assert result.exit_code == 3 and result.stderr.startswith(f"Error: {tmp_path}/file/out: ")


def _orders_with_dates(folder: Path, dates: list[str]) -> Path:
    folder.mkdir(exist_ok=True)
    rows = "".join(f"c{i},{d},1\n" for i, d in enumerate(dates))
    (folder / "orders.csv").write_text("customer_id,order_date,amount\n" + rows)
    return folder


def test_strict_stops_on_a_date_after_today_read_from_a_two_digit_year(runner, tmp_path):
    # 20 days of January 2024 written dd/mm/yy, and 17/01/68: 2068 by the POSIX rule, after today
    days = [f"1{i % 9}/01/24" for i in range(20)]
    data = _orders_with_dates(tmp_path / "guessed", [*days, "17/01/68"])
    for command in ("kpis", "report"):
        strict = _run(runner, command, data, "--strict")
        assert strict.exit_code == 1, strict.output
        error = _one_error_line(strict)
        assert error.startswith(f"Error: {data / 'orders.csv'}: column 'order_date'")
        assert "line 22: '17/01/68' read as 2068-01-17" in error
        assert error.endswith(
            "--strict stops on a date after today read from a two-digit year: write the years "
            "with four digits."
        )
        lenient = _run(runner, command, data)  # kept, with a warning (exit 0)
        assert lenient.exit_code == 0 and "'17/01/68' read as 2068-01-17" in lenient.stderr


def test_strict_keeps_dates_whose_century_was_not_guessed_after_today(runner, tmp_path):
    # a four-digit year after today is what the file says: a warning, not an error
    said = _orders_with_dates(tmp_path / "said", ["2024-01-05", "2024-01-06", "2068-01-17"])
    result = _run(runner, "kpis", said, "--strict")
    assert result.exit_code == 0 and "1 date after today" in result.stderr
    # two-digit years far after the rest (1975 and 2005) but before today: a warning only
    far = _orders_with_dates(
        tmp_path / "far", [f"1{i % 9}/01/75" for i in range(20)] + ["17/01/05"]
    )
    result = _run(runner, "kpis", far, "--strict")
    assert result.exit_code == 0, result.output
    assert "more than 2 years after 90% of the column" in result.stderr
