"""Purchase metrics: repeat-purchase rate, purchase frequency, average ticket, upsell.

Each takes a validated orders frame or a :func:`~loyalty_metrics.customer_summary` (so a
caller computing many metrics pays for the pass over order lines once).
"""

from __future__ import annotations

from typing import overload

import numpy as np
import pandas as pd

from .._window import ONE_DAY, DateLike, Window
from ..orders import OrderKernel, order_kernel
from ..summary import summary_from_kernel, summary_window
from ._common import (
    By,
    Span,
    check_number,
    get_summary,
    orders_window,
    parse_span,
    rate_breakdown,
    rate_scalar,
    require_orders,
    summary_units,
)
from .registry import summary_value

__all__ = [
    "average_ticket",
    "average_units",
    "purchase_frequency",
    "repeat_purchase_rate",
    "upsell_ratio",
    "upsell_share",
]


# ---------------------------------------------------------------------------------------------
# Repeat-purchase rate.


@overload
def repeat_purchase_rate(
    orders: pd.DataFrame,
    *,
    within: str | pd.Timedelta | pd.DateOffset | None = ...,
    by: None = None,
    freq: None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> float: ...
@overload
def repeat_purchase_rate(
    orders: pd.DataFrame,
    *,
    within: str | pd.Timedelta | pd.DateOffset | None = ...,
    by: str | pd.Series | None = None,
    freq: str | None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> pd.DataFrame: ...
def repeat_purchase_rate(
    orders: pd.DataFrame,
    *,
    within: str | pd.Timedelta | pd.DateOffset | None = None,
    by: By = None,
    freq: str | None = None,
    level: float = 0.95,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float | pd.DataFrame:
    """Share of customers with at least two purchases in the window, in percent.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame, or its customer summary (not with ``within`` or ``freq``,
        which need the order lines).
    within : str, pandas.Timedelta or pandas.DateOffset, optional
        Time-boxed variant (``"90D"``, ``"3M"``...): among customers whose first purchase in
        the window is on or before ``end - within``, the share whose second purchase came at
        most ``within`` after their first (calendar days).
    by : str or pandas.Series, optional
        Break down by a customer-summary column (e.g. ``"channel"``) or a Series mapping
        ``customer_id`` to a group.
    freq : str, optional
        One row per period (``"W"``, ``"M"``, ``"Q"``, ``"Y"``), each computed over that
        period alone (the window clipped to the period).
    level : float, default 0.95
        Confidence level of a breakdown's Wilson interval.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float or pandas.DataFrame
        Without ``by``/``freq``: the rate in percent, 0-100 (higher: more loyal). With either:
        a tidy frame with ``repeat_purchase_rate``, ``n`` (customers), ``successes``
        (repeat customers), ``ci_low``, ``ci_high`` (Wilson) and ``low_n`` (n < 30 or
        half-width > 10 points), indexed by group and/or ``period_end``.

    Notes
    -----
    ``100 * customers with >= 2 purchases / customers``: a purchase is an order with net
    amount >= 0 (a $0 order counts), two orders on one day are two purchases. ``by`` and
    ``freq`` are the breakdown parameters: a call with either returns the breakdown frame.
    NaN when no customer purchased in the window (or, with ``within``, none is old enough).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05",
    ...                                   "2024-01-02", "2024-01-03", "2024-06-30"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0, 9.0, 7.0],
    ... })
    >>> round(repeat_purchase_rate(orders), 2)  # a and c of a, b, c: 100 * 2 / 3
    66.67
    >>> repeat_purchase_rate(orders, within="30D")  # a (31 days) no, b no, c (1 day) yes
    33.33333333333333
    """
    func = "repeat_purchase_rate"
    check_number(level, name="level", func=func, low=0.0, open_low=True)
    span = parse_span(within, name="within", func=func) if within is not None else None
    if span is not None:
        require_orders(orders, func=func, why="within= needs each customer's second purchase")
    if freq is not None:
        require_orders(orders, func=func, why="freq= recomputes each period from the lines")

    def units(first: pd.Timestamp | None, last: pd.Timestamp | None) -> pd.DataFrame:
        lo, hi = (start, end) if first is None else (first, last)
        if span is None:
            summary = get_summary(orders, lo, hi, func=func)
            return summary_units(summary, summary["purchases"].to_numpy() >= 2)
        kernel = order_kernel(orders, end=hi)
        summary, eligible, hit = _within(kernel, kernel.window(lo, hi), span)
        return summary_units(summary, hit, eligible)

    if by is None and freq is None:
        if span is None:
            return summary_value(func, get_summary(orders, start, end, func=func))
        return rate_scalar(units(None, None)["_hit"].to_numpy())
    return rate_breakdown(
        units,
        window=orders_window(orders, start, end),
        by=by,
        freq=freq,
        name=func,
        level=level,
        func=func,
        what="customer summary",
    )


def _within(
    kernel: OrderKernel, window: Window, span: Span
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The summary of ``window`` and (eligible, hit) per row for the time-boxed repeat rate."""
    summary = summary_from_kernel(kernel, window)
    first_day = summary["first_purchase"].dt.normalize()
    eligible = (first_day + span <= window.end).to_numpy()
    second = _second_purchase(kernel, window).reindex(summary.index)
    deadline = first_day + span + ONE_DAY  # second purchase on or before first day + span
    hit = (second.notna() & (second < deadline)).to_numpy()
    return summary, eligible, hit


def _second_purchase(kernel: OrderKernel, window: Window) -> pd.Series:
    """Date of each customer's second purchase in the window (absent when fewer than two)."""
    if window.empty:
        return pd.Series(pd.NaT, index=pd.Index([], name="customer_id"), dtype="datetime64[ns]")
    k = kernel.as_of(window.end)
    begin, stop = k.between(window)
    rows = begin + np.flatnonzero(k.purchase[begin:stop])
    # Orders are sorted by date: a stable sort by customer lists each one's purchases in order.
    rows = rows[np.argsort(k.customer[rows], kind="stable")]
    customer = k.customer[rows]
    first = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]]) if len(rows) else rows
    first = first[first + 1 < len(rows)]
    first = first[customer[first + 1] == customer[first]]  # those with a second purchase
    index = pd.Index(k.customer_ids.to_numpy()[customer[first]], name="customer_id")
    dates = k.date[rows[first + 1]].view("datetime64[ns]")
    return pd.Series(dates, index=index, name="second_purchase")


# ---------------------------------------------------------------------------------------------
# Frequency and ticket.


def purchase_frequency(
    orders: pd.DataFrame, *, start: DateLike | None = None, end: DateLike | None = None
) -> float:
    """Purchases per customer in the window.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame or its customer summary.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float
        ``purchases / customers``, >= 1 (higher: customers come back more often).

    Notes
    -----
    Customers are those with a purchase in the window. NaN when there is none.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                        "order_date": pd.to_datetime(["2024-01-01"] * 3 + ["2024-01-02"]),
    ...                        "amount": [10.0, 0.0, 5.0, 8.0]})
    >>> purchase_frequency(orders)  # 4 purchases ($0 included) / 2 customers
    2.0
    """
    summary = get_summary(orders, start, end, func="purchase_frequency")
    return summary_value("purchase_frequency", summary)


def average_ticket(
    orders: pd.DataFrame, *, start: DateLike | None = None, end: DateLike | None = None
) -> float:
    """Net revenue per purchase (per order, not per line), in the orders' currency.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame or its customer summary.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float
        ``net revenue / purchases``.

    Notes
    -----
    Net revenue is the sum of every amount in the window, returns included (also returns
    of customers without a purchase in the window). NaN when there is no purchase.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b"], "order_id": ["1", "1", "2", "3"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03"]),
    ...     "amount": [10.0, 20.0, 30.0, -6.0],
    ... })
    >>> average_ticket(orders)  # (10 + 20 + 30 - 6) / 2 purchases (order 3 is a return)
    27.0
    """
    summary = get_summary(orders, start, end, func="average_ticket")
    return summary_value("average_ticket", summary)


def average_units(
    orders: pd.DataFrame, *, start: DateLike | None = None, end: DateLike | None = None
) -> float:
    """Units (``quantity``) per purchase: net units in the window / purchases.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame with a ``quantity`` column.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float
        ``sum of quantity of the lines dated in the window / purchases``, the unit count of
        :func:`average_ticket` (returns count with their negative quantity, as they count in
        revenue). NaN when there is no purchase or no quantity column.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b"], "order_id": ["1", "1", "2", "3"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03"]),
    ...     "amount": [10.0, 20.0, 30.0, -6.0], "quantity": [1.0, 2.0, 3.0, -1.0],
    ... })
    >>> average_units(orders)  # (1 + 2 + 3 - 1) / 2 purchases (order 3 is a return)
    2.5
    """
    require_orders(orders, func="average_units", why="units are read from the order lines")
    if "quantity" not in orders.columns:
        return float("nan")
    summary = get_summary(orders, start, end, func="average_units")
    purchases = int(summary["purchases"].sum())
    window = summary_window(summary)
    units = float(orders.loc[window.contains(orders["order_date"]), "quantity"].sum())
    return units / purchases if purchases else float("nan")


# ---------------------------------------------------------------------------------------------
# Upsell.


def upsell_ratio(
    orders: pd.DataFrame, *, start: DateLike | None = None, end: DateLike | None = None
) -> float:
    """Customers who bought several categories per customer who bought exactly one.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (with ``category`` or ``product_id``) or its summary.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float
        ``customers with > 1 distinct category / customers with exactly 1``, a plain ratio
        >= 0 (higher: more cross-selling).

    Notes
    -----
    Categories are the distinct ``category`` (else ``product_id``) values of the lines of a
    customer's purchases in the window. NaN when no customer bought exactly one category
    (empty denominator) or the orders carry neither column.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"]),
    ...     "amount": [10.0, 20.0, 5.0, 7.0],
    ...     "category": ["shoes", "bags", "shoes", "shoes"],
    ... })
    >>> upsell_ratio(orders)  # a has 2 categories; b, c have 1: 1 / 2
    0.5
    """
    summary = get_summary(orders, start, end, func="upsell_ratio")
    return summary_value("upsell_ratio", summary)


@overload
def upsell_share(
    orders: pd.DataFrame,
    *,
    by: None = None,
    freq: None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> float: ...
@overload
def upsell_share(
    orders: pd.DataFrame,
    *,
    by: str | pd.Series | None = None,
    freq: str | None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> pd.DataFrame: ...
def upsell_share(
    orders: pd.DataFrame,
    *,
    by: By = None,
    freq: str | None = None,
    level: float = 0.95,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float | pd.DataFrame:
    """Share of customers who bought more than one distinct category, in percent.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (with ``category`` or ``product_id``) or its summary (not
        with ``freq``).
    by : str or pandas.Series, optional
        Break down by a customer-summary column or a ``customer_id`` -> group Series.
    freq : str, optional
        One row per period, each computed over that period alone.
    level : float, default 0.95
        Confidence level of a breakdown's Wilson interval.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float or pandas.DataFrame
        Without ``by``/``freq``: ``100 * customers with > 1 category / customers``, 0-100.
        With either: the tidy rate frame (``upsell_share``, ``n``, ``successes``, ``ci_low``,
        ``ci_high``, ``low_n``).

    Notes
    -----
    NaN when no customer purchased in the window or the orders carry neither ``category``
    nor ``product_id``.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"]),
    ...     "amount": [10.0, 20.0, 5.0, 7.0],
    ...     "category": ["shoes", "bags", "shoes", "shoes"],
    ... })
    >>> round(upsell_share(orders), 2)  # a of a, b, c: 100 * 1 / 3
    33.33
    """
    func = "upsell_share"
    check_number(level, name="level", func=func, low=0.0, open_low=True)
    if freq is not None:
        require_orders(orders, func=func, why="freq= recomputes each period from the lines")

    def units(first: pd.Timestamp | None, last: pd.Timestamp | None) -> pd.DataFrame:
        lo, hi = (start, end) if first is None else (first, last)
        summary = get_summary(orders, lo, hi, func=func)
        categories = summary["categories"].to_numpy(dtype="float64")
        known = ~np.isnan(categories)
        return summary_units(summary, categories > 1, known)

    if by is None and freq is None:
        return summary_value(func, get_summary(orders, start, end, func=func))
    return rate_breakdown(
        units,
        window=orders_window(orders, start, end),
        by=by,
        freq=freq,
        name=func,
        level=level,
        func=func,
        what="customer summary",
    )
