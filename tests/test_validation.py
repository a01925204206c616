"""Public entry points validate what the readers validate (loyalty_metrics/_validation.py).

Frames from a reader carry the read report and pass at once; anything else is checked with
the readers' rules and messages instead of giving a number from impossible values or a
KeyError.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loyalty_metrics as lm
from loyalty_metrics._validation import _validated
from loyalty_metrics.errors import DataValidationError

scores = st.one_of(
    st.integers(-3, 13), st.floats(-3, 13, allow_nan=False).map(lambda x: round(x, 1))
)


@given(values=st.lists(scores, min_size=1, max_size=12))
@settings(max_examples=150, deadline=None)
def test_nps_is_computed_only_from_integer_scores_0_to_10(values):
    valid = all(float(v).is_integer() and 0 <= v <= 10 for v in values)
    if not valid:
        with pytest.raises(DataValidationError, match="nps: surveys: column 'score'"):
            lm.nps(values)
        return
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    assert lm.nps(values) == pytest.approx(100 * (promoters - detractors) / len(values))


@given(values=st.lists(scores, min_size=1, max_size=12))
@settings(max_examples=100, deadline=None)
def test_csat_is_computed_only_from_integer_answers_1_to_5(values):
    surveys = pd.DataFrame({"score": [9] * len(values), "csat": values})
    if not all(float(v).is_integer() and 1 <= v <= 5 for v in values):
        with pytest.raises(DataValidationError, match="csat: surveys: column 'csat'"):
            lm.csat(surveys)
        return
    assert lm.csat(surveys) == pytest.approx(100 * sum(v >= 4 for v in values) / len(values))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: lm.nps([11, -1]), "rows 1, 2: NPS score outside 0-10"),
        (lambda: lm.nps([9.5]), "row 1: NPS score not an integer"),
        (lambda: lm.csat(pd.DataFrame({"score": [9, 9], "csat": [0, 6]})), "CSAT outside 1-5"),
    ],
)
def test_the_adversarial_scores(call, message):
    # Found by the adversarial run: nps([11, -1]) was 0.0, nps([9.5]) 100, csat counted 0 and 6.
    with pytest.raises(DataValidationError, match=message):
        call()


def _orders(**columns) -> pd.DataFrame:
    data = {
        "customer_id": ["a", "b"],
        "order_date": pd.to_datetime(["2024-01-05", "2024-02-01"]),
        "amount": [10.0, 5.0],
    }
    data.update(columns)
    return pd.DataFrame({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        (_orders(customer_id=["a", None]), "column 'customer_id': row 2: blank value"),
        (_orders(order_date=None), "missing required column 'order_date'"),
        (_orders(order_date=pd.to_datetime(["2024-01-05", "2024-02-01"]).tz_localize("UTC")),
         "column 'order_date' holds timezone-aware dates"),
        (_orders(order_date=["2024-01-05", "2024-02-01"]), "holds .* values, not dates"),
        (_orders(amount=[1e308, 1e308]), r"rows 1, 2: amount beyond \+-1e\+15"),
        (_orders(amount=[np.inf, 1.0]), "row 1: unparseable number"),
        (_orders(order_date=pd.to_datetime(["1690-01-05", "2024-02-01"])),
         "date outside 1900-01-01..2100-12-31"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "entry",
    [lm.customer_summary, lm.kpis, lm.kpis_by_period, lm.repeat_purchase_rate, lm.churn_rate,
     lm.cohort_table, lm.repeat_rate_by_cohort, lm.time_to_second_purchase,
     lm.inter_purchase_times, lm.loyalty_ladder, lm.rfm_segments, lm.clv],
)  # fmt: skip
def test_raw_order_frames_get_the_readers_messages(orders, message, entry):
    with pytest.raises(DataValidationError, match=message):
        entry(orders)


def test_frames_from_a_reader_carry_the_mark_and_pass_unchecked():
    text = "customer_id,order_date,amount\na,2024-01-05,10\nb,2024-02-01,5\n"
    orders = lm.read_orders(io.StringIO(text))
    assert _validated(orders) and not _validated(_orders())
    assert lm.customer_summary(orders)["revenue"].tolist() == [10.0, 5.0]


def test_the_reader_rejects_amounts_that_would_overflow_revenue():
    # two lines of 1e308 summed to inf revenue
    text = (
        "customer_id,order_date,amount\na,2024-01-05,1e308\nb,2024-02-01,1e308\nc,2024-02-02,5\n"
    )
    orders = lm.read_orders(io.StringIO(text), errors="reject")
    assert lm.rejected_rows(orders)["reason"].tolist() == ["amount: amount beyond +-1e+15"] * 2
    assert lm.customer_summary(orders)["revenue"].sum() == 5.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"end": "9999-12-31"}, "'end' parameter must be a date from 1678-01-01 to 2261-12-31"),
        ({"start": "0001-01-01"}, "'start' parameter must be a date from 1678-01-01"),
        ({"start": "1700-01-01"}, "spans more than 250 years"),
    ],
)
@pytest.mark.parametrize("entry", [lm.customer_summary, lm.kpis, lm.cohort_table])
def test_window_options_a_timestamp_cannot_hold_are_value_errors(options, message, entry):
    # Found by the adversarial run: "unexpected OverflowError"; then by hypothesis: a window
    # from 1731 to 2024 overflowed pandas.Timedelta (292 years).
    with pytest.raises(ValueError, match=message):
        entry(_orders(), **options)
