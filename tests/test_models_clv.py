"""Discounted predictive CLV: the monthly sum by hand, the annual-to-monthly rate, units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import loyalty_metrics
from loyalty_metrics.models import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    clv,
    clv_breakdown,
    predictive_clv,
)

BG_WEEKS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
MONTH_WEEKS = 365.25 / 12 / 7  # 4.348 weeks


@pytest.fixture
def summary() -> pd.DataFrame:
    # days, as customer_summary gives them
    return pd.DataFrame(
        {
            "frequency": [2, 0, 6],
            "recency": [213.0, 0.0, 250.0],
            "T": [272.0, 272.0, 260.0],
            "monetary_value": [22.35, np.nan, 40.0],
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )


def by_hand(
    model: BetaGeoModel,
    spend: GammaGammaModel,
    summary: pd.DataFrame,
    months: int,
    annual: float,
    margin: float,
) -> pd.Series:
    monthly = (1 + annual) ** (1 / 12) - 1
    total = pd.Series(0.0, index=summary.index)
    previous = pd.Series(0.0, index=summary.index)
    for k in range(1, months + 1):
        cumulative = model.expected_purchases(k * MONTH_WEEKS, summary)
        total += (cumulative - previous) / (1 + monthly) ** k
        previous = cumulative
    return margin * spend.expected_average_value(summary) * total


def test_clv_is_the_discounted_monthly_sum(summary: pd.DataFrame) -> None:
    bg = BetaGeoModel.from_params(time_unit="W", **BG_WEEKS)
    gg = GammaGammaModel.from_params(**GG)
    got = clv(bg, gg, summary, horizon_months=6, annual_discount_rate=0.12, margin=0.3)
    expected = by_hand(bg, gg, summary, 6, 0.12, 0.3)
    pd.testing.assert_series_equal(got, expected.rename("clv"), rtol=1e-12)
    assert got.index.equals(summary.index)


def test_no_discount_is_expected_purchases_times_value(summary: pd.DataFrame) -> None:
    bg = BetaGeoModel.from_params(time_unit="W", **BG_WEEKS)
    gg = GammaGammaModel.from_params(**GG)
    table = clv_breakdown(bg, gg, summary, horizon_months=12, annual_discount_rate=0.0)
    assert list(table.columns) == [
        "p_alive",
        "expected_purchases",
        "expected_average_value",
        "clv",
    ]
    np.testing.assert_allclose(
        table["expected_purchases"], bg.expected_purchases(12 * MONTH_WEEKS, summary), rtol=1e-12
    )
    np.testing.assert_allclose(
        table["clv"], table["expected_purchases"] * table["expected_average_value"], rtol=1e-12
    )
    np.testing.assert_allclose(table["p_alive"], bg.probability_alive(summary), rtol=1e-15)


def test_the_rate_is_annual_not_monthly(summary: pd.DataFrame) -> None:
    # lifetimes' issue #27: a "10%" rate applied monthly is 214% a year. Here 10% is yearly,
    # so the 12-month CLV is only a few % below the undiscounted value.
    bg = BetaGeoModel.from_params(time_unit="W", **BG_WEEKS)
    gg = GammaGammaModel.from_params(**GG)
    undiscounted = clv(bg, gg, summary, annual_discount_rate=0.0)
    discounted = clv(bg, gg, summary, annual_discount_rate=0.10)
    ratio = discounted / undiscounted
    assert ((ratio > 0.94) & (ratio < 0.97)).all()
    # a higher rate, a lower value; a longer horizon, a higher value
    assert (clv(bg, gg, summary, annual_discount_rate=0.5) < discounted).all()
    assert (clv(bg, gg, summary, horizon_months=24) > discounted).all()


def test_time_unit_does_not_change_the_value(summary: pd.DataFrame) -> None:
    weeks = BetaGeoModel.from_params(time_unit="W", **BG_WEEKS)
    days = BetaGeoModel.from_params(time_unit="D", **{**BG_WEEKS, "alpha": 7 * BG_WEEKS["alpha"]})
    gg = GammaGammaModel.from_params(**GG)
    np.testing.assert_allclose(clv(days, gg, summary), clv(weeks, gg, summary), rtol=1e-10)


def test_other_purchase_models_work_too(summary: pd.DataFrame) -> None:
    pareto = ParetoNBDModel.from_params(time_unit="W", r=0.553, alpha=10.578, s=0.606, beta=11.669)
    value = clv(pareto, GammaGammaModel.from_params(**GG), summary)
    assert (value > 0).all()


def test_names_and_the_top_level_clv_are_distinct() -> None:
    assert predictive_clv is clv
    assert loyalty_metrics.clv is not clv  # the simple, formula-based CLV


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("horizon_months", 0, "'horizon_months'"),
        ("horizon_months", 1.5, "'horizon_months'"),
        ("annual_discount_rate", -1.0, "'annual_discount_rate'"),
        ("annual_discount_rate", np.nan, "'annual_discount_rate'"),
        ("margin", np.inf, "'margin'"),
    ],
)
def test_bad_options_are_refused(
    summary: pd.DataFrame, option: str, value: float, message: str
) -> None:
    bg = BetaGeoModel.from_params(time_unit="W", **BG_WEEKS)
    gg = GammaGammaModel.from_params(**GG)
    with pytest.raises(ValueError, match=message):
        clv(bg, gg, summary, **{option: value})
