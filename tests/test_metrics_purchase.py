"""Repeat-purchase rate, frequency, average ticket and upsell: tiny tables worked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from loyalty_metrics import _stats
from loyalty_metrics.errors import ConfigError
from loyalty_metrics.metrics.purchase import (
    average_ticket,
    purchase_frequency,
    repeat_purchase_rate,
    upsell_ratio,
    upsell_share,
)
from loyalty_metrics.summary import customer_summary


def make_orders(rows, columns=("customer_id", "order_date", "amount")) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="mixed").astype(
        "datetime64[ns]"
    )
    frame["amount"] = frame["amount"].astype("float64")
    for name in ("category", "channel"):
        if name in frame.columns:
            frame[name] = frame[name].astype("category")
    if "order_id" in frame.columns:
        frame["order_id"] = frame["order_id"].astype("str")
    return frame


COLUMNS = ("customer_id", "order_id", "order_date", "amount", "category", "channel")
# a: order 1 (shoes 10 + bags 5) and order 2 (shoes 20): 2 purchases, 2 categories
# b: order 3 (30) and a return, order 4 (-30): 1 purchase, 1 category
# c: order 5 nets to 0 (bags 25, -25) -- a $0 purchase -- and order 6 (hats 8): 2 purchases
# d: only a return (-10): not a customer, but its -10 is revenue
SHOP = make_orders(
    [
        ("a", "1", "2024-01-01", 10.0, "shoes", "web"),
        ("a", "1", "2024-01-01", 5.0, "bags", "web"),
        ("a", "2", "2024-01-15", 20.0, "shoes", "store"),
        ("b", "3", "2024-01-05", 30.0, "shoes", "store"),
        ("b", "4", "2024-01-06", -30.0, "shoes", "store"),
        ("c", "5", "2024-01-10", 25.0, "bags", "web"),
        ("c", "5", "2024-01-10", -25.0, "bags", "web"),
        ("c", "6", "2024-01-20", 8.0, "hats", "web"),
        ("d", "7", "2024-01-25", -10.0, "hats", "web"),
    ],
    COLUMNS,
)


# ---------------------------------------------------------------------------------------------
# The hand-worked shop


def test_repeat_purchase_rate_by_hand():
    # a and c have 2 purchases (c's $0 order counts), b has 1: 100 * 2 / 3
    assert repeat_purchase_rate(SHOP) == pytest.approx(200 / 3)


def test_purchase_frequency_by_hand():
    # purchases 2 + 1 + 2 = 5 over 3 customers (d's return is not a purchase)
    assert purchase_frequency(SHOP) == pytest.approx(5 / 3)


def test_average_ticket_by_hand():
    # net revenue 15 + 20 + 30 - 30 + 0 + 8 - 10 = 33 over 5 purchases
    assert average_ticket(SHOP) == pytest.approx(33 / 5)


def test_upsell_by_hand():
    # more than one category: a (shoes, bags), c (bags, hats); exactly one: b
    assert upsell_ratio(SHOP) == pytest.approx(2.0)
    assert upsell_share(SHOP) == pytest.approx(200 / 3)


def test_metrics_accept_a_summary():
    summary = customer_summary(SHOP)
    for metric in (
        repeat_purchase_rate,
        purchase_frequency,
        average_ticket,
        upsell_ratio,
        upsell_share,
    ):
        assert metric(summary) == pytest.approx(metric(SHOP))


def test_summary_with_another_window_is_refused():
    summary = customer_summary(SHOP, start="2024-01-10")
    assert purchase_frequency(summary, start="2024-01-10") == 1.5  # a: 1 (Jan 15), c: 2
    with pytest.raises(ConfigError, match="customer summary computed with start=2024-01-10"):
        purchase_frequency(summary, start="2024-01-01")


def test_window_semantics():
    orders = make_orders(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-31 18:00", 10.0),
            ("a", "2024-02-01", 10.0),
            ("b", "2024-01-02", 5.0),
        ]
    )
    # the 18:00 purchase on end is inside: a has 2 purchases in January
    assert repeat_purchase_rate(orders, end="2024-01-31") == 50.0
    assert average_ticket(orders, end="2024-01-31") == pytest.approx(25 / 3)
    # start: only a's Jan 31 purchase and nothing of b from Jan 3 on
    assert purchase_frequency(orders, start="2024-01-03", end="2024-01-31") == 1.0


# ---------------------------------------------------------------------------------------------
# Edge cases


def test_empty_orders_are_nan():
    empty = SHOP.iloc[:0]
    assert math.isnan(repeat_purchase_rate(empty))
    assert math.isnan(purchase_frequency(empty))
    assert math.isnan(average_ticket(empty))
    assert math.isnan(upsell_ratio(empty))
    assert math.isnan(upsell_share(empty))


def test_one_customer():
    orders = make_orders([("a", "2024-01-01", 10.0), ("a", "2024-01-01", 20.0)])
    # two orders on one day are two purchases
    assert repeat_purchase_rate(orders) == 100.0
    assert purchase_frequency(orders) == 2.0
    assert average_ticket(orders) == 15.0


def test_refund_netting_an_order_to_zero_is_a_purchase():
    orders = make_orders(
        [
            ("a", "1", "2024-01-01", 10.0),
            ("a", "1", "2024-01-01", -10.0),
            ("a", "2", "2024-01-03", 4.0),
        ],
        ("customer_id", "order_id", "order_date", "amount"),
    )
    assert repeat_purchase_rate(orders) == 100.0  # the $0 order and the $4 one
    assert average_ticket(orders) == 2.0  # 4 / 2


def test_float_noise_does_not_turn_a_zero_order_into_a_return():
    # 0.1 + 0.2 - 0.3 = 5.55e-17 in floating point; -0.3 + 0.1 + 0.2 = -2.8e-17
    orders = make_orders(
        [
            ("a", "1", "2024-01-01", -0.3),
            ("a", "1", "2024-01-01", 0.1),
            ("a", "1", "2024-01-01", 0.2),
        ],
        ("customer_id", "order_id", "order_date", "amount"),
    )
    assert purchase_frequency(orders) == 1.0


def test_only_single_category_customers_give_zero_ratio_and_share():
    orders = make_orders(
        [("a", "2024-01-01", 1.0, "x"), ("b", "2024-01-02", 1.0, "y")],
        ("customer_id", "order_date", "amount", "category"),
    )
    assert upsell_ratio(orders) == 0.0  # 0 multi / 2 single
    assert upsell_share(orders) == 0.0


def test_no_single_category_customer_makes_the_ratio_nan():
    orders = make_orders(
        [("a", "2024-01-01", 1.0, "x"), ("a", "2024-01-02", 1.0, "y")],
        ("customer_id", "order_date", "amount", "category"),
    )
    assert math.isnan(upsell_ratio(orders))  # denominator: nobody with exactly one category
    assert upsell_share(orders) == 100.0


def test_upsell_without_category_or_product_is_nan():
    orders = make_orders([("a", "2024-01-01", 1.0)])
    assert math.isnan(upsell_ratio(orders))
    assert math.isnan(upsell_share(orders))


def test_upsell_falls_back_to_product_id():
    orders = make_orders(
        [
            ("a", "2024-01-01", 1.0, "p1"),
            ("a", "2024-01-02", 1.0, "p2"),
            ("b", "2024-01-02", 1.0, "p1"),
        ],
        ("customer_id", "order_date", "amount", "product_id"),
    )
    assert upsell_ratio(orders) == 1.0


def test_categories_of_returns_do_not_count():
    # b returns a hat (order 2, negative): only shoes were purchased
    orders = make_orders(
        [("b", "1", "2024-01-01", 5.0, "shoes"), ("b", "2", "2024-01-02", -3.0, "hats")],
        ("customer_id", "order_id", "order_date", "amount", "category"),
    )
    assert upsell_share(orders) == 0.0


# ---------------------------------------------------------------------------------------------
# within=


def test_within_by_hand():
    orders = make_orders(
        [
            ("a", "2024-01-01", 1.0),
            ("a", "2024-01-31", 1.0),  # second after 30 days
            ("b", "2024-01-01", 1.0),
            ("b", "2024-02-01", 1.0),  # after 31 days
            ("c", "2024-01-05", 1.0),  # never
            ("d", "2024-03-10", 1.0),
            ("d", "2024-03-11", 1.0),  # too recent to judge
            ("e", "2024-01-10", 1.0),
            ("e", "2024-01-10", 1.0),
            ("e", "2024-01-12", 1.0),
        ]
    )
    # end = 2024-03-11; eligible: first purchase on or before 2024-02-10 -> a, b, c, e
    # second purchase within 30 days: a (30 days, inclusive), e (same day) -> 100 * 2 / 4
    assert repeat_purchase_rate(orders, within="30D") == 50.0


def test_within_nan_when_nobody_is_old_enough():
    orders = make_orders([("a", "2024-01-01", 1.0), ("a", "2024-01-02", 1.0)])
    assert math.isnan(repeat_purchase_rate(orders, within="90D"))


def test_within_uses_netted_orders():
    # order 2 nets to a return: a's second purchase is order 3 (day 40), outside 30 days
    orders = make_orders(
        [
            ("a", "1", "2024-01-01", 5.0),
            ("a", "2", "2024-01-05", 5.0),
            ("a", "2", "2024-01-05", -9.0),
            ("a", "3", "2024-02-10", 5.0),
            ("z", "9", "2024-06-01", 1.0),
        ],
        ("customer_id", "order_id", "order_date", "amount"),
    )
    assert repeat_purchase_rate(orders, within="30D") == 0.0


def test_within_needs_orders_not_a_summary():
    with pytest.raises(ConfigError, match="needs the orders frame"):
        repeat_purchase_rate(customer_summary(SHOP), within="30D")


# ---------------------------------------------------------------------------------------------
# Breakdowns


def test_repeat_rate_by_channel_carries_wilson_interval():
    table = repeat_purchase_rate(SHOP, by="channel")
    # channel of the first purchase: a web, b store, c web -> web: 2 of 2; store: 0 of 1
    assert table.index.name == "channel"
    assert table.loc["web", ["n", "successes"]].tolist() == [2, 2]
    assert table.loc["store", "repeat_purchase_rate"] == 0.0
    low, high = _stats.wilson_interval(2, 2)
    assert table.loc["web", "ci_low"] == pytest.approx(float(low))
    assert table.loc["web", "ci_high"] == pytest.approx(float(high))
    assert table["low_n"].all()
    assert list(table.columns) == [
        "repeat_purchase_rate",
        "n",
        "successes",
        "ci_low",
        "ci_high",
        "low_n",
    ]


def test_upsell_share_by_mapping_and_freq():
    groups = pd.Series({"a": "vip", "b": "vip", "c": "new"})
    table = upsell_share(SHOP, by=groups)
    assert table.loc["vip", "upsell_share"] == 50.0  # a yes, b no
    monthly = upsell_share(SHOP, freq="M")
    assert monthly.index.tolist() == [pd.Timestamp("2024-01-25")]  # clipped to end
    assert monthly["n"].iloc[0] == 3


def test_repeat_rate_freq_recomputes_each_period():
    orders = make_orders(
        [
            ("a", "2024-01-01", 1.0),
            ("a", "2024-01-02", 1.0),
            ("a", "2024-02-01", 1.0),
            ("b", "2024-02-05", 1.0),
            ("b", "2024-03-31", 1.0),
        ]
    )
    table = repeat_purchase_rate(orders, freq="M")
    # Jan: a repeats (1/1); Feb: a once, b once (0/2); Mar: b once (0/1)
    assert table["repeat_purchase_rate"].tolist() == [100.0, 0.0, 0.0]
    assert table["n"].tolist() == [1, 2, 1]


def test_breakdown_parameter_errors():
    with pytest.raises(ConfigError, match="The 'by' parameter of repeat_purchase_rate must name"):
        repeat_purchase_rate(SHOP, by="region")
    with pytest.raises(ConfigError, match="'freq'"):
        repeat_purchase_rate(SHOP, freq="fortnight")
    with pytest.raises(ConfigError, match="'within'"):
        repeat_purchase_rate(SHOP, within="soon")
    with pytest.raises(ConfigError, match="needs the orders frame"):
        upsell_share(customer_summary(SHOP), freq="M")


def test_average_units_per_purchase():
    import loyalty_metrics as lm

    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "order_id": ["1", "1", "2", "3", "4"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03", "2024-02-01"]
            ),
            "amount": [10.0, 20.0, 30.0, -6.0, 5.0],
            "quantity": [1.0, 2.0, 3.0, -1.0, 4.0],
        }
    )
    # purchases 1, 2, 4 (3 is a return): (1 + 2 + 3 - 1 + 4) / 3
    assert lm.average_units(orders) == pytest.approx(9 / 3)
    # January only: purchases 1, 2; units 1 + 2 + 3 - 1 = 5
    assert lm.average_units(orders, end="2024-01-31") == pytest.approx(5 / 2)
    assert pd.isna(lm.average_units(orders.drop(columns="quantity")))
