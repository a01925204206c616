"""Tests of loyalty_metrics/caveats.py and the warnings the metrics and models emit."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics import caveats
from loyalty_metrics.errors import (
    DataCoverageWarning,
    LoyaltyWarning,
    ModelFitError,
    WeakFitWarning,
)
from loyalty_metrics.models import BetaGeoModel, ModelAssumptionWarning

# First order 2023-12-28; end 2024-12-31. Churn's base period for 365D (2024 has 366 days):
# end - 365D = 2024-01-01 is its last day, 2023-01-02 its first, and the data cover
# 2023-12-28..2024-01-01 = 5 of its 366 days.
ORDERS = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "c"],
        "order_date": pd.to_datetime(["2023-12-28", "2024-06-01", "2024-12-20", "2024-02-01"]),
        "amount": [10.0, 20.0, 5.0, 8.0],
    }
)


def caught(func, *args, **kwargs) -> list[LoyaltyWarning]:
    with caveats.collect() as notes:
        func(*args, **kwargs)
    return notes


def test_churn_on_a_base_year_of_five_days_says_so():
    with pytest.warns(DataCoverageWarning, match=r"2023-01-02\.\.2024-01-01 holds 5 days of data"):
        lm.churn_rate(ORDERS, end="2024-12-31")
    # a 90-day period's base (2024-07-05..2024-10-02) is fully covered: no caveat
    assert caught(lm.churn_rate, ORDERS, period="90D", end="2024-12-31") == []


def test_simple_clv_inherits_the_churn_caveat():
    notes = caught(lm.clv, ORDERS, end="2024-12-31")
    assert [n.about for n in notes] == [("churn_rate", "retention_rate", "clv")]
    assert caught(lm.clv, ORDERS, end="2024-12-31", lifespan_years=2.0) == []  # no churn used


def test_kpis_say_when_new_customers_equal_customers():
    notes = caught(lm.kpis, ORDERS, end="2024-12-31")
    assert {n.about[0] for n in notes} == {"churn_rate", "new_customers"}
    (new,) = [n for n in notes if n.about[0] == "new_customers"]
    assert "starts on the first day of the data (2023-12-28)" in str(new)
    later = caught(lm.kpis, ORDERS, start="2024-01-01", end="2024-12-31")
    assert {n.about[0] for n in later} == {"churn_rate"}


def test_cohort_table_says_the_first_cohort_is_everyone_at_the_start():
    (note,) = caught(lm.cohort_table, ORDERS)
    assert note.about == ("cohort_table",) and "(2023-12-28)" in str(note)
    assert caught(lm.cohort_table, ORDERS, start="2024-01-01") == []


def test_window_caveats_thresholds():
    day = pd.Timestamp
    year = pd.Timedelta("365D")
    # base period 2023-01-01..2023-12-31 (end 2024-12-30): 182 days covered < 365 / 2
    assert len(caveats.churn_caveats(day("2023-07-03"), day("2024-12-30"), year)) == 1
    # 183 days covered >= 182.5: no caveat
    assert caveats.churn_caveats(day("2023-07-02"), day("2024-12-30"), year) == []
    # data begin after the base period: churn is NaN by itself, nothing to add
    assert caveats.churn_caveats(day("2024-01-01"), day("2024-12-30"), year) == []
    assert caveats.window_caveats(day("2024-01-01"), day("2024-01-02"), day("2024-06-01")) == []


def test_collect_keeps_each_message_once_and_lets_other_warnings_through():
    with warnings.catch_warnings(record=True) as outer:
        warnings.simplefilter("always")
        with caveats.collect() as notes:
            caveats.emit([LoyaltyWarning("x", about=["nps"]), LoyaltyWarning("x")])
            warnings.warn("not ours", UserWarning, stacklevel=1)
    assert [(str(n), n.about) for n in notes] == [("x", ("nps",))]
    assert [str(w.message) for w in outer] == ["not ours"]


def test_model_assumption_warning_is_a_loyalty_warning():
    assert issubclass(ModelAssumptionWarning, LoyaltyWarning)


def test_a_barely_identified_fit_warns_with_the_intervals_and_next_steps():
    truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    sample = truth.sample(50, 39.0, seed=0)  # 50 customers: a and b hardly pinned down
    with pytest.warns(WeakFitWarning) as record:
        model = BetaGeoModel(time_unit="W").fit(sample)
    (note,) = [w.message for w in record if isinstance(w.message, WeakFitWarning)]
    table = model.summary()
    for name in ("a", "b"):  # the factor quoted is ci_high / ci_low of summary()
        assert table.loc[name, "ci_high"] / table.loc[name, "ci_low"] > 100
        assert f"{name} {table.loc[name, 'ci_low']:.3g}..{table.loc[name, 'ci_high']:.3g}" in str(
            note
        )
    assert "p_alive" in note.about and "--model pareto" in str(note)
    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakFitWarning)  # 4,000 customers: well identified
        BetaGeoModel(time_unit="W").fit(truth.sample(4000, 39.0, seed=0))


def test_model_fit_error_suggests_the_next_step():
    truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    with pytest.raises(ModelFitError) as err:
        BetaGeoModel(time_unit="D").fit(truth.sample(50, 39.0, seed=1))
    message = str(err.value)
    assert "do not identify" in message
    assert message.endswith(
        "Next: try another model (--model mbgnbd or --model pareto; ModifiedBetaGeoModel or "
        "ParetoNBDModel in Python), a longer calibration period (more history, or an earlier "
        '--start), or weekly units (--time-unit W; time_unit="W").'
    )
    none_repeat = pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [5.0, 9.0]})
    with pytest.raises(ModelFitError, match="Next: a longer calibration period"):
        BetaGeoModel().fit(none_repeat)
