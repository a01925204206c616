"""The models' shared machinery: option errors, units, compression, the optimiser, inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.errors import ModelFitError
from loyalty_metrics.models import BetaGeoModel
from loyalty_metrics.models._base import (
    Histories,
    check_option,
    compress,
    maximize,
    months_to_unit,
    summary_table,
    unit_factor,
)


def test_option_error_reads_like_scikit_learn() -> None:
    with pytest.raises(ValueError) as info:
        check_option("BetaGeoModel", "time_unit", "days", ("D", "W"))
    assert (
        str(info.value)
        == "The 'time_unit' parameter of BetaGeoModel must be one of {'D', 'W'}. Got 'days' instead."
    )


def test_units() -> None:
    assert months_to_unit("D") == 30.4375  # 365.25 / 12
    assert months_to_unit("W") == pytest.approx(30.4375 / 7)
    plain = pd.DataFrame({"T": [7.0]})
    assert unit_factor(plain, "W") == pytest.approx(1 / 7)  # days in, weeks out
    plain.attrs["loyalty_metrics.time_unit"] = "W"
    assert unit_factor(plain, "D") == 7.0


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0 / 3, 2.0]), st.floats(0, 5)),
        min_size=1,
        max_size=40,
    )
)
def test_compress_round_trips(rows: list[tuple[int, float, float]]) -> None:
    columns = [np.array(c, dtype="float64") for c in zip(*rows, strict=True)]
    distinct, weights, inverse = compress(*columns)
    for original, unique in zip(columns, distinct, strict=True):
        np.testing.assert_array_equal(unique[inverse], original)
    assert weights.sum() == len(rows)
    assert len(set(zip(*distinct, strict=True))) == len(weights)  # rows are distinct


def test_histories_thinning_is_seeded_and_keeps_the_structure() -> None:
    x = np.array([0.0, 1.0, 2.0, 2.0])
    h = Histories.build(
        x,
        np.array([0.0, 1.0, 2.0, 3.0]),
        np.full(4, 5.0),
        np.array([1000.0, 1000.0, 1000.0, 1000.0]),
    )
    a, b = h.thinned(0.1, seed=3), h.thinned(0.1, seed=3)
    np.testing.assert_array_equal(a.w, b.w)
    assert 300 < a.w.sum() < 500
    assert a.w_by_x.sum() == a.w.sum()
    assert list(h.x_values) == [0.0, 1.0, 2.0] and list(h.w_by_x) == [1000.0, 1000.0, 2000.0]


def test_summary_table_is_the_delta_method_with_log_scale_intervals() -> None:
    params = pd.Series([2.0, 0.5], index=["r", "alpha"])
    log_cov = np.diag([0.01, 0.04])  # SE of log r = 0.1, of log alpha = 0.2
    table = summary_table(params, log_cov, 0.95)
    np.testing.assert_allclose(table["std_error"], [0.2, 0.1])  # estimate * SE(log)
    np.testing.assert_allclose(
        table["ci_low"], [2.0 * np.exp(-1.959964 * 0.1), 0.5 * np.exp(-1.959964 * 0.2)], rtol=1e-6
    )
    np.testing.assert_allclose(
        table["ci_high"], [2.0 * np.exp(1.959964 * 0.1), 0.5 * np.exp(1.959964 * 0.2)], rtol=1e-6
    )
    assert table.index.name == "parameter"


def quadratic(center: np.ndarray, curvature: float, n: float):
    def loglik(v: np.ndarray) -> tuple[float, np.ndarray]:
        d = v - center
        return -n * curvature * float(d @ d) / 2, -n * curvature * d

    return loglik


def test_maximize_finds_the_optimum_and_the_observed_information() -> None:
    center = np.array([0.3, -1.2])
    fit = maximize(
        quadratic(center, 2.0, 100.0),
        np.zeros(2),
        ["p", "q"],
        owner="Test",
        n_obs=100,
        max_iter=100,
    )
    np.testing.assert_allclose(fit.log_params, center, atol=1e-9)
    np.testing.assert_allclose(fit.hessian, -200.0 * np.eye(2), rtol=1e-5)
    # a warm start with a rough Hessian converges too
    warm = maximize(
        quadratic(center, 2.0, 100.0),
        center + 0.1,
        ["p", "q"],
        owner="Test",
        n_obs=100,
        max_iter=100,
        hessian0=np.eye(2) * 3.0,
    )
    np.testing.assert_allclose(warm.log_params, center, atol=1e-9)


def test_maximize_reports_runaway_and_flat_parameters() -> None:
    with pytest.raises(ModelFitError, match=r"\['q'\] ran to the edge"):
        maximize(
            quadratic(np.array([0.0, 40.0]), 1.0, 10.0),
            np.zeros(2),
            ["p", "q"],
            owner="Test",
            n_obs=10,
            max_iter=100,
        )
    with pytest.raises(ModelFitError, match=r"do not identify parameter\(s\) \['q'\]"):

        def flat_in_q(v: np.ndarray) -> tuple[float, np.ndarray]:
            # curvature 1e-14 along q: its standard error is ~1e7
            return -(v[0] ** 2) / 2 - 1e-14 * v[1] ** 2, np.array([-v[0], -2e-14 * v[1]])

        maximize(flat_in_q, np.array([1.0, 0.0]), ["p", "q"], owner="Test", n_obs=1, max_iter=100)


def test_maximize_reports_a_saddle() -> None:
    def saddle(v: np.ndarray) -> tuple[float, np.ndarray]:
        return -(v[0] ** 2) + v[1] ** 2, np.array([-2 * v[0], 2 * v[1]])

    with pytest.raises(ModelFitError, match="not a maximum|ran to the edge"):
        maximize(saddle, np.array([0.5, 0.0]), ["p", "q"], owner="Test", n_obs=1, max_iter=100)


def test_sample_arguments_are_checked() -> None:
    model = BetaGeoModel.from_params(r=0.5, alpha=10.0, a=0.8, b=2.5)
    assert len(model.sample(0, 10.0, seed=1)) == 0
    with pytest.raises(ValueError, match="'n_customers'"):
        model.sample(-1, 10.0)
    with pytest.raises(ValueError, match="'T'"):
        model.sample(2, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="'T'"):
        model.sample(1, -1.0)
    index = model.sample(3, 10.0, seed=1).index
    assert index.name == "customer_id" and index[0] == "sim0000000"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 6), st.integers(5, 9)), min_size=1, max_size=40
    ),
    st.sampled_from([0.5, 4.0, 52.0, 1e-9]),
)
def test_one_horizon_reuses_the_x_T_compression(rows, horizon) -> None:
    # euler_core's shortcut for one horizon: the distinct (x, T, t) rows, their order and
    # each row's number are those of (x, T), with t repeated; so the CLV is unchanged.
    x, tx, T = (np.array(c, dtype="float64") for c in zip(*rows, strict=True))
    (x, tx, T), w, _ = compress(x, np.minimum(tx, T), T)
    h = Histories.build(x, tx, T, w)
    t = np.full(len(h.x), horizon)
    (x_code, T_values, t_values), weights, inverse = compress(h.x_code.astype("float64"), h.T, t)
    (x_code2, T_values2), weights2, inverse2 = h.x_and_T
    for got, expected in [
        (x_code2, x_code), (T_values2, T_values), (np.full(len(x_code2), horizon), t_values),
        (weights2, weights), (inverse2, inverse),
    ]:  # fmt: skip
        np.testing.assert_array_equal(got, expected)
