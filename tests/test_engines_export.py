"""``export_kpis(engine=...)`` and ``loyalty export --engine``: the pandas engine's rows, and a
clear refusal of what the engine cannot compute (real DuckDB; Spark in test_engines.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import loyalty_metrics as lm
from loyalty_metrics.cli import cli as main
from loyalty_metrics.errors import ConfigError, DataValidationError

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TABLES = ("orders", "surveys", "events", "spend", "customers")
FILES = [arg for t in TABLES for arg in (f"--{t}", str(SAMPLE / f"{t}.csv"))]
STAMPS = ["period", "freq", "as_of", "loyalty_metrics_version", "period_end", "status"]


def assert_same_rows(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    """Same columns, same stamps, KPI columns equal to rounding (NaN where NaN)."""
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(actual[STAMPS], expected[STAMPS])
    numbers = [c for c in expected.columns if c not in [*STAMPS, "input_hash"]]
    assert len(numbers) >= 21  # every KPI of kpis()
    np.testing.assert_allclose(
        actual[numbers].to_numpy(dtype="float64"),
        expected[numbers].to_numpy(dtype="float64"),
        rtol=1e-9,
        atol=1e-6,
    )


@pytest.fixture(scope="module")
def frames():
    return [getattr(lm, f"read_{t}")(SAMPLE / f"{t}.csv") for t in TABLES]


@pytest.mark.parametrize(("window", "since"), [("expanding", None), ("period", "2024-04-10")])
def test_export_kpis_in_duckdb_writes_the_pandas_rows(frames, tmp_path, window, since):
    kwargs = {"freq": "Q", "window": window, "since": since, "as_of": "2024-11-20",
              "options": lm.MetricOptions(margin=0.4, churn_period="90D")}  # fmt: skip
    expected = lm.export_kpis(*frames, target=tmp_path / "p.csv", **kwargs).frame
    actual = lm.export_kpis(*frames, target=tmp_path / "d.csv", engine="duckdb", **kwargs).frame
    assert_same_rows(expected, actual)
    # DataFrames in, DataFrames hashed: the same provenance stamp as the pandas engine's
    assert (actual["input_hash"] == expected["input_hash"]).all()
    assert actual["status"].tolist()[-1] == "partial"  # 2024-Q4 as of 11-20


def test_export_kpis_of_files_in_duckdb(frames, tmp_path):
    paths = [str(SAMPLE / f"{t}.csv") for t in TABLES]
    expected = lm.export_kpis(*frames, target=tmp_path / "p.csv", freq="M").frame
    result = lm.export_kpis(*paths, target=tmp_path / "d.csv", freq="M", engine="duckdb")
    assert_same_rows(expected, result.frame)
    again = lm.export_kpis(*paths, target=tmp_path / "d.csv", freq="M", engine="duckdb")
    # same files, same hash; the sums may differ in their last bits (DuckDB adds in parallel,
    # in no fixed order), so the rows are replaced rather than left alone
    assert again.replaced == len(again.frame) and again.added == 0
    assert (again.frame["input_hash"] == result.frame["input_hash"]).all()
    assert_same_rows(result.frame, again.frame)
    # the hash is the files' bytes: a changed file changes it
    orders = tmp_path / "orders.csv"
    orders.write_bytes((SAMPLE / "orders.csv").read_bytes() + b"\n")
    other = lm.export_kpis(str(orders), *paths[1:], target=tmp_path / "e.csv", engine="duckdb")
    assert other.frame["input_hash"].iloc[0] != result.frame["input_hash"].iloc[0]


def test_export_kpis_in_duckdb_refuses_what_only_pandas_computes(frames, tmp_path):
    target = tmp_path / "k.csv"
    points = lm.read_points(SAMPLE / "points.csv")
    with pytest.raises(ConfigError, match="points KPIs in pandas only"):
        lm.export_kpis(*frames, points, target=target, engine="duckdb")
    guests = frames[0].iloc[:1]
    with pytest.raises(ConfigError, match="guest-checkout lines"):
        lm.export_kpis(*frames, target=target, engine="duckdb", guests=guests)
    import ibis

    con = ibis.duckdb.connect()
    con.con.register("orders", frames[0][["customer_id", "order_date", "amount"]])
    table = con.table("orders")
    with pytest.raises(ConfigError, match="cannot read: give DataFrames or files"):
        lm.export_kpis(table, target=target, engine=con)
    assert not target.exists()


def test_export_refuses_lines_without_a_customer_id(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,order_date,amount\na,2024-01-05,10\n,2024-01-06,4.5\n,2024-02-01,3\n"
    )
    with pytest.raises(DataValidationError, match=r"2 order lines without customer_id") as info:
        lm.export_kpis(str(orders), target=tmp_path / "k.csv", engine="duckdb")
    assert info.value.source == str(orders)
    # the pandas engine stops too (errors="raise"), or counts them as guests with "reject"
    with pytest.raises(DataValidationError):
        lm.read_orders(orders)


def test_cli_export_engine(tmp_path):
    runner = CliRunner()
    pandas_run = runner.invoke(main, ["export", *FILES, "--to", str(tmp_path / "p.csv")])
    assert pandas_run.exit_code == 0, pandas_run.output
    duck_target = tmp_path / "d.csv"
    duck_run = runner.invoke(main, ["export", *FILES, "--to", str(duck_target), "--engine", "duckdb"])  # fmt: skip
    assert duck_run.exit_code == 0, duck_run.output
    expected, actual = pd.read_csv(tmp_path / "p.csv"), pd.read_csv(duck_target)
    # guest_revenue is 0 (the engine refuses guest lines) and total_revenue is revenue
    assert (actual["guest_revenue"] == 0).all()
    assert_same_rows(expected, actual)
    # [engine] name in loyalty.toml chooses the engine as --engine does
    config = tmp_path / "loyalty.toml"
    config.write_text('[engine]\nname = "duckdb"\nmemory_limit = "1GB"\n')
    by_config = runner.invoke(
        main, ["export", *FILES, "--config", str(config), "--to", str(tmp_path / "c.csv")]
    )
    assert by_config.exit_code == 0, by_config.output
    assert pd.read_csv(tmp_path / "c.csv")["input_hash"].equals(actual["input_hash"])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([str(SAMPLE)], 2, "does not compute the points KPIs"),  # sample_data has points.csv
        ([*FILES, "--errors", "reject"], 2, "--errors reject (or [export] errors) needs"),
        ([*FILES, "--link-cancellations", "30D"], 2, "--link-cancellations"),
    ],
)
def test_cli_export_engine_refusals(tmp_path, args, code, message):
    target = tmp_path / "k.csv"
    run = CliRunner().invoke(main, ["export", *args, "--to", str(target), "--engine", "duckdb"])
    assert run.exit_code == code, run.output
    assert message in run.output
    assert not target.exists()
