"""``kpis`` and ``kpis_by_period`` in an engine: summary-level aggregates, then arithmetic.

The engine returns one row of counts and sums per snapshot (customers, purchases, revenue,
repeat buyers, category counts, churn cohort, survey and event counts, spend); every KPI
follows from those in :func:`kpis_from_aggregates`, with the formulas of
``snapshot.py`` (and its helpers in ``metrics/``), so no definition is written twice.

The engagement score needs no per-customer ranks: the mean of percentile ranks
(``method="average"``) over n customers is always ``(n + 1) / (2 n)``, whatever the ties, so
the weighted mean of the components summed over the active customers is ``50 * (n + 1)``,
and the score over the known customers is ``50 * (n + 1) / known`` (0 when n is 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._stats import nps_interval
from .._window import ONE_DAY, DateLike, Window
from ..errors import ConfigError
from ._backend import Engine, load_table, resolve_engine
from ._ibis_kernel import _in_window, _ts, orders_up_to, purchase_table, resolve_window

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ..metrics.registry import ParsedOptions
    from ..options import MetricOptions

__all__ = ["kpis", "kpis_by_period", "kpis_from_aggregates"]

_NAN = float("nan")
# The order columns the KPIs read (a channel is not needed).
_COLUMNS = {
    "orders": ("customer_id", "order_id", "order_date", "amount", "category", "product_id")
}
_YEAR = pd.Timedelta(days=365)


# ---------------------------------------------------------------------------------------------
# The aggregates, as one-row Ibis tables.


def _purchase_aggregates(lines: ir.Table, window: Window) -> ir.Table:
    per = purchase_table(lines, window)
    has_categories = "categories" in per.columns
    fields = {
        "customers": per.count(),
        "new_customers": (per.first_purchase_ever >= _ts(window.start)).sum(),
        "purchases": per.purchases.sum(),
        "repeat_customers": (per.purchases >= 2).sum(),
    }
    if has_categories:
        fields["single_category"] = (per.categories == 1).sum()
        fields["multi_category"] = (per.categories > 1).sum()
    return per.aggregate(**fields)


def _revenue_aggregate(lines: ir.Table, window: Window) -> ir.Table:
    inside = lines.filter(_in_window(lines.order_date, window))
    return inside.aggregate(revenue=inside.amount.sum())


def _churn_aggregate(lines: ir.Table, end: pd.Timestamp, span: Any, suffix: str) -> ir.Table:
    """Customers who purchased in ``(end - 2p, end - p]`` and of those, who did not in
    ``(end - p, end]`` (metrics/retention.py)."""
    from ..metrics.retention import lookback_start

    orders = orders_up_to(lines, end)
    cut = _ts(end - span + ONE_DAY)
    bought = orders.filter(orders.purchase & (orders.order_date >= _ts(lookback_start(end, span))))
    per = bought.group_by("customer_id").aggregate(
        before=(bought.order_date < cut).any(), after=(bought.order_date >= cut).any()
    )
    return per.aggregate(
        **{
            f"churn_cohort{suffix}": per.before.sum(),
            f"churned{suffix}": (per.before & ~per.after).sum(),
        }
    )


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
# From aggregates to KPIs.


def kpis_from_aggregates(agg: Mapping[str, Any], window: Window, options: Any) -> pd.Series:
    """The KPI Series of :func:`loyalty_metrics.kpis` from the engine's aggregates.

    The arithmetic of ``snapshot._purchase_figures``, ``_retention_figures`` and
    ``_side_figures`` on counts instead of a summary frame.
    """
    from ..metrics.index import CLI_INPUTS, customer_loyalty_index
    from ..metrics.value import lifespan_from_churn, ratio
    from ..snapshot import KPI_KEYS

    def num(key: str) -> float:
        value = agg.get(key)
        return _NAN if value is None or pd.isna(value) else float(value)

    def count(key: str) -> float:  # a SUM over no rows is NULL: zero here
        value = num(key)
        return 0.0 if pd.isna(value) else value

    out = dict.fromkeys(KPI_KEYS, _NAN)
    n = count("customers")
    purchases = count("purchases")
    revenue = count("revenue")
    has_categories = n > 0 and "single_category" in agg
    single, multi = count("single_category"), count("multi_category")
    out.update(
        customers=n,
        new_customers=count("new_customers"),
        purchases=purchases,
        revenue=revenue,
        average_ticket=revenue / purchases if purchases else _NAN,
        purchase_frequency=purchases / n if n else _NAN,
        repeat_purchase_rate=100 * count("repeat_customers") / n if n else _NAN,
        upsell_ratio=multi / single if has_categories and single else _NAN,
        upsell_share=100 * multi / n if has_categories else _NAN,
    )
    if not window.empty:
        churn = _rate(agg, "churned", "churn_cohort")
        yearly = (
            churn if options.churn_period == _YEAR else _rate(agg, "churned_y", "churn_cohort_y")
        )
        lifespan = options.lifespan_years
        if lifespan is None:
            lifespan = lifespan_from_churn(yearly, options.max_lifespan_years)
        per_year = revenue / n / window.years if n else _NAN
        out.update(
            churn_rate=churn,
            retention_rate=100 - churn,
            clv=per_year * lifespan * options.margin,
        )
        out.update(_survey_figures(agg, options))
        if "known" in agg:
            active, known = num("active"), num("known")
            out["engagement_score"] = (
                50 * (active + 1) / known if known and active else (0.0 if known else _NAN)
            )
    out["customer_loyalty_index"] = customer_loyalty_index(
        out["nps"],
        out["repeat_purchase_rate"],
        out["upsell_share"],
        weights=dict(zip(CLI_INPUTS, options.cli_weights, strict=True)),
        nps_scale=options.cli_nps_scale,
    )
    if "spend" in agg and not window.empty:
        spent = 0.0 if pd.isna(agg["spend"]) else float(agg["spend"])
        new = out["new_customers"]
        out["cac"] = spent / new if new else _NAN
        out["ltv_cac_ratio"] = ratio(out["clv"], out["cac"])
    series = pd.Series(out, index=list(KPI_KEYS), dtype="float64", name="kpis")
    series.attrs["loyalty_metrics.kpis"] = {  # as the pandas engine's: ISO dates
        "start": None if window.empty else str(window.start.date()),
        "end": None if window.empty else str(window.end.date()),
    }
    return series


def _rate(agg: Mapping[str, Any], hits: str, of: str) -> float:
    total = agg.get(of)
    if total is None or pd.isna(total) or not total:
        return _NAN
    return 100 * float(agg[hits]) / float(total)


def _survey_figures(agg: Mapping[str, Any], options: Any) -> dict[str, float]:
    if "responses_all" not in agg:
        return {}
    suffix = "_window" if agg.get("dated_surveys") else "_all"
    responses = int(agg["responses" + suffix] or 0)
    promoters = int(agg["promoters" + suffix] or 0)
    detractors = int(agg["detractors" + suffix] or 0)
    low, high = nps_interval(
        promoters, detractors, responses, level=options.level, method=options.nps_method
    )
    csat_n = int(agg.get("csat_n" + suffix) or 0)
    return {
        "nps": 100 * (promoters - detractors) / responses if responses else _NAN,
        "nps_ci_low": float(low),
        "nps_ci_high": float(high),
        "responses": responses,
        "csat": 100 * int(agg["csat_hits" + suffix]) / csat_n if csat_n else _NAN,
    }


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


def _snapshot_query(inputs: _Inputs, window: Window, options: Any) -> ir.Table:
    lines = inputs.lines
    parts = [_purchase_aggregates(lines, window), _revenue_aggregate(lines, window)]
    parts.append(_churn_aggregate(lines, window.end, options.churn_period, ""))
    if options.churn_period != _YEAR and options.lifespan_years is None:
        parts.append(_churn_aggregate(lines, window.end, _YEAR, "_y"))
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


def _snapshot(inputs: _Inputs, window: Window, options: Any) -> pd.Series:
    if window.empty:
        return kpis_from_aggregates({}, window, options)
    row = inputs.engine.backend.to_pyarrow(_snapshot_query(inputs, window, options)).to_pylist()
    return kpis_from_aggregates(row[0] if row else {}, window, options)


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
    return _snapshot(inputs, window, opts)


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
    from ..metrics._common import check_freq, day_after, parse_trend_window, periods
    from ..snapshot import KPI_KEYS

    func = "kpis_by_period"
    check_freq(freq, func=func)
    trailing = parse_trend_window(window, func=func)
    opts = validated if validated is not None else _parsed(func, options, given)
    inputs = _Inputs(engine, orders, surveys, events, spend, customers, columns)
    _check_engagement(inputs, opts)
    overall = resolve_window(inputs.engine, inputs.lines, start, end)
    rows = {}
    for first, last in periods(overall, freq):
        if window == "period":
            row_start = first
        elif trailing is not None:
            row_start = max(day_after(last, trailing), overall.start)
        else:
            row_start = overall.start
        rows[last] = _snapshot(inputs, Window(start=row_start, end=last), opts)
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
