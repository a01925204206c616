"""Tests of ``loyalty validate``: exact exit codes, messages and rejected-row files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from loyalty_metrics.cli import cli

DATA = Path(__file__).parent / "data" / "io"
SPANS = "a quoted value spans several lines (a stray quote took the lines after it into this row)"


def _folder(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for name, fixture in files.items():
        (folder / name).write_bytes((DATA / fixture).read_bytes())
    return folder


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_valid_folder_exits_0(tmp_path):
    folder = _folder(
        tmp_path,
        **{"orders.csv": "orders_semicolon_decimal_comma.csv", "surveys.csv": "surveys.csv"},
    )
    code, out, err = _run(str(folder))
    assert code == 0
    assert out.splitlines() == [
        f"{folder / 'orders.csv'} (orders): 3 rows read, 3 kept, 0 rejected  "
        "[csv, sep ';', decimal ',', encoding utf-8]",
        f"{folder / 'surveys.csv'} (surveys): 4 rows read, 4 kept, 0 rejected  "
        "[csv, sep ',', decimal '.', encoding utf-8]",
        "Valid: every row of 2 tables kept.",
    ]
    assert err == ""


def test_problems_listed_with_file_line_column_reason_and_exit_1(tmp_path):
    folder = _folder(
        tmp_path,
        **{"orders.csv": "orders_multiline.csv", "surveys.csv": "err_csat.csv"},
    )
    code, out, _ = _run(str(folder))
    orders, surveys = folder / "orders.csv", folder / "surveys.csv"
    assert code == 1
    assert out.splitlines() == [
        f"{orders} (orders): 5 rows read, 2 kept, 3 rejected  [csv, sep ',', decimal '.', encoding utf-8]",
        # counts per reason first, then the lines (a category cannot span lines: issue 13)
        f"  reasons: category: {SPANS} (2); amount: unparseable number (1); "
        "order_date: unparseable date (1)",
        f"  {orders}:4: amount: unparseable number: 'oops'",
        f"  {orders}:4: category: {SPANS}: 'gift\\nwrapped'",
        f"  {orders}:6: category: {SPANS}: 'two\\nline\\nvalue'",
        f"  {orders}:11: order_date: unparseable date: 'not a date'",
        f"{surveys} (surveys): 5 rows read, 2 kept, 3 rejected  [csv, sep ',', decimal '.', encoding utf-8]",
        "  reasons: csat: CSAT outside 1-5 (2); csat: CSAT not an integer (1); "
        "score: blank score and no csat answer (1)",
        f"  {surveys}:3: score: blank score and no csat answer",
        f"  {surveys}:3: csat: CSAT outside 1-5: '6'",
        f"  {surveys}:4: csat: CSAT outside 1-5: '0'",
        f"  {surveys}:5: csat: CSAT not an integer: '4.5'",
        "Invalid: 6 rows rejected; 2 of 2 tables with problems.",
    ]


def test_rejects_dir_gets_one_csv_per_table(tmp_path):
    folder = _folder(tmp_path, **{"orders.csv": "err_wrong_fields.csv", "spend.csv": "spend.csv"})
    out_dir = tmp_path / "rejects"
    code, out, _ = _run(str(folder), "--rejects", str(out_dir))
    assert code == 1
    assert f"  rejected rows written to {out_dir / 'orders.rejected.csv'}" in out
    rejected = pd.read_csv(out_dir / "orders.rejected.csv", dtype=str)
    assert rejected.columns.tolist() == ["line", "customer_id", "order_date", "amount", "reason"]
    assert rejected["line"].tolist() == ["3", "4"]
    assert rejected["reason"].tolist() == [
        "wrong number of fields (expected 3, found 2)",
        "wrong number of fields (expected 3, found 4)",
    ]
    spend = pd.read_csv(out_dir / "spend.rejected.csv")
    assert len(spend) == 0 and spend.columns.tolist() == [
        "line",
        "date",
        "amount",
        "channel",
        "reason",
    ]


def test_structural_error_is_reported_and_exit_1(tmp_path):
    folder = _folder(
        tmp_path, **{"orders.csv": "orders_comma.csv", "events.csv": "err_missing_column.csv"}
    )
    code, out, _ = _run(str(folder))
    events = folder / "events.csv"
    assert code == 1
    assert (
        f"{events} (events): cannot be read: {events}: missing required columns "
        "'timestamp', 'event_type'"
    ) in out
    assert out.splitlines()[-1] == "Invalid: 0 rows rejected; 1 of 2 tables with problems."


def test_explicit_file_options_without_folder():
    code, out, _ = _run("--orders", str(DATA / "err_many_lines.csv"), "--max-problems", "2")
    path = DATA / "err_many_lines.csv"
    assert code == 1
    assert out.splitlines()[1:5] == [
        "  reasons: amount: unparseable number (15)",  # all 15, though 2 lines are printed
        f"  {path}:3: amount: unparseable number: 'x'",
        f"  {path}:5: amount: unparseable number: 'x'",
        "  ... 13 more problems (--max-problems 0 prints all; --rejects DIR writes every rejected row)",
    ]
    code, out, _ = _run("--orders", str(path), "--max-problems", "0")
    problem_lines = [line for line in out.splitlines() if line.startswith(f"  {path}:")]
    assert sum(": amount: unparseable number" in line for line in problem_lines) == 15


def test_parquet_rows_are_named_as_rows(tmp_path):
    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "order_date": ["2024-01-01", "x"], "amount": [1.0, 2.0]}
    )
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    code, out, _ = _run("--orders", str(path))
    assert code == 1
    assert f"  {path}: row 2: order_date: unparseable date: 'x'" in out.splitlines()


def test_usage_errors_exit_2(tmp_path):
    code, _, err = _run()
    assert code == 2
    assert "give a DATA_DIR or at least one of --orders" in err


def test_missing_folder_exits_3(tmp_path):
    # a folder that is not there is an I/O problem, like an empty one
    code, _, err = _run(str(tmp_path / "missing"))
    assert code == 3
    assert "missing: no such folder" in err


def test_empty_folder_exits_3(tmp_path):
    code, _, err = _run(str(tmp_path))
    assert code == 3
    assert err.startswith(f"Error: {tmp_path}: no input files (looked for <table>.csv/")


def test_debug_shows_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["validate", str(tmp_path), "--debug"])
    assert isinstance(result.exception, FileNotFoundError)


def test_help_has_an_example():
    code, out, _ = _run("--help")
    assert code == 0
    assert "Examples:" in out
    assert "loyalty validate data/ --rejects rejected/" in out
    assert "--max-problems" in out


def test_config_in_the_folder_maps_columns(tmp_path):
    folder = _folder(tmp_path, **{"export.csv": "orders_mapping.csv"})
    (folder / "loyalty.toml").write_text(
        '[orders]\nfile = "export.csv"\n[orders.columns]\norder_id = "Bestellung"\n'
        'customer_id = "Kunde"\norder_date = "Datum"\namount = "Betrag"\n'
    )
    code, out, _ = _run(str(folder))
    assert code == 0
    assert out.splitlines()[0] == (
        f"{folder / 'export.csv'} (orders): 3 rows read, 3 kept, 0 rejected  "
        "[csv, sep ';', decimal ',', encoding utf-8, order_date day-first]"
    )


def test_invalid_config_exits_2(tmp_path):
    folder = _folder(tmp_path, **{"orders.csv": "orders_comma.csv"})
    (folder / "loyalty.toml").write_text("[orders]\ndelimiter = ';'\n")
    code, _, err = _run(str(folder))
    assert code == 2
    assert err.startswith("Error: loyalty.toml: unknown key 'delimiter' in [orders]")


UCI_LIKE = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,LANTERN,6,2010-12-01 08:26,2.55,17850.0,United Kingdom
C536366,85123A,LANTERN,-6,2010-12-01 09:00,2.55,,United Kingdom
536367,22,MUG,1,2010-12-01 10:00,abc,13047.0,France
"""


def test_usual_spellings_are_mapped_and_a_ready_config_is_printed(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "orders.csv").write_text(UCI_LIKE)
    # the customers table keys customers as "C17850": nothing joins
    (folder / "customers.csv").write_text("customer_id\nC17850\nC13047\n")
    code, out, _ = _run(str(folder))
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == (
        "  orders.csv: columns mapped automatically: customer_id = 'CustomerID', "
        "order_date = 'InvoiceDate', order_id = 'InvoiceNo', product_id = 'StockCode', "
        "unit_price = 'UnitPrice', amount = quantity * unit_price."
    )
    assert (
        lines[2] == "  reasons: customer_id: blank value (1); unit_price: unparseable number (1)"
    )
    assert (
        "Warning: customers: 0 of its 2 customer ids match an id in orders (0%; of the orders' "
        "1 ids, 0 match); e.g. 'C13047' in customers, '17850' in orders." in out
    )
    config = out.split("(save it next to them; every command reads it):\n", 1)[1]
    config = config.rsplit("Invalid:", 1)[0]
    assert config == (
        "[orders]\n[orders.columns]\n"
        'customer_id = "CustomerID"\norder_date = "InvoiceDate"\norder_id = "InvoiceNo"\n'
        'product_id = "StockCode"\nquantity = "Quantity"\nunit_price = "UnitPrice"\n'
    )
    # the printed config reads the file the same way, with nothing left to guess
    (folder / "loyalty.toml").write_text(config)
    again = _run(str(folder))[1].splitlines()
    assert (
        again[1] == "  orders.csv: columns mapped automatically: amount = quantity * unit_price."
    )
    assert again[2] == lines[2]
