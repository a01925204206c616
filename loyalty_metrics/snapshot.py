"""The KPI snapshot: every headline metric from whatever tables are given, in one Series.

:func:`kpis` nets the order lines once (the order kernel), counts the aggregates of the
metric registry over the window from it in O(orders), reads the survey and event rows it
needs on a second thread meanwhile, and evaluates every registered metric.
:func:`kpis_by_period` builds the kernel once and counts each period's aggregates from its
orders truncated at the period's end (:meth:`~loyalty_metrics.orders.OrderKernel.as_of`), so
36 monthly snapshots never re-read a line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import caveats
from ._ids import count_distinct, factorize_ids
from ._validation import validate_orders
from ._window import ONE_DAY, DateLike, Window, resolve_window
from .metrics._common import (
    Span,
    check_freq,
    parse_trend_window,
    require_order_lines,
    trend_windows,
)
from .metrics.engagement import EventArrays, active_score_total, event_arrays, known_id_parts
from .metrics.registry import KPI_KEYS, ParsedOptions, evaluate, parse_options
from .metrics.retention import churn_counts
from .metrics.survey import _categories, _is_dated, _responses
from .options import MetricOptions
from .orders import (
    CategoryTimeline,
    FirstPurchases,
    OrderKernel,
    category_timeline,
    first_purchases,
    order_kernel,
)

__all__ = ["KPI_KEYS", "kpis", "kpis_by_period"]

_YEAR = pd.Timedelta(days=365)
_NAN = float("nan")


# ---------------------------------------------------------------------------------------------
# The aggregates of the registry, from the order kernel and the other tables.


def order_aggregates(
    kernel: OrderKernel,
    window: Window,
    churn_period: Span,
    timeline: CategoryTimeline | None = None,
    firsts: FirstPurchases | None = None,
) -> dict[str, float]:
    """The order aggregates of the registry over ``window``, from the order kernel
    (``timeline``, ``firsts``: see :meth:`OrderKernel.customer_counts`).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [5.0, 7.0, -1.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01",
    ...                                                      "2024-02-02"])})
    >>> k = order_kernel(orders)
    >>> a = order_aggregates(k, k.window(), pd.Timedelta(days=365))
    >>> a["customers"], a["purchases"], a["repeat_customers"], a["revenue"]
    (1, 2, 1, 11.0)
    """
    out: dict[str, float] = dict.fromkeys(
        ("customers", "new_customers", "purchases", "repeat_customers"), 0
    )
    out["revenue"] = 0.0
    if window.empty:
        return out
    k = kernel.as_of(window.end)
    out.update(k.customer_counts(window, timeline, firsts))
    out.update(revenue=k.revenue_total(window), window_days=(window.end - window.start).days + 1)
    cohort, churned = churn_counts(k, window.end, churn_period)
    out.update(churn_cohort=cohort, churned=churned)
    if churn_period == _YEAR:
        out.update(yearly_churn_cohort=cohort, yearly_churned=churned)
    else:
        yearly = churn_counts(k, window.end, _YEAR)
        out.update(yearly_churn_cohort=yearly[0], yearly_churned=yearly[1])
    return out


def _survey_aggregates(surveys: pd.DataFrame, window: Window) -> dict[str, float]:
    rows, _ = _responses(surveys, "score", window.start, window.end)
    counts = _categories(rows["score"]).sum()
    answers, _ = _responses(surveys, "csat", window.start, window.end)
    return {
        "responses": len(rows),
        "promoters": int(counts["promoters"]),
        "detractors": int(counts["detractors"]),
        "csat_responses": len(answers),
        "csat_satisfied": int((answers["csat"].to_numpy() >= 4).sum()) if len(answers) else 0,
    }


class _SurveyCounts:
    """The survey aggregates of any window from running counts over the responses sorted by
    date: each window costs two binary searches instead of a pass over the rows.

    Equals :func:`_survey_aggregates` for every window; :func:`kpis_by_period` builds it once.
    A table without any date counts whole in every window (as :func:`_survey_aggregates`).
    """

    _FLAGS = ("responses", "promoters", "detractors", "csat_responses", "csat_satisfied")

    def __init__(self, surveys: pd.DataFrame) -> None:
        self._surveys = surveys
        self._dated = _is_dated(surveys)
        if not self._dated:
            return
        ns = surveys["response_date"].to_numpy(dtype="datetime64[ns]").view("int64")
        dated = np.flatnonzero(ns != np.iinfo(np.int64).min)
        order = dated[np.argsort(ns[dated], kind="stable")]
        self._ns = ns[order]
        score = _column(surveys, "score")[order]
        csat = _column(surveys, "csat")[order]
        flags = (
            ~np.isnan(score),
            score >= 9,
            score <= 6,
            ~np.isnan(csat),
            csat >= 4,
        )
        self._running = {
            name: np.concatenate([[0], np.cumsum(flag, dtype="int64")])
            for name, flag in zip(self._FLAGS, flags, strict=True)
        }

    def aggregates(self, window: Window) -> dict[str, float]:
        if not self._dated:
            return _survey_aggregates(self._surveys, window)
        lo, hi = np.searchsorted(self._ns, [window.start.value, window.end_exclusive.value])
        return {name: int(run[hi] - run[lo]) for name, run in self._running.items()}


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float64 (NaN for blanks), all NaN when the frame lacks it."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[name].to_numpy(dtype="float64", na_value=np.nan)


def _active_total(
    events: pd.DataFrame,
    window: Window,
    options: ParsedOptions,
    arrays: EventArrays | None = None,
) -> float:
    return active_score_total(
        events,
        window.end,
        key_actions=options.key_actions,
        span=options.engagement_window,
        weights=options.engagement_weights,
        half_life=options.engagement_half_life,
        arrays=arrays,
    )


def _known_customers(
    kernel: OrderKernel, events: pd.DataFrame, customers: pd.DataFrame | None, end: pd.Timestamp
) -> int:
    """Distinct customers in the events, the customers table or the orders up to ``end``."""
    parts = known_id_parts(events, None, customers, end)
    k = kernel.as_of(end)
    with_orders = np.bincount(k.customer, minlength=k.n_customers) > 0
    parts.append(k.customer_ids[with_orders])
    return count_distinct(parts)


class _KnownCustomers:
    """How many customers are known (in the events, the customers table or the orders) up to
    any day: each id's first date over the three, computed once, then a binary search.

    Equals :func:`_known_customers` for every ``end``; :func:`kpis_by_period` asks it once per
    period instead of hashing every id again.
    """

    def __init__(
        self,
        kernel: OrderKernel,
        arrays: EventArrays,
        customers: pd.DataFrame | None,
    ) -> None:
        never, always = np.iinfo(np.int64).max, np.iinfo(np.int64).min
        event_first = np.full(len(arrays.ids), never, dtype="int64")
        present = arrays.codes >= 0
        np.minimum.at(event_first, arrays.codes[present], arrays.ns[present])
        order_first = np.full(kernel.n_customers, never, dtype="int64")
        np.minimum.at(order_first, kernel.customer, kernel.date)
        ids = [arrays.ids.to_series(), kernel.customer_ids]
        dates = [event_first, order_first]
        if customers is not None:
            ids.append(customers["customer_id"])
            dates.append(
                _ns(customers["signup_date"], missing=always)
                if "signup_date" in customers.columns
                else np.full(len(customers), always, dtype="int64")
            )
        codes = factorize_ids(pd.concat([i.astype("str") for i in ids], ignore_index=True))
        first = np.full(int(codes.max(initial=-1)) + 1, never, dtype="int64")
        valid = codes >= 0
        np.minimum.at(first, codes[valid], np.concatenate(dates)[valid])
        self._first = np.sort(first)

    def count(self, end: pd.Timestamp) -> int:
        return int(np.searchsorted(self._first, (end + ONE_DAY).value, side="left"))


def _ns(dates: pd.Series, *, missing: int) -> np.ndarray:
    """Nanoseconds of ``dates``, ``missing`` where there is no date."""
    values = dates.to_numpy(dtype="datetime64[ns]").view("int64").copy()
    values[values == np.iinfo(np.int64).min] = missing
    return values


def _side_aggregates(
    window: Window,
    options: ParsedOptions,
    surveys: pd.DataFrame | None,
    events: pd.DataFrame | None,
    spend: pd.DataFrame | None,
    arrays: EventArrays | None = None,
    survey_counts: _SurveyCounts | None = None,
) -> dict[str, float]:
    """The aggregates of the survey, event and spend rows (they need no order kernel)."""
    out: dict[str, float] = {}
    if window.empty:
        return out
    if survey_counts is not None:
        out.update(survey_counts.aggregates(window))
    elif surveys is not None:
        out.update(_survey_aggregates(surveys, window))
    if events is not None:
        out["engagement_total"] = _active_total(events, window, options, arrays)
    if spend is not None:
        out["spend"] = float(spend.loc[window.contains(spend["date"]), "amount"].sum())
    return out


def _series(values: dict[str, float], window: Window) -> pd.Series:
    series = pd.Series(values, index=list(KPI_KEYS), dtype="float64", name="kpis")
    series.attrs["loyalty_metrics.kpis"] = {  # ISO dates: JSON-safe, so to_parquet keeps them
        "start": None if window.empty else str(window.start.date()),
        "end": None if window.empty else str(window.end.date()),
    }
    return series


def kpis(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    spend: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    points: pd.DataFrame | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    churn_period: str | pd.Timedelta | pd.DateOffset = "365D",
    margin: float = 1.0,
    lifespan_years: float | None = None,
    max_lifespan_years: float = 5.0,
    key_actions: Sequence[str] | None = None,
    engagement_window: str | pd.Timedelta = "90D",
    engagement_weights: Mapping[str, float] | Sequence[float] | None = None,
    engagement_half_life: str | pd.Timedelta | float | None = None,
    nps_method: Literal["adjusted-wald", "wald"] = "adjusted-wald",
    level: float = 0.95,
    cli_weights: Mapping[str, float] | Sequence[float] | None = None,
    cli_nps_scale: Literal["points", "percent", "0-100"] = "points",
    options: MetricOptions | None = None,
    engine: Any = "pandas",
) -> pd.Series:
    """The KPI snapshot of one window, from whatever tables are given.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    surveys, events, spend, customers : pandas.DataFrame, optional
        The other validated tables; the KPIs that need an absent one are NaN.
    points : pandas.DataFrame, optional
        The loyalty-programme ledger: accepted and not read (no KPI here uses it; its
        figures are :func:`~loyalty_metrics.points_kpis`'s), so that ``kpis(**tables)``
        takes every table :func:`~loyalty_metrics.read_folder` returns.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date. Rows of every table
        outside it are ignored; nothing after ``end`` is used.
    churn_period : str, default "365D"
        Period of :func:`~loyalty_metrics.churn_rate` (CLV's lifespan always uses the yearly
        churn).
    margin, lifespan_years, max_lifespan_years
        As in :func:`~loyalty_metrics.clv`.
    key_actions, engagement_window, engagement_weights, engagement_half_life
        ``key_actions``, ``window``, ``weights`` and ``half_life`` of
        :func:`~loyalty_metrics.engagement_scores`.
    nps_method : {"adjusted-wald", "wald"}, default "adjusted-wald"
        Interval method of ``nps_ci_low``/``nps_ci_high``.
    level : float, default 0.95
        Confidence level of the NPS interval.
    cli_weights, cli_nps_scale
        ``weights`` and ``nps_scale`` of :func:`~loyalty_metrics.customer_loyalty_index`.
    options : MetricOptions, optional
        All the options above in one object (e.g. ``MetricOptions.from_config(config)``);
        a keyword not left at its default overrides it.
    engine : {"pandas", "duckdb", "spark"} or an Ibis backend, default "pandas"
        Where to compute (DESIGN section 7): with a SQL engine every table may also be a path
        or glob of CSV/Parquet files or a table of the engine, and only the KPIs come back
        (see :mod:`loyalty_metrics.engines`).

    Returns
    -------
    pandas.Series
        float64, named ``kpis``, with exactly the keys of :data:`KPI_KEYS` in that order:
        counts (``customers``, ``new_customers``, ``purchases``, ``responses``), money
        (``revenue``, ``average_ticket``, ``clv``, ``cac``), rates in percent (0-100), NPS
        and its interval in points (-100..100) and plain ratios (``purchase_frequency``,
        ``upsell_ratio``, ``ltv_cac_ratio``). ``attrs["loyalty_metrics.kpis"]`` holds the
        window's ``start`` and ``end`` as ISO dates.

    Notes
    -----
    Each value follows the definition of its function (see those for the NaN policy). NaN
    where the input needed is absent: NPS, its interval, ``responses``, CSAT and the loyalty
    index without surveys; CAC and LTV/CAC without spend; the engagement score without
    events. Each value is its registered metric's formula (:mod:`loyalty_metrics.metrics.registry`)
    over aggregates counted from one netting of the order lines (the order kernel), which
    serves the window and the churn look-backs alike.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-10"]),
    ...     "amount": [10.0, 30.0, 20.0],
    ... })
    >>> surveys = pd.DataFrame({"score": [10, 6], "response_date": pd.to_datetime(["2024-01-05"] * 2)})
    >>> k = kpis(orders, surveys)
    >>> k[["customers", "purchases", "revenue", "repeat_purchase_rate", "nps"]].tolist()
    [2.0, 3.0, 60.0, 50.0, 0.0]
    >>> list(k.index) == list(KPI_KEYS)
    True

    Every table :func:`~loyalty_metrics.read_folder` returns at once (``points`` is not read):

    >>> ledger = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-01-02"]),
    ...                        "points": [40], "type": ["earn"]})
    >>> kpis(**{"orders": orders, "surveys": surveys, "points": ledger}).equals(k)
    True
    """
    parsed = parse_options(
        "kpis",
        (options or MetricOptions()).merged(
            churn_period=churn_period, margin=margin, lifespan_years=lifespan_years,
            max_lifespan_years=max_lifespan_years, key_actions=key_actions,
            engagement_window=engagement_window, engagement_weights=engagement_weights,
            engagement_half_life=engagement_half_life, nps_method=nps_method, level=level,
            cli_weights=cli_weights, cli_nps_scale=cli_nps_scale,
        ),
    )  # fmt: skip
    if engine is not None and engine != "pandas":
        from . import engines

        return engines.kpis(orders, surveys, events, spend, customers, start=start, end=end,
                            engine=engine, validated=parsed)  # fmt: skip
    require_order_lines(orders, func="kpis")
    validate_orders(orders, func="kpis")
    window = resolve_window(orders["order_date"], start, end)
    if not window.empty:
        first = orders["order_date"].min()
        caveats.emit(
            caveats.window_caveats(
                first, window.start, window.end, churn_period=parsed.churn_period
            )
        )
    # The survey, event and spend rows need no kernel: count them on the other core while
    # this one nets the order lines (their kernels release the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        side = pool.submit(_side_aggregates, window, parsed, surveys, events, spend)
        kernel = order_kernel(orders, end=window.end)
        aggregates = order_aggregates(kernel, window, parsed.churn_period)
        aggregates.update(side.result())
    if events is not None and not window.empty:
        aggregates["known_customers"] = _known_customers(kernel, events, customers, window.end)
    return _series(evaluate(aggregates, parsed), window)


def kpis_by_period(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    spend: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    points: pd.DataFrame | None = None,
    freq: str = "M",
    window: str | pd.Timedelta = "expanding",
    start: DateLike | None = None,
    end: DateLike | None = None,
    churn_period: str | pd.Timedelta | pd.DateOffset = "365D",
    margin: float = 1.0,
    lifespan_years: float | None = None,
    max_lifespan_years: float = 5.0,
    key_actions: Sequence[str] | None = None,
    engagement_window: str | pd.Timedelta = "90D",
    engagement_weights: Mapping[str, float] | Sequence[float] | None = None,
    engagement_half_life: str | pd.Timedelta | float | None = None,
    nps_method: Literal["adjusted-wald", "wald"] = "adjusted-wald",
    level: float = 0.95,
    cli_weights: Mapping[str, float] | Sequence[float] | None = None,
    cli_nps_scale: Literal["points", "percent", "0-100"] = "points",
    options: MetricOptions | None = None,
    engine: Any = "pandas",
) -> pd.DataFrame:
    """One KPI snapshot per period, each computed as of that period's last day.

    Parameters
    ----------
    orders, surveys, events, spend, customers, points : pandas.DataFrame
        As in :func:`kpis` (``points`` is not read).
    freq : str, default "M"
        Period alias: ``"W"``, ``"M"``, ``"Q"``, ``"Y"`` (any pandas period alias).
    window : {"expanding", "period"} or str, default "expanding"
        The window of each row: ``"expanding"`` from ``start`` to the period's end (so row
        ``d`` equals ``kpis(..., start=start, end=d)``); ``"period"`` the period alone
        (``kpis(..., start=period_start, end=d)``); or a trailing length such as ``"365D"``
        (the last 365 days up to ``d``, not before ``start``).
    start, end : date-like, optional
        The overall window; default the first and the last order date.
    churn_period, margin, lifespan_years, max_lifespan_years, key_actions, engagement_window, engagement_weights, engagement_half_life, nps_method, level, cli_weights, cli_nps_scale, engine
        As in :func:`kpis`.
    options : MetricOptions, optional
        As in :func:`kpis`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KPI_KEYS`, indexed by ``period_end``: the last day of each period
        overlapping the window, the last one clipped to ``end`` (a partial period is
        computed, and labelled, as of ``end``: nothing after it is used).

    Notes
    -----
    Every row agrees with :func:`kpis` called with that row's window. The order lines are
    netted once; each row counts the orders dated up to its end (re-netting only the orders
    whose later lines fall after it), so a row costs O(orders), not a pass over the lines.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-03-15"]),
    ...     "amount": [10.0, 20.0, 30.0],
    ... })
    >>> kpis_by_period(orders)[["customers", "revenue", "repeat_purchase_rate"]]
                customers  revenue  repeat_purchase_rate
    period_end
    2024-01-31        1.0     10.0                   0.0
    2024-02-29        2.0     30.0                   0.0
    2024-03-15        2.0     60.0                  50.0
    """
    func = "kpis_by_period"
    check_freq(freq, func=func)
    trailing = parse_trend_window(window, func=func)
    parsed = parse_options(
        func,
        (options or MetricOptions()).merged(
            churn_period=churn_period, margin=margin, lifespan_years=lifespan_years,
            max_lifespan_years=max_lifespan_years, key_actions=key_actions,
            engagement_window=engagement_window, engagement_weights=engagement_weights,
            engagement_half_life=engagement_half_life, nps_method=nps_method, level=level,
            cli_weights=cli_weights, cli_nps_scale=cli_nps_scale,
        ),
    )  # fmt: skip
    if engine is not None and engine != "pandas":
        from . import engines

        return engines.kpis_by_period(orders, surveys, events, spend, customers, freq=freq,
                                      window=window, start=start, end=end, engine=engine,
                                      validated=parsed)  # fmt: skip
    require_order_lines(orders, func=func)
    validate_orders(orders, func="kpis")
    kernel = order_kernel(orders, end=end)
    overall = kernel.window(start, end)
    arrays = known = None
    if events is not None:  # the events, coded once for every period
        arrays = event_arrays(events, parsed.key_actions)
        known = _KnownCustomers(kernel, arrays, customers)
    survey_counts = _SurveyCounts(surveys) if surveys is not None else None
    # Every row of an expanding window starts on the same day: the categories of most
    # customers then come from one timeline instead of a pass over the orders per row.
    expanding = window != "period" and trailing is None
    timeline = (
        category_timeline(kernel, overall.start)
        if expanding and kernel.has_categories and not overall.empty
        else None
    )
    firsts = first_purchases(kernel)  # who purchased before each row's window
    rows = {}
    for row_window in trend_windows(overall, freq, window, trailing):
        last = row_window.end
        aggregates = order_aggregates(kernel, row_window, parsed.churn_period, timeline, firsts)
        aggregates.update(
            _side_aggregates(row_window, parsed, surveys, events, spend, arrays, survey_counts)
        )
        if known is not None:
            aggregates["known_customers"] = known.count(last)
        rows[last] = _series(evaluate(aggregates, parsed), row_window)
    frame = pd.DataFrame(list(rows.values()), columns=list(KPI_KEYS), dtype="float64")
    frame.index = pd.DatetimeIndex(list(rows), name="period_end", dtype="datetime64[ns]")
    return frame
