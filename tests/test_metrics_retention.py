"""Churn and retention over (end - 2p, end - p] and (end - p, end]: worked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.errors import ConfigError
from loyalty_metrics.metrics._common import parse_span
from loyalty_metrics.metrics.retention import (
    churn_counts,
    churn_hits,
    churn_rate,
    lookback_start,
    lookback_summary,
    retention_rate,
)
from loyalty_metrics.orders import order_kernel
from loyalty_metrics.summary import customer_summary


def make_orders(rows, columns=("customer_id", "order_date", "amount")) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="mixed").astype(
        "datetime64[ns]"
    )
    frame["amount"] = frame["amount"].astype("float64")
    if "channel" in frame.columns:
        frame["channel"] = frame["channel"].astype("category")
    return frame


# end = 2024-12-31, p = 365 days: (end - p, end] = 2024-01-02..2024-12-31 and
# (end - 2p, end - p] = 2023-01-02..2024-01-01 (2024 is a leap year).
SHOP = make_orders(
    [
        ("a", "2023-06-01", 10.0, "web"),
        ("a", "2024-06-01", 10.0, "web"),  # cohort, retained
        ("b", "2023-03-01", 10.0, "store"),  # cohort, churned
        ("c", "2024-01-01 18:00", 10.0, "web"),  # last day of the first period: churned
        ("d", "2024-01-02", 10.0, "web"),  # first purchase in the second period: not cohort
        ("e", "2023-01-01", 10.0, "web"),  # before the first period: not cohort
        ("f", "2023-01-02", 10.0, "store"),
        ("f", "2024-12-31 18:00", 10.0, "store"),  # retained
        ("g", "2023-05-01", 10.0, "store"),
        ("g", "2024-05-01", -5.0, "store"),  # a return: churned
        ("h", "2023-06-01", 10.0, "web"),
        ("h", "2025-01-05", 10.0, "web"),  # after end: churned
    ],
    ("customer_id", "order_date", "amount", "channel"),
)
END = "2024-12-31"


def test_churn_by_hand():
    # cohort a, b, c, f, g, h = 6; churned b, c, g, h = 4
    assert churn_rate(SHOP, end=END) == pytest.approx(100 * 4 / 6)
    assert retention_rate(SHOP, end=END) == pytest.approx(100 * 2 / 6)


def test_churn_ignores_start():
    assert churn_rate(SHOP, start="2024-06-01", end=END) == churn_rate(SHOP, end=END)


def test_churn_uses_nothing_after_end():
    truncated = SHOP.loc[SHOP["order_date"] < pd.Timestamp("2025-01-01")]
    assert churn_rate(SHOP, end=END) == churn_rate(truncated)


def test_churn_default_end_is_last_order():
    # end = 2025-01-05: (end - p, end] = 2024-01-07..2025-01-05; cohort 2023-01-07..2024-01-06:
    # a (retained), b, c, d (churned), g (churned: return only), h (retained) -> 4 / 6
    assert churn_rate(SHOP) == pytest.approx(100 * 4 / 6)


def test_churn_with_shorter_period():
    # p = 90D, end 2024-12-31: second period 2024-10-03..12-31, first 2024-07-05..10-02: nobody
    assert math.isnan(churn_rate(SHOP, end=END, period="90D"))
    # p = 6 calendar months: second period 2024-07-01..12-31, first 2023-12-31..2024-06-30 holds
    # a (Jun 1), c, d; none of them buys again (f's Dec 31 purchase has no first-period one)
    assert churn_rate(SHOP, end=END, period="6M") == 100.0


def test_churn_nan_when_data_do_not_reach_back():
    orders = make_orders([("a", "2024-12-01", 1.0), ("b", "2024-12-05", 1.0)])
    assert math.isnan(churn_rate(orders))
    assert math.isnan(retention_rate(orders))


def test_churn_empty_orders():
    assert math.isnan(churn_rate(SHOP.iloc[:0]))


def test_churn_one_customer():
    orders = make_orders([("a", "2023-06-01", 1.0), ("a", "2024-06-01", 1.0)])
    assert churn_rate(orders, end="2024-06-01") == 0.0


def test_churn_accepts_the_exact_lookback_summary_only():
    lookback = customer_summary(SHOP, start="2023-01-02", end=END)
    assert churn_rate(lookback, end=END) == pytest.approx(100 * 4 / 6)
    with pytest.raises(ConfigError, match="churn_rate needs the orders frame"):
        churn_rate(customer_summary(SHOP, end=END), end=END)


def test_churn_by_channel():
    table = churn_rate(SHOP, end=END, by="channel")
    # channel of the first purchase in the look-back: web a, c, h (churned c, h); store b, f, g
    assert table.loc["web", ["n", "successes"]].tolist() == [3, 2]
    assert table.loc["store", ["n", "successes"]].tolist() == [3, 2]
    assert table.loc["web", "churn_rate"] == pytest.approx(200 / 3)
    retained = retention_rate(SHOP, end=END, by="channel")
    assert retained.loc["web", "successes"] == 1


def test_churn_freq_is_as_of_each_period_end():
    table = churn_rate(SHOP, end=END, start="2024-10-01", freq="Q")
    assert table.index.tolist() == [pd.Timestamp("2024-12-31")]
    assert table["churn_rate"].iloc[0] == pytest.approx(100 * 4 / 6)


def test_churn_parameter_errors():
    with pytest.raises(ConfigError, match="The 'period' parameter of churn_rate"):
        churn_rate(SHOP, period="yearly")
    with pytest.raises(ConfigError, match="'level'"):
        retention_rate(SHOP, level="high")


# ---------------------------------------------------------------------------------------------
# The summary shortcut used by kpis() must count exactly what the look-back summary counts


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.integers(0, 9),
            st.integers(0, 700),
            st.sampled_from([-30.0, -5.0, 0.0, 5.0, 20.0]),
        ),
        max_size=40,
    ),
    start_day=st.integers(0, 300),
    period=st.sampled_from(["90D", "180D", "365D", "3M"]),
)
def test_property_churn_from_kernel_matches_lookback(rows, start_day, period):
    orders = make_orders(
        [
            (f"c{c}", f"o{o}-{c}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=d), a)
            for c, o, d, a in rows
        ],
        ("customer_id", "order_id", "order_date", "amount"),
    )
    if orders.empty:
        return
    end = orders["order_date"].max().normalize()
    span = parse_span(period, name="period", func="test")
    start = min(pd.Timestamp("2023-01-01") + pd.Timedelta(days=start_day), end)
    # The kernel of the lines up to end, truncated at an earlier end too (as kpis_by_period
    # does): the look-back ignores start, and a truncated kernel nets like a fresh one.
    kernel = order_kernel(orders)
    lookback = lookback_summary(orders, end, span)
    cohort, churned = churn_hits(lookback, end, span)
    assert churn_counts(kernel, end, span) == (int(cohort.sum()), int(churned[cohort].sum()))
    earlier = max(start, lookback_start(end, span))
    lookback = lookback_summary(orders, earlier, span)
    cohort, churned = churn_hits(lookback, earlier, span)
    assert churn_counts(kernel, earlier, span) == (int(cohort.sum()), int(churned[cohort].sum()))


def test_churn_counts_see_purchases_before_the_lookback():
    orders = make_orders(
        [
            ("u1", "2022-07-01", 1.0),
            ("u1", "2023-06-01", 1.0),
            ("u1", "2024-06-01", 1.0),
            ("u2", "2022-07-01", 1.0),
            ("u2", "2022-08-01", 1.0),
            ("u2", "2024-06-01", 1.0),
            ("x", "2023-05-01", 1.0),
        ]
    )
    # u1 and u2 bought before 2023-01-02 and came back in 2024 with 3 purchases each: unsure.
    # u1 bought in 2023 (cohort, retained), u2 did not. x: cohort, churned -> (2, 1)
    span = parse_span("365D", name="period", func="test")
    assert churn_counts(order_kernel(orders), pd.Timestamp("2024-12-31"), span) == (2, 1)
    assert churn_rate(orders, end="2024-12-31") == 50.0
