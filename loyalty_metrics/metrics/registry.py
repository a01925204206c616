"""The metric registry: every KPI of :func:`~loyalty_metrics.kpis`, declared once.

Shape
-----
A KPI is computed in two steps, so that any engine can mirror it:

1. **Aggregates**: a handful of counts and sums over the window (:data:`AGGREGATES`, e.g.
   ``customers`` = customers with a purchase in the window, ``repeat_customers``,
   ``promoters``, ``churn_cohort``...). The pandas engine takes them from the order kernel,
   a customer summary or the survey/event rows; a SQL engine computes the same ones with
   ``COUNT``/``SUM`` over its own tables. An aggregate whose input table is absent is NaN.
2. **Formula**: each :class:`Metric`'s ``compute(aggregates, options)`` turns the aggregates
   into the value, in plain float arithmetic (a zero or NaN denominator gives NaN).

Each :class:`Metric` has ``name`` (the key of ``kpis()``), ``label`` and ``unit`` (what
renderers print), ``definition`` (one sentence, as in ``docs/metrics.md``), ``inputs`` (the
tables it needs), ``aggregates`` (what ``compute`` reads), ``value_range`` (the bounds of a
defined value) and ``function`` (the public function giving the same value, if any; those
functions are thin wrappers over the same formula). A metric whose only aggregate is itself
(``customers``, ``revenue``...) is a ``total``: 0 when nothing happened, where a ratio is NaN. :data:`METRICS` lists them in the order
of DESIGN section 4; ``kpis()``, the CLI, the report's cards, the export's columns, the
generated part of ``docs/metrics.md`` and the registry tests all iterate it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._stats import nps_interval
from ..options import MetricOptions
from ._common import (
    Span,
    check_number,
    check_option,
    check_weights,
    new_customer_mask,
    parse_span,
    summary_window,
    total_revenue,
)
from .index import CLI_INPUTS, customer_loyalty_index

__all__ = [
    "AGGREGATES",
    "KPI_KEYS",
    "METRICS",
    "Metric",
    "ParsedOptions",
    "churn_value",
    "clv_value",
    "evaluate",
    "lifespan_from_churn",
    "metric",
    "parse_options",
    "summary_aggregates",
    "summary_value",
]

NAN = float("nan")

#: The aggregates, with what each counts or sums (over the window unless said otherwise).
AGGREGATES: dict[str, str] = {
    "customers": "customers with at least one purchase in the window",
    "new_customers": "customers whose first purchase ever (on or before end) is in the window",
    "purchases": "purchases (orders with net amount >= -1e-6) dated in the window",
    "revenue": "sum of every order line's amount dated in the window",
    "repeat_customers": "customers with at least two purchases in the window",
    "single_category_customers": "customers whose purchases' lines hold exactly one category",
    "multi_category_customers": "customers whose purchases' lines hold several categories",
    "window_days": "days in the window, both ends included",
    "churn_cohort": "customers with a purchase in (end - 2p, end - p], p = churn_period",
    "churned": "of those, customers without a purchase in (end - p, end]",
    "yearly_churn_cohort": "customers with a purchase in (end - 730 days, end - 365 days]",
    "yearly_churned": "of those, customers without a purchase in the last 365 days",
    "responses": "survey responses with a score (0-10) dated in the window",
    "promoters": "responses scoring 9 or 10",
    "detractors": "responses scoring 0 to 6",
    "csat_responses": "survey answers with a csat (1-5) dated in the window",
    "csat_satisfied": "csat answers of 4 or 5",
    "engagement_total": "sum of the engagement scores of the customers active in the window",
    "known_customers": "customers in orders, customers or events on or before end",
    "spend": "marketing and sales spend dated in the window",
}


@dataclass(frozen=True)
class Metric:
    """One KPI: what it is, what it needs and how it is computed from the aggregates."""

    name: str
    label: str
    unit: str  # "count", "money", "percent", "points" or "ratio"
    definition: str
    inputs: tuple[str, ...]
    aggregates: tuple[str, ...]
    compute: Callable[..., float]  # (aggregates, parsed options) -> value
    value_range: tuple[float, float]
    function: str | None = None

    @property
    def total(self) -> bool:
        """True for a count or sum (0 when nothing happened); else a ratio (NaN then)."""
        return self.aggregates == (self.name,)


def _div(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the denominator is 0 or NaN."""
    if math.isnan(denominator) or denominator == 0:
        return NAN
    return numerator / denominator


def lifespan_from_churn(churn_pct: float, max_lifespan_years: float) -> float:
    """``min(1 / (churn / 100), max)``: zero churn gives the cap, NaN churn gives NaN.

    Examples
    --------
    >>> lifespan_from_churn(25.0, 5.0), lifespan_from_churn(0.0, 5.0)
    (4.0, 5.0)
    """
    if np.isnan(churn_pct):
        return float("nan")
    if churn_pct <= 0:
        return float(max_lifespan_years)
    return float(min(100.0 / churn_pct, max_lifespan_years))


def churn_value(churned: float, cohort: float) -> float:
    """``100 * churned / cohort`` (NaN for an empty cohort).

    Examples
    --------
    >>> churn_value(1, 4), churn_value(0, 0)
    (25.0, nan)
    """
    return _div(100 * churned, cohort)


def clv_value(
    revenue: float, customers: float, window_days: float, lifespan_years: float, margin: float
) -> float:
    """``revenue / customers / window years * lifespan * margin`` (window years = days / 365.25).

    Examples
    --------
    >>> clv_value(730.5, 2, 365.25, 3.0, 0.5)  # 365.25 a customer-year, 3 years, half margin
    547.875
    """
    years = window_days / 365.25
    return _div(_div(revenue, customers), years) * lifespan_years * margin


def _nps(a: Mapping[str, float], _options: Any = None) -> float:
    return _div(100 * (a["promoters"] - a["detractors"]), a["responses"])


def _nps_bound(side: int) -> Callable[[Mapping[str, float], Any], float]:
    def compute(a: Mapping[str, float], options: Any) -> float:
        if math.isnan(a["responses"]):
            return NAN
        bounds = nps_interval(
            a["promoters"],
            a["detractors"],
            a["responses"],
            level=options.level,
            method=options.nps_method,
        )
        return float(bounds[side])

    return compute


def _repeat_rate(a: Mapping[str, float], _options: Any = None) -> float:
    return _div(100 * a["repeat_customers"], a["customers"])


def _upsell_share(a: Mapping[str, float], _options: Any = None) -> float:
    return _div(100 * a["multi_category_customers"], a["customers"])


def _churn(a: Mapping[str, float], _options: Any = None) -> float:
    return churn_value(a["churned"], a["churn_cohort"])


def _clv(a: Mapping[str, float], options: Any) -> float:
    lifespan = options.lifespan_years
    if lifespan is None:
        yearly = churn_value(a["yearly_churned"], a["yearly_churn_cohort"])
        lifespan = lifespan_from_churn(yearly, options.max_lifespan_years)
    return clv_value(a["revenue"], a["customers"], a["window_days"], lifespan, options.margin)


def _cac(a: Mapping[str, float], _options: Any = None) -> float:
    return _div(a["spend"], a["new_customers"])


def _cli(a: Mapping[str, float], options: Any) -> float:
    return customer_loyalty_index(
        _nps(a),
        _repeat_rate(a),
        _upsell_share(a),
        weights=dict(zip(CLI_INPUTS, options.cli_weights, strict=True)),
        nps_scale=options.cli_nps_scale,
    )


def _aggregate(name: str) -> Callable[..., float]:
    def compute(a: Mapping[str, float], _options: Any = None) -> float:
        return float(a[name])

    return compute


@dataclass(frozen=True)
class ParsedOptions:
    """:class:`~loyalty_metrics.MetricOptions` checked and parsed: what ``compute`` reads."""

    churn_period: Span
    margin: float
    lifespan_years: float | None
    max_lifespan_years: float
    key_actions: Sequence[str] | None
    engagement_window: Span
    engagement_weights: np.ndarray
    engagement_half_life: pd.Timedelta | None
    nps_method: str
    level: float
    cli_weights: np.ndarray
    cli_nps_scale: str


def parse_options(func: str, options: MetricOptions) -> ParsedOptions:
    """Check ``options`` (errors name ``func``) and parse spans and weights.

    Examples
    --------
    >>> parse_options("kpis", MetricOptions(churn_period="90D")).churn_period
    Timedelta('90 days 00:00:00')
    """
    from .engagement import _options as engagement_options

    key_actions, span, weights, half_life = engagement_options(
        options.key_actions,
        options.engagement_window,
        options.engagement_weights,
        options.engagement_half_life,
        func,
    )
    lifespan = options.lifespan_years
    if lifespan is not None:
        lifespan = check_number(lifespan, name="lifespan_years", func=func, low=0.0, open_low=True)
    return ParsedOptions(
        churn_period=parse_span(options.churn_period, name="churn_period", func=func),
        margin=check_number(options.margin, name="margin", func=func),
        lifespan_years=lifespan,
        max_lifespan_years=check_number(
            options.max_lifespan_years,
            name="max_lifespan_years",
            func=func,
            low=0.0,
            open_low=True,
        ),
        key_actions=key_actions,
        engagement_window=span,
        engagement_weights=weights,
        engagement_half_life=half_life,
        nps_method=check_option(
            options.nps_method, ("adjusted-wald", "wald"), name="nps_method", func=func
        ),
        level=check_number(options.level, name="level", func=func, low=0.0, open_low=True),
        cli_weights=check_weights(options.cli_weights, CLI_INPUTS, func=func, name="cli_weights"),
        cli_nps_scale=check_option(
            options.cli_nps_scale,
            ("points", "percent", "0-100"),
            name="cli_nps_scale",
            func=func,
        ),
    )


_INF = math.inf
_ORDERS = ("orders",)

#: Every KPI of ``kpis()``, in DESIGN section 4's order.
METRICS: tuple[Metric, ...] = (
    Metric("customers", "Customers", "count",
           "Customers with at least one purchase in the window.",
           _ORDERS, ("customers",), _aggregate("customers"), (0, _INF)),
    Metric("new_customers", "New customers", "count",
           "Customers whose first purchase ever falls in the window.",
           _ORDERS, ("new_customers",), _aggregate("new_customers"), (0, _INF)),
    Metric("purchases", "Purchases", "count",
           "Orders with a net amount >= 0 dated in the window.",
           _ORDERS, ("purchases",), _aggregate("purchases"), (0, _INF)),
    Metric("revenue", "Revenue", "money",
           "Net amount of every order line in the window, returns included.",
           _ORDERS, ("revenue",), _aggregate("revenue"), (-_INF, _INF)),
    Metric("average_ticket", "Average ticket", "money",
           "Net revenue / purchases (orders, not lines).",
           _ORDERS, ("revenue", "purchases"),
           lambda a, _o=None: _div(a["revenue"], a["purchases"]), (-_INF, _INF),
           "average_ticket"),
    Metric("purchase_frequency", "Purchase frequency", "ratio",
           "Purchases / customers.",
           _ORDERS, ("purchases", "customers"),
           lambda a, _o=None: _div(a["purchases"], a["customers"]), (1, _INF),
           "purchase_frequency"),
    Metric("repeat_purchase_rate", "Repeat-purchase rate", "percent",
           "100 * customers with >= 2 purchases / customers.",
           _ORDERS, ("repeat_customers", "customers"), _repeat_rate, (0, 100),
           "repeat_purchase_rate"),
    Metric("upsell_ratio", "Upsell ratio", "ratio",
           "Customers who bought more than one category / customers who bought exactly one.",
           _ORDERS, ("multi_category_customers", "single_category_customers"),
           lambda a, _o=None: _div(a["multi_category_customers"],
                                   a["single_category_customers"]),
           (0, _INF), "upsell_ratio"),
    Metric("upsell_share", "Upsell share", "percent",
           "100 * customers with more than one category / customers.",
           _ORDERS, ("multi_category_customers", "customers"), _upsell_share, (0, 100),
           "upsell_share"),
    Metric("nps", "NPS", "points",
           "100 * (promoters - detractors) / responses (scores 9-10 and 0-6).",
           ("surveys",), ("promoters", "detractors", "responses"), _nps, (-100, 100), "nps"),
    Metric("nps_ci_low", "NPS interval, low", "points",
           "Lower bound of NPS's confidence interval (adjusted Wald by default).",
           ("surveys",), ("promoters", "detractors", "responses"), _nps_bound(0), (-100, 100)),
    Metric("nps_ci_high", "NPS interval, high", "points",
           "Upper bound of NPS's confidence interval (adjusted Wald by default).",
           ("surveys",), ("promoters", "detractors", "responses"), _nps_bound(1), (-100, 100)),
    Metric("responses", "NPS responses", "count",
           "Survey responses with a score in the window.",
           ("surveys",), ("responses",), _aggregate("responses"), (0, _INF)),
    Metric("csat", "CSAT", "percent",
           "100 * csat answers of 4 or 5 / csat answers (1-5 scale).",
           ("surveys",), ("csat_satisfied", "csat_responses"),
           lambda a, _o=None: _div(100 * a["csat_satisfied"], a["csat_responses"]), (0, 100),
           "csat"),
    Metric("customer_loyalty_index", "Customer Loyalty Index", "points",
           "Weighted mean of NPS, repeat-purchase rate and upsell share.",
           ("orders", "surveys"),
           ("promoters", "detractors", "responses", "repeat_customers",
            "multi_category_customers", "customers"),
           _cli, (-100, 100)),
    Metric("churn_rate", "Churn rate", "percent",
           "100 * customers of (end - 2p, end - p] without a purchase in (end - p, end].",
           _ORDERS, ("churned", "churn_cohort"), _churn, (0, 100), "churn_rate"),
    Metric("retention_rate", "Retention rate", "percent",
           "100 - churn rate.",
           _ORDERS, ("churned", "churn_cohort"), lambda a, _o=None: 100 - _churn(a), (0, 100),
           "retention_rate"),
    Metric("clv", "CLV", "money",
           "Average ticket * purchases per customer-year * lifespan (1 / yearly churn, capped) "
           "* margin.",
           _ORDERS,
           ("revenue", "customers", "window_days", "yearly_churned", "yearly_churn_cohort"),
           _clv, (-_INF, _INF), "clv"),
    Metric("cac", "CAC", "money",
           "Spend in the window / new customers.",
           ("orders", "spend"), ("spend", "new_customers"), _cac, (0, _INF), "cac"),
    Metric("ltv_cac_ratio", "LTV/CAC", "ratio",
           "CLV / CAC.",
           ("orders", "spend"),
           ("revenue", "customers", "window_days", "yearly_churned", "yearly_churn_cohort",
            "spend", "new_customers"),
           lambda a, o: _div(_clv(a, o), _cac(a)), (-_INF, _INF), "ltv_cac_ratio"),
    Metric("engagement_score", "Engagement score", "points",
           "Mean engagement score (0-100) over the known customers (those without events in "
           "the engagement window score 0).",
           ("orders", "events"), ("engagement_total", "known_customers"),
           lambda a, _o=None: _div(a["engagement_total"], a["known_customers"]), (0, 100),
           "engagement_score"),
)  # fmt: skip

#: The keys of :func:`~loyalty_metrics.kpis`, in order (DESIGN section 4).
KPI_KEYS: tuple[str, ...] = tuple(m.name for m in METRICS)

_BY_NAME = {m.name: m for m in METRICS}


def metric(name: str) -> Metric:
    """The registered metric called ``name``.

    Examples
    --------
    >>> metric("repeat_purchase_rate").unit
    'percent'
    """
    return _BY_NAME[name]


def summary_aggregates(summary: pd.DataFrame) -> dict[str, float]:
    """The order aggregates a customer summary holds (not churn, which needs a look-back).

    Examples
    --------
    >>> from loyalty_metrics import customer_summary
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [5.0, 7.0, 1.0],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"])})
    >>> a = summary_aggregates(customer_summary(orders))
    >>> a["customers"], a["repeat_customers"], a["revenue"], a["window_days"]
    (2, 1, 13.0, 3)
    """
    window = summary_window(summary)
    purchases = summary["purchases"].to_numpy()
    categories = summary["categories"].to_numpy(dtype="float64")
    unknown = len(summary) > 0 and bool(np.isnan(categories).all())
    return {
        "customers": len(summary),
        "new_customers": int(new_customer_mask(summary).sum()),
        "purchases": int(purchases.sum()),
        "revenue": total_revenue(summary),
        "repeat_customers": int((purchases >= 2).sum()),
        "single_category_customers": NAN if unknown else int((categories == 1).sum()),
        "multi_category_customers": NAN if unknown else int((categories > 1).sum()),
        "window_days": NAN if window.empty else (window.end - window.start).days + 1,
    }


def summary_value(name: str, summary: pd.DataFrame, options: ParsedOptions | None = None) -> float:
    """The registered metric ``name`` of a customer summary (the public functions' path).

    Examples
    --------
    >>> from loyalty_metrics import customer_summary
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [5.0, 7.0, 1.0],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"])})
    >>> summary_value("purchase_frequency", customer_summary(orders))
    1.5
    """
    return float(metric(name).compute(summary_aggregates(summary), options))


def evaluate(aggregates: Mapping[str, float], options: ParsedOptions) -> dict[str, float]:
    """Every registered metric from the aggregates (missing aggregates count as NaN).

    Examples
    --------
    >>> options = parse_options("kpis", MetricOptions())
    >>> values = evaluate({"customers": 4, "repeat_customers": 1}, options)
    >>> values["repeat_purchase_rate"], values["nps"]
    (25.0, nan)
    """
    full = {name: float(aggregates.get(name, NAN)) for name in AGGREGATES}
    out = {}
    for m in METRICS:
        if any(math.isnan(full[name]) for name in m.aggregates) and m.name not in _PARTIAL:
            out[m.name] = NAN
        else:
            out[m.name] = float(m.compute(full, options))
    return out


# Metrics whose formula copes with some undefined aggregates on its own: CLV with a given
# lifespan needs no churn.
_PARTIAL = {"clv", "ltv_cac_ratio"}


# ---------------------------------------------------------------------------------------------
# The generated part of docs/metrics.md.

DOCS_BEGIN = "<!-- generated from loyalty_metrics.metrics.registry: do not edit -->"
DOCS_END = "<!-- end of generated section -->"


def metrics_markdown() -> str:
    """The KPI and aggregate tables of ``docs/metrics.md``, between their markers.

    Examples
    --------
    >>> metrics_markdown().splitlines()[3].startswith("| `customers` |")
    True
    """
    lines = [
        DOCS_BEGIN,
        "| key | label | unit | definition | needs | computed from |",
        "|---|---|---|---|---|---|",
    ]
    for m in METRICS:
        aggregates = ", ".join(f"`{a}`" for a in m.aggregates)
        lines.append(
            f"| `{m.name}` | {m.label} | {m.unit} | {m.definition} | "
            f"{', '.join(m.inputs)} | {aggregates} |"
        )
    lines += ["", "| what it counts or sums | aggregate |", "|---|---|"]
    lines += [f"| {text} | `{name}` |" for name, text in AGGREGATES.items()]
    lines.append(DOCS_END)
    return "\n".join(lines)


def sync_docs(path: str) -> None:
    """Rewrite the generated section of the Markdown file at ``path`` (``make docs``)."""
    from pathlib import Path

    file = Path(path)
    text = file.read_text(encoding="utf-8")
    head, rest = text.split(DOCS_BEGIN, 1)
    _, tail = rest.split(DOCS_END, 1)
    file.write_text(head + metrics_markdown() + tail, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - make docs
    import sys

    sync_docs(sys.argv[1])
