"""CLV, historic CLV, CAC, LTV/CAC and CAC payback: worked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from loyalty_metrics.errors import ConfigError
from loyalty_metrics.metrics.value import cac, cac_payback_months, clv, historic_clv, ltv_cac_ratio
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


def make_spend(rows, columns=("date", "amount")) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["amount"] = frame["amount"].astype("float64")
    if "channel" in frame.columns:
        frame["channel"] = frame["channel"].astype("category")
    return frame


# Window 2023-01-02..2024-12-31 = 730 days = 730 / 365.25 = 1.998631 years.
# a buys in both years (retained), b only in the first (churned): yearly churn 50% -> lifespan 2.
TWO_YEARS = make_orders(
    [
        ("a", "2023-01-02", 100.0),
        ("a", "2024-06-01", 100.0),
        ("b", "2023-01-02", 50.0),
        ("a", "2024-12-31", 0.0),
    ]
)
YEARS = 730 / 365.25


# ---------------------------------------------------------------------------------------------
# clv


def test_clv_by_hand_with_lifespan_from_churn():
    # average ticket 250 / 4, purchases per customer-year 4 / 2 / 1.998631, lifespan 2, margin 0.5
    expected = (250 / 4) * (4 / 2 / YEARS) * 2 * 0.5  # = 62.543
    assert clv(TWO_YEARS, margin=0.5) == pytest.approx(expected)


def test_clv_with_given_lifespan():
    assert clv(TWO_YEARS, lifespan_years=3) == pytest.approx(250 / 2 / YEARS * 3)


def test_clv_zero_churn_gives_the_cap():
    orders = TWO_YEARS.loc[TWO_YEARS["customer_id"] == "a"]  # a alone: churn 0
    assert clv(orders) == pytest.approx(200 / 1 / YEARS * 5)
    assert clv(orders, max_lifespan_years=3) == pytest.approx(200 / 1 / YEARS * 3)


def test_clv_lifespan_is_capped():
    # 10 customers, 1 churned: churn 10% -> 1 / 0.1 = 10 years, capped at 5
    rows = [(f"c{i}", "2023-01-02", 10.0) for i in range(10)]
    rows += [(f"c{i}", "2024-06-01", 10.0) for i in range(9)]
    orders = make_orders(rows)
    # window 2023-01-02..2024-06-01 = 517 days
    years = 517 / 365.25
    assert clv(orders) == pytest.approx(190 / 10 / years * 5)


def test_clv_nan_when_churn_is_undefined_or_no_customer():
    orders = make_orders([("a", "2024-01-01", 10.0), ("a", "2024-02-01", 10.0)])
    assert math.isnan(clv(orders))  # nobody bought in the year before last
    assert clv(orders, lifespan_years=1) == pytest.approx(20 / (32 / 365.25))
    assert math.isnan(clv(orders.iloc[:0], lifespan_years=1))


def test_clv_on_a_summary_needs_a_lifespan():
    summary = customer_summary(TWO_YEARS)
    assert clv(summary, lifespan_years=2) == pytest.approx(clv(TWO_YEARS, lifespan_years=2))
    with pytest.raises(ConfigError, match="needs lifespan_years="):
        clv(summary)


def test_clv_parameter_errors():
    with pytest.raises(ConfigError, match="The 'lifespan_years' parameter of clv"):
        clv(TWO_YEARS, lifespan_years=0)
    with pytest.raises(ConfigError, match="'margin'"):
        clv(TWO_YEARS, margin="high")


def test_historic_clv():
    series = historic_clv(TWO_YEARS)
    assert series.name == "historic_clv"
    assert series.to_dict() == {"a": 200.0, "b": 50.0}
    assert historic_clv(TWO_YEARS, start="2024-01-01").to_dict() == {"a": 100.0}


# ---------------------------------------------------------------------------------------------
# cac


ACQUIRE = make_orders(
    [
        ("old", "2023-12-01", 10.0, "web"),
        ("old", "2024-01-10", 10.0, "web"),
        ("n1", "2024-01-05", 20.0, "web"),
        ("n2", "2024-01-20", 30.0, "store"),
        ("n3", "2024-01-31 18:00", 5.0, "store"),
    ],
    ("customer_id", "order_date", "amount", "channel"),
)
SPEND = make_spend(
    [
        ("2023-12-15", 1000.0, "web"),
        ("2024-01-01", 300.0, "web"),
        ("2024-01-15", 150.0, "store"),
        ("2024-01-31", 60.0, None),
        ("2024-02-01", 999.0, "web"),
    ],
    ("date", "amount", "channel"),
)


def test_cac_by_hand():
    # window 2024-01-01..2024-01-31: spend 300 + 150 + 60 = 510 (Dec 15 and Feb 1 are outside);
    # new customers n1, n2, n3 (old bought first in December) -> 510 / 3
    assert cac(SPEND, ACQUIRE, start="2024-01-01", end="2024-01-31") == pytest.approx(170.0)


def test_cac_nan_without_new_customers():
    orders = ACQUIRE.loc[ACQUIRE["customer_id"] == "old"]
    assert math.isnan(cac(SPEND, orders, start="2024-01-01"))


def test_cac_zero_without_spend_in_window():
    assert cac(SPEND.iloc[:0], ACQUIRE, start="2024-01-01") == 0.0


def test_cac_by_channel_from_first_purchase_channel():
    table = cac(SPEND, ACQUIRE, start="2024-01-01", end="2024-01-31", by="channel")
    assert table.loc["web"].tolist() == [300.0, 1, 300.0]  # n1
    assert table.loc["store"].tolist() == [150.0, 2, 75.0]  # n2, n3
    unassigned = table.loc[table.index.isna()].iloc[0]
    assert unassigned["spend"] == 60.0 and math.isnan(unassigned["cac"])


def test_cac_by_channel_prefers_acquisition_channel():
    customers = pd.DataFrame(
        {"customer_id": ["n2"], "acquisition_channel": pd.Categorical(["web"])}
    )
    table = cac(SPEND, ACQUIRE, customers, start="2024-01-01", end="2024-01-31", by="channel")
    assert table.loc["web", "new_customers"] == 2  # n1 (first purchase), n2 (table)
    assert table.loc["store", "cac"] == 150.0


def test_cac_by_channel_needs_a_spend_channel():
    with pytest.raises(ConfigError, match="'channel' column in the spend"):
        cac(SPEND[["date", "amount"]], ACQUIRE, by="channel")
    with pytest.raises(ConfigError, match="The 'by' parameter of cac"):
        cac(SPEND, ACQUIRE, by="segment")


# ---------------------------------------------------------------------------------------------
# ltv_cac_ratio and cac_payback_months


def test_ltv_cac_ratio_by_hand():
    spend = make_spend([("2023-06-01", 50.0)])
    # CAC = 50 / 2 new customers = 25; CLV (lifespan 2) = 250 / 2 / 1.998631 * 2 = 125.086
    expected = (250 / 2 / YEARS * 2) / 25
    assert ltv_cac_ratio(spend, TWO_YEARS) == pytest.approx(expected)


def test_ltv_cac_ratio_nan_with_zero_cac():
    assert math.isnan(ltv_cac_ratio(make_spend([]), TWO_YEARS))


def test_cac_payback_by_hand():
    spend = make_spend([("2023-06-01", 50.0)])
    # monthly margin per customer = 250 / 2 / (1.998631 * 12) * 0.4 = 2.0848; CAC 25
    monthly = 250 / 2 / (YEARS * 12) * 0.4
    assert cac_payback_months(spend, TWO_YEARS, margin=0.4) == pytest.approx(25 / monthly)


def test_cac_payback_nan_when_margin_not_positive():
    spend = make_spend([("2024-01-01", 50.0)])
    orders = make_orders(
        [("a", "1", "2024-01-01", 0.0)], ("customer_id", "order_id", "order_date", "amount")
    )
    assert math.isnan(cac_payback_months(spend, orders))  # $0 revenue: never paid back
