"""NPS, its breakdowns, test and sample size, and CSAT: tiny tables worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics import _stats
from loyalty_metrics.errors import ConfigError
from loyalty_metrics.metrics.survey import (
    NPS_COLUMNS,
    csat,
    nps,
    nps_breakdown,
    nps_difference,
    nps_sample_size,
)

Z95 = 1.959963984540054


def surveys(scores, dates=None, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"score": np.asarray(scores, dtype="float64"), **columns})
    if dates is not None:
        frame.insert(
            0, "response_date", pd.to_datetime(dates, format="mixed").astype("datetime64[ns]")
        )
    for name in ("customer_id", "segment"):
        if name in frame.columns and name == "segment":
            frame[name] = frame[name].astype("category")
    return frame


# ---------------------------------------------------------------------------------------------
# nps


def test_nps_by_hand():
    # promoters 10, 10, 9 = 3; passives 8, 7 = 2; detractors 3 = 1; NPS = 100 * (3 - 1) / 6
    assert nps(surveys([10, 10, 9, 8, 7, 3])) == pytest.approx(100 * 2 / 6)


def test_nps_boundaries_of_the_categories():
    # 9 is a promoter, 7 a passive, 6 a detractor: 100 * (1 - 1) / 3
    assert nps(surveys([9, 7, 6])) == 0.0


def test_nps_all_promoters_and_all_detractors():
    assert nps(surveys([9, 10, 10])) == 100.0
    assert nps(surveys([0, 6, 3])) == -100.0


def test_nps_empty_is_nan():
    assert math.isnan(nps(surveys([])))


def test_nps_ignores_csat_only_rows():
    # the NaN score is a CSAT-only response: 2 responses, 1 promoter, 1 detractor
    frame = surveys([10, np.nan, 2], csat=[5.0, 4.0, 1.0])
    assert nps(frame) == 0.0


def test_nps_accepts_plain_scores():
    assert nps([10, 10, 0, 8]) == pytest.approx(25.0)  # 100 * (2 - 1) / 4


def test_nps_window_is_inclusive_calendar_days():
    frame = surveys(
        [10, 0, 10, 0],
        dates=["2024-01-01", "2024-01-31 18:00", "2024-02-01", "2023-12-31 23:59"],
    )
    # in 2024-01-01..2024-01-31: the 10 of Jan 1 and the 0 at 18:00 on Jan 31 -> 0
    assert nps(frame, start="2024-01-01", end="2024-01-31") == 0.0
    # nothing after end is used: Feb 1 (a 10) would make it positive
    assert nps(frame, end="2024-01-31") == pytest.approx(100 * (1 - 2) / 3)


def test_nps_undated_rows_are_outside_a_dated_window():
    frame = surveys([10, 0], dates=["2024-01-01", None])
    assert nps(frame) == 100.0


def test_nps_invariant_under_row_order():
    frame = surveys([10, 3, 8, 9, 0, 7], dates=pd.date_range("2024-01-01", periods=6))
    assert nps(frame) == nps(frame.iloc[::-1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_nps_property_range_and_order(scores, rnd):
    value = nps(surveys(scores))
    assert -100.0 <= value <= 100.0
    shuffled = list(scores)
    rnd.shuffle(shuffled)
    assert nps(surveys(shuffled)) == pytest.approx(value, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# nps_breakdown


def test_breakdown_adjusted_wald_interval_by_hand():
    table = nps_breakdown(surveys([10, 10, 9, 8, 7, 3]))
    row = table.loc["all"]
    assert list(table.columns) == list(NPS_COLUMNS)
    assert (row["responses"], row["promoters"], row["passives"], row["detractors"]) == (6, 3, 2, 1)
    assert row["promoters_share"] == pytest.approx(50.0)
    assert row["passives_share"] == pytest.approx(100 * 2 / 6)
    assert row["nps"] == pytest.approx(100 * 2 / 6)
    # n' = 9, p' = 3.75 / 9, d' = 1.75 / 9, SE' = sqrt((p' + d' - (p' - d')^2) / 9)
    p, d = 3.75 / 9, 1.75 / 9
    se = math.sqrt((p + d - (p - d) ** 2) / 9)
    assert row["ci_low"] == pytest.approx(100 * (p - d - Z95 * se))  # about -26.74
    assert row["ci_high"] == pytest.approx(100 * (p - d + Z95 * se))  # about 71.19
    assert bool(row["low_n"])


def test_breakdown_wald_interval_by_hand():
    row = nps_breakdown(surveys([10, 10, 9, 8, 7, 3]), method="wald").loc["all"]
    # p = 3/6, d = 1/6, SE = sqrt((p + d - (p - d)^2) / 6)
    p, d = 0.5, 1 / 6
    se = math.sqrt((p + d - (p - d) ** 2) / 6)
    assert row["ci_low"] == pytest.approx(100 * (p - d - Z95 * se))
    assert row["ci_high"] == pytest.approx(100 * (p - d + Z95 * se))


def test_breakdown_interval_is_clipped():
    # all promoters: adjusted upper bound 100 * (0.5 + 1.96 * 0.2887) = 156.6 -> 100
    row = nps_breakdown(surveys([9, 10, 10])).loc["all"]
    assert row["nps"] == 100.0
    assert row["ci_high"] == 100.0
    assert -100.0 <= row["ci_low"] < 100.0
    row = nps_breakdown(surveys([0, 0, 1]), method="wald").loc["all"]
    assert (row["ci_low"], row["ci_high"]) == (-100.0, -100.0)  # zero variance


def test_breakdown_level_widens_the_interval():
    frame = surveys([10] * 20 + [5] * 10 + [8] * 10)
    narrow = nps_breakdown(frame, level=0.8).loc["all"]
    wide = nps_breakdown(frame, level=0.99).loc["all"]
    assert wide["ci_low"] < narrow["ci_low"] < narrow["ci_high"] < wide["ci_high"]


def test_breakdown_by_segment_and_low_n_flag():
    frame = surveys([10] * 1000 + [10, 0], segment=["big"] * 1000 + ["small"] * 2)
    table = nps_breakdown(frame, by="segment")
    assert table.index.name == "segment"
    assert table.loc["big", "responses"] == 1000
    assert table.loc["big", "nps"] == 100.0
    # n = 1000, half-width ~ 0.4 points: trustworthy
    assert not table.loc["big", "low_n"]
    # n = 2 < 30: flagged
    assert table.loc["small", "low_n"]
    assert table.loc["small", "nps"] == 0.0


def test_breakdown_low_n_for_wide_intervals_even_with_many_responses():
    # n = 100, half promoters / half detractors: half-width ~ 19 points > 10
    row = nps_breakdown(surveys([10] * 50 + [0] * 50)).loc["all"]
    assert row["responses"] >= 30
    assert row["ci_high"] - row["ci_low"] > 20
    assert row["low_n"]


def test_breakdown_by_customer_mapping_leaves_out_anonymous():
    frame = surveys([10, 0, 9], customer_id=["a", "b", None])
    groups = pd.Series({"a": "gold", "b": "gold"}, name="tier")
    table = nps_breakdown(frame, by=groups)
    assert table.index.name == "tier"
    assert table.loc["gold", "responses"] == 2  # the anonymous 9 has no group


def test_breakdown_freq_one_row_per_period_including_empty_ones():
    frame = surveys([10, 0, 10], dates=["2024-01-03", "2024-01-20", "2024-03-31 18:00"])
    table = nps_breakdown(frame, freq="M")
    assert list(table.index) == list(pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"]))
    assert table.index.name == "period_end"
    assert table["responses"].tolist() == [2, 0, 1]
    assert table["nps"].iloc[0] == 0.0
    assert math.isnan(table["nps"].iloc[1])  # no response in February
    assert table["nps"].iloc[2] == 100.0


def test_breakdown_freq_last_period_is_clipped_to_end():
    frame = surveys([10, 0, 10], dates=["2024-01-03", "2024-02-10", "2024-02-20"])
    table = nps_breakdown(frame, freq="M", end="2024-02-15")
    assert table.index[-1] == pd.Timestamp("2024-02-15")
    assert table["responses"].tolist() == [1, 1]  # Feb 20 is after end


def test_breakdown_rolling_window_pools_responses():
    # Jan 1: ten 10s; Jan 2: one 0. A 2-day window at Jan 2 pools 11 responses:
    # 100 * (10 - 1) / 11 = 81.8, not the mean of the daily scores (100 + -100) / 2 = 0
    frame = surveys([10] * 10 + [0], dates=["2024-01-01"] * 10 + ["2024-01-02"])
    table = nps_breakdown(frame, window="2D")
    assert table.loc[pd.Timestamp("2024-01-02"), "nps"] == pytest.approx(100 * 9 / 11)
    assert table.loc[pd.Timestamp("2024-01-01"), "responses"] == 10
    # a 1-day window at Jan 2 holds only the 0
    one_day = nps_breakdown(frame, window="1D")
    assert one_day.loc[pd.Timestamp("2024-01-02"), "nps"] == -100.0


def test_breakdown_rolling_window_at_period_ends_and_by_group():
    frame = surveys(
        [10, 0, 10, 10],
        dates=["2024-01-02", "2024-01-31", "2024-02-15", "2024-02-29"],
        segment=["a", "b", "a", "a"],
    )
    # 30D at Jan 31 covers Jan 2..Jan 31; at Feb 29 covers Jan 31..Feb 29
    table = nps_breakdown(frame, window="30D", freq="M")
    assert table["responses"].tolist() == [2, 3]
    by = nps_breakdown(frame, window="30D", freq="M", by="segment")
    assert by.loc[(pd.Timestamp("2024-02-29"), "a"), "responses"] == 2
    assert by.loc[(pd.Timestamp("2024-02-29"), "b"), "responses"] == 1


def test_breakdown_rolling_window_looks_back_before_start():
    frame = surveys([0, 10], dates=["2024-01-01", "2024-01-10"])
    table = nps_breakdown(frame, window="30D", start="2024-01-10")
    assert table.index[0] == pd.Timestamp("2024-01-10")
    assert table["responses"].iloc[0] == 2  # the Jan 1 response is inside the 30 days


def test_breakdown_empty_surveys():
    table = nps_breakdown(surveys([]))
    assert table.loc["all", "responses"] == 0
    assert math.isnan(table.loc["all", "nps"])


def test_breakdown_parameter_errors():
    frame = surveys([10], dates=["2024-01-01"])
    with pytest.raises(
        ConfigError, match=r"The 'method' parameter of nps_breakdown must be one of"
    ):
        nps_breakdown(frame, method="exact")
    with pytest.raises(ConfigError, match="'freq'"):
        nps_breakdown(frame, freq="days")
    with pytest.raises(ConfigError, match="'window'"):
        nps_breakdown(frame, window="1M")
    with pytest.raises(ConfigError, match="response_date"):
        nps_breakdown(surveys([10]), freq="M")
    with pytest.raises(ConfigError, match="'by'"):
        nps_breakdown(frame, by="region")


# ---------------------------------------------------------------------------------------------
# nps_difference and nps_sample_size


def test_difference_by_hand():
    a = [10] * 60 + [3] * 40  # NPS 20
    b = [10] * 40 + [3] * 60  # NPS -20
    result = nps_difference(a, b)
    # p'_a = 60.75 / 103, d'_a = 40.75 / 103; b mirrored
    pa, da = 60.75 / 103, 40.75 / 103
    var = (pa + da - (pa - da) ** 2) / 103
    se = 100 * math.sqrt(2 * var)
    z = 100 * 2 * (pa - da) / se
    assert result["difference"] == pytest.approx(40.0)
    assert result["se"] == pytest.approx(se)
    assert result["z"] == pytest.approx(z)  # about 2.86
    assert result["p_value"] == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(z / math.sqrt(2)))))
    assert result["ci_low"] == pytest.approx(100 * 2 * (pa - da) - Z95 * se)
    assert result["ci_low"] > 0  # significant at 95%


def test_difference_of_identical_samples_is_not_significant():
    result = nps_difference([10, 8, 3], [10, 8, 3])
    assert result["difference"] == 0.0
    assert result["z"] == 0.0
    assert result["p_value"] == pytest.approx(1.0)


def test_difference_with_an_empty_sample_is_nan():
    result = nps_difference([10, 8], [])
    assert result["responses_b"] == 0
    assert math.isnan(result["z"]) and math.isnan(result["p_value"])


def test_sample_size_by_hand():
    # worst case v = 1: n' = (100 * 1.959964 / 5)^2 = 1536.6 -> n = ceil(1536.6 - 3) = 1534
    assert nps_sample_size(5) == 1534
    assert nps_sample_size(5, method="wald") == 1537
    # v = 0.5 + 0.2 - 0.3^2 = 0.61: n' = 1536.6 * 0.61 = 937.3 -> 935
    assert nps_sample_size(5, promoters=50, detractors=20) == 935
    # a bigger margin needs fewer responses
    assert nps_sample_size(10) < nps_sample_size(5)


def test_sample_size_gives_the_margin():
    n = nps_sample_size(7)
    # worst case interval at that n: half-width <= 7 points
    low, high = _stats.nps_interval(n / 2, n / 2, n)
    assert (float(high) - float(low)) / 2 <= 7 + 1e-9


def test_sample_size_errors():
    with pytest.raises(ConfigError, match="'margin'"):
        nps_sample_size(0)
    with pytest.raises(ConfigError, match="at most 100"):
        nps_sample_size(5, promoters=80, detractors=40)


# ---------------------------------------------------------------------------------------------
# The interval's coverage (seeded simulation)


@pytest.mark.parametrize("n", [30, 1000])
def test_adjusted_wald_coverage_is_close_to_nominal(n):
    rng = np.random.default_rng(20240101 + n)
    shares = np.array([0.45, 0.30, 0.25])  # promoters, passives, detractors: true NPS = 20
    draws = rng.multinomial(n, shares, size=4000)
    low, high = _stats.nps_interval(draws[:, 0], draws[:, 2], n)
    coverage = float(np.mean((low <= 20.0) & (high >= 20.0)))
    print(f"adjusted-Wald 95% coverage at n={n}: {coverage:.3f}")
    assert 0.92 <= coverage <= 0.98


# ---------------------------------------------------------------------------------------------
# csat


def test_csat_by_hand():
    # answers 5, 4, 3, 2, 1 (the NaN is an NPS-only row): 2 of 5 are 4 or 5 -> 40%
    frame = surveys([9, 8, 7, 6, 5, 10], csat=[5.0, 4.0, 3.0, 2.0, 1.0, np.nan])
    assert csat(frame) == pytest.approx(40.0)


def test_csat_without_column_or_answers_is_nan():
    assert math.isnan(csat(surveys([9, 10])))
    assert math.isnan(csat(surveys([9], csat=[np.nan])))


def test_csat_window():
    frame = surveys([9, 9], dates=["2024-01-31 18:00", "2024-02-01"], csat=[5.0, 1.0])
    assert csat(frame, end="2024-01-31") == 100.0


def test_csat_breakdown_carries_wilson_interval():
    frame = surveys(
        [9] * 6, csat=[5.0, 4.0, 1.0, 5.0, 2.0, 2.0], segment=["a", "a", "a", "b", "b", "b"]
    )
    table = csat(frame, by="segment")
    # a: 2 of 3; b: 1 of 3
    assert table["csat"].tolist() == pytest.approx([200 / 3, 100 / 3])
    assert table["n"].tolist() == [3, 3]
    assert table["successes"].tolist() == [2, 1]
    low, high = _stats.wilson_interval(2, 3)
    assert table.loc["a", "ci_low"] == pytest.approx(float(low))
    assert table.loc["a", "ci_high"] == pytest.approx(float(high))
    assert table["low_n"].all()


def test_csat_freq():
    frame = surveys(
        [9, 9, 9], dates=["2024-01-05", "2024-02-05", "2024-02-06"], csat=[5.0, 1.0, 4.0]
    )
    table = csat(frame, freq="M")
    assert table["csat"].tolist() == [100.0, 50.0]
    assert table.index.name == "period_end"
