"""Loyalty tiers on trailing net revenue: each customer's tier, moves between tiers, tiers over time.

A tier scheme maps tier names to the minimum net revenue over a trailing ``lookback`` (e.g.
``{"silver": 500, "gold": 2000}`` over 365 days); a customer below every minimum is in the
``base`` tier. Revenue is counted as everywhere else: every order line dated in the span,
returns included. Only customers with a purchase on or before the as-of date have a tier.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._validation import validate_orders
from ._window import DateLike, Window, resolve_window, to_day
from .errors import ConfigError
from .metrics._common import Span, check_freq, day_after, parse_span, periods
from .orders import OrderKernel, order_kernel
from .schema import AMOUNT_TOLERANCE

__all__ = ["NEW_TIER", "loyalty_tiers", "tier_distribution", "tier_migration"]

#: Row label of :func:`tier_migration` for customers whose first purchase is after ``start``.
NEW_TIER = "new"


def _check_thresholds(
    thresholds: Mapping[str, float], base: str, func: str
) -> tuple[list[str], np.ndarray]:
    """Tier names and minimums, lowest first."""

    def fail(reason: str) -> ConfigError:
        return ConfigError(
            f"The 'thresholds' parameter of {func} must map tier names to distinct minimum "
            f"revenues, e.g. {{'silver': 500, 'gold': 2000}}; {reason}. Got {thresholds!r} "
            "instead."
        )

    if not isinstance(thresholds, Mapping) or not thresholds:
        raise fail("it is empty or not a mapping")
    for name, value in thresholds.items():
        if not isinstance(name, str) or not name:
            raise fail(f"the tier name {name!r} is not a non-empty string")
        if name in (base, NEW_TIER):
            raise fail(f"the tier name {name!r} is reserved (the base tier or new customers)")
        number = not isinstance(value, bool) and isinstance(value, int | float | np.number)
        if not number or not np.isfinite(value):
            raise fail(f"the minimum of {name!r} is not a finite number")
    if not isinstance(base, str) or not base:
        raise ConfigError(
            f"The 'base' parameter of {func} must be a non-empty string. Got {base!r} instead."
        )
    ordered = sorted(thresholds.items(), key=lambda item: float(item[1]))
    minimums = np.array([float(v) for _, v in ordered])
    if len(np.unique(minimums)) < len(minimums):
        raise fail("two tiers share a minimum")
    return [name for name, _ in ordered], minimums


def _tiers_from_kernel(
    kernel: OrderKernel, as_of: pd.Timestamp, lookback: Span
) -> tuple[pd.Index, np.ndarray]:
    """The customers with a purchase on or before ``as_of`` (sorted ids) and their net
    revenue of the lines dated in ``(as_of - lookback, as_of]``, from the order kernel."""
    k = kernel.as_of(as_of)
    bought = np.zeros(k.n_customers, dtype=bool)
    bought[k.customer[k.purchase]] = True
    span = Window(start=day_after(as_of, lookback), end=as_of)
    revenue = k.revenue_by_customer(span)[bought]
    return pd.Index(k.customer_ids[bought], dtype="str", name="customer_id"), revenue


def _tier_frame(names: list[str], base: str, index: pd.Index, codes, revenue) -> pd.DataFrame:
    categories = pd.Index([base, *names], dtype="str")
    tier = pd.Categorical.from_codes(codes, categories=categories, ordered=True)
    return pd.DataFrame({"tier": tier, "revenue": revenue}, index=index)


def loyalty_tiers(
    orders: pd.DataFrame,
    thresholds: Mapping[str, float],
    as_of: DateLike | None = None,
    lookback: str | pd.Timedelta | pd.DateOffset = "365D",
    base: str = "base",
) -> pd.DataFrame:
    """Each customer's tier as of a date, from their net revenue over a trailing look-back.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    thresholds : mapping of str to float
        Tier name -> minimum net revenue over the look-back, e.g.
        ``{"silver": 500, "gold": 2000}`` (distinct minimums; any order).
    as_of : date-like, optional
        The date the tiers are computed at; default the last order date. Nothing after it is
        used.
    lookback : str, pandas.Timedelta or pandas.DateOffset, default "365D"
        Length of the trailing span ``(as_of - lookback, as_of]``: ``"365D"``, ``"52W"``,
        ``"12M"``...
    base : str, default "base"
        Name of the tier below every minimum.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), one row per customer with a purchase on or before
        ``as_of``; columns ``tier`` (an ordered categorical: ``base``, then the tiers by
        minimum) and ``revenue`` (their net revenue over the look-back, 0 when they bought
        nothing in it).

    Notes
    -----
    A customer's tier is the highest tier whose minimum is <= their trailing net revenue
    (compared with a 1e-6 tolerance, as sums of decimal amounts are inexact), else ``base``.
    Revenue counts every line dated in the span, returns included, so a return can drop a
    customer a tier. A purchase is an order with net amount >= 0, as everywhere.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "order_date": pd.to_datetime(["2023-03-01", "2024-02-01", "2024-03-01",
    ...                                   "2024-01-10", "2024-03-20"]),
    ...     "amount": [900.0, 300.0, 2500.0, 400.0, 150.0],
    ... })
    >>> loyalty_tiers(orders, {"silver": 500, "gold": 2000}, as_of="2024-03-31")
                   tier  revenue
    customer_id
    a              base    300.0
    b              gold   2500.0
    c            silver    550.0
    """
    func = "loyalty_tiers"
    names, minimums = _check_thresholds(thresholds, base, func)
    span = parse_span(lookback, name="lookback", func=func)
    window = resolve_window(orders["order_date"], None, as_of)
    if window.empty:
        empty = pd.Index([], dtype="str", name="customer_id")
        return _tier_frame(names, base, empty, np.zeros(0, "int8"), np.zeros(0))
    validate_orders(orders, func=func)
    buyers, revenue = _tiers_from_kernel(order_kernel(orders, end=window.end), window.end, span)
    codes = np.searchsorted(minimums, revenue + AMOUNT_TOLERANCE, side="right")
    return _tier_frame(names, base, buyers, codes.astype("int8"), revenue)


def tier_migration(
    orders: pd.DataFrame,
    thresholds: Mapping[str, float],
    start: DateLike,
    end: DateLike | None = None,
    lookback: str | pd.Timedelta | pd.DateOffset = "365D",
    base: str = "base",
) -> pd.DataFrame:
    """How many customers moved from each tier at ``start`` to each tier at ``end``.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    thresholds : mapping of str to float
        As in :func:`loyalty_tiers`.
    start : date-like
        The first date (tiers as of the end of that day).
    end : date-like, optional
        The second date; default the last order date. Not before ``start``.
    lookback, base
        As in :func:`loyalty_tiers`.

    Returns
    -------
    pandas.DataFrame
        A count matrix (int64) over the customers with a purchase on or before ``end``: rows
        ``from`` = ``new`` (first purchase after ``start``), ``base``, then the tiers by
        minimum; columns ``to`` = ``base``, then the tiers. Every row and column is present,
        so the matrix sums to the number of customers.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-05-01", "2024-02-01",
    ...                                   "2024-06-01"]),
    ...     "amount": [100.0, 450.0, 600.0, 50.0],
    ... })
    >>> tier_migration(orders, {"silver": 500}, start="2024-03-31", end="2024-06-30")
    to      base  silver
    from
    new        1       0
    base       0       1
    silver     0       1
    """
    func = "tier_migration"
    first_day = to_day(start, name="start")
    if first_day is None:
        raise ConfigError(
            f"The 'start' parameter of {func} must be a date. Got {start!r} instead."
        )
    last_day = resolve_window(orders["order_date"], None, end).end
    if not pd.isna(last_day) and first_day > last_day:
        raise ValueError(f"start ({first_day.date()}) is after end ({last_day.date()}).")
    names, _ = _check_thresholds(thresholds, base, func)
    before = loyalty_tiers(orders, thresholds, first_day, lookback, base)["tier"]
    after = loyalty_tiers(orders, thresholds, last_day, lookback, base)["tier"]
    tiers = [base, *names]
    from_codes = before.cat.codes.reindex(after.index, fill_value=-1).to_numpy("int64") + 1
    to_codes = after.cat.codes.to_numpy("int64")
    counts = np.bincount(from_codes * len(tiers) + to_codes, minlength=(len(tiers) + 1) ** 2)
    counts = counts[: (len(tiers) + 1) * len(tiers)].reshape(len(tiers) + 1, len(tiers))
    return pd.DataFrame(
        counts.astype("int64"),
        index=pd.Index([NEW_TIER, *tiers], name="from"),
        columns=pd.Index(tiers, name="to"),
    )


def tier_distribution(
    orders: pd.DataFrame,
    thresholds: Mapping[str, float],
    *,
    freq: str = "M",
    start: DateLike | None = None,
    end: DateLike | None = None,
    lookback: str | pd.Timedelta | pd.DateOffset = "365D",
    base: str = "base",
) -> pd.DataFrame:
    """Customers in each tier at the end of every calendar period.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    thresholds : mapping of str to float
        As in :func:`loyalty_tiers`.
    freq : str, default "M"
        Period alias: ``"W"``, ``"M"``, ``"Q"``, ``"Y"``...
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.
    lookback, base
        As in :func:`loyalty_tiers`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period_end`` (the period's last day; the last one clipped to ``end``),
        columns ``base`` then the tiers by minimum: customers in that tier as of the period's
        end (int64; :func:`loyalty_tiers` at each date, so a row sums to the customers with a
        purchase on or before it).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-20"]),
    ...     "amount": [300.0, 300.0, 100.0],
    ... })
    >>> tier_distribution(orders, {"silver": 500})
                base  silver
    period_end
    2024-01-31     1       0
    2024-02-20     1       1
    """
    func = "tier_distribution"
    check_freq(freq, func=func)
    names, _ = _check_thresholds(thresholds, base, func)
    window = resolve_window(orders["order_date"], start, end)
    tiers = [base, *names]
    rows = {}
    for _, last in periods(window, freq):
        tier = loyalty_tiers(orders, thresholds, last, lookback, base)["tier"]
        rows[last] = tier.value_counts(sort=False).reindex(tiers, fill_value=0).to_numpy()
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=tiers)
    frame = frame.reindex(columns=tiers).fillna(0).astype("int64")
    frame.index = pd.DatetimeIndex(frame.index, name="period_end")
    frame.columns.name = None
    return frame
