"""Cancellation lines booked as separate invoices, linked back to the purchase they reverse.

Many shop and ERP exports book a cancellation as an invoice of its own with negative lines
(``C536379``, quantity ``-1``). Read as is, the purchase stays a purchase at full value and
the cancellation is a separate return: a customer who ordered 77,000 and cancelled it minutes
later has a net history near 0 but a six-figure purchase for the models. Moving each
cancellation line into the order it reverses lets the one netting rule (an order's net amount
is the sum of its lines, dated at its earliest line) do the rest: that order nets to what was
kept, and a fully cancelled order is a $0 order.

This is an explicit step on order lines, before any metric::

    orders = lm.link_cancellations(lm.read_orders("orders.csv"), within="30D")

also reachable as ``[cancellations]`` in ``loyalty.toml`` and ``--link-cancellations SPAN``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["link_cancellations"]

_BY_CHOICES = ("customer_id", "product_id", "category")


def link_cancellations(
    orders: pd.DataFrame,
    *,
    within: str | pd.Timedelta | None = "30D",
    by: Sequence[str] = ("customer_id", "product_id"),
) -> pd.DataFrame:
    """Move each cancellation line into the order it reverses.

    Parameters
    ----------
    orders : pandas.DataFrame
        Validated order lines (``customer_id``, ``order_date``, ``amount``; ``order_id``
        optional: without it each line is an order and gets its row number as order id).
    within : str or pandas.Timedelta or None, default "30D"
        How long after a purchase a cancellation may come (a fixed span: ``"30D"``, ``"12h"``,
        ``"2W"``). ``None`` links only the lines that name their order in ``cancels``.
    by : sequence of str, default ("customer_id", "product_id")
        What a cancellation line must share with the purchase line it reverses; among
        ``customer_id``, ``product_id`` and ``category``, ``customer_id`` always included.

    Returns
    -------
    pandas.DataFrame
        A copy of ``orders`` where each linked line's ``order_id`` is the order it reverses,
        and a ``cancels`` column holding that order id (missing for lines not linked). Row
        order, index and every other value are unchanged, so revenue does not move; orders
        and purchases do.

    Raises
    ------
    ValueError
        When ``by`` names a column the orders lack or is not one of the choices, or
        ``within`` is not a positive fixed span.

    Notes
    -----
    A cancellation line is a line with a negative ``amount``. When the orders carry a
    ``cancels`` column (the order id a line reverses, as some ERPs export it), a line whose
    ``cancels`` names an order of the same customer is linked there, whatever its sign. Every
    other cancellation line is linked to the latest purchase line (positive amount) with the
    same ``by`` values dated at most ``within`` before it (at the same instant included). A
    line with no such purchase stays in its own order: a return, as before. Whether the
    cancelled quantity exceeds the bought one is not checked: the order then nets negative
    and is a return.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_id": ["536001", "C536002", "536003", "536004"],
    ...     "product_id": ["p1", "p1", "p2", "p1"],
    ...     "order_date": pd.to_datetime(["2024-01-05 10:00", "2024-01-05 10:07",
    ...                                   "2024-03-01 09:00", "2024-01-06 12:00"]),
    ...     "amount": [77183.6, -77183.6, 2.5, 4.0]})
    >>> link_cancellations(orders)[["order_id", "cancels", "amount"]]
      order_id cancels   amount
    0   536001     NaN  77183.6
    1   536001  536001 -77183.6
    2   536003     NaN      2.5
    3   536004     NaN      4.0
    """
    by = _check_by(orders, by)
    span = _check_within(within)
    out = orders.copy()
    if "order_id" not in out.columns:
        out["order_id"] = pd.Series(np.arange(len(out)).astype(str), index=out.index, dtype="str")
    order_ids = out["order_id"].astype("str")
    target = pd.Series(np.nan, index=out.index, dtype="object")
    explicit = (
        out["cancels"].notna() if "cancels" in out.columns else pd.Series(False, index=out.index)
    )
    if explicit.any():
        owners = pd.Series(out["customer_id"].to_numpy(), index=order_ids.to_numpy())
        owners = owners[~owners.index.duplicated()]
        named = out.loc[explicit, "cancels"].astype("str")
        same_customer = named.map(owners) == out.loc[explicit, "customer_id"]
        target[named.index[same_customer.to_numpy()]] = named[same_customer]
    negative = (out["amount"] < 0) & ~explicit
    if span is not None and negative.any():
        rows = np.flatnonzero(negative.to_numpy())
        left = out.iloc[rows][[*by, "order_date"]].assign(_row=rows)
        purchases = out["amount"] > 0
        right = out.loc[purchases, [*by, "order_date"]].assign(_target=order_ids[purchases])
        for column in by:  # merge_asof needs plain, equal key types on both sides
            left[column] = left[column].astype("str")
            right[column] = right[column].astype("str")
        matched = pd.merge_asof(
            left.sort_values("order_date", kind="stable"),
            right.sort_values("order_date", kind="stable"),
            on="order_date",
            by=list(by),
            tolerance=span,
            direction="backward",
        ).dropna(subset=["_target"])
        target.iloc[matched["_row"].to_numpy()] = matched["_target"].to_numpy()
    linked = target.notna()
    out["order_id"] = order_ids.where(~linked, target).astype("str")
    out["cancels"] = target.where(linked).astype("str").where(linked)
    return out


def _check_by(orders: pd.DataFrame, by: Sequence[str]) -> list[str]:
    columns = [by] if isinstance(by, str) else list(by)
    unknown = [c for c in columns if c not in _BY_CHOICES]
    if unknown or "customer_id" not in columns:
        raise ValueError(
            "The 'by' parameter of link_cancellations must list 'customer_id' and any of "
            f"'product_id', 'category'. Got {columns!r} instead."
        )
    missing = [c for c in columns if c not in orders.columns]
    if missing:
        raise ValueError(
            f"link_cancellations: the orders have no {missing[0]!r} column to match "
            f"cancellations on; map one under [orders.columns] in loyalty.toml, or match on "
            'the customer alone: by = ["customer_id"] under [cancellations] '
            "(by=('customer_id',) in Python)."
        )
    return columns


def _check_within(within: str | pd.Timedelta | None) -> pd.Timedelta | None:
    if within is None:
        return None
    try:
        span = pd.Timedelta(within)
    except (ValueError, TypeError):
        span = pd.NaT
    if span is pd.NaT or span <= pd.Timedelta(0):
        raise ValueError(
            "The 'within' parameter of link_cancellations must be a positive fixed span such "
            f'as "30D", "12h" or "2W", or None. Got {within!r} instead.'
        )
    return span
