"""The KPI snapshot: every headline metric from whatever tables are given, in one Series.

:func:`kpis` computes the customer summary once and derives everything else from it in
O(customers), plus a pass over the survey and event rows it needs, made on a second thread
while the summary runs. :func:`kpis_by_period`
repeats the snapshot as of each period's end, reusing one date-sorted copy of the order lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._ids import count_distinct
from ._stats import nps_interval
from ._validation import validate_orders
from ._window import ONE_DAY, DateLike, Window, resolve_window
from .metrics._common import (
    Span,
    check_freq,
    check_number,
    check_option,
    check_weights,
    day_after,
    new_customer_mask,
    parse_span,
    periods,
    total_revenue,
)
from .metrics.engagement import active_scores, known_id_parts
from .metrics.index import CLI_INPUTS, customer_loyalty_index
from .metrics.retention import (
    churn_counts_from_summary,
    churn_hits,
    lookback_start,
    lookback_summary,
)
from .metrics.survey import _categories, _responses, csat
from .metrics.value import clv_from, lifespan_from_churn, ratio
from .summary import customer_summary

__all__ = ["KPI_KEYS", "kpis", "kpis_by_period"]

#: The keys of :func:`kpis`, in order (DESIGN section 4).
KPI_KEYS: tuple[str, ...] = (
    "customers",
    "new_customers",
    "purchases",
    "revenue",
    "average_ticket",
    "purchase_frequency",
    "repeat_purchase_rate",
    "upsell_ratio",
    "upsell_share",
    "nps",
    "nps_ci_low",
    "nps_ci_high",
    "responses",
    "csat",
    "customer_loyalty_index",
    "churn_rate",
    "retention_rate",
    "clv",
    "cac",
    "ltv_cac_ratio",
    "engagement_score",
)

_YEAR = pd.Timedelta(days=365)
_NAN = float("nan")


@dataclass(frozen=True)
class _Options:
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


def _options(func: str, **given: Any) -> _Options:
    from .metrics.engagement import _options as engagement_options

    key_actions, span, weights, half_life = engagement_options(
        given["key_actions"],
        given["engagement_window"],
        given["engagement_weights"],
        given["engagement_half_life"],
        func,
    )
    lifespan = given["lifespan_years"]
    if lifespan is not None:
        lifespan = check_number(lifespan, name="lifespan_years", func=func, low=0.0, open_low=True)
    return _Options(
        churn_period=parse_span(given["churn_period"], name="churn_period", func=func),
        margin=check_number(given["margin"], name="margin", func=func),
        lifespan_years=lifespan,
        max_lifespan_years=check_number(
            given["max_lifespan_years"],
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
            given["nps_method"], ("adjusted-wald", "wald"), name="nps_method", func=func
        ),
        level=check_number(given["level"], name="level", func=func, low=0.0, open_low=True),
        cli_weights=check_weights(given["cli_weights"], CLI_INPUTS, func=func, name="cli_weights"),
        cli_nps_scale=check_option(
            given["cli_nps_scale"], ("points", "percent", "0-100"), name="cli_nps_scale", func=func
        ),
    )


# ---------------------------------------------------------------------------------------------
# Where the summaries come from: straight from the orders (one snapshot), or from one
# date-sorted copy of the lines (many snapshots).


class _Direct:
    """Summaries computed on the orders as given."""

    def __init__(self, orders: pd.DataFrame) -> None:
        validate_orders(orders, func="kpis")
        self.orders = orders
        self._churn: dict[tuple[pd.Timestamp, Span], float] = {}

    def window(self, start: DateLike | None, end: DateLike | None) -> Window:
        return resolve_window(self.orders["order_date"], start, end)

    def summary(self, window: Window) -> pd.DataFrame:
        return customer_summary(self._lines(window.end), start=window.start, end=window.end)

    def churn(self, end: pd.Timestamp, span: Span, main: pd.DataFrame) -> float:
        """churn_rate(period=span) as of ``end``, from ``main`` when its window allows."""
        key = (end, span)
        if key not in self._churn:
            counts = churn_counts_from_summary(main, self._lines(end), end, span)
            if counts is None:  # the main window starts after the look-back: read it
                lookback = self._lookback(end, span)
                cohort, churned = churn_hits(lookback, end, span)
                counts = int(cohort.sum()), int(churned[cohort].sum())
            cohort_size, churned_count = counts
            self._churn[key] = 100 * churned_count / cohort_size if cohort_size else _NAN
        return self._churn[key]

    def _lookback(self, end: pd.Timestamp, span: Span) -> pd.DataFrame:
        return lookback_summary(self.orders, end, span)

    def _lines(self, end: pd.Timestamp) -> pd.DataFrame:
        return self.orders

    def known_ids(self, end: pd.Timestamp) -> pd.Series:
        """Ids of the customers with an order line up to ``end`` (repeats allowed)."""
        mask = self.orders["order_date"].to_numpy() < (end + ONE_DAY).to_datetime64()
        ids = self.orders["customer_id"]
        return ids if mask.all() else ids.loc[mask]


class _Sorted(_Direct):
    """Lines sorted by their order's date, so any window's lines are one contiguous slice.

    An order's date is its earliest line's; slicing on it keeps every order whole, so each
    summary of a slice equals the summary of all the lines.
    """

    def __init__(self, orders: pd.DataFrame) -> None:
        super().__init__(orders)
        order_date = orders["order_date"].to_numpy(dtype="datetime64[ns]")
        if "order_id" in orders.columns and orders["order_id"].notna().any():
            first = orders.groupby(["customer_id", "order_id"], sort=False, observed=True)[
                "order_date"
            ].transform("min")
            order_date = np.where(
                orders["order_id"].isna().to_numpy(),
                order_date,
                first.to_numpy(dtype="datetime64[ns]"),
            )
        position = np.argsort(order_date, kind="stable")
        self.sorted = orders.iloc[position]
        self.keys = order_date[position]
        seen = orders.groupby("customer_id", sort=False, observed=True)["order_date"].min()
        self.first_seen = seen

    def _slice(self, first: pd.Timestamp | None, end: pd.Timestamp) -> pd.DataFrame:
        stop = np.searchsorted(self.keys, (end + ONE_DAY).to_datetime64(), side="left")
        begin = 0 if first is None else np.searchsorted(self.keys, first.to_datetime64(), "left")
        return self.sorted.iloc[begin:stop]

    def _lines(self, end: pd.Timestamp) -> pd.DataFrame:
        return self.orders if pd.isna(end) else self._slice(None, end)

    def _lookback(self, end: pd.Timestamp, span: Span) -> pd.DataFrame:
        first = lookback_start(end, span)
        return customer_summary(self._slice(first, end), start=first, end=end)

    def known_ids(self, end: pd.Timestamp) -> pd.Series:
        seen = self.first_seen
        return seen.index.to_series()[seen.to_numpy() < (end + ONE_DAY).to_datetime64()]


# ---------------------------------------------------------------------------------------------
# The snapshot.


def _snapshot(
    source: _Direct,
    window: Window,
    options: _Options,
    *,
    surveys: pd.DataFrame | None,
    events: pd.DataFrame | None,
    spend: pd.DataFrame | None,
    customers: pd.DataFrame | None,
) -> pd.Series:
    out = dict.fromkeys(KPI_KEYS, _NAN)
    # Surveys and events do not need the customer summary: read them on the other core while
    # this one summarises the order lines (their kernels release the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        side = pool.submit(_side_figures, source, window, options, surveys, events, customers)
        summary = source.summary(window)
        out.update(_purchase_figures(summary))
        if not window.empty:
            out.update(_retention_figures(source, window, options, summary))
        out.update(side.result())
    out["customer_loyalty_index"] = customer_loyalty_index(
        out["nps"],
        out["repeat_purchase_rate"],
        out["upsell_share"],
        weights=dict(zip(CLI_INPUTS, options.cli_weights, strict=True)),
        nps_scale=options.cli_nps_scale,  # type: ignore[arg-type]  # checked by _options
    )
    if spend is not None and not window.empty:
        spent = float(spend.loc[window.contains(spend["date"]), "amount"].sum())
        new = out["new_customers"]
        out["cac"] = spent / new if new else _NAN
        out["ltv_cac_ratio"] = ratio(out["clv"], out["cac"])
    series = pd.Series(out, index=list(KPI_KEYS), dtype="float64", name="kpis")
    series.attrs["loyalty_metrics.kpis"] = {"start": window.start, "end": window.end}
    return series


def _purchase_figures(summary: pd.DataFrame) -> dict[str, float]:
    n = len(summary)
    purchases = int(summary["purchases"].sum())
    revenue = total_revenue(summary)
    categories = summary["categories"].to_numpy(dtype="float64")
    has_categories = n > 0 and not np.isnan(categories).all()
    single = int((categories == 1).sum())
    multi = int((categories > 1).sum())
    return {
        "customers": n,
        "new_customers": int(new_customer_mask(summary).sum()),
        "purchases": purchases,
        "revenue": revenue,
        "average_ticket": revenue / purchases if purchases else _NAN,
        "purchase_frequency": purchases / n if n else _NAN,
        "repeat_purchase_rate": 100 * (summary["purchases"].to_numpy() >= 2).sum() / n
        if n
        else _NAN,
        "upsell_ratio": multi / single if has_categories and single else _NAN,
        "upsell_share": 100 * multi / n if has_categories else _NAN,
    }


def _retention_figures(
    source: _Direct, window: Window, options: _Options, summary: pd.DataFrame
) -> dict[str, float]:
    churn = source.churn(window.end, options.churn_period, summary)
    lifespan = options.lifespan_years
    if lifespan is None:
        yearly = (
            churn if options.churn_period == _YEAR else source.churn(window.end, _YEAR, summary)
        )
        lifespan = lifespan_from_churn(yearly, options.max_lifespan_years)
    return {
        "churn_rate": churn,
        "retention_rate": 100 - churn,
        "clv": clv_from(summary, lifespan_years=lifespan, margin=options.margin),
    }


def _side_figures(
    source: _Direct,
    window: Window,
    options: _Options,
    surveys: pd.DataFrame | None,
    events: pd.DataFrame | None,
    customers: pd.DataFrame | None,
) -> dict[str, float]:
    """The survey and engagement KPIs (they need no customer summary)."""
    out: dict[str, float] = {}
    if window.empty:
        return out
    if surveys is not None:
        rows, _ = _responses(surveys, "score", window.start, window.end)
        counts = _categories(rows["score"]).sum()
        responses = len(rows)
        low, high = nps_interval(
            counts["promoters"],
            counts["detractors"],
            responses,
            level=options.level,
            method=options.nps_method,  # type: ignore[arg-type]  # checked by _options
        )
        out.update(
            nps=100 * (counts["promoters"] - counts["detractors"]) / responses
            if responses
            else _NAN,
            nps_ci_low=float(low),
            nps_ci_high=float(high),
            responses=responses,
            csat=csat(surveys, start=window.start, end=window.end),
        )
    if events is not None:
        # mean over the known customers = sum of the active ones' scores / number known
        active = active_scores(
            events,
            window.end,
            key_actions=options.key_actions,
            span=options.engagement_window,
            weights=options.engagement_weights,
            half_life=options.engagement_half_life,
        )
        parts = known_id_parts(events, None, customers, window.end)
        parts.append(source.known_ids(window.end))
        known = count_distinct(parts)
        out["engagement_score"] = float(active["score"].sum()) / known if known else _NAN
    return out


def kpis(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    spend: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
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
) -> pd.Series:
    """The KPI snapshot of one window, from whatever tables are given.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    surveys, events, spend, customers : pandas.DataFrame, optional
        The other validated tables; the KPIs that need an absent one are NaN.
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

    Returns
    -------
    pandas.Series
        float64, named ``kpis``, with exactly the keys of :data:`KPI_KEYS` in that order:
        counts (``customers``, ``new_customers``, ``purchases``, ``responses``), money
        (``revenue``, ``average_ticket``, ``clv``, ``cac``), rates in percent (0-100), NPS
        and its interval in points (-100..100) and plain ratios (``purchase_frequency``,
        ``upsell_ratio``, ``ltv_cac_ratio``). ``attrs["loyalty_metrics.kpis"]`` holds the
        window.

    Notes
    -----
    Each value follows the definition of its function (see those for the NaN policy). NaN
    where the input needed is absent: NPS, its interval, ``responses``, CSAT and the loyalty
    index without surveys; CAC and LTV/CAC without spend; the engagement score without
    events. The customer summary is computed once. Churn (and CLV's yearly churn) is read off
    it when the window reaches back over the two look-back periods: only customers who bought
    before the look-back, came back and have a third purchase are re-read; otherwise the
    look-back ``(end - 2 * churn_period, end]`` gets a summary of its own.

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
    """
    options = _options(
        "kpis",
        churn_period=churn_period,
        margin=margin,
        lifespan_years=lifespan_years,
        max_lifespan_years=max_lifespan_years,
        key_actions=key_actions,
        engagement_window=engagement_window,
        engagement_weights=engagement_weights,
        engagement_half_life=engagement_half_life,
        nps_method=nps_method,
        level=level,
        cli_weights=cli_weights,
        cli_nps_scale=cli_nps_scale,
    )
    source = _Direct(orders)
    window = source.window(start, end)
    return _snapshot(
        source, window, options, surveys=surveys, events=events, spend=spend, customers=customers
    )


def kpis_by_period(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    spend: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
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
) -> pd.DataFrame:
    """One KPI snapshot per period, each computed as of that period's last day.

    Parameters
    ----------
    orders, surveys, events, spend, customers : pandas.DataFrame
        As in :func:`kpis`.
    freq : str, default "M"
        Period alias: ``"W"``, ``"M"``, ``"Q"``, ``"Y"`` (any pandas period alias).
    window : {"expanding", "period"} or str, default "expanding"
        The window of each row: ``"expanding"`` from ``start`` to the period's end (so row
        ``d`` equals ``kpis(..., start=start, end=d)``); ``"period"`` the period alone
        (``kpis(..., start=period_start, end=d)``); or a trailing length such as ``"365D"``
        (the last 365 days up to ``d``, not before ``start``).
    start, end : date-like, optional
        The overall window; default the first and the last order date.
    churn_period, margin, lifespan_years, max_lifespan_years, key_actions, engagement_window, engagement_weights, engagement_half_life, nps_method, level, cli_weights, cli_nps_scale
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
    sorted once by their order's date, so each snapshot reads one contiguous slice of them.

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
    trailing = None
    if not (isinstance(window, str) and window in ("expanding", "period")):
        try:
            trailing = parse_span(window, name="window", func=func)
        except ValueError:
            check_option(window, ("expanding", "period"), name="window", func=func)
    options = _options(
        func,
        churn_period=churn_period,
        margin=margin,
        lifespan_years=lifespan_years,
        max_lifespan_years=max_lifespan_years,
        key_actions=key_actions,
        engagement_window=engagement_window,
        engagement_weights=engagement_weights,
        engagement_half_life=engagement_half_life,
        nps_method=nps_method,
        level=level,
        cli_weights=cli_weights,
        cli_nps_scale=cli_nps_scale,
    )
    source = _Sorted(orders)
    overall = source.window(start, end)
    rows = {}
    for first, last in periods(overall, freq):
        if window == "period":
            row_start = first
        elif trailing is not None:
            row_start = max(day_after(last, trailing), overall.start)
        else:
            row_start = overall.start
        rows[last] = _snapshot(
            source,
            Window(start=row_start, end=last),
            options,
            surveys=surveys,
            events=events,
            spend=spend,
            customers=customers,
        )
    frame = pd.DataFrame(list(rows.values()), columns=list(KPI_KEYS), dtype="float64")
    frame.index = pd.DatetimeIndex(list(rows), name="period_end", dtype="datetime64[ns]")
    return frame
