"""Pareto/NBD: the likelihood integral against its hypergeometric closed form (where scipy's
hyp2f1 is reliable) and numerical integration; extreme inputs from lifetimes' issue tracker."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from loyalty_metrics.models import ParetoNBDModel
from loyalty_metrics.models.pareto_nbd import pareto_log_integral

PARAMS = {"r": 0.5534, "alpha": 10.5802, "s": 0.6061, "beta": 11.6562}


def weeks(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs["loyalty_metrics.time_unit"] = "W"
    return out


def closed_form_a0(
    r: float, alpha: float, s: float, beta: float, x: float, tx: float, T: float
) -> float:
    # Fader & Hardie (2005) eq. 19-20, as lifetimes evaluates it
    rsx = r + s + x
    if alpha >= beta:
        top, third = alpha, s + 1
    else:
        top, third = beta, r + x
    gap = abs(alpha - beta)

    def part(t: float) -> float:
        return special.hyp2f1(rsx, third, rsx + 1, gap / (top + t)) / (top + t) ** rsx

    return part(tx) - part(T)


@pytest.mark.parametrize(
    ("r", "alpha", "s", "beta", "x", "tx", "T"),
    [
        (0.55, 10.6, 0.61, 11.7, 0, 0.0, 38.0),
        (0.55, 10.6, 0.61, 11.7, 3, 20.0, 38.0),
        (2.0, 3.0, 0.3, 30.0, 5, 1.0, 10.0),  # alpha < beta
        (0.3, 40.0, 1.5, 2.0, 2, 5.0, 60.0),  # alpha > beta
        (1.0, 5.0, 1.0, 5.0, 4, 2.0, 9.0),  # alpha == beta
    ],
)
def test_integral_matches_the_hypergeometric_closed_form(
    r: float, alpha: float, s: float, beta: float, x: float, tx: float, T: float
) -> None:
    log_i = pareto_log_integral(r, alpha, s, beta, np.array([x]), np.array([tx]), np.array([T]))[
        0
    ][0]
    # (r+s+x) I = A0
    expected = math.log(closed_form_a0(r, alpha, s, beta, x, tx, T) / (r + s + x))
    assert log_i == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_integral_matches_numerical_quadrature_for_large_frequencies() -> None:
    r, alpha, s, beta = 0.55, 10.6, 0.61, 11.7
    for x, tx, T in [(500, 30.0, 31.0), (5000, 364.0, 365.0), (2000, 2.0, 365.0)]:
        rho = r + x
        peak = -rho * math.log(alpha + tx) - (s + 1) * math.log(beta + tx)

        def scaled(tau: float, rho: float = rho, peak: float = peak) -> float:
            return math.exp(-rho * math.log(alpha + tau) - (s + 1) * math.log(beta + tau) - peak)

        width = (alpha + tx) / rho  # the integrand's scale near t_x
        value = integrate.quad(
            scaled,
            tx,
            T,
            points=[tx + k * width for k in (1, 5, 20, 80)],
            limit=500,
            epsabs=0,
            epsrel=1e-12,
        )[0]
        log_i = pareto_log_integral(
            r, alpha, s, beta, np.array([float(x)]), np.array([tx]), np.array([T])
        )[0][0]
        assert log_i == pytest.approx(peak + math.log(value), rel=1e-11)


def test_zero_length_interval_gives_minus_infinity() -> None:
    log_i, moments = pareto_log_integral(
        0.5, 1.0, 0.5, 2.0, np.array([3.0]), np.array([7.0]), np.array([7.0]), moments=True
    )
    assert log_i[0] == -np.inf
    assert (moments == 0).all()


def test_lifetimes_overflow_cases_are_finite() -> None:
    # lifetimes issue: these parameters and histories overflowed its hyp2f1-based form
    model = ParetoNBDModel.from_params(r=10.465, alpha=7.98565181e-03, s=3.0516, beta=2.820)
    frame = pd.DataFrame(
        {
            "frequency": [400, 500, 500, 40, 50],
            "recency": [5.0, 1.0, 4.0, 5.0, 1.0],
            "T": [6.0, 37.0, 37.0, 6.0, 37.0],
        }
    )
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        rows = model.log_likelihood(frame)
        alive = model.probability_alive(frame)
    assert np.isfinite(rows).all()
    assert ((alive >= 0) & (alive <= 1)).all()
    # 500 purchases in the first day, none in the 36 days since: gone
    assert alive.iloc[1] < 1e-10


def test_expectation_of_a_new_customer_by_hand() -> None:
    model = ParetoNBDModel.from_params(time_unit="W", **PARAMS)
    # r beta / (alpha (s-1)) * [1 - (beta/(beta+1))^(s-1)] at t = 1:
    # 0.6096804 * (1 - 1.0329528) / -0.3939 = 0.0510045
    assert model.expected_purchases_new_customer(1.0) == pytest.approx(0.0510045, abs=1e-7)
    s_one = ParetoNBDModel.from_params(r=1.0, alpha=2.0, s=1.0, beta=3.0)
    # s = 1: r beta / alpha * log(1 + t / beta)
    assert s_one.expected_purchases_new_customer(6.0) == pytest.approx(
        1.5 * math.log(3.0), rel=1e-12
    )


def test_conditional_expectation_by_numerical_integration() -> None:
    # Alive at T with posterior mu ~ Gamma(s, beta + T), lambda ~ Gamma(r + x, alpha + T):
    # E[Y(t)] = P(alive) * (r+x)/(alpha+T) * E_mu[(1 - exp(-mu t)) / mu]
    r, alpha, s, beta = PARAMS.values()
    model = ParetoNBDModel.from_params(time_unit="W", **PARAMS)
    x, tx, T, t = 4, 20.0, 35.0, 52.0
    frame = weeks(pd.DataFrame({"frequency": [x], "recency": [tx], "T": [T]}))
    shape, rate = s, beta + T

    def integrand(mu: float) -> float:
        density = math.exp(
            shape * math.log(rate) + (shape - 1) * math.log(mu) - rate * mu - math.lgamma(shape)
        )
        return -math.expm1(-mu * t) / mu * density

    inner = integrate.quad(integrand, 0, np.inf, limit=200, epsabs=1e-14, epsrel=1e-11)[0]
    expected = float(model.probability_alive(frame).iloc[0]) * (r + x) / (alpha + T) * inner
    assert float(model.expected_purchases(t, frame).iloc[0]) == pytest.approx(expected, rel=1e-8)


def test_probability_alive_closed_form() -> None:
    r, alpha, s, beta = PARAMS.values()
    model = ParetoNBDModel.from_params(time_unit="W", **PARAMS)
    x, tx, T = 3, 20.0, 38.0
    a0 = closed_form_a0(r, alpha, s, beta, x, tx, T)
    # 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)
    expected = 1 / (1 + s / (r + s + x) * (alpha + T) ** (r + x) * (beta + T) ** s * a0)
    frame = weeks(pd.DataFrame({"frequency": [x], "recency": [tx], "T": [T]}))
    assert float(model.probability_alive(frame).iloc[0]) == pytest.approx(expected, rel=1e-10)
