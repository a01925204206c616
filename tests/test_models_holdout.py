"""Calibration/holdout split (same purchase conventions as customer_summary) and evaluation."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics import customer_summary
from loyalty_metrics.models import BetaGeoModel, HoldoutEvaluation, calibration_holdout, evaluate
from loyalty_metrics.orders import shared_kernels


@pytest.fixture
def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "9"],
            "customer_id": ["a", "a", "a", "a", "b", "b", "c", "a", "b", "b"],
            "order_date": pd.to_datetime(
                [
                    "2024-01-01",  # a: first purchase
                    "2024-01-08",  # a: repeat day 1
                    "2024-01-08",  # a: same day, same occasion
                    "2024-02-03",  # a: holdout purchase day 1
                    "2024-01-15",  # b: first
                    "2024-02-10",  # b: a return (negative): not a purchase
                    "2024-02-01",  # c: first purchase in the holdout: left out
                    "2024-02-20",  # a: holdout purchase day 2
                    "2024-02-25",  # b: order 9, net 4.0 - 1.0 = 3.0 >= 0: a purchase
                    "2024-02-25",
                ]
            ),
            "amount": [10.0, 20.0, 5.0, 30.0, 8.0, -8.0, 7.0, 0.0, 4.0, -1.0],
        }
    )


def test_split_by_hand(orders: pd.DataFrame) -> None:
    split = calibration_holdout(orders, calibration_end="2024-01-31", holdout_end="2024-02-29")
    assert list(split.index) == ["a", "b"]
    assert list(split.columns) == [
        "frequency", "recency", "T", "monetary_value", "frequency_holdout", "revenue_holdout", "duration_holdout",
    ]  # fmt: skip
    a, b = split.loc["a"], split.loc["b"]
    # a: days 01-01 and 01-08 -> x = 1, t_x = 7, T = 30; repeat day spend 25
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (1, 7.0, 30.0, 25.0)
    # holdout: 02-03 and 02-20 ($0 orders are purchases) -> 2 days, revenue 30
    assert (a["frequency_holdout"], a["revenue_holdout"]) == (2, 30.0)
    # b: the return is not a purchase, order 9 is one (net 3.0): 1 day; revenue -8 + 3
    assert (b["frequency"], b["frequency_holdout"], b["revenue_holdout"]) == (0, 1, -5.0)
    assert (split["duration_holdout"] == 29.0).all()  # 2024-02-01..2024-02-29
    assert split.attrs["loyalty_metrics.time_unit"] == "D"


def test_weeks_scale_the_time_columns(orders: pd.DataFrame) -> None:
    days = calibration_holdout(orders, calibration_end="2024-01-31", holdout_end="2024-02-29")
    weeks = calibration_holdout(
        orders, calibration_end="2024-01-31", holdout_end="2024-02-29", time_unit="W"
    )
    for column in ("recency", "T", "duration_holdout"):
        np.testing.assert_allclose(weeks[column] * 7, days[column])
    assert weeks.attrs["loyalty_metrics.time_unit"] == "W"
    # a model reads either the same way
    model = BetaGeoModel.from_params(r=0.5, alpha=10.0, a=0.8, b=2.5, time_unit="W")
    np.testing.assert_allclose(
        model.probability_alive(weeks), model.probability_alive(days), rtol=1e-12
    )


def test_nothing_after_the_holdout_end_is_used(orders: pd.DataFrame) -> None:
    later = pd.concat(
        [
            orders,
            pd.DataFrame(
                {
                    "order_id": ["10"],
                    "customer_id": ["a"],
                    "order_date": pd.to_datetime(["2024-03-05"]),
                    "amount": [9.0],
                }
            ),
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(
        calibration_holdout(later, calibration_end="2024-01-31", holdout_end="2024-02-29"),
        calibration_holdout(orders, calibration_end="2024-01-31", holdout_end="2024-02-29"),
    )


def test_evaluate_by_hand() -> None:
    split = pd.DataFrame(
        {
            "frequency": [0, 1, 8, 9],
            "recency": [0.0, 5.0, 30.0, 35.0],
            "T": [40.0] * 4,
            "frequency_holdout": [0, 2, 5, 3],
            "duration_holdout": [20.0] * 4,
        },
        index=["a", "b", "c", "d"],
    )
    model = BetaGeoModel.from_params(r=0.5, alpha=10.0, a=0.8, b=2.5)
    result = evaluate(model, split, max_frequency=2)
    assert isinstance(result, HoldoutEvaluation)
    predicted = model.expected_purchases(20.0, split).to_numpy()
    error = predicted - [0, 2, 5, 3]
    np.testing.assert_allclose(result.customers["error"], error)
    assert result.metrics["actual_total"] == 10
    assert result.metrics["predicted_total"] == pytest.approx(predicted.sum())
    assert result.metrics["mae"] == pytest.approx(np.abs(error).mean())
    assert result.metrics["rmse"] == pytest.approx(np.sqrt((error**2).mean()))
    assert result.metrics["total_error_rate"] == pytest.approx(100 * (predicted.sum() - 10) / 10)
    table = result.by_frequency
    assert list(table.index) == ["0", "1", "2+"]
    assert table["customers"].tolist() == [1, 1, 2]
    assert table.loc["2+", "actual"] == 4.0  # (5 + 3) / 2
    assert "holdout purchases: actual 10" in str(result)


def test_empty_buckets_and_no_purchases_give_nan() -> None:
    split = pd.DataFrame(
        {
            "frequency": [0, 0],
            "recency": [0.0, 0.0],
            "T": [10.0, 10.0],
            "frequency_holdout": [0, 0],
            "duration_holdout": [5.0, 5.0],
        }
    )
    result = evaluate(BetaGeoModel.from_params(r=0.5, alpha=10.0, a=0.8, b=2.5), split)
    assert np.isnan(result.metrics["total_error_rate"])
    assert result.by_frequency.loc["3", "customers"] == 0
    assert np.isnan(result.by_frequency.loc["3", "actual"])


def test_errors(orders: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="must be after"):
        calibration_holdout(orders, calibration_end="2024-02-01", holdout_end="2024-02-01")
    with pytest.raises(ValueError, match="'time_unit'"):
        calibration_holdout(
            orders, calibration_end="2024-01-31", holdout_end="2024-02-29", time_unit="M"
        )
    model = BetaGeoModel.from_params(r=0.5, alpha=10.0, a=0.8, b=2.5)
    with pytest.raises(ValueError, match="calibration_holdout"):
        evaluate(model, pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [1.0]}))
    with pytest.raises(ValueError, match="'max_frequency'"):
        evaluate(
            model,
            calibration_holdout(orders, calibration_end="2024-01-31", holdout_end="2024-02-29"),
            max_frequency=0,
        )


_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 60),  # day offset
        st.integers(-50, 200).map(lambda cents: cents / 4),
        st.sampled_from(["o1", "o2", "o3", "o4", "o5", "o6"]),  # orders spanning days
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(_rows, st.integers(0, 59), st.integers(1, 30), st.booleans())
def test_split_equals_two_summaries(
    rows: list[tuple], cut: int, length: int, shared: bool
) -> None:
    # The holdout counts are the full period's purchase days minus the calibration's, as
    # two customer summaries give them (the split counts only the holdout and re-counts the
    # customers whose orders straddle calibration_end); inside a report or not.
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount", "order_id"])
    frame["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame.pop("day"), "D")
    start = pd.Timestamp("2024-01-01")
    cal_end = start + pd.Timedelta(days=cut)
    hold_end = cal_end + pd.Timedelta(days=length)
    with shared_kernels() if shared else contextlib.nullcontext():
        split = calibration_holdout(
            frame, calibration_end=cal_end, holdout_end=hold_end, start=start
        )
    cal = customer_summary(frame, start=start, end=cal_end)
    full = customer_summary(frame, start=start, end=hold_end).reindex(cal.index)
    days_cal = cal["frequency"] + 1
    days_full = (full["frequency"] + 1).fillna(days_cal)
    revenue_full = full["revenue"].where(full["revenue"].notna(), cal["revenue"])
    assert list(split.index) == list(cal.index)
    np.testing.assert_array_equal(split["frequency"], cal["frequency"])
    np.testing.assert_array_equal(
        split["frequency_holdout"], (days_full - days_cal).clip(lower=0).astype("int64")
    )
    np.testing.assert_array_equal(split["revenue_holdout"], revenue_full - cal["revenue"])


def test_an_order_straddling_calibration_end_is_counted_as_netted() -> None:
    # a's order 1 (01-10, +10) is a purchase in the calibration period; its return line
    # (02-05, -15) makes it a return (net -5) through the holdout end. Through 02-29 a has
    # one purchase day (02-10), as in the calibration period: no holdout purchase (not the
    # 1 that adding the holdout's new day would give); revenue 10 - 15 + 7 - 10 = -8.
    orders = pd.DataFrame(
        {
            "order_id": ["1", "1", "2"],
            "customer_id": ["a", "a", "a"],
            "order_date": pd.to_datetime(["2024-01-10", "2024-02-05", "2024-02-10"]),
            "amount": [10.0, -15.0, 7.0],
        }
    )
    split = calibration_holdout(orders, calibration_end="2024-01-31", holdout_end="2024-02-29")
    assert split.loc["a", "frequency_holdout"] == 0
    assert split.loc["a", "revenue_holdout"] == -8.0
