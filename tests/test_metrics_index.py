"""Customer Loyalty Index: the (weighted) mean of NPS, repeat rate and upsell share."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.errors import ConfigError
from loyalty_metrics.metrics.index import customer_loyalty_index


def test_plain_mean_by_hand():
    assert customer_loyalty_index(-30.0, 60.0, 30.0) == pytest.approx(20.0)  # (-30 + 60 + 30) / 3


def test_nps_on_percent_scale():
    # (-30 + 100) / 2 = 35: (35 + 60 + 30) / 3
    expected = (35 + 60 + 30) / 3
    assert customer_loyalty_index(-30.0, 60.0, 30.0, nps_scale="percent") == pytest.approx(
        expected
    )
    assert customer_loyalty_index(-30.0, 60.0, 30.0, nps_scale="0-100") == pytest.approx(expected)


def test_weights_mapping_and_sequence():
    weights = {"nps": 0, "repeat_purchase_rate": 3, "upsell_share": 1}
    # (0 * -30 + 3 * 60 + 1 * 30) / 4 = 52.5
    assert customer_loyalty_index(-30.0, 60.0, 30.0, weights=weights) == pytest.approx(52.5)
    assert customer_loyalty_index(-30.0, 60.0, 30.0, weights=[0, 3, 1]) == pytest.approx(52.5)


def test_nan_input_gives_nan():
    assert math.isnan(customer_loyalty_index(float("nan"), 60.0, 30.0))


def test_series_in_series_out():
    result = customer_loyalty_index(
        pd.Series([0.0, 30.0]), pd.Series([30.0, 60.0]), pd.Series([60.0, 0.0])
    )
    assert isinstance(result, pd.Series)
    assert result.tolist() == pytest.approx([30.0, 30.0])


def test_returns_a_plain_float_for_scalars():
    assert type(customer_loyalty_index(np.float64(1.0), 2.0, 3.0)) is float


def test_parameter_errors():
    with pytest.raises(ConfigError, match="The 'nps_scale' parameter of customer_loyalty_index"):
        customer_loyalty_index(1.0, 2.0, 3.0, nps_scale="ratio")
    with pytest.raises(ConfigError, match="'weights'"):
        customer_loyalty_index(1.0, 2.0, 3.0, weights=[1, 1])
    with pytest.raises(ConfigError, match="'weights'"):
        customer_loyalty_index(1.0, 2.0, 3.0, weights=[0, 0, 0])


@settings(max_examples=80, deadline=None)
@given(
    st.floats(-100, 100, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
)
def test_property_cli_is_the_mean_of_its_inputs(nps, repeat, upsell):
    assert customer_loyalty_index(nps, repeat, upsell) == pytest.approx(
        (nps + repeat + upsell) / 3, abs=1e-9
    )
    percent = customer_loyalty_index(nps, repeat, upsell, nps_scale="percent")
    assert 0.0 - 1e-9 <= percent <= 100.0 + 1e-9
