"""Tests of loyalty_metrics.points: the points KPIs, the flow per period and the rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.errors import ConfigError, DataValidationError
from loyalty_metrics.points import (
    POINTS_KPI_KEYS,
    POINTS_RATE_COLUMNS,
    points_flow,
    points_kpis,
    points_rates,
)


def _ledger(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "points", "type"])
    frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
    frame["points"] = frame["points"].astype("float64")
    return frame


# Window 2024-01-01 .. 2024-03-31.
LEDGER = _ledger(
    [
        ("a", "2023-12-31", 100, "earn"),  # before start: outstanding only
        ("a", "2024-01-01 00:00", 50, "earn"),  # the window's first day
        ("a", "2024-02-10", -80, "redeem"),
        ("b", "2024-01-15", 200, "earn"),
        ("b", "2024-03-31 23:30", -30, "expire"),  # the window's last day, late evening
        ("c", "2024-01-05", 10, "earn"),
        ("c", "2024-02-01", -20, "adjust"),  # clawback: c's balance is -10
        ("d", "2024-04-01", 999, "earn"),  # after end: never read
        ("e", "2023-06-01", 40, "earn"),
        ("e", "2024-03-01", -40, "redeem"),  # e joins after end: not a member
    ]
)
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "e", "f", "g", "h"],
        "is_member": pd.array([True, True, True, True, True, False, None], "boolean"),
        "member_since": pd.to_datetime(
            ["2023-01-01", None, "2024-03-31", "2024-04-01", "2023-05-01", None, None]
        ),
        "tier": ["gold", "silver", "silver", "gold", "gold", None, None],
    }
)
ORDERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "e", "g", "x", "r", "c"],
        "order_date": pd.to_datetime(
            [
                "2024-01-01",
                "2024-02-02",
                "2024-03-03",
                "2024-03-31",
                "2024-01-20",
                "2024-02-02",
                "2024-04-02",
            ]
        ),
        "amount": [10.0, 20.0, 5.0, 8.0, 3.0, -4.0, 7.0],  # r only returned; c after end
    }
)
WINDOW = {"start": "2024-01-01", "end": "2024-03-31"}


def test_every_key_hand_worked():
    k = points_kpis(LEDGER, CUSTOMERS, ORDERS, point_value=0.5, **WINDOW)
    assert tuple(k.index) == POINTS_KPI_KEYS and k.dtype == "float64"
    assert k["points_issued"] == 260  # 50 (a, first day) + 200 (b) + 10 (c)
    assert k["points_redeemed"] == 120  # 80 (a) + 40 (e)
    assert k["points_expired"] == 30  # b, on the last day at 23:30
    # 100 + 50 - 80 + 200 - 30 + 10 - 20 + 40 - 40: everything up to end, before start too
    assert k["points_outstanding"] == 230
    assert k["redemption_rate"] == pytest.approx(100 * 120 / 260)
    assert k["breakage_rate"] == pytest.approx(100 * 30 / 150)  # 30 of the 150 that left
    assert k["points_liability"] == pytest.approx(230 * 0.5 * 0.8)
    # members: a, b (no member_since), c (joined on end), f; not e (after end), g, h (blank)
    assert k["members"] == 4
    assert k["active_members"] == 3  # a, b, c earned or redeemed; f did nothing
    assert k["member_activity_rate"] == 75
    assert k["redeemer_share"] == 25  # a (e redeemed but is not a member)
    # customers who purchased in the window: a, b, e, g, x (r only returned, c after end)
    assert k["member_share"] == pytest.approx(100 * 2 / 5)


def test_absent_inputs_are_nan():
    k = points_kpis(LEDGER, **WINDOW)
    member_keys = ["members", "active_members", "member_activity_rate", "redeemer_share"]
    assert k[member_keys + ["member_share"]].isna().all()
    assert k["points_issued"] == 260
    assert np.isnan(points_kpis(LEDGER, CUSTOMERS, **WINDOW)["member_share"])  # needs orders
    no_flag = CUSTOMERS.drop(columns="is_member")
    assert np.isnan(points_kpis(LEDGER, no_flag, ORDERS, **WINDOW)["members"])


def test_undefined_breakage_liability_without_discount():
    ledger = _ledger([("a", "2024-01-01", 100, "earn"), ("a", "2024-01-09", 5, "adjust")])
    k = points_kpis(ledger, point_value=0.01)
    assert np.isnan(k["breakage_rate"])  # nothing left the programme: 0 / 0
    assert k["redemption_rate"] == 0
    assert k["points_liability"] == pytest.approx(105 * 0.01)  # breakage taken as 0


def test_negative_balances_and_nothing_issued():
    # a redeemed points earned before the window, then a clawback: balance -50.
    ledger = _ledger(
        [
            ("a", "2023-11-01", 100, "earn"),
            ("a", "2024-01-02", -100, "redeem"),
            ("a", "2024-01-03", -50, "adjust"),
        ]
    )
    k = points_kpis(ledger, start="2024-01-01", end="2024-01-31", point_value=2.0)
    assert k["points_outstanding"] == -50
    assert np.isnan(k["redemption_rate"])  # nothing issued in the window
    assert k["breakage_rate"] == 0  # 0 / (0 + 100)
    assert k["points_liability"] == -100  # -50 * 2 * (1 - 0)


def test_members_with_no_member_left():
    customers = pd.DataFrame({"customer_id": ["a"], "is_member": [False]})
    k = points_kpis(LEDGER, customers, ORDERS, **WINDOW)
    assert k["members"] == 0 and k["active_members"] == 0
    assert np.isnan(k["member_activity_rate"]) and np.isnan(k["redeemer_share"])
    assert k["member_share"] == 0


def test_default_window_is_the_ledger_span_and_type_is_case_insensitive():
    ledger = LEDGER.assign(type=LEDGER["type"].str.upper())
    k = points_kpis(ledger)  # 2023-06-01 .. 2024-04-01
    assert k["points_issued"] == 100 + 50 + 200 + 10 + 999 + 40
    assert k["points_outstanding"] == 230 + 999


def test_empty_ledger():
    k = points_kpis(LEDGER.iloc[:0], CUSTOMERS)
    assert k["points_issued"] == 0 and k["points_outstanding"] == 0
    assert np.isnan(k["redemption_rate"]) and np.isnan(k["breakage_rate"])


def test_bad_inputs():
    with pytest.raises(DataValidationError, match="missing type"):
        points_kpis(LEDGER.drop(columns="type"))
    with pytest.raises(DataValidationError, match="'bonus'"):
        points_kpis(LEDGER.assign(type="bonus"))
    with pytest.raises(ConfigError, match="'point_value' parameter of points_kpis"):
        points_kpis(LEDGER, point_value=-1)
    with pytest.raises(ValueError, match="after end"):
        points_kpis(LEDGER, start="2024-03-01", end="2024-02-01")


# ---------------------------------------------------------------------------------------------
def test_flow_hand_worked():
    flow = points_flow(LEDGER, **WINDOW)
    assert list(flow.index) == list(pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"]))
    # Jan: earn 50 + 200 + 10; Feb: redeem 80, adjust -20; Mar: expire 30, redeem 40
    assert flow["issued"].tolist() == [260, 0, 0]
    assert flow["redeemed"].tolist() == [0, 80, 40]
    assert flow["expired"].tolist() == [0, 0, 30]
    assert flow["adjusted"].tolist() == [0, -20, 0]
    # balance before the window: 100 (a) + 40 (e) = 140
    assert flow["outstanding"].tolist() == [400, 300, 230]
    assert flow["net_change"].tolist() == [260, -100, -70]
    with pytest.raises(ConfigError, match="'freq' parameter of points_flow"):
        points_flow(LEDGER, freq="fortnight")


# ---------------------------------------------------------------------------------------------
def _rate(rates: pd.DataFrame, metric: str, **where) -> pd.Series:
    mask = rates["metric"] == metric
    for column, value in where.items():
        mask &= rates[column] == value
    assert mask.sum() == 1, (metric, where)
    return rates.loc[mask].iloc[0]


def test_rates_whole_window_match_kpis():
    rates = points_rates(LEDGER, CUSTOMERS, ORDERS, **WINDOW)
    assert list(rates.columns) == list(POINTS_RATE_COLUMNS)
    k = points_kpis(LEDGER, CUSTOMERS, ORDERS, **WINDOW)
    for metric in (
        "redemption_rate",
        "breakage_rate",
        "member_activity_rate",
        "redeemer_share",
        "member_share",
    ):
        assert _rate(rates, metric)["value"] == pytest.approx(k[metric]), metric
    redemption = _rate(rates, "redemption_rate")
    # customers with an earn or redeem row in the window: a, b, c, e
    assert redemption["n"] == 4 and redemption["numerator"] == 120
    assert redemption["denominator"] == 260 and redemption["interval"] == "bootstrap"
    breakage = _rate(rates, "breakage_rate")
    assert breakage["n"] == 3 and breakage["denominator"] == 150  # a, b, e
    # bootstrap over a (0 of 80), b (30 of 30), e (0 of 40): within the customers' extremes
    assert 0 <= breakage["ci_low"] <= 20 <= breakage["ci_high"] <= 100
    activity = _rate(rates, "member_activity_rate")
    assert (activity["n"], activity["numerator"], activity["interval"]) == (4, 3, "wilson")
    assert activity["low_n"]  # n < 30
    assert (_rate(rates, "member_share")["n"], _rate(rates, "member_share")["numerator"]) == (5, 2)


def test_rates_by_tier_and_month():
    rates = points_rates(LEDGER, CUSTOMERS, by="tier", freq="M", **WINDOW)
    assert list(rates.columns[:2]) == ["tier", "period_end"]
    feb = pd.Timestamp("2024-02-29")
    # gold: a (redeemed 80 in Feb, earned nothing in Feb) -> NaN, not 0 and not inf
    gold = _rate(rates, "redemption_rate", tier="gold", period_end=feb)
    assert np.isnan(gold["value"]) and gold["numerator"] == 80
    # silver in Jan: b earned 200, c earned 10, no redemption -> 0
    jan = _rate(rates, "redemption_rate", tier="silver", period_end=pd.Timestamp("2024-01-31"))
    assert jan["value"] == 0 and jan["denominator"] == 210 and jan["n"] == 2
    # members by tier in March: gold a, f (e joins in April); silver b, c (c joins Mar 31)
    march = pd.Timestamp("2024-03-31")
    assert _rate(rates, "member_activity_rate", tier="gold", period_end=march)["n"] == 2
    silver = _rate(rates, "member_activity_rate", tier="silver", period_end=march)
    assert silver["n"] == 2 and silver["numerator"] == 0  # b only expired, c only adjusted
    # by a mapping: customers it does not name are left out
    by_map = points_rates(LEDGER, by=pd.Series({"a": "x", "b": "x"}, name="grp"), **WINDOW)
    assert set(by_map["grp"]) == {"x"}
    assert _rate(by_map, "redemption_rate")["denominator"] == 250  # a 50 + b 200


def test_rates_are_seeded_and_checked():
    first = points_rates(LEDGER, CUSTOMERS, ORDERS, **WINDOW)
    pd.testing.assert_frame_equal(first, points_rates(LEDGER, CUSTOMERS, ORDERS, **WINDOW))
    with pytest.raises(ConfigError, match="needs the customers table to group by 'tier'"):
        points_rates(LEDGER, by="tier")
    with pytest.raises(ConfigError, match="'by' parameter of points_rates"):
        points_rates(LEDGER, CUSTOMERS, by="region")
    with pytest.raises(ConfigError, match="'n_boot' parameter of points_rates"):
        points_rates(LEDGER, n_boot=0)


# ---------------------------------------------------------------------------------------------
# Properties on random ledgers.

_TYPES = ("earn", "redeem", "expire", "adjust")


@st.composite
def ledgers(draw):
    n = draw(st.integers(0, 40))
    rows = []
    for _ in range(n):
        kind = draw(st.sampled_from(_TYPES))
        size = draw(st.integers(0, 500))
        sign = {"earn": 1, "redeem": -1, "expire": -1}.get(kind) or draw(st.sampled_from([-1, 1]))
        rows.append(
            (
                draw(st.sampled_from(["a", "b", "c", "d"])),
                pd.Timestamp("2024-01-01") + pd.Timedelta(hours=draw(st.integers(0, 24 * 120))),
                float(sign * size),
                kind,
            )
        )
    return _ledger(rows)


_DAYS = st.integers(0, 130).map(lambda d: pd.Timestamp("2024-01-01") + pd.Timedelta(days=d))
_PEOPLE = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "e"],
        "is_member": [True, True, False, True],
        "member_since": pd.to_datetime(["2024-01-01", "2024-02-15", None, None]),
    }
)


@settings(max_examples=60, deadline=None)
@given(ledgers(), _DAYS, _DAYS)
def test_balance_identity_and_ranges(ledger, day1, day2):
    start, end = min(day1, day2), max(day1, day2)
    k = points_kpis(ledger, _PEOPLE, start=start, end=end)
    before = points_kpis(ledger, end=start - pd.Timedelta(days=1))["points_outstanding"]
    inside = (ledger["date"] >= start) & (ledger["date"] < end + pd.Timedelta(days=1))
    adjustments = ledger.loc[inside & (ledger["type"] == "adjust"), "points"].sum()
    change = k["points_outstanding"] - before
    flows = k["points_issued"] - k["points_redeemed"] - k["points_expired"] + adjustments
    assert change == pytest.approx(flows)
    for key in ("breakage_rate", "member_activity_rate", "redeemer_share"):
        assert np.isnan(k[key]) or 0 <= k[key] <= 100, key
    assert np.isnan(k["redemption_rate"]) or k["redemption_rate"] >= 0
    assert k["points_issued"] >= 0 and k["points_redeemed"] >= 0 and k["points_expired"] >= 0
    assert k["active_members"] <= k["members"]
    flow = points_flow(ledger, start=start, end=end, freq="W")
    if len(flow):
        steps = flow["outstanding"].diff().iloc[1:]
        assert np.allclose(steps, flow["net_change"].iloc[1:])
        assert flow["outstanding"].iloc[-1] == pytest.approx(k["points_outstanding"])


@settings(max_examples=60, deadline=None)
@given(ledgers(), _DAYS)
def test_as_of_equals_truncated_data(ledger, end):
    truncated = ledger.loc[ledger["date"] < end + pd.Timedelta(days=1)]
    full = points_kpis(ledger, _PEOPLE, end=end, point_value=0.1)
    cut = points_kpis(truncated, _PEOPLE, end=end, point_value=0.1)
    pd.testing.assert_series_equal(full, cut)


_BUYERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "x"],
        "order_date": pd.to_datetime(["2024-01-10", "2024-03-01", "2024-02-01"]),
        "amount": [10.0, 5.0, 7.0],
    }
)


@settings(max_examples=30, deadline=None)
@given(ledgers())
def test_rates_agree_with_kpis_and_stay_in_range(ledger):
    if len(ledger) == 0:
        return
    k = points_kpis(ledger, _PEOPLE, _BUYERS)
    rates = points_rates(ledger, _PEOPLE, _BUYERS, n_boot=50)
    for metric, row in rates.set_index("metric").iterrows():
        assert row["value"] == pytest.approx(k[metric], nan_ok=True), metric
        if not np.isnan(row["ci_low"]):
            assert 0 <= row["ci_low"] <= row["ci_high"], metric
            if metric != "redemption_rate":  # points earned earlier can be redeemed now
                assert row["ci_high"] <= 100, metric
