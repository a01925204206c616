"""Tests of loyalty_metrics.programs: the three program views and referral conversion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_metrics.errors import ConfigError
from loyalty_metrics.programs import CAUSALITY, IMPACT_COLUMNS, program_impact, referral_conversion


def _orders(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["amount"] = frame["amount"].astype("float64")
    return frame


# Join month Feb 2024, window 30D: before = Jan 2..Jan 31, after = Mar 1..Mar 30.
ORDERS = _orders(
    [
        ("m1", "2024-01-10", 10.0),
        ("m1", "2024-01-20", 10.0),
        ("m1", "2024-02-10", 50.0),  # the sign-up order: in the join month, left out of (b)/(c)
        ("m1", "2024-03-05", 30.0),
        ("m1", "2024-03-20", 30.0),  # m1: before 2 / 20, after 2 / 60
        ("m2", "2024-01-15", 20.0),
        ("m2", "2024-03-10", 10.0),  # m2: before 1 / 20, after 1 / 10
        ("m3", "2024-03-03", 5.0),  # m3: nothing before -> not in (b)/(c)
        ("m4", "2024-04-12", 15.0),  # m4: joined in April, after window beyond end
        ("m5", "2024-01-08", 4.0),
        ("m5", "2024-03-08", 4.0),  # m5: joins after end -> non-member; change 0 / 0
        ("n1", "2024-01-05", 10.0),
        ("n1", "2024-03-02", 10.0),  # n1: change 0 / 0
        ("n2", "2024-01-25", 5.0),
        ("n2", "2024-03-25", 5.0),
        ("n2", "2024-03-26", 5.0),  # n2: before 1 / 5, after 2 / 10 -> change 1 / 5
        ("n3", "2024-01-03", 6.0),  # n3: before only
        ("u", "2024-01-05", 3.0),
        ("u", "2024-03-05", 3.0),  # u: is_member blank -> left out everywhere
        ("x", "2024-04-01", 7.0),  # x: not in the customers table -> non-member
    ]
)
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["m1", "m2", "m3", "m4", "m5", "n1", "n2", "n3", "u"],
        "is_member": pd.array(
            [True, True, True, True, True, False, False, False, None], "boolean"
        ),
        "member_since": pd.to_datetime(
            [
                "2024-02-10",
                "2024-02-03",
                "2024-02-15",
                "2024-04-10",
                "2024-05-05",
                None,
                None,
                None,
                None,
            ]
        ),
        "tier": pd.Categorical(["Gold", "Silver", "Gold", None, None, None, None, None, None]),
    }
)
SURVEYS = pd.DataFrame(
    {
        "customer_id": ["m1", "m2", "n1", "n2", "m1", None],
        "response_date": pd.to_datetime(
            ["2024-02-01", "2024-02-02", "2024-02-03", "2024-02-04", "2024-05-01", "2024-02-01"]
        ),
        "score": [10.0, 6.0, 9.0, 7.0, 0.0, 0.0],
    }
)
KW = {"window": "30D", "start": "2024-01-01", "end": "2024-04-30"}


@pytest.fixture(scope="module")
def impact() -> pd.DataFrame:
    return program_impact(ORDERS, CUSTOMERS, SURVEYS, **KW)


def _value(frame: pd.DataFrame, view: str, group: str, metric: str) -> pd.Series:
    row = frame[(frame["view"] == view) & (frame["group"] == group) & (frame["metric"] == metric)]
    assert len(row) == 1, (view, group, metric)
    return row.iloc[0]


def test_shape_and_labels(impact):
    assert tuple(impact.columns) == IMPACT_COLUMNS
    assert list(pd.unique(impact["view"])) == list(CAUSALITY)
    for view, label in CAUSALITY.items():
        assert (impact.loc[impact["view"] == view, "causality"] == label).all()
    assert "not causal" in CAUSALITY["members_vs_non_members"]


def test_naive_members_vs_non_members(impact):
    view = "members_vs_non_members"
    # Members at Apr 30: m1 (5 purchases, 130), m2 (2, 30), m3 (1, 5), m4 (1, 15).
    # Non-members: m5 (2, 8; joins after end), n1 (2, 20), n2 (3, 15), n3 (1, 6), x (1, 7).
    expected = {
        ("members", "customers"): (4, 4),
        ("members", "repeat_purchase_rate"): (50.0, 4),
        ("members", "purchase_frequency"): (9 / 4, 4),
        ("members", "average_ticket"): (180 / 9, 4),
        ("members", "historic_clv"): (45.0, 4),
        ("members", "nps"): (0.0, 2),  # m1 10, m2 6 (m1's May answer is after end)
        ("non-members", "customers"): (5, 5),
        ("non-members", "repeat_purchase_rate"): (60.0, 5),
        ("non-members", "purchase_frequency"): (9 / 5, 5),
        ("non-members", "average_ticket"): (56 / 9, 5),
        ("non-members", "historic_clv"): (56 / 5, 5),
        ("non-members", "nps"): (50.0, 2),  # n1 9, n2 7
        ("members: Gold", "customers"): (2, 2),
        ("members: Gold", "average_ticket"): (135 / 6, 2),
        ("members: Silver", "historic_clv"): (30.0, 1),
    }
    for (group, metric), (value, n) in expected.items():
        row = _value(impact, view, group, metric)
        assert row["value"] == pytest.approx(value), (group, metric)
        assert row["n"] == n, (group, metric)
    rate = _value(impact, view, "members", "repeat_purchase_rate")
    assert rate["interval"] == "wilson" and rate["ci_low"] < 50 < rate["ci_high"]
    nps = _value(impact, view, "members", "nps")
    assert nps["interval"] == "adjusted-wald" and -100 <= nps["ci_low"] < 0 < nps["ci_high"]
    clv = _value(impact, view, "members", "historic_clv")
    assert clv["interval"] == "bootstrap" and 5 <= clv["ci_low"] <= 45 <= clv["ci_high"] <= 130


def test_before_after(impact):
    view = "before_after"
    # m1 (2/20 -> 2/60) and m2 (1/20 -> 1/10).
    expected = {
        ("before", "purchases"): 1.5,
        ("before", "revenue"): 20.0,
        ("after", "purchases"): 1.5,
        ("after", "revenue"): 35.0,
        ("change", "purchases"): 0.0,
        ("change", "revenue"): 15.0,
    }
    for (group, metric), value in expected.items():
        row = _value(impact, view, group, metric)
        assert row["value"] == pytest.approx(value) and row["n"] == 2
    change = _value(impact, view, "change", "revenue")
    # paired bootstrap of the changes {40, -10}: the interval lies within them
    assert -10 <= change["ci_low"] <= 15 <= change["ci_high"] <= 40


def test_difference_in_differences(impact):
    view = "difference_in_differences"
    # Non-members with purchases on both sides of the Feb windows: m5 (0, 0), n1 (0, 0),
    # n2 (1, 5). Members: m1 (0, 40), m2 (0, -10).
    assert _value(impact, view, "members", "revenue")["value"] == pytest.approx(15.0)
    non = _value(impact, view, "non-members", "revenue")
    assert non["value"] == pytest.approx(5 / 3) and non["n"] == 3
    assert _value(impact, view, "difference", "revenue")["value"] == pytest.approx(15 - 5 / 3)
    assert _value(impact, view, "difference", "purchases")["value"] == pytest.approx(-1 / 3)


def test_bootstrap_is_seeded(impact):
    again = program_impact(ORDERS, CUSTOMERS, SURVEYS, **KW)
    pd.testing.assert_frame_equal(impact, again)
    other = program_impact(ORDERS, CUSTOMERS, SURVEYS, random_state=7, **KW)
    pd.testing.assert_series_equal(impact["value"], other["value"])


def test_without_surveys_or_tiers():
    out = program_impact(ORDERS, CUSTOMERS.drop(columns="tier"), **KW)
    assert "nps" not in set(out["metric"])
    assert not out["group"].str.startswith("members:").any()


def test_windows_not_observed_give_nan_not_zero():
    # end before the after window closes: no member is eligible for (b) or (c).
    out = program_impact(ORDERS, CUSTOMERS, window="30D", start="2024-01-01", end="2024-03-15")
    later = out[out["view"] != "members_vs_non_members"]
    assert later["value"].isna().all() and (later["n"] == 0).all()


def test_membership_columns_required():
    with pytest.raises(ConfigError, match="'is_member' or 'member_since'"):
        program_impact(ORDERS, CUSTOMERS[["customer_id"]])
    with pytest.raises(ConfigError, match="'join_period' parameter of program_impact"):
        program_impact(ORDERS, CUSTOMERS, join_period="D")
    with pytest.raises(ConfigError, match="'n_boot' parameter"):
        program_impact(ORDERS, CUSTOMERS, n_boot=0)


# ---------------------------------------------------------------------------------------------
def test_referral_conversion_hand_worked():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "late"],
            "referred_by": [None, "a", "a", None, "d", "a"],
            "signup_date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-02",
                    "2024-01-03",
                    "2024-01-04",
                    "2024-01-05",
                    "2024-05-01",
                ]
            ),
        }
    )
    orders = _orders(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-02-01", 20.0),
            ("b", "2024-01-05", 5.0),
            ("b", "2024-03-01", 5.0),
            ("e", "2024-01-09", 8.0),
            ("e", "2024-01-10", -2.0),  # a return lowers e's revenue
            ("late", "2024-03-02", 1.0),
            ("y", "2024-01-09", 99.0),  # not in the customers table: in neither group
        ]
    )
    out = referral_conversion(customers, orders, end="2024-03-31")
    # Referred: b, c, e (late signs up after end) -> buyers b, e; repeat b; CLV (10 + 6) / 2.
    # Organic: a, d -> buyer a; repeat a; CLV 30.
    assert out.loc["referred", ["customers", "buyers", "repeat_buyers"]].tolist() == [3, 2, 1]
    assert out.loc["referred", "purchased_share"] == pytest.approx(200 / 3)
    assert out.loc["referred", "repeat_purchase_rate"] == pytest.approx(50.0)
    assert out.loc["referred", "historic_clv"] == pytest.approx(8.0)
    assert out.loc["organic", ["customers", "buyers", "repeat_buyers"]].tolist() == [2, 1, 1]
    assert out.loc["organic", "historic_clv"] == pytest.approx(30.0)
    assert (
        out.loc["referred", "purchased_ci_low"]
        < 200 / 3
        < out.loc["referred", "purchased_ci_high"]
    )
    assert 6 <= out.loc["referred", "clv_ci_low"] <= 8 <= out.loc["referred", "clv_ci_high"] <= 10


def test_referral_conversion_empty_group_is_nan():
    customers = pd.DataFrame({"customer_id": ["a"], "referred_by": [None]})
    out = referral_conversion(customers, _orders([("a", "2024-01-01", 1.0)]))
    assert out.loc["referred", "customers"] == 0
    assert np.isnan(out.loc["referred", ["purchased_share", "historic_clv"]].astype(float)).all()
    with pytest.raises(ConfigError, match="referred_by"):
        referral_conversion(customers.drop(columns="referred_by"), _orders([]))


def test_large_groups_use_normal_replicates(monkeypatch):
    import loyalty_metrics.programs as programs

    monkeypatch.setattr(programs, "BOOTSTRAP_MAX_N", 3)
    out = program_impact(ORDERS, CUSTOMERS, **KW)
    clv = _value(out, "members_vs_non_members", "non-members", "historic_clv")
    # 5 non-members > 3: normal replicates around the same mean, still a sound interval.
    assert clv["interval"] == "normal"
    assert clv["value"] == pytest.approx(56 / 5) and clv["ci_low"] < 56 / 5 < clv["ci_high"]
    assert _value(out, "members_vs_non_members", "members: Gold", "historic_clv")["interval"] == (
        "bootstrap"
    )
