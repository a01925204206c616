"""Tests of loyalty_metrics.economics: the programme's ROI and its honesty label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_metrics.economics import ROI_KEYS, program_roi
from loyalty_metrics.errors import ConfigError
from loyalty_metrics.programs import CAUSALITY, program_impact


def _orders(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


# The tables of tests/test_programs.py: members join in February (and m4 in April); with
# window "30D" the difference in differences is (15 - 5/3) revenue per member per 30 days.
ORDERS = _orders(
    [
        ("m1", "2024-01-10", 10.0),
        ("m1", "2024-01-20", 10.0),
        ("m1", "2024-02-10", 50.0),
        ("m1", "2024-03-05", 30.0),
        ("m1", "2024-03-20", 30.0),
        ("m2", "2024-01-15", 20.0),
        ("m2", "2024-03-10", 10.0),
        ("m3", "2024-03-03", 5.0),
        ("m4", "2024-04-12", 15.0),
        ("m5", "2024-01-08", 4.0),
        ("m5", "2024-03-08", 4.0),
        ("n1", "2024-01-05", 10.0),
        ("n1", "2024-03-02", 10.0),
        ("n2", "2024-01-25", 5.0),
        ("n2", "2024-03-25", 5.0),
        ("n2", "2024-03-26", 5.0),
        ("n3", "2024-01-03", 6.0),
    ]
)
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["m1", "m2", "m3", "m4", "m5", "n1", "n2", "n3"],
        "is_member": [True, True, True, True, True, False, False, False],
        "member_since": pd.to_datetime(
            ["2024-02-10", "2024-02-03", "2024-02-15", "2024-04-10", "2024-05-05"] + [None] * 3
        ),
    }
)
POINTS = pd.DataFrame(
    {
        "customer_id": ["m1", "m1", "m2"],
        "date": pd.to_datetime(["2024-02-10", "2024-03-20", "2024-05-02"]),
        "points": [50.0, -20.0, -99.0],  # m2's redemption is after end
        "type": ["earn", "redeem", "redeem"],
    }
)
SPEND = pd.DataFrame(
    {
        "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-05-01"]),
        "amount": [30.0, 100.0, 70.0],
        "channel": ["Loyalty", "search", "loyalty"],  # only the first is programme cost
    }
)
KW = {"window": "30D", "start": "2024-01-01", "end": "2024-04-30"}


def test_roi_on_the_difference_in_differences():
    roi = program_roi(ORDERS, CUSTOMERS, POINTS, SPEND, point_value=0.5, margin=0.5, **KW)
    assert tuple(roi.index) == ROI_KEYS
    assert roi["basis"] == "difference_in_differences"
    assert roi["causality"] == CAUSALITY["difference_in_differences"]
    per_day = (15 - 5 / 3) / 30
    assert roi["incremental_revenue_per_member_day"] == pytest.approx(per_day)
    assert roi["n"] == 2  # m1, m2
    # member days to Apr 30: m1 from Feb 10 (20 + 31 + 30 = 81), m2 from Feb 3 (27 + 61 = 88),
    # m3 from Feb 15 (15 + 61 = 76), m4 from Apr 10 (21); m5 joins after end
    assert roi["member_days"] == 81 + 88 + 76 + 21
    assert roi["incremental_margin"] == pytest.approx(per_day * 266 * 0.5)
    assert roi["redemption_cost"] == 10.0  # 20 points * 0.5
    assert roi["channel_cost"] == 30.0
    assert roi["programme_cost"] == 40.0
    assert roi["roi"] == pytest.approx(per_day * 266 * 0.5 / 40)
    # the interval is program_impact's, scaled the same way
    impact = program_impact(ORDERS, CUSTOMERS, **KW)
    row = impact[(impact["group"] == "difference") & (impact["metric"] == "revenue")].iloc[0]
    assert roi["roi_ci_low"] == pytest.approx(row["ci_low"] / 30 * 266 * 0.5 / 40)
    assert roi["roi_ci_high"] == pytest.approx(row["ci_high"] / 30 * 266 * 0.5 / 40)
    assert roi["roi_ci_low"] <= roi["roi"] <= roi["roi_ci_high"]


def test_falls_back_to_before_after_then_to_the_naive_view():
    # Without non-members on both sides there is no difference in differences.
    members_only = ORDERS[~ORDERS["customer_id"].isin(["m5", "n1", "n2"])]
    roi = program_roi(members_only, CUSTOMERS, POINTS, **KW)
    assert roi["basis"] == "before_after"
    assert roi["causality"].startswith("weakly causal")
    assert roi["incremental_revenue_per_member_day"] == pytest.approx(15 / 30)  # m1 40, m2 -10
    # Without join dates neither before/after view exists: members vs non-members.
    undated = CUSTOMERS.assign(member_since=pd.NaT)
    naive = program_roi(ORDERS, undated, POINTS, **KW)
    assert naive["basis"] == "members_vs_non_members"
    assert naive["causality"].startswith("not causal")
    # revenue per buyer over the 121 days: members m1 130, m2 30, m3 5, m4 15, m5 8 -> 188 / 5;
    # non-members n1 20, n2 15, n3 6 -> 41 / 3
    diff = 188 / 5 - 41 / 3
    assert naive["incremental_revenue_per_member_day"] == pytest.approx(diff / 121)
    assert naive["member_days"] == 5 * 121  # no join dates: the whole window each
    assert naive["interval"] == "normal"


def test_no_cost_gives_nan_not_inf():
    roi = program_roi(ORDERS, CUSTOMERS, **KW)
    assert roi["programme_cost"] == 0 and np.isnan(roi["roi"]) and np.isnan(roi["roi_ci_low"])
    assert np.isfinite(roi["incremental_margin"])


def test_parameters_are_checked():
    with pytest.raises(ConfigError, match="'point_value' parameter of program_roi"):
        program_roi(ORDERS, CUSTOMERS, POINTS, point_value=-0.1)
    with pytest.raises(ConfigError, match="'is_member' or 'member_since'"):
        program_roi(ORDERS, CUSTOMERS[["customer_id"]])
