"""The metric registry, scikit-learn style: every registered KPI is checked the same way.

For every metric of :data:`~loyalty_metrics.metrics.registry.METRICS`: ``kpis(data)[m]``
equals the public function's value, does not depend on the order of the rows, stays in its
declared range, is NaN (ratios) or 0 (totals) on empty input, and equals the value computed
on the data truncated at ``end``. The registry's declarations are checked against
``kpis()`` and ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics.metrics._common import new_customer_mask, total_revenue
from loyalty_metrics.metrics.registry import AGGREGATES, KPI_KEYS, METRICS, metric

ROOT = Path(__file__).resolve().parents[1]
# Two customers per 3 days of one year is too little for churn; two years of 400 customers.
DATA = lm.generate_sample(400, seed=3, months=30)
TABLES = ("orders", "surveys", "events", "spend", "customers")
NAMES = [m.name for m in METRICS]


def _kpis(data: dict[str, pd.DataFrame], **kwargs: object) -> pd.Series:
    return lm.kpis(*(data[t] for t in TABLES), **kwargs)


def _window(data: dict[str, pd.DataFrame]) -> dict[str, pd.Timestamp]:
    dates = data["orders"]["order_date"]
    return {"start": dates.min().normalize(), "end": dates.max().normalize()}


# The public way to each value: the DESIGN function where there is one, else the summary or
# the breakdown that reports it.
def _public(name: str, d: dict[str, pd.DataFrame]) -> float:
    orders, surveys, events = d["orders"], d["surveys"], d["events"]
    spend, customers = d["spend"], d["customers"]
    w = _window(d)
    summary = lm.customer_summary(orders)
    breakdown = lm.nps_breakdown(surveys, **w)
    calls = {
        "customers": lambda: len(summary),
        "new_customers": lambda: int(new_customer_mask(summary).sum()),
        "purchases": lambda: int(summary["purchases"].sum()),
        "revenue": lambda: total_revenue(summary),
        "average_ticket": lambda: lm.average_ticket(orders),
        "purchase_frequency": lambda: lm.purchase_frequency(orders),
        "repeat_purchase_rate": lambda: lm.repeat_purchase_rate(orders),
        "upsell_ratio": lambda: lm.upsell_ratio(orders),
        "upsell_share": lambda: lm.upsell_share(orders),
        "nps": lambda: lm.nps(surveys, **w),
        "nps_ci_low": lambda: float(breakdown["ci_low"].iloc[0]),
        "nps_ci_high": lambda: float(breakdown["ci_high"].iloc[0]),
        "responses": lambda: float(breakdown["responses"].iloc[0]),
        "csat": lambda: lm.csat(surveys, **w),
        "customer_loyalty_index": lambda: lm.customer_loyalty_index(
            lm.nps(surveys, **w), lm.repeat_purchase_rate(orders), lm.upsell_share(orders)
        ),
        "churn_rate": lambda: lm.churn_rate(orders),
        "retention_rate": lambda: lm.retention_rate(orders),
        "clv": lambda: lm.clv(orders),
        "cac": lambda: lm.cac(spend, orders),
        "ltv_cac_ratio": lambda: lm.ltv_cac_ratio(spend, orders),
        "engagement_score": lambda: lm.engagement_score(events, orders, customers, end=w["end"]),
    }
    return float(calls[name]())


def _same(actual: float, expected: float) -> bool:
    """Equal, or both NaN; 1e-12 relative where the two paths sum floats in another order."""
    if math.isnan(expected):
        return math.isnan(actual)
    return actual == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.fixture(scope="module")
def snapshot() -> pd.Series:
    return _kpis(DATA)


def test_registry_is_the_kpi_contract() -> None:
    assert list(KPI_KEYS) == list(lm.KPI_KEYS) == NAMES
    assert len(set(NAMES)) == len(NAMES)
    for m in METRICS:
        assert set(m.aggregates) <= set(AGGREGATES), m.name
        assert m.unit in ("count", "money", "percent", "points", "ratio"), m.name
        assert m.value_range[0] < m.value_range[1], m.name
        assert set(m.inputs) <= set(TABLES), m.name
        if m.function is not None:
            assert callable(getattr(lm, m.function)), m.name


@pytest.mark.parametrize("name", NAMES)
def test_kpis_equal_the_public_function(name: str, snapshot: pd.Series) -> None:
    assert not math.isnan(snapshot[name]), "the test data must define every KPI"
    assert _same(snapshot[name], _public(name, DATA))


@pytest.mark.parametrize("name", NAMES)
def test_kpis_do_not_depend_on_row_order(name: str, snapshot: pd.Series) -> None:
    rng = np.random.default_rng(0)
    shuffled = {t: DATA[t].iloc[rng.permutation(len(DATA[t]))] for t in TABLES}
    assert _same(_kpis(shuffled)[name], snapshot[name])


@pytest.mark.parametrize("name", NAMES)
def test_kpis_stay_in_range(name: str, snapshot: pd.Series) -> None:
    low, high = metric(name).value_range
    by_month = lm.kpis_by_period(*(DATA[t] for t in TABLES), freq="Q")[name].dropna()
    values = pd.concat([pd.Series([snapshot[name]]), by_month])
    assert len(values) > 1
    assert ((values >= low) & (values <= high)).all(), values[(values < low) | (values > high)]


@pytest.mark.parametrize("name", NAMES)
def test_kpis_on_empty_input(name: str) -> None:
    empty = {t: DATA[t].iloc[:0] for t in TABLES}
    value = _kpis(empty)[name]
    if metric(name).total and "orders" in metric(name).inputs:
        assert value == 0  # nothing bought: a count or a sum is 0, not undefined
    else:
        assert math.isnan(value)  # no window without orders: undefined


@pytest.mark.parametrize("name", NAMES)
def test_kpis_as_of_equal_kpis_on_truncated_data(name: str) -> None:
    end = pd.Timestamp("2024-09-15")
    cut = {}
    for table in TABLES:
        frame = DATA[table]
        column = {"orders": "order_date", "surveys": "response_date", "events": "timestamp",
                  "spend": "date", "customers": "signup_date"}[table]  # fmt: skip
        dates = frame[column]
        cut[table] = frame.loc[dates.isna() | (dates < end + pd.Timedelta(days=1))]
    assert _same(_kpis(cut)[name], _kpis(DATA, end=end)[name])


def test_docs_list_every_registered_metric() -> None:
    from loyalty_metrics.metrics.registry import metrics_markdown

    text = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert metrics_markdown() in text, "docs/metrics.md is stale: run `make docs`"
