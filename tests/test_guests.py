"""Tests of loyalty_metrics/guests.py: guest-checkout lines read back from a lenient read."""

from __future__ import annotations

import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics.guests import GUEST_ID, guest_orders, guest_revenue


def test_guest_lines_are_read_back_with_the_sniffed_settings(tmp_path):
    # semicolons, decimal comma, day-first dates: the guest lines must parse the same way
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id;order_date;amount;category\n"
        "a;05.01.2024;10,50;toys\n"
        ";13.01.2024;4,25;books\n"  # guest
        ";14.01.2024;abc;books\n"  # guest with a bad amount: stays rejected
        "b;20.01.2024;1,00;toys\n"
    )
    orders = lm.read_orders(path, errors="reject")
    guests = guest_orders(orders)
    assert guests["customer_id"].tolist() == [GUEST_ID]
    assert guests["amount"].tolist() == [4.25]
    assert guests["order_date"].tolist() == [pd.Timestamp("2024-01-13")]
    assert guests["category"].astype(str).tolist() == ["books"]
    assert orders["amount"].sum() == 11.5  # the identified lines are untouched


def test_no_guests_gives_an_empty_frame_of_the_same_columns():
    orders = lm.read_orders(
        pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-05"], "amount": [3.0]})
    )
    guests = guest_orders(orders)
    assert guests.empty and list(guests.columns) == list(orders.columns)
    assert guest_revenue(guests) == 0.0


def test_a_frame_without_read_report_is_refused():
    with pytest.raises(ValueError, match="no read report"):
        guest_orders(pd.DataFrame({"customer_id": ["a"]}))


def test_guest_revenue_window_is_inclusive_of_whole_days():
    guests = pd.DataFrame(
        {
            "amount": [1.0, 2.0, 4.0, 8.0],
            "order_date": pd.to_datetime(
                ["2023-12-31 23:59", "2024-01-01 00:00", "2024-01-31 18:00", "2024-02-01 00:00"]
            ),
        }
    )
    assert guest_revenue(guests, start="2024-01-01", end="2024-01-31") == 6.0  # 2 + 4
    assert guest_revenue(guests, end="2024-01-01") == 3.0  # 1 + 2
    assert guest_revenue(guests) == 15.0
