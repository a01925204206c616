"""Gamma-Gamma spend model: likelihood, expected value, the independence check, recovery."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from loyalty_metrics.errors import DataValidationError, ModelFitError
from loyalty_metrics.models import GammaGammaModel, ModelAssumptionWarning
from loyalty_metrics.models.gamma_gamma import _SpendData, gamma_gamma_loglik


def direct_loglik(p: float, q: float, gamma: float, x: float, m: float) -> float:
    # density of the mean of x Gamma(p, nu) spends, nu ~ Gamma(q, gamma)
    return (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(gamma)
        + (p * x - 1) * math.log(m)
        + p * x * math.log(x)
        - (p * x + q) * math.log(x * m + gamma)
    )


def test_log_likelihood_is_the_notes_expression() -> None:
    x = np.array([1.0, 2.0, 2.0, 7.0])
    m = np.array([10.0, 25.5, 3.0, 40.0])
    theta = np.array([6.25, 3.74, 15.44])
    total, _ = gamma_gamma_loglik(theta, _SpendData.build(x, m), grad=False)
    assert total == pytest.approx(
        sum(direct_loglik(*theta, xi, mi) for xi, mi in zip(x, m, strict=True)), rel=1e-13
    )
    rescaled = _SpendData.build(x, m).rescaled(10.0)
    # spend / 10 and gamma / 10: the density changes by the Jacobian, log 10 per customer
    assert gamma_gamma_loglik(theta / [1, 1, 10], rescaled, grad=False)[0] == pytest.approx(
        total + 4 * math.log(10), rel=1e-13
    )


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(1, 20, 200).astype("float64")
    m = rng.gamma(3.0, 10.0, 200)
    data = _SpendData.build(x, m)
    theta = np.array([2.0, 4.0, 30.0])
    _, grad = gamma_gamma_loglik(theta, data)
    numeric = []
    for i in range(3):
        up, down = theta.copy(), theta.copy()
        up[i] *= math.exp(1e-6)
        down[i] *= math.exp(-1e-6)
        numeric.append(
            (
                gamma_gamma_loglik(up, data, grad=False)[0]
                - gamma_gamma_loglik(down, data, grad=False)[0]
            )
            / 2e-6
        )
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_expected_average_value_by_hand() -> None:
    model = GammaGammaModel.from_params(p=6.0, q=4.0, gamma=15.0)
    frame = pd.DataFrame(
        {"frequency": [2, 0, 1], "monetary_value": [30.0, np.nan, 12.0]}, index=["a", "b", "c"]
    )
    # a: 6 (15 + 60) / (12 + 3) = 30; b: 6 * 15 / 3 = 30; c: 6 (15 + 12) / (6 + 3) = 18
    got = model.expected_average_value(frame)
    assert got.to_dict() == pytest.approx({"a": 30.0, "b": 30.0, "c": 18.0})
    assert got.name == "expected_average_value"
    assert model.predict(frame).equals(got)
    heavy_tail = GammaGammaModel.from_params(p=6.0, q=0.8, gamma=15.0)
    # q <= 1: the population mean does not exist
    assert np.isnan(heavy_tail.expected_average_value(frame)["b"])
    assert np.isfinite(heavy_tail.expected_average_value(frame)["a"])


def test_parameters_are_recovered_from_simulated_spend() -> None:
    truth = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    generator = GammaGammaModel.from_params(**truth)
    frequency = pd.Series(np.random.default_rng(3).integers(1, 12, 8000))
    spend = generator.sample(frequency, seed=4)
    frame = pd.DataFrame({"frequency": frequency, "monetary_value": spend})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # independent by construction: no warning
        model = GammaGammaModel().fit(frame)
    table = model.summary(level=0.997)
    values = pd.Series(truth)
    assert ((table["estimate"] - values).abs() < 3 * table["std_error"]).all(), table
    assert ((table["ci_low"] <= values) & (values <= table["ci_high"])).all(), table
    assert model.n_customers_ == 8000
    assert model.aic_ == pytest.approx(6 - 2 * model.log_likelihood_)


def test_sample_is_reproducible_and_nan_without_repeat_purchases() -> None:
    model = GammaGammaModel.from_params(p=6.0, q=4.0, gamma=15.0)
    frequency = pd.Series([0, 1, 5], index=["a", "b", "c"])
    first = model.sample(frequency, seed=1)
    assert first.equals(model.sample(frequency, seed=1))
    assert first.index.equals(frequency.index)
    assert np.isnan(first["a"]) and (first[["b", "c"]] > 0).all()
    with pytest.raises(ValueError, match="whole numbers"):
        model.sample([1.5])


def test_correlated_frequency_and_spend_warn() -> None:
    # Gamma-Gamma spend, then scaled up with frequency: frequent buyers spend more
    frequency = pd.Series(np.random.default_rng(0).integers(1, 30, 800))
    spend = GammaGammaModel.from_params(p=6.0, q=4.0, gamma=15.0).sample(frequency, seed=1)
    frame = pd.DataFrame({"frequency": frequency, "monetary_value": spend * frequency})
    with pytest.warns(ModelAssumptionWarning, match=r"correlated \(Pearson r = 0\.\d\d"):
        model = GammaGammaModel().fit(frame)
    assert model.frequency_monetary_corr_ > 0.3
    # a higher threshold silences it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GammaGammaModel(corr_threshold=0.99).fit(frame)


def test_zero_spend_customers_are_left_out_with_a_warning() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "frequency": np.r_[rng.integers(1, 6, 300), [2, 3]],
            "monetary_value": np.r_[rng.gamma(4, 10, 300), [0.0, 0.0]],
        }
    )
    with pytest.warns(ModelAssumptionWarning, match="2 repeat customer"):
        model = GammaGammaModel().fit(frame)
    assert model.n_customers_ == 300


def test_spend_without_heterogeneity_is_not_identified() -> None:
    # every customer's spend has the same mean: q and gamma run away together
    rng = np.random.default_rng(0)
    x = rng.integers(1, 30, 500)
    frame = pd.DataFrame({"frequency": x, "monetary_value": 5.0 * rng.gamma(20 * x, 1 / (20 * x))})
    with pytest.raises(ModelFitError, match="not identified|do not identify"):
        GammaGammaModel().fit(frame)


def test_bad_input_and_fit_errors() -> None:
    with pytest.raises(DataValidationError, match="lacks column"):
        GammaGammaModel().fit(pd.DataFrame({"frequency": [1]}))
    with pytest.raises(DataValidationError, match="missing, negative"):
        GammaGammaModel().fit(pd.DataFrame({"frequency": [1, 2], "monetary_value": [np.nan, 3.0]}))
    with pytest.raises(ModelFitError, match="at least two"):
        GammaGammaModel().fit(pd.DataFrame({"frequency": [0, 2], "monetary_value": [np.nan, 3.0]}))
    with pytest.raises(ValueError, match="'corr_threshold'"):
        GammaGammaModel(corr_threshold=2).fit(
            pd.DataFrame({"frequency": [1, 2], "monetary_value": [1.0, 3.0]})
        )
    with pytest.raises(ModelFitError, match="not fitted"):
        GammaGammaModel().expected_average_value(
            pd.DataFrame({"frequency": [1], "monetary_value": [1.0]})
        )
    with pytest.raises(ValueError, match="finite and > 0"):
        GammaGammaModel.from_params(p=-1.0, q=2.0, gamma=1.0)
    assert repr(GammaGammaModel()) == "GammaGammaModel(corr_threshold=0.3, max_iter=2000)"
