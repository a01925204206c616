"""Churn and retention, measured back from ``end`` over two consecutive periods."""

from __future__ import annotations

from typing import overload

import numpy as np
import pandas as pd

from .. import caveats
from .._window import ONE_DAY, DateLike
from ..errors import ConfigError
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


def churn_counts_from_summary(
    summary: pd.DataFrame, lines: pd.DataFrame, end: pd.Timestamp, span: Span
) -> tuple[int, int] | None:
    """(cohort, churned) from a summary whose window covers ``(end - 2p, end]``, or None.

    The summary's first and last purchase and purchase count settle almost every customer:
    the last purchase says whether they came back, and the first one (when inside the
    look-back) or a last one inside ``(end - 2p, end - p]`` puts them in the cohort. Only
    customers who bought before the look-back, came back, and have another purchase that may
    or may not fall in ``(end - 2p, end - p]`` are re-read from ``lines`` (every line of
    theirs up to ``end``). None when the summary's window does not cover the look-back.
    """
    window = summary_window(summary)
    first_day = lookback_start(end, span)
    if window.empty or window.end != end or window.start > first_day:
        return None
    cut = (end - span + ONE_DAY).to_datetime64()
    lo = first_day.to_datetime64()
    first = summary["first_purchase"].to_numpy(dtype="datetime64[ns]")
    last = summary["last_purchase"].to_numpy(dtype="datetime64[ns]")
    count = summary["purchases"].to_numpy()
    inside = last >= lo  # some purchase in (end - 2p, end]
    before = first < lo
    cohort = inside & (((first >= lo) & (first < cut)) | (before & (last < cut)))
    churned = cohort & (last < cut)
    # bought before the look-back and came back: with 2 purchases those are the two ends;
    # with 3 or more, another one may fall in (end - 2p, end - p]
    unsure = inside & before & (last >= cut) & (count >= 3)
    extra = 0
    if unsure.any():
        ids = summary.index[unsure]
        theirs = lines.loc[lines["customer_id"].isin(ids)]
        again = customer_summary(theirs, start=first_day, end=end)
        extra = int((again["first_purchase"].to_numpy(dtype="datetime64[ns]") < cut).sum())
    return int(cohort.sum()) + extra, int(churned.sum())


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
