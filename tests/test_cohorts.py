"""Tests of loyalty_metrics.cohorts: hand-worked tables, statuses, NaN rule, as-of property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.cohorts import (
    ALL_COHORTS,
    cohort_cell_status,
    cohort_table,
    inter_purchase_times,
    repeat_rate_by_cohort,
    time_to_second_purchase,
)
from loyalty_metrics.errors import ConfigError
from loyalty_metrics.summary import customer_summary

NAN = np.nan


def _orders(rows: list[tuple]) -> pd.DataFrame:
    """(customer_id, order_id, date, amount) rows -> a validated-looking orders frame."""
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["amount"] = frame["amount"].astype("float64")
    return frame


# The hand-worked data set, as of 2024-03-15 (March is the partial period).
#   a: o1 Jan 5 (two lines, 10 + 5 = 15), o2 Mar 10 (20)            -> cohort Jan
#   b: o3 Jan 20 (30), o4 Feb 14 (-30: a return, not a purchase)     -> cohort Jan
#   f: o10 Jan 31 (+1 and -1 lines: net 0 is a purchase), o11 Jan 31 (-3 return) -> Jan
#   c: o5 Feb 3 (8), o6 Feb 25 (2), o7 Mar 1 (4)                     -> cohort Feb
#   d: o8 Dec 30 2023 (-5 return before any purchase), o9 Feb 10 (0) -> cohort Feb
#   e: o12 Mar 20 (100), after end: never read
ROWS = [
    ("a", "o1", "2024-01-05", 10.0),
    ("a", "o1", "2024-01-05", 5.0),
    ("a", "o2", "2024-03-10", 20.0),
    ("b", "o3", "2024-01-20", 30.0),
    ("b", "o4", "2024-02-14", -30.0),
    ("f", "o10", "2024-01-31", 1.0),
    ("f", "o10", "2024-01-31", -1.0),
    ("f", "o11", "2024-01-31", -3.0),
    ("c", "o5", "2024-02-03", 8.0),
    ("c", "o6", "2024-02-25", 2.0),
    ("c", "o7", "2024-03-01", 4.0),
    ("d", "o8", "2023-12-30", -5.0),
    ("d", "o9", "2024-02-10", 0.0),
    ("e", "o12", "2024-03-20", 100.0),
]
END = "2024-03-15"


@pytest.fixture
def orders() -> pd.DataFrame:
    return _orders(ROWS)


def _expect(frame: pd.DataFrame, expected: list[list[float]], cohorts: list[str]) -> None:
    assert list(frame.index.astype(str)) == cohorts
    assert list(frame.columns) == list(range(len(expected[0])))
    np.testing.assert_allclose(frame.to_numpy(dtype="float64"), np.array(expected), equal_nan=True)


def test_customers_every_cell(orders):
    table = cohort_table(orders, values="customers", end=END)
    # Jan cohort {a, b, f}: Jan all 3; Feb nobody (b's order is a return); Mar a (partial).
    # Feb cohort {c, d}: Feb both; Mar c (partial); period 2 would be April: unreachable.
    _expect(table, [[3, 0, 1], [2, 1, NAN]], ["2024-01", "2024-02"])
    assert isinstance(table.index, pd.PeriodIndex)
    assert table.index.name == "cohort" and table.columns.name == "periods_since"
    assert table.attrs["loyalty_metrics.cohorts"]["cohort_size"] == [3, 2]


def test_retention_every_cell(orders):
    table = cohort_table(orders, values="retention", end=END)
    _expect(table, [[100, 0, 100 / 3], [100, 50, NAN]], ["2024-01", "2024-02"])


def test_unreachable_cells_are_nan_never_zero(orders):
    for values in ("customers", "retention", "revenue", "cumulative_revenue_per_customer"):
        table = cohort_table(orders, values=values, end=END)
        assert np.isnan(table.iloc[1, 2]), values
    # A genuine zero (nobody came back in Feb) stays 0.
    assert cohort_table(orders, values="customers", end=END).iloc[0, 1] == 0


def test_on_or_after_every_cell(orders):
    table = cohort_table(orders, values="customers", mode="on_or_after", end=END)
    # Jan cohort: last active period a: Mar, b: Jan, f: Jan -> k0 3, k1 1 (a), k2 1 (a).
    # Feb cohort: c last active Mar, d Feb -> k0 2, k1 1.
    _expect(table, [[3, 1, 1], [2, 1, NAN]], ["2024-01", "2024-02"])
    retention = cohort_table(orders, mode="on_or_after", end=END)
    _expect(retention, [[100, 100 / 3, 100 / 3], [100, 50, NAN]], ["2024-01", "2024-02"])


def test_revenue_every_cell(orders):
    table = cohort_table(orders, values="revenue", end=END)
    # Jan cohort: Jan a 15 + b 30 + f (0 - 3) = 42; Feb b -30; Mar a 20.
    # Feb cohort: Feb c 8 + 2 + d 0 = 10 (d's December return precedes the cohort); Mar c 4.
    _expect(table, [[42, -30, 20], [10, 4, NAN]], ["2024-01", "2024-02"])


def test_cumulative_revenue_per_customer_every_cell(orders):
    table = cohort_table(orders, values="cumulative_revenue_per_customer", end=END)
    # Jan: 42/3, (42-30)/3, (12+20)/3; Feb: 10/2, 14/2.
    _expect(table, [[14, 4, 32 / 3], [5, 7, NAN]], ["2024-01", "2024-02"])


def test_status_every_cell(orders):
    status = cohort_cell_status(orders, end=END)
    assert status.to_numpy().tolist() == [
        ["complete", "complete", "partial"],
        ["complete", "partial", "unreachable"],
    ]
    assert status.index.equals(cohort_table(orders, end=END).index)
    assert status.columns.equals(cohort_table(orders, end=END).columns)


def test_status_when_end_is_the_last_day_of_a_period(orders):
    # DESIGN: the period containing end is partial, even when end is its last day.
    # e (Mar 20) is now a March cohort.
    status = cohort_cell_status(orders, end="2024-03-31")
    assert status.to_numpy().tolist() == [
        ["complete", "complete", "partial"],
        ["complete", "partial", "unreachable"],
        ["partial", "unreachable", "unreachable"],
    ]
    table = cohort_table(orders, values="customers", end="2024-03-31")
    _expect(table, [[3, 0, 1], [2, 1, NAN], [1, NAN, NAN]], ["2024-01", "2024-02", "2024-03"])


def test_all_cohorts_row_averages_complete_cells_weighted_by_size(orders):
    table = cohort_table(orders, include_all=True, end=END)
    # k0: both complete -> (3*100 + 2*100) / 5; k1: only Jan complete -> 0; k2: none -> NaN.
    assert table.index[-1] == ALL_COHORTS
    np.testing.assert_allclose(table.loc[ALL_COHORTS].to_numpy(float), [100, 0, NAN])
    revenue = cohort_table(orders, values="revenue", include_all=True, end=END)
    # k0: (3*42 + 2*10) / 5 = 29.2; k1: Jan only -> -30.
    np.testing.assert_allclose(revenue.loc[ALL_COHORTS].to_numpy(float), [29.2, -30, NAN])
    status = cohort_cell_status(orders, include_all=True, end=END)
    assert status.loc[ALL_COHORTS].tolist() == ["complete", "complete", "unreachable"]
    assert status.shape == table.shape


def test_all_cohorts_row_weights_by_cohort_size():
    # Jan: 4 customers, 1 back in Feb (25%); Feb: 1 customer, back in Mar (100%); end Apr 30.
    rows = [(c, f"{c}1", "2024-01-10", 1.0) for c in "abcd"]
    rows += [("a", "a2", "2024-02-10", 1.0), ("e", "e1", "2024-02-02", 1.0)]
    rows += [("e", "e2", "2024-03-02", 1.0)]
    table = cohort_table(_orders(rows), include_all=True, end="2024-04-30")
    # k1: (4 * 25 + 1 * 100) / 5 = 40, not the plain mean 62.5.
    assert table.loc[ALL_COHORTS, 1] == pytest.approx(40.0)


def test_start_limits_the_cohorts_shown_not_their_members(orders):
    table = cohort_table(orders, values="customers", start="2024-02-20", end=END)
    _expect(table, [[2, 1]], ["2024-02"])  # Feb cohort still holds c and d (first bought Feb 3/10)


def test_nothing_after_end_is_read(orders):
    full = cohort_table(orders, values="revenue", end=END)
    truncated = cohort_table(orders[orders["order_date"] <= END], values="revenue", end=END)
    pd.testing.assert_frame_equal(full, truncated)


def test_cohort_sizes_match_customer_summary(orders):
    summary = customer_summary(orders, end=END)
    expected = summary["first_purchase_ever"].dt.to_period("M").value_counts().sort_index()
    table = cohort_table(orders, values="customers", end=END)
    assert table[0].astype(int).tolist() == expected.tolist()


def test_without_order_id_each_line_is_an_order():
    frame = _orders(ROWS).drop(columns="order_id")
    table = cohort_table(frame, values="customers", end=END)
    # f's +1 line is a purchase on its own; the -1 and -3 lines are returns: same cohorts.
    _expect(table, [[3, 0, 1], [2, 1, NAN]], ["2024-01", "2024-02"])


def test_shared_order_id_across_customers_is_two_orders():
    rows = [("a", "x", "2024-01-01", 5.0), ("b", "x", "2024-02-01", -9.0)]
    table = cohort_table(_orders(rows), values="customers", end="2024-02-29")
    # a's 5 is a purchase; b's -9 is b's own return, not netted against a.
    _expect(table, [[1, 0]], ["2024-01"])


def test_weekly_and_quarterly_periods():
    rows = [
        ("a", "1", "2024-01-01", 1.0),  # Monday of week 2024-01-01/2024-01-07
        ("a", "2", "2024-01-07", 1.0),  # Sunday: same week
        ("a", "3", "2024-01-08", 1.0),  # next week
        ("b", "4", "2024-01-10", 1.0),
    ]
    weekly = cohort_table(_orders(rows), period="W", values="customers")
    assert str(weekly.index[0]) == "2024-01-01/2024-01-07"
    # week 0: a; week 1: a again; b's cohort is week 1 (partial: end Wed Jan 10).
    np.testing.assert_allclose(weekly.to_numpy(float), [[1, 1], [1, NAN]])
    status = cohort_cell_status(_orders(rows), period="W")
    assert status.to_numpy().tolist() == [["complete", "partial"], ["partial", "unreachable"]]
    quarterly = cohort_table(_orders(rows), period="Q", values="customers")
    assert list(quarterly.index.astype(str)) == ["2024Q1"]
    assert quarterly.to_numpy().tolist() == [[2.0]]


def test_no_cap_on_periods():
    rows = [("a", "1", "2020-01-15", 1.0), ("a", "2", "2024-06-15", 1.0)]
    table = cohort_table(_orders(rows), values="customers")
    assert table.shape == (1, 54)  # Jan 2020 .. Jun 2024
    assert table.iloc[0, 53] == 1 and table.iloc[0, 1:53].sum() == 0


def test_empty_orders_give_an_empty_table():
    empty = _orders([])
    assert cohort_table(empty).shape == (0, 0)
    assert cohort_cell_status(empty).shape == (0, 0)
    returns_only = _orders([("a", "1", "2024-01-01", -5.0)])
    assert cohort_table(returns_only).shape == (0, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "D"}, "The 'period' parameter of cohort_table must be one of"),
        ({"values": "money"}, "The 'values' parameter of cohort_table must be one of"),
        ({"mode": "after"}, "The 'mode' parameter of cohort_table must be one of"),
        ({"mode": "on_or_after", "values": "revenue"}, "applies to customers and retention"),
    ],
)
def test_parameter_errors(orders, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        cohort_table(orders, **kwargs)


# --------------------------------------------------------------------------------------------
def test_repeat_rate_by_cohort_hand_worked():
    rows = [
        ("a", "1", "2024-01-01", 1.0),
        ("a", "2", "2024-01-25", 1.0),  # 24 days after the first
        ("b", "3", "2024-01-15", 1.0),
        ("b", "4", "2024-03-10", 1.0),  # 55 days
        ("c", "5", "2024-01-31", 1.0),
        ("c", "6", "2024-01-31", 2.0),  # two orders on day one: second purchase after 0 days
        ("d", "7", "2024-02-20", 1.0),  # Feb 20 + 30 = Mar 21 > end: not observable
        ("e", "8", "2024-02-01", 1.0),  # observable for 30 days (Mar 2 <= Mar 15), no repeat
        ("x", "9", "2024-03-15", 1.0),
    ]
    out = repeat_rate_by_cohort(_orders(rows), within=["30D", "60D"], end="2024-03-15")
    # Jan, 30D: all 3 observable (Jan 31 + 30 = Mar 1); a and c repeated -> 2/3.
    # Jan, 60D: a (Mar 1) and b (Mar 15) observable, c (Mar 31) not; a, b repeated -> 2/2.
    # Feb, 30D: e only -> 0/1; Feb, 60D: none -> NaN. Mar, both: none -> NaN.
    assert out["n"].tolist() == [3, 2, 1, 0, 0, 0]
    assert out["repeaters"].tolist() == [2, 2, 0, 0, 0, 0]
    np.testing.assert_allclose(out["repeat_rate"], [200 / 3, 100, 0, NAN, NAN, NAN])
    assert out["customers"].tolist() == [3, 3, 2, 2, 1, 1]
    assert out["complete"].tolist() == [True, False, False, False, False, False]
    assert out.index.names == ["cohort", "within"]
    assert out.loc[(pd.Period("2024-01", "M"), "30D"), "ci_low"] < 200 / 3
    assert np.isnan(out["ci_low"].iloc[3])


def test_repeat_rate_by_cohort_pooled_row_equals_the_overall_rule():
    rows = [("a", "1", "2024-01-01", 1.0), ("a", "2", "2024-01-10", 1.0)]
    rows += [("b", "3", "2024-02-01", 1.0), ("c", "4", "2024-03-01", 1.0)]
    out = repeat_rate_by_cohort(_orders(rows), within="30D", include_all=True, end="2024-03-10")
    pooled = out.loc[(ALL_COHORTS, "30D")]
    # a (Jan 1) and b (Feb 1) observable; c (Mar 1 + 30 > Mar 10) not -> 1 of 2.
    assert (pooled["n"], pooled["repeaters"], pooled["repeat_rate"]) == (2, 1, 50.0)


def test_repeat_rate_by_cohort_calendar_months():
    rows = [("a", "1", "2024-01-31", 1.0), ("a", "2", "2024-02-29", 1.0)]
    out = repeat_rate_by_cohort(_orders(rows), within="1M", end="2024-02-29")
    # Jan 31 + 1 month = Feb 29: observable on Feb 29, and the repeat is within it.
    assert out["repeat_rate"].tolist() == [100.0]
    with pytest.raises(ConfigError, match="'within' parameter of repeat_rate_by_cohort"):
        repeat_rate_by_cohort(_orders(rows), within="soon")


def test_time_to_second_purchase_hand_worked():
    rows = [
        ("a", "1", "2024-01-01", 1.0),
        ("a", "2", "2024-01-11", 1.0),  # 10 days
        ("a", "3", "2024-01-12", 1.0),  # third purchase: ignored
        ("b", "4", "2024-01-05", 1.0),
        ("b", "5", "2024-02-04", 1.0),  # 30 days
        ("c", "6", "2024-01-09", 1.0),  # never returned
        ("d", "7", "2024-02-01", 1.0),
        ("d", "8", "2024-02-01", 1.0),  # same day: 0 days
    ]
    out = time_to_second_purchase(_orders(rows), quantiles=[0.25], include_all=True)
    jan = out.loc[pd.Period("2024-01", "M")]
    assert (jan["customers"], jan["returned"]) == (3, 2)
    assert jan["returned_share"] == pytest.approx(200 / 3)
    # times [10, 30]: mean 20, median 20, p25 = 10 + 0.25 * 20 = 15
    assert (jan["mean_days"], jan["median_days"], jan["p25_days"]) == (20, 20, 15)
    pooled = out.loc[ALL_COHORTS]  # [0, 10, 30]
    assert (pooled["customers"], pooled["returned"], pooled["median_days"]) == (4, 3, 10)
    assert list(out.columns) == [
        "customers",
        "returned",
        "returned_share",
        "mean_days",
        "median_days",
        "p25_days",
    ]


def test_inter_purchase_times_hand_worked():
    rows = [
        ("a", "1", "2024-01-01", 1.0),
        ("a", "2", "2024-01-11", 1.0),  # gap 10
        ("a", "3", "2024-01-11", 1.0),  # same day: one occasion
        ("a", "4", "2024-01-31", 1.0),  # gap 20
        ("b", "5", "2024-01-20", 1.0),
        ("b", "6", "2024-01-26", -1.0),  # a return is not a purchase
        ("c", "7", "2024-02-01", 1.0),
        ("c", "8", "2024-02-05", 1.0),  # gap 4
    ]
    out = inter_purchase_times(_orders(rows), quantiles=[0.9])
    np.testing.assert_array_equal(out["customers"], [2, 1])
    np.testing.assert_array_equal(out["repeat_customers"], [1, 1])
    np.testing.assert_array_equal(out["intervals"], [2, 1])
    np.testing.assert_allclose(out["median_days"], [15, 4])
    np.testing.assert_allclose(out["p90_days"], [19, 4])  # 10 + 0.9 * 10


def test_distribution_tables_nan_when_nobody_returned():
    out = time_to_second_purchase(_orders([("a", "1", "2024-01-01", 1.0)]))
    assert out["returned"].tolist() == [0]
    assert np.isnan(out["median_days"].iloc[0]) and np.isnan(out["p90_days"].iloc[0])


# --------------------------------------------------------------------------------------------
@st.composite
def _order_frames(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    customers = draw(st.lists(st.sampled_from("abcdef"), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 200), min_size=n, max_size=n))
    amounts = draw(st.lists(st.sampled_from([-5.0, 0.0, 3.0, 10.0]), min_size=n, max_size=n))
    order_ids = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    frame = pd.DataFrame(
        {
            "customer_id": customers,
            "order_id": [str(i) for i in order_ids],
            "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
            "amount": amounts,
        }
    )
    return frame, pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(0, 200)))


@settings(max_examples=40, deadline=None)
@given(_order_frames(), st.sampled_from(["W", "M", "Q"]))
def test_property_as_of_equals_truncated_and_statuses_consistent(data, period):
    orders, end = data
    full = cohort_table(orders, period=period, values="customers", end=end)
    cut = cohort_table(
        orders[orders["order_date"] <= end], period=period, values="customers", end=end
    )
    pd.testing.assert_frame_equal(full, cut)
    status = cohort_cell_status(orders, period=period, end=end)
    assert status.shape == full.shape
    # NaN exactly on unreachable cells; column 0 is the cohort size and never NaN.
    assert (full.isna().to_numpy() == (status == "unreachable").to_numpy()).all()
    if len(full):
        assert (full[0] > 0).all()
        # mode "on" never exceeds mode "on_or_after", which never increases along a row.
        after = cohort_table(
            orders, period=period, values="customers", mode="on_or_after", end=end
        )
        assert (full.fillna(0) <= after.fillna(0)).all().all()
        assert (after.diff(axis=1).iloc[:, 1:].fillna(0) <= 0).all().all()
        assert int(full[0].sum()) == len(customer_summary(orders, end=end))


@settings(max_examples=100, deadline=None)
@given(st.integers(-40_000, 40_000), st.integers(0, 400), st.sampled_from(["M", "Q", "Y"]))
def test_period_codes_by_lookup_equal_the_calendar(first, spread, period) -> None:
    # 2,000 days over at most 401 take the lookup path; it equals numpy's calendar.
    from loyalty_metrics.cohorts import _period_codes

    days = first + np.arange(2_000, dtype="int64") * 7 % (spread + 1)
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype("int64")
    expected = {"M": months, "Q": months // 3, "Y": months // 12}[period]
    np.testing.assert_array_equal(_period_codes(days, period), expected)


def test_one_cohort_view_per_window_inside_shared_kernels() -> None:
    # A report's cohort table, cell status and repeat rates read one view of the orders (and
    # its first purchase days, computed once); the tables are those computed alone.
    from loyalty_metrics.cohorts import _orders_up_to_end, repeat_rate_by_cohort
    from loyalty_metrics.orders import shared_kernels

    orders = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "c"],
            "order_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03", "2024-03-01"]),
            "amount": [10.0, 5.0, 7.0, 3.0],
        }
    )
    alone = cohort_table(orders), repeat_rate_by_cohort(orders)
    with shared_kernels():
        view = _orders_up_to_end(orders)
        assert _orders_up_to_end(orders) is view
        assert view.first_purchase_day() is view.first_purchase_day()
        shared = cohort_table(orders), repeat_rate_by_cohort(orders)
    pd.testing.assert_frame_equal(shared[0], alone[0])
    pd.testing.assert_frame_equal(shared[1], alone[1])


@settings(max_examples=80, deadline=None)
@given(_order_frames(), st.sampled_from(["W", "M", "Q"]))
def test_active_customers_equal_a_groupby_of_the_purchases(data, period) -> None:
    # Each cell: the distinct customers of the cohort (first purchase period) with a
    # purchase in the period k periods later, counted by pandas from the netted orders.
    import warnings

    orders, end = data
    lines = orders[orders["order_date"] <= end]
    netted = lines.groupby(["customer_id", "order_id"]).agg(
        amount=("amount", "sum"), date=("order_date", "min")
    )
    purchases = netted[netted["amount"] >= -1e-6].reset_index()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = cohort_table(orders, period=period, values="customers", end=end)
    if purchases.empty:
        assert table.empty
        return
    purchases["p"] = purchases["date"].dt.to_period(period)
    purchases["cohort"] = purchases.groupby("customer_id")["p"].transform("min")
    purchases["since"] = (purchases["p"] - purchases["cohort"]).map(lambda d: d.n)
    expected = purchases.groupby(["cohort", "since"])["customer_id"].nunique()
    for (cohort, since), count in expected.items():
        assert table.loc[cohort, since] == count
    assert np.nansum(table.to_numpy()) == expected.sum()
