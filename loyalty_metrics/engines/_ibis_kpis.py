"""``kpis`` and ``kpis_by_period`` in an engine: summary-level aggregates, then arithmetic.

The engine returns one row of counts and sums per snapshot (customers, purchases, revenue,
repeat buyers, category counts, churn cohort, survey and event counts, spend); they are
renamed to the aggregates of the metric registry (:func:`registry_aggregates`) and every KPI
is the registry's formula over them (``metrics/registry.py``), so no KPI is defined twice.

The engagement score needs no per-customer ranks: the mean of percentile ranks
(``method="average"``) over n customers is always ``(n + 1) / (2 n)``, whatever the ties, so
the weighted mean of the components summed over the active customers is ``50 * (n + 1)``,
and the score over the known customers is ``50 * (n + 1) / known`` (0 when n is 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import caveats
from .._window import ONE_DAY, DateLike, Window
from ..errors import ConfigError
from ._backend import Engine, load_table, resolve_engine
from ._ibis_kernel import (
    _in_window,
    _ts,
    category_column,
    category_counts,
    netted_orders,
    purchase_lines,
    resolve_window,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ..metrics.registry import ParsedOptions
    from ..options import MetricOptions

__all__ = ["kpis", "kpis_by_period", "kpis_from_aggregates", "registry_aggregates"]

_NAN = float("nan")
# The order columns the KPIs read (a channel is not needed).
_COLUMNS = {
    "orders": ("customer_id", "order_id", "order_date", "amount", "category", "product_id")
}
_YEAR = pd.Timedelta(days=365)


# ---------------------------------------------------------------------------------------------
# The aggregates, as one-row Ibis tables.


def _order_aggregates(
    lines: ir.Table, orders: ir.Table, window: Window, churn: Mapping[str, Any]
) -> ir.Table:
    """The order aggregates of ``window`` from ``orders`` (the lines netted up to its end):
    one pass over the purchases per customer gives the window's counts and, for each churn
    period of ``churn`` (suffix -> period), who bought in ``(end - 2p, end - p]`` and
    ``(end - p, end]`` (metrics/retention.py); the categories come from the purchases'
    lines."""
    from ..metrics.retention import lookback_start

    bought = orders.filter(orders.purchase)
    dates = bought.order_date
    fields: dict[str, Any] = {
        "purchases": bought.count(where=_in_window(dates, window)),
        "first_purchase_ever": dates.min(),
    }
    for suffix, span in churn.items():
        cut = _ts(window.end - span + ONE_DAY)
        fields["before" + suffix] = (
            (dates >= _ts(lookback_start(window.end, span))) & (dates < cut)
        ).any()
        fields["after" + suffix] = (dates >= cut).any()
    per = bought.group_by("customer_id").aggregate(**fields)
    active = per.purchases > 0
    totals: dict[str, Any] = {
        "customers": active.sum(),
        "new_customers": (active & (per.first_purchase_ever >= _ts(window.start))).sum(),
        "purchases": per.purchases.sum(),
        "repeat_customers": (per.purchases >= 2).sum(),
    }
    for suffix in churn:
        before, after = per["before" + suffix], per["after" + suffix]
        totals["churn_cohort" + suffix] = before.sum()
        totals["churned" + suffix] = (before & ~after).sum()
    query = per.aggregate(**totals)
    column = category_column(lines)
    if column is not None:  # every customer with categories has a purchase in the window
        counts = category_counts(purchase_lines(lines, orders, window), column)
        query = query.cross_join(
            counts.aggregate(
                single_category=(counts.categories == 1).sum(),
                multi_category=(counts.categories > 1).sum(),
            )
        )
    return query


def _revenue_aggregate(lines: ir.Table, window: Window) -> ir.Table:
    inside = lines.filter(_in_window(lines.order_date, window))
    return inside.aggregate(revenue=inside.amount.sum())


def _survey_aggregates(surveys: ir.Table, window: Window) -> ir.Table:
    """Response counts in the window and overall (undated surveys count whole)."""
    dated = "response_date" in surveys.columns
    inside = _in_window(surveys.response_date, window) if dated else None
    fields: dict[str, Any] = {
        "dated_surveys": surveys.response_date.count() if dated else surveys.count() * 0
    }
    score, csat = surveys.score, surveys.csat if "csat" in surveys.columns else None
    for suffix, where in (("_all", None), ("_window", inside)):
        if where is None and suffix == "_window":
            continue

        def count(cond: ir.BooleanColumn, where: Any = where) -> ir.Scalar:
            return (cond if where is None else cond & where).sum()

        fields["responses" + suffix] = count(score.notnull())
        fields["promoters" + suffix] = count(score.notnull() & (score >= 9))
        fields["detractors" + suffix] = count(score.notnull() & (score <= 6))
        if csat is not None:
            fields["csat_n" + suffix] = count(csat.notnull())
            fields["csat_hits" + suffix] = count(csat.notnull() & (csat >= 4))
    return surveys.aggregate(**fields)


def _engagement_aggregates(
    events: ir.Table,
    lines: ir.Table,
    customers: ir.Table | None,
    end: pd.Timestamp,
    span: Any,
) -> ir.Table:
    """Customers active in the engagement window and customers known up to ``end``."""
    import ibis

    from ..metrics._common import day_after

    limit = _ts(end + ONE_DAY)
    recent = events.filter(
        (events.timestamp >= _ts(day_after(end, span))) & (events.timestamp < limit)
    )
    known = [
        events.filter(events.timestamp < limit).select("customer_id"),
        lines.filter(lines.order_date < limit).select("customer_id"),
    ]
    if customers is not None:
        signed = customers
        if "signup_date" in customers.columns:
            signed = customers.filter(
                customers.signup_date.isnull() | (customers.signup_date < limit)
            )
        known.append(signed.select("customer_id"))
    everyone = ibis.union(*known, distinct=True)
    active = recent.aggregate(active=recent.customer_id.nunique())
    return active.cross_join(everyone.aggregate(known=everyone.count()))


def _spend_aggregate(spend: ir.Table, window: Window) -> ir.Table:
    inside = spend.filter(_in_window(spend.date, window))
    return inside.aggregate(spend=inside.amount.sum())


# ---------------------------------------------------------------------------------------------
# From the engine's aggregates to the registry's, then the registry's formulas.


def registry_aggregates(agg: Mapping[str, Any], window: Window, options: Any) -> dict[str, float]:
    """The aggregates of :data:`~loyalty_metrics.metrics.registry.AGGREGATES` from the
    engine's row ``agg`` (a SUM over no rows is NULL: a zero count here). An aggregate whose
    table was not given is left out (NaN to the registry), as the pandas engine does.
    """

    def num(key: str) -> float:
        value = agg.get(key)
        return _NAN if value is None or pd.isna(value) else float(value)

    def count(key: str) -> float:
        value = num(key)
        return 0.0 if pd.isna(value) else value

    out = {k: count(k) for k in ("customers", "new_customers", "purchases", "repeat_customers")}
    out["revenue"] = count("revenue")
    if window.empty:
        return out
    out["window_days"] = float((window.end - window.start).days + 1)
    if "single_category" in agg:
        out["single_category_customers"] = count("single_category")
        out["multi_category_customers"] = count("multi_category")
    yearly = "" if options.churn_period == _YEAR else "_y"  # see _snapshot_query
    churn = {
        "churn_cohort": "churn_cohort",
        "churned": "churned",
        "yearly_churn_cohort": "churn_cohort" + yearly,
        "yearly_churned": "churned" + yearly,
    }
    for name, key in churn.items():
        if key in agg:
            out[name] = count(key)
    if "responses_all" in agg:
        suffix = "_window" if agg.get("dated_surveys") else "_all"
        for name in ("responses", "promoters", "detractors"):
            out[name] = count(name + suffix)
        if "csat_n" + suffix in agg:
            out["csat_responses"] = count("csat_n" + suffix)
            out["csat_satisfied"] = count("csat_hits" + suffix)
    if "known" in agg:
        active = count("active")
        out["engagement_total"] = 50 * (active + 1) if active else 0.0
        out["known_customers"] = count("known")
    if "spend" in agg:
        out["spend"] = count("spend")
    return out


def kpis_from_aggregates(agg: Mapping[str, Any], window: Window, options: Any) -> pd.Series:
    """The KPI Series of :func:`loyalty_metrics.kpis` from the engine's aggregates: the
    registry's formulas (:func:`~loyalty_metrics.metrics.registry.evaluate`) over
    :func:`registry_aggregates`."""
    from ..metrics.registry import KPI_KEYS, evaluate

    values = evaluate(registry_aggregates(agg, window, options), options)
    series = pd.Series(values, index=list(KPI_KEYS), dtype="float64", name="kpis")
    series.attrs["loyalty_metrics.kpis"] = {  # as the pandas engine's: ISO dates
        "start": None if window.empty else str(window.start.date()),
        "end": None if window.empty else str(window.end.date()),
    }
    return series


# ---------------------------------------------------------------------------------------------
# The public entry points.


class _Inputs:
    """The caller's tables as Ibis tables of one engine."""

    def __init__(
        self,
        engine: Any,
        orders: Any,
        surveys: Any,
        events: Any,
        spend: Any,
        customers: Any,
        columns: Mapping[str, Mapping[str, str]] | None,
    ) -> None:
        self.engine: Engine = resolve_engine(engine)
        mapping = dict(columns or {})
        self.sources = {
            "orders": orders,
            "surveys": surveys,
            "events": events,
            "spend": spend,
            "customers": customers,
        }
        self.tables: dict[str, ir.Table | None] = {}
        for name, source in self.sources.items():
            self.tables[name] = (
                None
                if source is None
                else load_table(
                    self.engine, source, name, mapping.get(name), only=_COLUMNS.get(name)
                )
            )

    @property
    def lines(self) -> ir.Table:
        return self.tables["orders"]


def _snapshot_query(inputs: _Inputs, orders: ir.Table, window: Window, options: Any) -> ir.Table:
    lines = inputs.lines
    churn = {"": options.churn_period}
    if options.churn_period != _YEAR and options.lifespan_years is None:
        churn["_y"] = _YEAR
    parts = [_order_aggregates(lines, orders, window, churn), _revenue_aggregate(lines, window)]
    t = inputs.tables
    if t["surveys"] is not None:
        parts.append(_survey_aggregates(t["surveys"], window))
    if t["events"] is not None:
        parts.append(
            _engagement_aggregates(
                t["events"], lines, t["customers"], window.end, options.engagement_window
            )
        )
    if t["spend"] is not None:
        parts.append(_spend_aggregate(t["spend"], window))
    query = parts[0]
    for part in parts[1:]:
        query = query.cross_join(part)
    return query


def _snapshot(inputs: _Inputs, window: Window, options: Any) -> dict[str, Any]:
    """The engine's aggregates of ``window`` (one query), with ``first_order``: the first
    order date of the lines (for the caveats)."""
    if window.empty:
        return {}
    with netted_orders(inputs.engine, inputs.lines, window.end) as orders:
        query = _snapshot_query(inputs, orders, window, options)
        dates = inputs.lines.order_date
        query = query.cross_join(inputs.lines.aggregate(first_order=dates.min()))
        row = inputs.engine.backend.to_pyarrow(query).to_pylist()
    return row[0]


def _check_engagement(inputs: _Inputs, options: Any) -> None:
    """The pandas engine's refusal of weights that leave no available component."""
    events = inputs.tables["events"]
    if events is None or "duration" in events.columns:
        return
    frequency, _time, actions = options.engagement_weights
    if frequency + actions <= 0:
        raise ConfigError(
            "engagement weights must give a positive weight to an available component "
            "(the events carry no 'duration', so 'time' is unavailable)."
        )


def kpis(
    orders: Any,
    surveys: Any = None,
    events: Any = None,
    spend: Any = None,
    customers: Any = None,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    engine: Any = "duckdb",
    columns: Mapping[str, Mapping[str, str]] | None = None,
    options: MetricOptions | None = None,
    validated: ParsedOptions | None = None,
    **given: Any,
) -> pd.Series:
    """:func:`loyalty_metrics.kpis` computed inside ``engine``; ``columns`` maps each table
    name to its ``columns=`` mapping (canonical -> source column); ``options`` and the other
    keywords are those of :func:`loyalty_metrics.kpis` (``validated``: already checked by it)."""
    opts = validated if validated is not None else _parsed("kpis", options, given)
    inputs = _Inputs(engine, orders, surveys, events, spend, customers, columns)
    _check_engagement(inputs, opts)
    window = resolve_window(inputs.engine, inputs.lines, start, end)
    aggregates = _snapshot(inputs, window, opts)
    if aggregates.get("first_order") is not None:  # the pandas engine's caveats
        first = pd.Timestamp(aggregates["first_order"])
        notes = caveats.window_caveats(
            first, window.start, window.end, churn_period=opts.churn_period
        )
        caveats.emit(notes, stacklevel=4)  # the caller of loyalty_metrics.kpis
    return kpis_from_aggregates(aggregates, window, opts)


def kpis_by_period(
    orders: Any,
    surveys: Any = None,
    events: Any = None,
    spend: Any = None,
    customers: Any = None,
    *,
    freq: str = "M",
    window: str | pd.Timedelta = "expanding",
    start: DateLike | None = None,
    end: DateLike | None = None,
    engine: Any = "duckdb",
    columns: Mapping[str, Mapping[str, str]] | None = None,
    options: MetricOptions | None = None,
    validated: ParsedOptions | None = None,
    **given: Any,
) -> pd.DataFrame:
    """:func:`loyalty_metrics.kpis_by_period` computed inside ``engine``: one aggregate
    query per period."""
    from ..metrics._common import check_freq, parse_trend_window, trend_windows
    from ..snapshot import KPI_KEYS

    func = "kpis_by_period"
    check_freq(freq, func=func)
    trailing = parse_trend_window(window, func=func)
    opts = validated if validated is not None else _parsed(func, options, given)
    inputs = _Inputs(engine, orders, surveys, events, spend, customers, columns)
    _check_engagement(inputs, opts)
    overall = resolve_window(inputs.engine, inputs.lines, start, end)
    rows = {}
    for row_window in trend_windows(overall, freq, window, trailing):
        rows[row_window.end] = kpis_from_aggregates(
            _snapshot(inputs, row_window, opts), row_window, opts
        )
    frame = pd.DataFrame(list(rows.values()), columns=list(KPI_KEYS), dtype="float64")
    frame.index = pd.DatetimeIndex(list(rows), name="period_end", dtype="datetime64[ns]")
    return frame


#: The keywords of :func:`loyalty_metrics.kpis` that set an option (``options`` sets them all).
_KPI_OPTIONS = (
    "churn_period",
    "margin",
    "lifespan_years",
    "max_lifespan_years",
    "key_actions",
    "engagement_window",
    "engagement_weights",
    "engagement_half_life",
    "nps_method",
    "level",
    "cli_weights",
    "cli_nps_scale",
)


def _parsed(func: str, options: MetricOptions | None, given: Mapping[str, Any]) -> ParsedOptions:
    """``options`` with the ``given`` keywords over it, checked as :func:`loyalty_metrics.kpis`
    checks them."""
    from ..metrics.registry import parse_options
    from ..options import MetricOptions

    unknown = sorted(set(given) - set(_KPI_OPTIONS))
    if unknown:
        raise TypeError(f"{func}() got an unexpected keyword argument {unknown[0]!r}")
    return parse_options(func, (options or MetricOptions()).merged(**given))
