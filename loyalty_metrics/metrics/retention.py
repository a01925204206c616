"""Churn and retention, measured back from ``end`` over two consecutive periods."""

from __future__ import annotations

from typing import overload

import numpy as np
import pandas as pd

from .. import caveats
from .._window import ONE_DAY, DateLike
from ..errors import ConfigError
from ..orders import OrderKernel
from ..summary import customer_summary, is_customer_summary, summary_window
from ._common import (
    By,
    Span,
    check_number,
    orders_window,
    parse_span,
    rate_breakdown,
    rate_scalar,
    summary_units,
)

__all__ = ["churn_rate", "retention_rate"]


def lookback_start(end: pd.Timestamp, span: Span) -> pd.Timestamp:
    """First day of ``(end - 2 * period, end]``."""
    return end - span - span + ONE_DAY


def lookback_summary(orders: pd.DataFrame, end: pd.Timestamp, span: Span) -> pd.DataFrame:
    """Customer summary over ``(end - 2p, end]``: exactly what churn needs, for any start.

    Its ``first_purchase`` tells who purchased in ``(end - 2p, end - p]`` and its
    ``last_purchase`` who purchased in ``(end - p, end]``.
    """
    if is_customer_summary(orders):
        window = summary_window(orders)
        if window.empty or (window.end == end and window.start == lookback_start(end, span)):
            return orders
        raise ConfigError(
            "churn_rate needs the orders frame, or a customer summary of exactly the two "
            f"look-back periods ({lookback_start(end, span).date()} to {end.date()}); the given "
            f"summary covers {window.start.date()} to {window.end.date()}."
        )
    return customer_summary(orders, start=lookback_start(end, span), end=end)


def churn_hits(
    lookback: pd.DataFrame, end: pd.Timestamp, span: Span
) -> tuple[np.ndarray, np.ndarray]:
    """(in the cohort, churned) per row of a look-back summary."""
    cut = end - span + ONE_DAY  # first day of (end - p, end]
    if lookback.empty:
        return np.zeros(0, bool), np.zeros(0, bool)
    cohort = (lookback["first_purchase"] < cut).to_numpy()
    churned = (lookback["last_purchase"] < cut).to_numpy()
    return cohort, churned


def churn_counts(kernel: OrderKernel, end: pd.Timestamp, span: Span) -> tuple[int, int]:
    """(cohort, churned) as of ``end``, from the order kernel: the customers with a purchase
    in ``(end - 2p, end - p]``, and those of them without one in ``(end - p, end]``.

    Examples
    --------
    >>> from loyalty_metrics.orders import order_kernel
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [1.0, 1.0, 1.0],
    ...     "order_date": pd.to_datetime(["2023-03-01", "2024-02-01", "2023-06-01"])})
    >>> churn_counts(order_kernel(orders), pd.Timestamp("2024-06-30"), pd.Timedelta(days=365))
    (2, 1)
    """
    k = kernel.as_of(end)
    bounds = [lookback_start(end, span), end - span + ONE_DAY, end + ONE_DAY]
    first, cut, stop = np.searchsorted(k.date, [b.value for b in bounds])
    before = np.zeros(k.n_customers, dtype=bool)
    before[k.customer[first:cut][k.purchase[first:cut]]] = True
    after = np.zeros(k.n_customers, dtype=bool)
    after[k.customer[cut:stop][k.purchase[cut:stop]]] = True
    return int(np.count_nonzero(before)), int(np.count_nonzero(before & ~after))


def _churn(
    orders: pd.DataFrame,
    *,
    period: str | pd.Timedelta | pd.DateOffset,
    by: By,
    freq: str | None,
    level: float,
    start: DateLike | None,
    end: DateLike | None,
    func: str,
    retained: bool,
) -> float | pd.DataFrame:
    check_number(level, name="level", func=func, low=0.0, open_low=True)
    span = parse_span(period, name="period", func=func)
    window = orders_window(orders, start, end)
    if freq is not None and is_customer_summary(orders):
        raise ConfigError(f"{func} needs the orders frame, not a customer summary, with freq=.")

    def units(first: pd.Timestamp | None, last: pd.Timestamp | None) -> pd.DataFrame:
        as_of = window.end if last is None else last
        if pd.isna(as_of):
            empty = (
                customer_summary(orders.iloc[:0]) if not is_customer_summary(orders) else orders
            )
            return summary_units(empty, np.zeros(len(empty), bool), np.zeros(len(empty), bool))
        lookback = lookback_summary(orders, as_of, span)
        cohort, churned = churn_hits(lookback, as_of, span)
        return summary_units(lookback, ~churned if retained else churned, cohort)

    name = "retention_rate" if retained else "churn_rate"
    if by is None and freq is None:
        if not is_customer_summary(orders) and not pd.isna(window.end) and len(orders):
            first = orders["order_date"].min()
            caveats.emit(caveats.churn_caveats(first, window.end, span), stacklevel=4)
        return rate_scalar(units(None, None)["_hit"].to_numpy())
    return rate_breakdown(
        units,
        window=window,
        by=by,
        freq=freq,
        name=name,
        level=level,
        func=func,
        what="look-back customer summary",
    )


@overload
def churn_rate(
    orders: pd.DataFrame,
    *,
    period: str | pd.Timedelta | pd.DateOffset = ...,
    by: None = None,
    freq: None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> float: ...
@overload
def churn_rate(
    orders: pd.DataFrame,
    *,
    period: str | pd.Timedelta | pd.DateOffset = ...,
    by: str | pd.Series | None = None,
    freq: str | None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> pd.DataFrame: ...
def churn_rate(
    orders: pd.DataFrame,
    *,
    period: str | pd.Timedelta | pd.DateOffset = "365D",
    by: By = None,
    freq: str | None = None,
    level: float = 0.95,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float | pd.DataFrame:
    """Share of last period's customers who did not purchase this period, in percent.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (or a customer summary of exactly ``(end - 2p, end]``).
    period : str, pandas.Timedelta or pandas.DateOffset, default "365D"
        The period ``p`` (``"90D"``, ``"12W"``, ``"3M"``, ``"1Y"``).
    by : str or pandas.Series, optional
        Break down the cohort by a column of its customer summary over ``(end - 2p, end]``
        (e.g. ``"channel"``, the first purchase's there) or a ``customer_id`` -> group Series.
    freq : str, optional
        One row per period of the window, each the churn as of that period's last day.
    level : float, default 0.95
        Confidence level of a breakdown's Wilson interval.
    start, end : date-like, optional
        ``end`` (default: the last order date) anchors the look-back; ``start`` only bounds
        the periods of ``freq`` (the look-back ignores it, DESIGN section 3).

    Returns
    -------
    float or pandas.DataFrame
        Without ``by``/``freq``: the rate in percent, 0-100 (lower is better). With either:
        the tidy rate frame (``churn_rate``, ``n`` = cohort size, ``successes`` = churned,
        ``ci_low``, ``ci_high``, ``low_n``).

    Notes
    -----
    Of the customers with a purchase in ``(end - 2p, end - p]`` (calendar days), the
    percentage with no purchase in ``(end - p, end]``. Uses every order up to ``end``,
    whatever ``start`` is. NaN when nobody purchased in ``(end - 2p, end - p]`` (for example
    when the data do not reach that far back).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_date": pd.to_datetime(["2023-03-01", "2024-02-01", "2023-06-01", "2024-05-01"]),
    ...     "amount": [10.0, 20.0, 5.0, 7.0],
    ... })
    >>> churn_rate(orders, end="2024-06-30")  # cohort a, b; b did not come back: 100 * 1 / 2
    50.0
    """
    return _churn(
        orders,
        period=period,
        by=by,
        freq=freq,
        level=level,
        start=start,
        end=end,
        func="churn_rate",
        retained=False,
    )


@overload
def retention_rate(
    orders: pd.DataFrame,
    *,
    period: str | pd.Timedelta | pd.DateOffset = ...,
    by: None = None,
    freq: None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> float: ...
@overload
def retention_rate(
    orders: pd.DataFrame,
    *,
    period: str | pd.Timedelta | pd.DateOffset = ...,
    by: str | pd.Series | None = None,
    freq: str | None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> pd.DataFrame: ...
def retention_rate(
    orders: pd.DataFrame,
    *,
    period: str | pd.Timedelta | pd.DateOffset = "365D",
    by: By = None,
    freq: str | None = None,
    level: float = 0.95,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float | pd.DataFrame:
    """``100 - churn_rate``: share of last period's customers who purchased again this period.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (or a customer summary of exactly ``(end - 2p, end]``).
    period : str, pandas.Timedelta or pandas.DateOffset, default "365D"
        The period ``p``.
    by, freq, level, start, end
        As in :func:`churn_rate`.

    Returns
    -------
    float or pandas.DataFrame
        The rate in percent, 0-100 (higher is better), or the tidy rate frame
        (``retention_rate``, ``n``, ``successes`` = retained, ``ci_low``, ``ci_high``,
        ``low_n``).

    Notes
    -----
    NaN exactly when :func:`churn_rate` is NaN.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_date": pd.to_datetime(["2023-03-01", "2024-02-01", "2023-06-01", "2024-05-01"]),
    ...     "amount": [10.0, 20.0, 5.0, 7.0],
    ... })
    >>> retention_rate(orders, end="2024-06-30")  # 100 - 50
    50.0
    """
    return _churn(
        orders,
        period=period,
        by=by,
        freq=freq,
        level=level,
        start=start,
        end=end,
        func="retention_rate",
        retained=True,
    )
