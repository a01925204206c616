"""BG/NBD formulas, checked against the paper's expressions written out directly and against
numerical integration over the latent dropout probability (independent of hyp2f1)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from loyalty_metrics.models import BetaGeoModel

PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def direct_likelihood(
    r: float, alpha: float, a: float, b: float, x: int, tx: float, T: float
) -> float:
    # FHL 2005 eq. (6), in plain (not log) arithmetic: fine for small x
    common = math.gamma(r + x) * alpha**r / math.gamma(r)
    first = special.beta(a, b + x) / special.beta(a, b) * common / (alpha + T) ** (r + x)
    second = 0.0
    if x > 0:
        second = (
            special.beta(a + 1, b + x - 1) / special.beta(a, b) * common / (alpha + tx) ** (r + x)
        )
    return first + second


def weeks(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs["loyalty_metrics.time_unit"] = "W"
    return out


def test_log_likelihood_is_the_papers_expression() -> None:
    model = BetaGeoModel.from_params(time_unit="W", **PARAMS)
    frame = weeks(
        pd.DataFrame(
            {
                "frequency": [0, 1, 2, 5],
                "recency": [0.0, 3.0, 30.43, 20.0],
                "T": [38.86, 38.86, 38.86, 25.0],
            }
        )
    )
    expected = [
        math.log(direct_likelihood(*PARAMS.values(), x, tx, T)) for x, tx, T in frame.to_numpy()
    ]
    np.testing.assert_allclose(model.log_likelihood(frame).to_numpy(), expected, rtol=1e-12)


def test_probability_alive_by_hand() -> None:
    model = BetaGeoModel.from_params(time_unit="W", **PARAMS)
    frame = weeks(
        pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86]})
    )
    # x = 2: 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))
    odds = 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** (0.243 + 2)
    np.testing.assert_allclose(
        model.probability_alive(frame).to_numpy(), [1.0, 1 / (1 + odds)], rtol=1e-12
    )


@pytest.mark.parametrize(
    ("x", "tx", "T", "t"),
    [
        (0, 0.0, 38.86, 39.0),
        (2, 30.43, 38.86, 39.0),
        (7, 10.0, 50.0, 5.0),
        (40, 30.0, 31.0, 200.0),
    ],
)
def test_conditional_expectation_by_numerical_integration(
    x: int, tx: float, T: float, t: float
) -> None:
    # E[Y(t) | x, t_x, T] = P(alive) * E_p[(1 - (1 + p t/(alpha+T))^-(r+x)) / p],
    # p ~ Beta(a, b + x) (the posterior of p given x repeat purchases and survival)
    r, alpha, a, b = PARAMS.values()
    model = BetaGeoModel.from_params(time_unit="W", **PARAMS)
    frame = weeks(pd.DataFrame({"frequency": [x], "recency": [tx], "T": [T]}))
    u = t / (alpha + T)

    def integrand(p: float) -> float:
        return -math.expm1(-(r + x) * math.log1p(p * u)) / p * stats.beta.pdf(p, a, b + x)

    inner = integrate.quad(integrand, 0, 1, limit=200, epsabs=1e-13, epsrel=1e-11)[0]
    expected = float(model.probability_alive(frame).iloc[0]) * inner
    assert float(model.expected_purchases(t, frame).iloc[0]) == pytest.approx(expected, rel=1e-8)


def test_new_customer_expectation_matches_the_papers_formula() -> None:
    # E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
    r, alpha, a, b = PARAMS.values()
    model = BetaGeoModel.from_params(time_unit="W", **PARAMS)
    for t in (1.0, 39.0, 78.0):
        direct = (
            (a + b - 1)
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        )
        assert model.expected_purchases_new_customer(t) == pytest.approx(direct, rel=1e-10)


def test_a_equal_to_one_is_handled() -> None:
    near = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=1.0 + 1e-6, b=2.0, time_unit="W")
    exact = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=1.0, b=2.0, time_unit="W")
    assert exact.expected_purchases_new_customer(20.0) == pytest.approx(
        near.expected_purchases_new_customer(20.0), rel=1e-4
    )


def test_fit_in_weeks_and_days_reads_units_from_the_frame() -> None:
    generator = BetaGeoModel.from_params(time_unit="W", **PARAMS)
    data = generator.sample(3000, 39.0, seed=8)
    fitted = BetaGeoModel(time_unit="W").fit(data)
    in_days = data.copy()
    in_days[["recency", "T"]] *= 7
    in_days.attrs.clear()
    again = BetaGeoModel(time_unit="W").fit(in_days)
    np.testing.assert_allclose(again.params_.to_numpy(), fitted.params_.to_numpy(), rtol=1e-8)
    assert list(fitted.covariance_.index) == ["r", "alpha", "a", "b"]
    assert np.allclose(fitted.covariance_.to_numpy(), fitted.covariance_.to_numpy().T)
    se = np.sqrt(np.diag(fitted.covariance_.to_numpy()))
    np.testing.assert_allclose(se, fitted.summary()["std_error"].to_numpy(), rtol=1e-12)


def test_series_fallback_where_scipy_hyp2f1_overflows() -> None:
    # scipy.special.hyp2f1(2.35, -0.632, 100.35, 0.902) returns inf; the series takes over
    e = math.e
    r, alpha, a, b = 1 / e, 1 / e, 1 / e, e
    x, T, t = 98, 0.5, 8.0
    assert not np.isfinite(
        special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, t / (alpha + T + t))
    )
    model = BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b, time_unit="D")
    frame = pd.DataFrame({"frequency": [x], "recency": [0.0], "T": [T]})
    u = t / (alpha + T)

    def integrand(p: float) -> float:
        return -math.expm1(-(r + x) * math.log1p(p * u)) / p * stats.beta.pdf(p, a, b + x)

    inner = integrate.quad(
        integrand, 0, 1, points=[0.001, 0.01, 0.1], limit=200, epsabs=0, epsrel=1e-11
    )[0]
    expected = float(model.probability_alive(frame).iloc[0]) * inner
    assert float(model.expected_purchases(t, frame).iloc[0]) == pytest.approx(expected, rel=1e-8)
