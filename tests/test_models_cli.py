"""``loyalty clv``: fits, parameters with standard errors, the per-customer CSV, exit codes."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from loyalty_metrics.cli import cli

CDNOW = Path(__file__).parent / "data" / "cdnow" / "cdnow_sample.txt"


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["full", "customer_id", "date", "cds", "amount"],
        dtype="str",
    )
    orders = pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "amount": raw["amount"],
        }
    )
    folder = tmp_path_factory.mktemp("cdnow")
    path = folder / "orders.csv"
    orders.to_csv(path, index=False)
    return path


def run(*args: object) -> object:
    return CliRunner().invoke(cli, ["clv", *(str(a) for a in args)], catch_exceptions=False)


def test_writes_the_csv_and_prints_the_parameters(orders_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "clv.csv"
    result = run("--orders", orders_csv, "--as-of", "1997-09-30", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    # the paper's BG/NBD and Gamma-Gamma, with standard errors and intervals
    assert "BG/NBD (per week): 2,357 customers, log-likelihood -9,582.43" in result.stdout
    assert "r            0.2426     0.0126  0.2192 .. 0.2685" in result.stdout
    assert "Gamma-Gamma (spend per purchase): 946 customers" in result.stdout
    assert "CLV over 12 months at 10.00% a year" in result.stdout
    table = pd.read_csv(out, dtype={"customer_id": "str"})
    assert list(table.columns) == [
        "customer_id", "frequency", "recency_days", "T_days", "monetary_value",
        "p_alive", "expected_purchases", "expected_average_value", "clv",
        "net_history", "far_above_history",
    ]  # fmt: skip
    assert len(table) == 2357
    first = table.iloc[0]
    assert first["customer_id"] == "0001"
    assert (first["frequency"], first["recency_days"], first["T_days"]) == (2, 213, 272)
    assert first["expected_average_value"] == pytest.approx(24.654, abs=1e-3)
    assert table["p_alive"].between(0, 1).all() and (table["clv"] >= 0).all()


def test_without_output_the_csv_goes_to_stdout_and_parameters_to_stderr(orders_csv: Path) -> None:
    result = run(
        "--orders",
        orders_csv,
        "--as-of",
        "1997-09-30",
        "--model",
        "pareto",
        "--horizon-months",
        "6",
    )
    assert result.exit_code == 0
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 2357
    assert "Pareto/NBD (per week)" in result.stderr
    assert "CLV over 6 months" in result.stderr


def test_options_change_the_value_as_expected(orders_csv: Path) -> None:
    base = pd.read_csv(
        io.StringIO(run("--orders", orders_csv, "--as-of", "1997-09-30", "-q").stdout)
    )
    half = pd.read_csv(
        io.StringIO(
            run("--orders", orders_csv, "--as-of", "1997-09-30", "-q", "--margin", "0.5").stdout
        )
    )
    pd.testing.assert_series_equal(half["clv"], base["clv"] / 2, rtol=1e-9)
    in_days = pd.read_csv(
        io.StringIO(
            run("--orders", orders_csv, "--as-of", "1997-09-30", "-q", "--time-unit", "D").stdout
        )
    )
    pd.testing.assert_series_equal(in_days["clv"], base["clv"], rtol=1e-5)


def test_config_supplies_margin_and_rate(orders_csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "orders.csv").write_bytes(orders_csv.read_bytes())
    (folder / "loyalty.toml").write_text("[metrics]\nmargin = 0.25\nannual_discount_rate = 0.0\n")
    result = run(folder, "--as-of", "1997-09-30", "-o", tmp_path / "out.csv", "-q")
    assert result.exit_code == 0, result.output
    assert "at 0.00% a year (0.000% a month), margin 0.25" in result.stdout


def test_exit_codes(orders_csv: Path, tmp_path: Path) -> None:
    assert run("--orders", orders_csv, "--time-unit", "M").exit_code == 2
    assert run("--orders", orders_csv, "--discount-rate", "5").exit_code == 2
    assert run().exit_code == 2  # no input
    lonely = tmp_path / "orders.csv"
    lonely.write_text("customer_id,order_date,amount\na,2024-01-01,5\nb,2024-01-02,7\n")
    result = run("--orders", lonely)
    assert result.exit_code == 1
    assert "needs at least one customer with a repeat purchase" in result.stderr
    assert result.stderr.count("\n") == 1


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["clv", "--help"])
    assert result.exit_code == 0
    assert "loyalty clv sample_data/ -o clv.csv" in result.output
