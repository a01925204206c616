"""MBG/NBD formulas (Batislam et al. 2007), checked against direct expressions and numerical
integration over the latent dropout probability."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from loyalty_metrics.models import BetaGeoModel, ModifiedBetaGeoModel

PARAMS = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}


def weeks(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs["loyalty_metrics.time_unit"] = "W"
    return out


def direct_likelihood(
    r: float, alpha: float, a: float, b: float, x: int, tx: float, T: float
) -> float:
    common = math.gamma(r + x) * alpha**r / math.gamma(r)
    first = special.beta(a, b + x + 1) / special.beta(a, b) * common / (alpha + T) ** (r + x)
    second = special.beta(a + 1, b + x) / special.beta(a, b) * common / (alpha + tx) ** (r + x)
    return first + second


def test_log_likelihood_is_the_direct_expression() -> None:
    model = ModifiedBetaGeoModel.from_params(time_unit="W", **PARAMS)
    frame = weeks(
        pd.DataFrame(
            {"frequency": [0, 1, 4], "recency": [0.0, 3.0, 20.0], "T": [38.86, 38.86, 25.0]}
        )
    )
    expected = [
        math.log(direct_likelihood(*PARAMS.values(), x, tx, T)) for x, tx, T in frame.to_numpy()
    ]
    np.testing.assert_allclose(model.log_likelihood(frame).to_numpy(), expected, rtol=1e-12)


def test_customers_without_repeat_purchases_may_be_inactive() -> None:
    mbg = ModifiedBetaGeoModel.from_params(time_unit="W", **PARAMS)
    bg = BetaGeoModel.from_params(time_unit="W", **PARAMS)
    frame = weeks(pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [30.0]}))
    # 1 / (1 + a/b * ((alpha+T)/alpha)^r)
    expected = 1 / (1 + 0.891 / 1.614 * ((6.183 + 30) / 6.183) ** 0.525)
    assert float(mbg.probability_alive(frame).iloc[0]) == pytest.approx(expected, rel=1e-12)
    assert float(bg.probability_alive(frame).iloc[0]) == 1.0


@pytest.mark.parametrize(
    ("x", "tx", "T", "t"), [(0, 0.0, 38.86, 39.0), (3, 20.0, 38.0, 10.0), (25, 30.0, 31.0, 100.0)]
)
def test_conditional_expectation_by_numerical_integration(
    x: int, tx: float, T: float, t: float
) -> None:
    # alive: p ~ Beta(a, b + x + 1) posterior; E[Y(t)] = P(alive) E_p[(1 - (1 + p u)^-(r+x)) / p]
    r, alpha, a, b = PARAMS.values()
    model = ModifiedBetaGeoModel.from_params(time_unit="W", **PARAMS)
    frame = weeks(pd.DataFrame({"frequency": [x], "recency": [tx], "T": [T]}))
    u = t / (alpha + T)

    def integrand(p: float) -> float:
        return -math.expm1(-(r + x) * math.log1p(p * u)) / p * stats.beta.pdf(p, a, b + x + 1)

    inner = integrate.quad(integrand, 0, 1, limit=200, epsabs=1e-13, epsrel=1e-11)[0]
    expected = float(model.probability_alive(frame).iloc[0]) * inner
    assert float(model.expected_purchases(t, frame).iloc[0]) == pytest.approx(expected, rel=1e-8)


def test_new_customer_expectation_matches_the_closed_form() -> None:
    # E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]
    r, alpha, a, b = PARAMS.values()
    model = ModifiedBetaGeoModel.from_params(time_unit="W", **PARAMS)
    for t in (1.0, 39.0):
        direct = (
            b
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b + 1, a + b, t / (alpha + t)))
        )
        assert model.expected_purchases_new_customer(t) == pytest.approx(direct, rel=1e-10)
