"""Shared invariants of every rate metric (a registry, sklearn test_common style) and helpers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics._window import Window
from loyalty_metrics.errors import ConfigError
from loyalty_metrics.metrics._common import (
    check_freq,
    flag_low_n,
    parse_span,
    periods,
    rate_frame,
)
from loyalty_metrics.metrics.purchase import repeat_purchase_rate, upsell_share
from loyalty_metrics.metrics.retention import churn_rate, retention_rate
from loyalty_metrics.metrics.survey import csat

# ---------------------------------------------------------------------------------------------
# Data builders


def orders_from(rows) -> pd.DataFrame:
    """rows: (customer number, day offset, amount, category number)."""
    frame = pd.DataFrame(rows, columns=["c", "d", "amount", "k"])
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"c{c}" for c in frame["c"]], dtype="str"),
            "order_date": (
                pd.Timestamp("2023-01-01") + pd.to_timedelta(frame["d"], unit="D")
            ).astype("datetime64[ns]"),
            "amount": frame["amount"].astype("float64"),
            "category": pd.Categorical([f"k{k}" for k in frame["k"]]),
            "channel": pd.Categorical(["web" if c % 2 else "store" for c in frame["c"]]),
        }
    )


def surveys_from(rows) -> pd.DataFrame:
    """rows: (customer number, day offset, amount (unused), category number)."""
    frame = pd.DataFrame(rows, columns=["c", "d", "amount", "k"])
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"c{c}" for c in frame["c"]], dtype="str"),
            "response_date": (
                pd.Timestamp("2023-01-01") + pd.to_timedelta(frame["d"], unit="D")
            ).astype("datetime64[ns]"),
            "score": (frame["c"] * 3 + frame["d"]) % 11 * 1.0,
            "csat": ((frame["c"] + frame["d"]) % 5 + 1) * 1.0,
            "segment": pd.Categorical(["web" if c % 2 else "store" for c in frame["c"]]),
        }
    )


@dataclass(frozen=True)
class Rate:
    func: Callable
    name: str
    data: Callable[[list], pd.DataFrame]
    id_column: str = "customer_id"


RATES = [
    Rate(repeat_purchase_rate, "repeat_purchase_rate", orders_from),
    Rate(upsell_share, "upsell_share", orders_from),
    Rate(churn_rate, "churn_rate", orders_from),
    Rate(retention_rate, "retention_rate", orders_from),
    Rate(csat, "csat", surveys_from),
]
IDS = [r.name for r in RATES]

ROWS = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.integers(0, 800),
        st.sampled_from([-20.0, 0.0, 5.0, 12.5, 40.0]),
        st.integers(0, 2),
    ),
    min_size=0,
    max_size=30,
)
FIXED = [
    (c, d, a, k)
    for c, d, a, k in zip(
        [0, 0, 1, 1, 2, 3, 3, 3, 4, 5, 5, 6],
        [0, 400, 10, 20, 380, 5, 390, 700, 100, 420, 790, 800],
        [10.0, 5.0, 0.0, 7.0, -3.0, 9.0, 9.0, 1.0, 40.0, 12.5, 5.0, 5.0],
        [0, 1, 0, 0, 2, 1, 1, 2, 0, 0, 1, 2],
        strict=True,
    )
]


# ---------------------------------------------------------------------------------------------
# Invariants every rate inherits


@pytest.mark.parametrize("rate", RATES, ids=IDS)
@settings(max_examples=25, deadline=None)
@given(rows=ROWS)
def test_rate_is_a_percentage_or_nan(rate, rows):
    value = rate.func(rate.data(rows))
    assert isinstance(value, float)
    assert math.isnan(value) or 0.0 <= value <= 100.0


@pytest.mark.parametrize("rate", RATES, ids=IDS)
@settings(max_examples=20, deadline=None)
@given(rows=ROWS, seed=st.integers(0, 2**16))
def test_rate_is_invariant_under_row_order(rate, rows, seed):
    frame = rate.data(rows)
    shuffled = frame.sample(frac=1.0, random_state=seed)
    a, b = rate.func(frame), rate.func(shuffled)
    assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


@pytest.mark.parametrize("rate", RATES, ids=IDS)
def test_rate_is_invariant_under_id_relabelling(rate):
    frame = rate.data(FIXED)
    relabelled = frame.assign(customer_id=frame["customer_id"].map(lambda c: f"zz-{c[::-1]}"))
    assert rate.func(relabelled) == pytest.approx(rate.func(frame), nan_ok=True)


@pytest.mark.parametrize("rate", RATES, ids=IDS)
def test_rate_of_empty_input_is_nan(rate):
    assert math.isnan(rate.func(rate.data([])))


@pytest.mark.parametrize("rate", RATES, ids=IDS)
def test_breakdown_shape_and_totals(rate):
    frame = rate.data(FIXED)
    column = "segment" if rate.name == "csat" else "channel"
    table = rate.func(frame, by=column)
    assert list(table.columns) == [rate.name, "n", "successes", "ci_low", "ci_high", "low_n"]
    # the groups partition the units: totals give back the scalar
    total = 100 * table["successes"].sum() / table["n"].sum()
    assert total == pytest.approx(rate.func(frame))
    assert ((table["ci_low"] <= table[rate.name]) & (table[rate.name] <= table["ci_high"])).all()
    assert table[rate.name].between(0, 100).all()
    assert table["low_n"].dtype == bool


@pytest.mark.parametrize("rate", RATES, ids=IDS)
def test_breakdown_by_one_group_equals_the_scalar(rate):
    frame = rate.data(FIXED)
    everyone = pd.Series("all", index=[f"c{i}" for i in range(7)])
    table = rate.func(frame, by=everyone)
    assert table[rate.name].iloc[0] == pytest.approx(rate.func(frame))


@pytest.mark.parametrize("rate", RATES, ids=IDS)
def test_freq_breakdown_is_indexed_by_period_end(rate):
    table = rate.func(rate.data(FIXED), freq="Q")
    assert table.index.name == "period_end"
    assert isinstance(table.index, pd.DatetimeIndex)
    assert table.index.is_monotonic_increasing
    assert table.index[-1] == pd.Timestamp("2023-01-01") + pd.Timedelta(days=800)  # clipped to end


@pytest.mark.parametrize("rate", RATES, ids=IDS)
def test_nothing_after_end_is_used(rate):
    frame = rate.data(FIXED)
    end = pd.Timestamp("2024-01-20")
    date = "response_date" if rate.name == "csat" else "order_date"
    truncated = frame.loc[frame[date] < end + pd.Timedelta(days=1)]
    assert rate.func(frame, end=end) == pytest.approx(rate.func(truncated, end=end), nan_ok=True)


# ---------------------------------------------------------------------------------------------
# Helpers


def test_parse_span():
    assert parse_span("90D", name="w", func="f") == pd.Timedelta(days=90)
    assert parse_span("2W", name="w", func="f") == pd.Timedelta(days=14)
    assert pd.Timestamp("2024-03-31") - parse_span("1M", name="w", func="f") == pd.Timestamp(
        "2024-02-29"
    )
    assert pd.Timestamp("2024-02-29") - parse_span("1Y", name="w", func="f") == pd.Timestamp(
        "2023-02-28"
    )
    with pytest.raises(ConfigError, match="The 'w' parameter of f must be a positive period"):
        parse_span("0D", name="w", func="f")


def test_check_freq():
    assert check_freq("M", func="f") == "M"
    with pytest.raises(ConfigError, match="The 'freq' parameter of f"):
        check_freq("monthly", func="f")


def test_periods_are_clipped_to_the_window():
    window = Window(start=pd.Timestamp("2024-01-15"), end=pd.Timestamp("2024-03-10"))
    assert periods(window, "M") == [
        (pd.Timestamp("2024-01-15"), pd.Timestamp("2024-01-31")),
        (pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-29")),
        (pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-10")),
    ]
    assert periods(Window(start=pd.NaT, end=pd.NaT), "M") == []


def test_rate_frame_and_low_n():
    table = rate_frame(
        [0, 50, 500], [0, 100, 1000], index=pd.Index(list("abc")), name="r", level=0.95
    )
    assert math.isnan(table.loc["a", "r"]) and table.loc["a", "low_n"]
    # n = 100 >= 30 but the Wilson half-width at 50% is ~9.6 points: not flagged
    assert not table.loc["b", "low_n"]
    assert not table.loc["c", "low_n"]
    assert flag_low_n(np.array([40]), np.array([20.0]), np.array([45.0])).tolist() == [True]
