"""Tests of loyalty_metrics.tiers: tiers on trailing revenue, migration, distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.errors import ConfigError
from loyalty_metrics.tiers import loyalty_tiers, tier_distribution, tier_migration

THRESHOLDS = {"gold": 2000, "silver": 500}  # any order: tiers are ranked by minimum


def _orders(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "order_id"])
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601")
    return frame


# As of 2024-12-31 with "365D": the span is 2024-01-02 .. 2024-12-31 (2024 is a leap year).
ORDERS = _orders(
    [
        ("a", "2024-01-01", 5000.0, "o1"),  # a: one day before the span -> revenue 0, base
        ("b", "2024-01-02", 500.0, "o2"),  # b: first day of the span, exactly 500 -> silver
        ("c", "2024-06-01", 2100.0, "o3"),
        ("c", "2024-06-20", -200.0, "o3"),  # c: a partial return: 1900 -> silver, not gold
        ("d", "2024-12-31 18:00", 1999.9999999, "o4"),  # d: 2000 within 1e-6 -> gold
        ("e", "2024-03-01", -50.0, "o5"),  # e: only a return -> no purchase, no tier
        ("f", "2024-02-01", 0.0, "o6"),  # f: a $0 order is a purchase -> base, revenue 0
        ("g", "2025-01-01", 9000.0, "o7"),  # g: after as_of -> not a customer yet
    ]
)


def test_tiers_hand_worked():
    tiers = loyalty_tiers(ORDERS, THRESHOLDS, as_of="2024-12-31")
    assert list(tiers.index) == ["a", "b", "c", "d", "f"]
    assert tiers["tier"].astype(str).tolist() == ["base", "silver", "silver", "gold", "base"]
    assert tiers["revenue"].tolist() == pytest.approx([0.0, 500.0, 1900.0, 2000.0, 0.0])
    assert list(tiers["tier"].cat.categories) == ["base", "silver", "gold"]
    assert tiers["tier"].cat.ordered


def test_lookback_calendar_offset_and_base_name():
    # "12M" back from 2024-12-31: the span starts on 2024-01-01, so a's 5000 counts.
    tiers = loyalty_tiers(ORDERS, THRESHOLDS, "2024-12-31", "12M", "member")
    assert tiers.loc["a", "tier"] == "gold"
    assert tiers.loc["f", "tier"] == "member"


def test_default_as_of_is_the_last_order_date():
    tiers = loyalty_tiers(ORDERS, THRESHOLDS)  # 2025-01-01: g's 9000 is in
    assert tiers.loc["g", "tier"] == "gold"
    assert tiers.loc["b", "revenue"] == 0  # 2024-01-02 is now 365 days back: out


def test_bad_thresholds():
    for bad in ({}, {"silver": True}, {"silver": 500, "gold": 500}, {"base": 10}, {"new": 1}):
        with pytest.raises(ConfigError, match="'thresholds' parameter of loyalty_tiers"):
            loyalty_tiers(ORDERS, bad)
    with pytest.raises(ConfigError, match="'lookback' parameter of loyalty_tiers"):
        loyalty_tiers(ORDERS, THRESHOLDS, lookback="forever")


def test_no_orders_before_as_of():
    tiers = loyalty_tiers(ORDERS, THRESHOLDS, as_of="2020-01-01")
    assert len(tiers) == 0 and list(tiers.columns) == ["tier", "revenue"]


def test_migration_hand_worked():
    moves = tier_migration(ORDERS, THRESHOLDS, "2024-06-10", "2024-12-31")
    # At 2024-06-10: a 5000 gold, b 500 silver, c 2100 gold (return on 06-20), f 0 base.
    # At 2024-12-31: a base, b silver, c silver, d gold (new: first purchase after start), f base.
    expected = pd.DataFrame(
        [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 1, 0]],
        index=pd.Index(["new", "base", "silver", "gold"], name="from"),
        columns=pd.Index(["base", "silver", "gold"], name="to"),
    )
    pd.testing.assert_frame_equal(moves, expected)
    assert moves.to_numpy().sum() == len(loyalty_tiers(ORDERS, THRESHOLDS, "2024-12-31"))
    with pytest.raises(ValueError, match="after end"):
        tier_migration(ORDERS, THRESHOLDS, "2025-06-01", "2024-12-31")


def test_distribution_hand_worked():
    dist = tier_distribution(ORDERS, THRESHOLDS, freq="Q", end="2024-12-31")
    # window 2024-01-01 .. 2024-12-31; quarter ends as of which tiers are taken
    assert list(dist.index) == list(
        pd.to_datetime(["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"])
    )
    assert list(dist.columns) == ["base", "silver", "gold"]
    # Q1: a gold, b silver, f base; Q2: + c (1900) silver; Q3 same; Q4: a base, + d gold
    assert dist.to_numpy().tolist() == [[1, 1, 1], [1, 2, 1], [1, 2, 1], [2, 2, 1]]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 400),
            st.floats(-300, 3000, allow_nan=False).map(lambda x: round(x, 2)),
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 400),
)
def test_as_of_equals_truncated_data(rows, cut):
    orders = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    orders["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(orders["day"], unit="D")
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=cut)
    full = loyalty_tiers(orders, THRESHOLDS, as_of=as_of)
    cut_orders = orders.loc[orders["order_date"] <= as_of]
    if len(cut_orders) == 0:
        assert len(full) == 0
        return
    pd.testing.assert_frame_equal(full, loyalty_tiers(cut_orders, THRESHOLDS, as_of=as_of))
    # each tier is the highest whose minimum is <= revenue
    bounds = {"base": (-np.inf, 500), "silver": (500, 2000), "gold": (2000, np.inf)}
    for tier, revenue in zip(full["tier"].astype(str), full["revenue"], strict=True):
        low, high = bounds[tier]
        assert low <= revenue + 1e-6 < high
