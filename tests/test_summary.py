"""customer_summary: hand-worked tables, the window rules, and properties."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.orders import shared_kernels
from loyalty_metrics.summary import (
    SUMMARY_COLUMNS,
    _distinct_pairs,
    customer_summary,
    is_customer_summary,
    summary_window,
)


def _orders(rows: list[tuple], columns=("customer_id", "order_date", "amount")) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="mixed")
    for col in ("category", "channel"):
        if col in frame:
            frame[col] = frame[col].astype("category")
    return frame


@pytest.fixture
def lines() -> pd.DataFrame:
    # order  customer  date               amount  category  channel
    # o1     a         2024-01-01          10.0   books     web
    # o1     a         2024-01-02           5.0   music     web     (o1 = 15.0 on 01-01)
    # o2     a         2024-01-11 09:00    20.0   books     shop
    # o3     a         2024-01-11 17:00     4.0   toys      shop    (same day as o2)
    # o4     b         2024-01-05          -3.0   books     web     (a return: not a purchase)
    # o5     c         2024-01-03           8.0   music     shop
    # o5     c         2024-01-03          -8.0   music     shop    (nets to 0: still a purchase)
    # o6     c         2024-01-20          30.0   books     web
    return _orders(
        [
            ("o1", "a", "2024-01-01", 10.0, "books", "web"),
            ("o1", "a", "2024-01-02", 5.0, "music", "web"),
            ("o2", "a", "2024-01-11 09:00", 20.0, "books", "shop"),
            ("o3", "a", "2024-01-11 17:00", 4.0, "toys", "shop"),
            ("o4", "b", "2024-01-05", -3.0, "books", "web"),
            ("o5", "c", "2024-01-03", 8.0, "music", "shop"),
            ("o5", "c", "2024-01-03", -8.0, "music", "shop"),
            ("o6", "c", "2024-01-20", 30.0, "books", "web"),
        ],
        columns=("order_id", "customer_id", "order_date", "amount", "category", "channel"),
    )


def test_hand_worked_summary(lines: pd.DataFrame) -> None:
    s = customer_summary(lines)
    # b only returned something: not a customer.
    assert list(s.index) == ["a", "c"]
    assert list(s.columns[: len(SUMMARY_COLUMNS)]) == list(SUMMARY_COLUMNS)
    a, c = s.loc["a"], s.loc["c"]
    # a: orders o1 (15.0, 01-01), o2 (20.0, 01-11), o3 (4.0, 01-11) -> 3 purchases.
    assert a["purchases"] == 3
    assert a["revenue"] == pytest.approx(39.0)  # 10 + 5 + 20 + 4
    assert a["categories"] == 3  # books, music, toys
    # purchase days 01-01 and 01-11 -> frequency 1, recency 10 days; end = 01-20 -> T = 19.
    assert (a["frequency"], a["recency"], a["T"]) == (1, 10.0, 19.0)
    assert a["monetary_value"] == pytest.approx(24.0)  # the repeat day: 20 + 4
    assert a["first_purchase"] == pd.Timestamp("2024-01-01")
    assert a["last_purchase"] == pd.Timestamp("2024-01-11 17:00")
    assert a["channel"] == "web"
    # c: o5 nets to 0.0 (a $0 purchase), o6 30.0 -> 2 purchases, revenue 30.
    assert (c["purchases"], c["revenue"], c["categories"]) == (2, 30.0, 2)
    assert (c["frequency"], c["recency"], c["T"]) == (1, 17.0, 17.0)
    assert c["channel"] == "shop"
    # total revenue = 39 + 30 + (-3 from b, who has no purchase)
    assert s.unattributed_revenue == pytest.approx(-3.0)
    assert is_customer_summary(s)


def test_dtypes(lines: pd.DataFrame) -> None:
    s = customer_summary(lines)
    assert str(s["first_purchase"].dtype) == "datetime64[ns]"
    assert s["purchases"].dtype == np.int64
    assert s["frequency"].dtype == np.int64
    assert s["revenue"].dtype == np.float64
    assert isinstance(s["channel"].dtype, pd.CategoricalDtype)


def test_window_start_and_end(lines: pd.DataFrame) -> None:
    s = customer_summary(lines, start="2024-01-02", end="2024-01-11")
    # o1 is dated 01-01 (its earliest line): outside. a keeps o2 + o3 on 01-11.
    # c keeps o5 (01-03); o6 (01-20) is after end and never read.
    assert list(s.index) == ["a", "c"]
    assert s.loc["a", "purchases"] == 2
    # revenue counts the lines dated in the window: 5 (o1's second line) + 20 + 4
    assert s.loc["a", "revenue"] == pytest.approx(29.0)
    assert s.loc["a", "first_purchase_ever"] == pd.Timestamp("2024-01-01")
    assert (s.loc["a", "frequency"], s.loc["a", "T"]) == (0, 0.0)
    assert np.isnan(s.loc["a", "monetary_value"])
    assert s.loc["c", "revenue"] == 0.0 and s.loc["c", "purchases"] == 1
    window = summary_window(s)
    assert (window.start, window.end) == (pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-11"))


def test_units_are_the_net_quantity_in_the_window(lines: pd.DataFrame) -> None:
    # order  customer  date        quantity
    # o1     a         01-01        1
    # o1     a         01-02        2    (a later line of o1)
    # o2     a         01-11        3
    # o3     a         01-11        blank (counts 0)
    # o4     b         01-05       -1    (b returned: no purchase, not in the summary)
    # o5     c         01-03        2, -2 (nets to 0)
    # o6     c         01-20        4
    lines["quantity"] = [1.0, 2.0, 3.0, np.nan, -1.0, 2.0, -2.0, 4.0]
    s = customer_summary(lines)
    assert list(s.columns) == [*SUMMARY_COLUMNS, "channel", "units"]
    assert s["units"].to_dict() == {"a": 6.0, "c": 4.0}  # a: 1 + 2 + 3 + 0; c: 2 - 2 + 4
    # 01-02..01-11: a has o1's later line, o2, o3 (2 + 3 + 0); c has o5 (0)
    window = customer_summary(lines, start="2024-01-02", end="2024-01-11")
    assert window["units"].to_dict() == {"a": 5.0, "c": 0.0}
    # as of 01-01, from the kernel of every line (as the report computes): o1's later line
    # is not there yet, whichever kernel is truncated
    with shared_kernels():
        customer_summary(lines)
        first_day = customer_summary(lines, end="2024-01-01")
    assert first_day["units"].to_dict() == {"a": 1.0}
    assert "units" not in customer_summary(lines.drop(columns="quantity")).columns


def test_event_at_evening_of_end_is_inside() -> None:
    orders = _orders([("a", "2024-03-01", 5.0), ("a", "2024-03-10 18:00", 7.0)])
    s = customer_summary(orders, end="2024-03-10")
    assert s.loc["a", "purchases"] == 2


def test_without_order_id_each_line_is_an_order() -> None:
    orders = _orders(
        [("a", "2024-01-01", 5.0), ("a", "2024-01-01", 6.0), ("b", "2024-01-02", 0.0)]
    )
    s = customer_summary(orders)
    assert s["purchases"].to_dict() == {"a": 2, "b": 1}
    assert s["frequency"].to_dict() == {"a": 0, "b": 0}  # one purchase day each
    assert s["categories"].isna().all()  # no category nor product_id column


def test_product_id_stands_in_for_category() -> None:
    orders = _orders(
        [
            ("a", "2024-01-01", 5.0, "p1"),
            ("a", "2024-01-02", 6.0, "p2"),
            ("a", "2024-01-03", 1.0, "p1"),
        ],
        columns=("customer_id", "order_date", "amount", "product_id"),
    )
    assert customer_summary(orders).loc["a", "categories"] == 2


def test_tolerance_on_net_amount() -> None:
    # 0.1 + 0.2 - 0.3 is 5.6e-17, and -0.3 + 0.1 + 0.2 is -2.8e-17: both net to "zero".
    orders = _orders(
        [
            ("o1", "a", "2024-01-01", -0.3),
            ("o1", "a", "2024-01-01", 0.1),
            ("o1", "a", "2024-01-01", 0.2),
        ],
        columns=("order_id", "customer_id", "order_date", "amount"),
    )
    assert customer_summary(orders).loc["a", "purchases"] == 1


def test_empty_orders() -> None:
    orders = _orders([])
    s = customer_summary(orders)
    assert s.empty and list(s.columns) == list(SUMMARY_COLUMNS)


def test_start_after_end_is_an_error(lines: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="after end"):
        customer_summary(lines, start="2024-02-01", end="2024-01-01")


order_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 60),  # day offset
        st.integers(-50, 200).map(lambda cents: cents / 4),
        st.sampled_from(["o1", "o2", "o3", "o4", "o5", "o6"]),
    ),
    min_size=1,
    max_size=30,
)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount", "order_id"])
    frame["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame.pop("day"), unit="D")
    return frame


@settings(max_examples=60, deadline=None)
@given(order_rows, st.randoms(use_true_random=False))
def test_invariant_under_row_order(rows: list[tuple], rnd) -> None:
    frame = _frame(rows)
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 2**31)).reset_index(drop=True)
    pd.testing.assert_frame_equal(customer_summary(frame), customer_summary(shuffled))


@settings(max_examples=60, deadline=None)
@given(order_rows, st.integers(0, 60))
def test_truncation_equals_end(rows: list[tuple], cut: int) -> None:
    # Nothing after end is used: summary(end=d) on all data == summary on data up to d.
    frame = _frame(rows)
    start = frame["order_date"].min()
    end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=cut)
    if end < start:
        return
    truncated = frame[frame["order_date"] <= end]
    full = customer_summary(frame, start=start, end=end)
    cut_summary = customer_summary(truncated, start=start, end=end)
    pd.testing.assert_frame_equal(full, cut_summary)


@settings(max_examples=60, deadline=None)
@given(order_rows)
def test_matches_a_plain_groupby(rows: list[tuple]) -> None:
    frame = _frame(rows)
    s = customer_summary(frame)
    orders = frame.groupby(["customer_id", "order_id"]).agg(
        amount=("amount", "sum"), date=("order_date", "min")
    )
    purchases = orders[orders["amount"] >= -1e-6].reset_index()
    expected = purchases.groupby("customer_id").agg(
        purchases=("order_id", "size"),
        days=("date", lambda d: d.dt.normalize().nunique()),
        first=("date", "min"),
        last=("date", "max"),
    )
    assert list(s.index) == list(expected.index)
    assert (s["purchases"].to_numpy() == expected["purchases"].to_numpy()).all()
    assert (s["frequency"].to_numpy() == expected["days"].to_numpy() - 1).all()
    assert (
        s["recency"].to_numpy() == (expected["last"] - expected["first"]).dt.days.to_numpy()
    ).all()
    total = s["revenue"].sum() + s.unattributed_revenue
    assert total == pytest.approx(frame["amount"].sum())


@settings(max_examples=60, deadline=None)
@given(order_rows, st.integers(0, 60), st.integers(0, 60))
def test_units_are_netted_as_revenue_is(rows: list[tuple], first: int, last: int) -> None:
    # A quantity proportional to the amount (4 units per currency unit) must give units of
    # 4 x revenue for every customer, whatever the window and however the kernel is cut.
    frame = _frame(rows)
    frame["quantity"] = frame["amount"] * 4
    day0 = pd.Timestamp("2024-01-01")
    window = {
        "start": day0 + pd.Timedelta(days=min(first, last)),
        "end": day0 + pd.Timedelta(days=max(first, last)),
    }
    for shared in (False, True):
        with shared_kernels() if shared else contextlib.nullcontext():
            customer_summary(frame)  # the kernel of every line, then truncated
            s = customer_summary(frame, **window)
        np.testing.assert_allclose(s["units"], 4 * s["revenue"], atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(-3, 40)), max_size=60),
    st.integers(1, 31),
)
def test_distinct_pairs_bitmap_equals_sort(pairs: list[tuple], n: int) -> None:
    # The bitmap (few values per group) and the sorted keys count the same distinct pairs.
    groups = np.array([g % n for g, _ in pairs], dtype="int64")
    values = np.array([v for _, v in pairs], dtype="int64")
    by_bitmap = _distinct_pairs(groups, values, n)
    by_sort = _distinct_pairs(groups, values, n, bitmap_cells=0)
    expected = np.zeros(n, dtype="int64")
    for g in set(zip(groups.tolist(), values.tolist(), strict=True)):
        expected[g[0]] += 1
    np.testing.assert_array_equal(by_bitmap, expected)
    np.testing.assert_array_equal(by_sort, expected)


@settings(max_examples=60, deadline=None)
@given(order_rows, st.integers(0, 60), st.integers(0, 60))
def test_first_purchase_ever_looks_back_before_start(rows: list[tuple], a: int, b: int) -> None:
    # The earliest purchase on or before end in all the data, whatever the window's start.
    frame = _frame(rows)
    day0 = pd.Timestamp("2024-01-01")
    start, end = day0 + pd.Timedelta(days=min(a, b)), day0 + pd.Timedelta(days=max(a, b))
    s = customer_summary(frame, start=start, end=end)
    lines = frame[frame["order_date"] <= end]
    orders = lines.groupby(["customer_id", "order_id"]).agg(
        amount=("amount", "sum"), date=("order_date", "min")
    )
    first = orders[orders["amount"] >= -1e-6].groupby("customer_id")["date"].min()
    np.testing.assert_array_equal(
        s["first_purchase_ever"].to_numpy(), first.reindex(s.index).to_numpy()
    )
