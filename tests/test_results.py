"""First-class results: every frame the library returns survives to_parquet, merge and concat,
and the summary and the cohort table carry their window without ``DataFrame.attrs``."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics.metrics._common import total_revenue
from loyalty_metrics.summary import is_customer_summary, summary_window

ROOT = Path(__file__).resolve().parents[1]
DATA = lm.read_folder(ROOT / "sample_data")
ORDERS = DATA["orders"]

RESULTS = {
    "customer_summary": lambda: lm.customer_summary(ORDERS),
    "cohort_table": lambda: lm.cohort_table(ORDERS, values="revenue"),
    "cohort_cell_status": lambda: lm.cohort_cell_status(ORDERS),
    "kpis": lambda: lm.kpis(ORDERS, DATA["surveys"]).to_frame(),
    "kpis_by_period": lambda: lm.kpis_by_period(ORDERS, freq="Q"),
    "loyalty_ladder": lambda: lm.loyalty_ladder(ORDERS, DATA["surveys"], DATA["customers"]),
    "rfm_segments": lambda: lm.rfm_segments(ORDERS),
    "repeat_rate_by_cohort": lambda: lm.repeat_rate_by_cohort(ORDERS),
    # include_all=True appends an "All cohorts" row after the period labels: a mixed index
    "cohort_table include_all": lambda: lm.cohort_table(ORDERS, include_all=True),
    "cohort_cell_status include_all": lambda: lm.cohort_cell_status(ORDERS, include_all=True),
    "repeat_rate_by_cohort include_all": lambda: lm.repeat_rate_by_cohort(
        ORDERS, include_all=True
    ),
    "time_to_second_purchase include_all": lambda: lm.time_to_second_purchase(
        ORDERS, include_all=True
    ),
    "inter_purchase_times include_all": lambda: lm.inter_purchase_times(ORDERS, include_all=True),
    "loyalty_loop include_all": lambda: lm.loyalty_loop(
        ORDERS, DATA["surveys"], DATA["customers"], include_all=True
    ),
}


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_results_survive_parquet_merge_and_concat(name: str) -> None:
    frame = RESULTS[name]()
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    assert back.shape == frame.shape
    both = pd.concat([frame, frame])
    assert len(both) == 2 * len(frame)
    merged = frame.merge(frame, left_index=True, right_index=True, suffixes=("", "_again"))
    assert len(merged) == len(frame)


def test_summary_knows_its_window_without_attrs() -> None:
    summary = lm.customer_summary(ORDERS, start="2024-01-01", end="2024-06-30")
    assert summary.attrs == {}
    assert isinstance(summary, lm.CustomerSummary)
    assert str(summary.window.start.date()) == "2024-01-01"
    assert str(summary.window.end.date()) == "2024-06-30"
    # The window survives a selection, so a metric on a subset still knows it...
    subset = summary.loc[summary["purchases"] >= 2, ["purchases", "revenue"]]
    assert summary_window(subset) == summary.window
    assert lm.purchase_frequency(summary) == summary["purchases"].mean()
    # ...and total revenue = buyers' revenue + the returns of non-buyers.
    assert total_revenue(summary) == pytest.approx(
        ORDERS.loc[
            (ORDERS["order_date"] >= "2024-01-01") & (ORDERS["order_date"] < "2024-07-01"),
            "amount",
        ].sum(),
        rel=1e-12,
    )
    # A merge or concat is a table of the user's: no longer a summary of one window.
    assert not is_customer_summary(pd.concat([summary, summary]))
    assert not is_customer_summary(summary.merge(summary, left_index=True, right_index=True))


def test_summary_round_trips_through_parquet_as_a_plain_frame() -> None:
    summary = lm.customer_summary(ORDERS)
    buffer = io.BytesIO()
    summary.to_parquet(buffer)
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    pd.testing.assert_frame_equal(back, pd.DataFrame(summary), check_index_type=False)


def test_cohort_table_carries_its_sizes() -> None:
    table = lm.cohort_table(ORDERS, values="customers")
    assert isinstance(table, lm.CohortTable)
    # Period 0 is the acquisition period: every cohort member is active in it.
    assert table.cohort_size.tolist() == table[0].astype("int64").tolist()
    assert table.cohort_size.index.equals(table.index)
    assert (table.cohort_period, table.cohort_values, table.cohort_mode) == (
        "M",
        "customers",
        "on",
    )
    retention = lm.cohort_table(ORDERS)
    assert retention.loc[:, 0].eq(100.0).all()
    assert retention.attrs["loyalty_metrics.cohorts"]["cohort_size"] == table.cohort_size.tolist()
    top = table.iloc[:3]
    assert top.window == table.window and not math.isnan(top.iloc[0, 0])


def test_an_all_cohorts_row_is_written_to_parquet_as_text_labels() -> None:
    table = lm.cohort_table(ORDERS, values="revenue", include_all=True)
    assert table.index[-1] == lm.cohorts.ALL_COHORTS and isinstance(table.index[0], pd.Period)
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    # the labels as text ("2023-01" ... "All cohorts"), every value as it was
    assert back.index.tolist() == [str(label) for label in table.index]
    assert back.attrs["loyalty_metrics.cohorts"] == table.attrs["loyalty_metrics.cohorts"]
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True),
        pd.DataFrame(table).reset_index(drop=True),
    )
    # in memory nothing changed: a period and the pooled row are looked up as before
    assert table.loc[table.index[0], 0] == back.iloc[0, 0]
    assert table.loc[lm.cohorts.ALL_COHORTS].equals(pd.DataFrame(table).iloc[-1])
    # a table without the row keeps its period index through Parquet
    plain = lm.cohort_table(ORDERS, values="revenue")
    buffer = io.BytesIO()
    plain.to_parquet(buffer)
    assert isinstance(pd.read_parquet(io.BytesIO(buffer.getvalue())).index, pd.PeriodIndex)
