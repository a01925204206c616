"""Engagement scores: components, percentile ranks, known customers, window, decay."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.errors import ConfigError
from loyalty_metrics.metrics.engagement import engagement_score, engagement_scores


def make_events(
    rows, columns=("customer_id", "timestamp", "event_type", "duration")
) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="mixed").astype(
        "datetime64[ns]"
    )
    frame["event_type"] = frame["event_type"].astype("category")
    if "duration" in frame.columns:
        frame["duration"] = frame["duration"].astype("float64")
    return frame


ORDERS = pd.DataFrame(
    {
        "customer_id": pd.array(["a", "x"], dtype="str"),
        "order_date": pd.to_datetime(["2024-01-15", "2024-03-31"]).astype("datetime64[ns]"),
        "amount": [10.0, 20.0],
    }
)
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": pd.array(["e", "late"], dtype="str"),
        "signup_date": pd.to_datetime(["2023-05-01", "2024-04-02"]).astype("datetime64[ns]"),
    }
)
# end = 2024-03-31 (last order); the 90-day window is 2024-01-02..2024-03-31.
EVENTS = make_events(
    [
        ("a", "2024-03-31 18:00", "login", 60.0),  # the last day, inside
        ("a", "2024-03-30 09:00", "review", 30.0),
        ("a", "2024-03-30 10:00", "login", 10.0),
        ("b", "2024-02-01", "login", 200.0),
        ("c", "2024-01-01 23:00", "review", 500.0),  # the day before the window: outside
        ("d", "2024-04-01", "review", 900.0),  # after end: never used
    ]
)


def test_scores_by_hand():
    scores = engagement_scores(EVENTS, ORDERS, CUSTOMERS, key_actions=["review"])
    # a: 2 active days, 100 s, 1 review; b: 1 day, 200 s, 0 reviews. Ranks among a and b:
    # frequency a 100 b 50; time a 50 b 100; actions a 100 b 50
    assert scores.loc["a", ["frequency", "time", "actions"]].tolist() == [2.0, 100.0, 1.0]
    assert scores.loc["a", "score"] == pytest.approx((100 + 50 + 100) / 3)
    assert scores.loc["b", "score"] == pytest.approx((50 + 100 + 50) / 3)
    # known without events in the window: c (old event), e (customers), x (orders): 0
    assert scores.loc[["c", "e", "x"], "score"].tolist() == [0.0, 0.0, 0.0]
    # d's only event is after end; "late" signs up after end
    assert "d" not in scores.index and "late" not in scores.index
    assert list(scores.index) == sorted(scores.index)


def test_engagement_score_is_the_mean_over_known_customers():
    # (83.33 + 66.67 + 0 + 0 + 0) / 5 known customers (a, b, c, e, x)
    value = engagement_score(EVENTS, ORDERS, CUSTOMERS, key_actions=["review"])
    assert value == pytest.approx(150 / 5)


def test_default_key_actions_are_all_events():
    scores = engagement_scores(EVENTS, ORDERS)
    assert scores.loc["a", "actions"] == 3.0
    assert scores.loc["b", "actions"] == 1.0


def test_weights():
    scores = engagement_scores(
        EVENTS, ORDERS, key_actions=["review"], weights={"frequency": 2, "time": 0, "actions": 1}
    )
    assert scores.loc["a", "score"] == pytest.approx((2 * 100 + 100) / 3)
    assert scores.loc["b", "score"] == pytest.approx((2 * 50 + 50) / 3)
    same = engagement_scores(EVENTS, ORDERS, key_actions=["review"], weights=[2, 0, 1])
    pd.testing.assert_frame_equal(scores, same)


def test_ties_rank_by_average():
    events = make_events([(c, "2024-03-01", "login", 5.0) for c in "pqr"])
    scores = engagement_scores(events)
    # three-way tie: average rank 2 of 3 -> 66.67 in every component
    assert scores["score"].tolist() == pytest.approx([200 / 3] * 3)


def test_window_option():
    scores = engagement_scores(EVENTS, ORDERS, window="7D")
    # 2024-03-25..03-31: only a is active; b (Feb 1) drops to 0
    assert scores.loc["b", "score"] == 0.0
    assert scores.loc["a", "score"] == pytest.approx(100 * (1 + 1 + 1) / 3)  # alone: rank 1 of 1


def test_without_duration_time_is_left_out():
    events = EVENTS.drop(columns="duration")
    scores = engagement_scores(events, ORDERS, key_actions=["review"])
    assert scores["time"].isna().all()
    # a: frequency 100, actions 100; b: 50, 50
    assert scores.loc["a", "score"] == 100.0
    assert scores.loc["b", "score"] == 50.0


def test_recency_decay_changes_the_ranking():
    events = make_events(
        [("old", f"2024-01-{d:02d}", "login", 1.0) for d in (10, 11, 12)]
        + [("new", "2024-03-31", "login", 1.0)]
    )
    plain = engagement_scores(events)
    assert plain.loc["old", "frequency"] == 3.0
    assert plain.loc["old", "score"] > plain.loc["new", "score"]
    decayed = engagement_scores(events, half_life="14D")
    # old: 0.5^(81/14) + 0.5^(80/14) + 0.5^(79/14) = 0.057 active-day weight; new: 1
    expected = sum(0.5 ** (age / 14) for age in (81, 80, 79))
    assert decayed.loc["old", "frequency"] == pytest.approx(expected)
    assert decayed.loc["new", "score"] > decayed.loc["old", "score"]
    assert engagement_scores(events, half_life=14).equals(decayed)


def test_end_defaults_to_last_event_without_orders():
    events = make_events([("a", "2024-01-01", "login", 1.0), ("b", "2024-06-01", "login", 1.0)])
    scores = engagement_scores(events)
    assert scores.loc["a", "score"] == 0.0  # Jan 1 is outside the 90 days before Jun 1


def test_empty_events():
    empty = EVENTS.iloc[:0]
    scores = engagement_scores(empty, ORDERS)
    assert scores["score"].tolist() == [0.0, 0.0]  # a and x are known, no activity
    assert math.isnan(engagement_score(empty))  # nobody is known


def test_parameter_errors():
    with pytest.raises(ConfigError, match="The 'weights' parameter of engagement_scores"):
        engagement_scores(EVENTS, weights={"frequency": 1, "time": 1})
    with pytest.raises(ConfigError, match="'key_actions'"):
        engagement_scores(EVENTS, key_actions="review")
    with pytest.raises(ConfigError, match="'half_life'"):
        engagement_scores(EVENTS, half_life=-3)
    with pytest.raises(ConfigError, match="'window'"):
        engagement_scores(EVENTS, window="often")


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.integers(-5, 40).map(float),
            st.floats(-1e6, 1e6, allow_nan=False),
            st.just(float("nan")),
        ),
        max_size=60,
    )
)
def test_pct_rank_is_pandas_rank_bit_for_bit(values):
    from loyalty_metrics.metrics.engagement import pct_rank

    array = np.asarray(values, dtype="float64")
    expected = pd.Series(array).rank(pct=True, method="average").to_numpy()
    np.testing.assert_array_equal(pct_rank(array), expected)
    whole = np.floor(np.nan_to_num(array))  # the counting path: whole numbers only
    np.testing.assert_array_equal(
        pct_rank(whole), pd.Series(whole).rank(pct=True, method="average").to_numpy()
    )
