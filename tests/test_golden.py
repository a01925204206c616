"""Nothing may move: every figure equals the baseline saved before issue 12's refactor.

``tests/data/golden/make_golden.py`` computed every KPI, ``kpis_by_period`` cell, cohort cell,
ladder stage, RFM segment, customer-summary row, churn and repeat look-back and model
prediction on ``sample_data/``, on a copy with the netting rule's corner cases forced in
(blank, shared and two-day order ids) and on a generated 1M-line set, with the code as it was
before the refactor. Here the current code recomputes each case and must agree.

Text, integers, dates and the position of every NaN must be identical. Floats may differ by
1e-12 relative (and 1e-9 absolute, for values that are sums cancelling to about 0): netting
lines in another order changes a floating-point sum in its last bits, and nothing else is
allowed to change. On the 1M-line set the per-customer tables (summary, ladder, RFM, model
predictions) are kept as a digest per column: text, integer and date columns must match an
order-sensitive hash of their exact values; float columns their sum and position-weighted sum
to 1e-12 (so a value moved to another customer fails).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_PATH = Path(__file__).parent / "data" / "golden" / "make_golden.py"
_spec = importlib.util.spec_from_file_location("make_golden", _PATH)
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

RTOL = 1e-12
ATOL = 1e-9

_FRAMES: dict[str, dict[str, pd.DataFrame]] = {}


def _frames(dataset: str) -> dict[str, pd.DataFrame]:
    if dataset not in _FRAMES:
        _FRAMES[dataset] = golden.load(dataset)
    return _FRAMES[dataset]


def _case_names(dataset: str) -> list[str]:
    return sorted(p.stem for p in (_PATH.parent / dataset).glob("*.parquet"))


def _assert_same_table(actual: pd.DataFrame, expected: pd.DataFrame, where: str) -> None:
    assert list(actual.columns) == list(expected.columns), where
    assert len(actual) == len(expected), f"{where}: {len(actual)} rows, expected {len(expected)}"
    for column in expected.columns:
        a, e = actual[column], expected[column]
        label = f"{where}, column {column!r}"
        if pd.api.types.is_float_dtype(e.dtype):
            a_values = a.to_numpy(dtype="float64", na_value=np.nan)
            e_values = e.to_numpy(dtype="float64")
            np.testing.assert_array_equal(np.isnan(a_values), np.isnan(e_values), err_msg=label)
            np.testing.assert_allclose(
                a_values, e_values, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=label
            )
        else:
            pd.testing.assert_series_equal(a, e, check_dtype=False, check_names=False, obj=label)


def _assert_same_digest(actual: pd.DataFrame, expected: pd.DataFrame, where: str) -> None:
    assert list(actual["column"]) == list(expected["column"]), where
    for a, e in zip(actual.itertuples(), expected.itertuples(), strict=True):
        label = f"{where}, column {e.column!r}"
        assert (a.rows, a.nulls, a.exact) == (e.rows, e.nulls, e.exact), label
        if e.exact:
            assert a.hash == e.hash, label
        else:
            np.testing.assert_allclose(
                [a.sum, a.weighted_sum], [e.sum, e.weighted_sum], rtol=RTOL, err_msg=label
            )


def _check(dataset: str, case: str) -> None:
    expected = pd.read_parquet(golden.path(dataset, case))
    actual = golden.compute(dataset, case, golden.cases(_frames(dataset))[case])
    where = f"{dataset}/{case}"
    if dataset == "large" and case in golden.PER_CUSTOMER:
        _assert_same_digest(actual, expected, where)
    else:
        _assert_same_table(actual, expected, where)


@pytest.mark.parametrize("case", _case_names("sample"))
def test_sample_data_figures_have_not_moved(case: str) -> None:
    _check("sample", case)


@pytest.mark.parametrize("case", _case_names("messy"))
def test_netting_corner_cases_have_not_moved(case: str) -> None:
    _check("messy", case)


@pytest.mark.slow
def test_one_million_lines_have_not_moved() -> None:
    for case in _case_names("large"):
        _check("large", case)


def test_the_baseline_covers_every_case() -> None:
    for dataset in ("sample", "messy", "large"):
        assert _case_names(dataset) == sorted(golden.cases(_frames("sample"))), dataset


def test_messy_orders_hold_the_corner_cases() -> None:
    """The messy set really has blank, shared and two-day order ids (else it tests nothing)."""
    orders = _frames("messy")["orders"]
    assert orders["order_id"].isna().sum() > 100
    owners = orders.dropna(subset=["order_id"]).groupby("order_id")["customer_id"].nunique()
    assert (owners > 1).sum() > 100
    days = orders.dropna(subset=["order_id"]).groupby(["customer_id", "order_id"])["order_date"]
    assert (days.nunique() > 1).sum() > 100


@pytest.mark.parametrize("dataset", ["sample", "messy"])
def test_one_shared_kernel_moves_nothing(dataset: str) -> None:
    """Every case computed inside one ``shared_kernels()`` block (as the report does: the lines
    netted once, each function truncating that kernel to its own end) equals the baseline."""
    from loyalty_metrics.orders import shared_kernels

    cases = golden.cases(_frames(dataset))
    with shared_kernels():
        for case in _case_names(dataset):
            expected = pd.read_parquet(golden.path(dataset, case))
            actual = golden.compute(dataset, case, cases[case])
            _assert_same_table(actual, expected, f"{dataset}/{case} (shared kernel)")
