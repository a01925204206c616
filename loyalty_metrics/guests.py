"""Guest checkouts: order lines without a customer id, kept in view instead of dropped.

A blank ``customer_id`` breaks the orders contract (DESIGN §2), so a lenient reader sets such
lines aside with the reason ``customer_id: blank value``. They are still sales: shops that
allow guest checkout often take a quarter of their lines that way. :func:`guest_orders` reads
those lines back as a valid orders frame (same reader, same settings, with the customer id
:data:`GUEST_ID`), and :func:`guest_revenue` sums their amounts in a window, so a report or an
export can show "revenue, identified customers" next to the total.
"""

from __future__ import annotations

import pandas as pd

from ._window import DateLike, to_day

__all__ = ["GUEST_ID", "GUEST_REASON", "guest_orders", "guest_revenue"]

#: The customer id given to guest lines read back by :func:`guest_orders`.
GUEST_ID = "(guest)"
#: The reject reason of a line whose only problem is its blank customer id.
GUEST_REASON = "customer_id: blank value"


def guest_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """The guest-checkout lines a lenient :func:`~loyalty_metrics.read_orders` set aside.

    Parameters
    ----------
    orders : pandas.DataFrame
        A frame returned by ``read_orders(..., errors="reject")`` (it carries the read report).

    Returns
    -------
    pandas.DataFrame
        The rejected lines whose only problem is a blank ``customer_id``, read as orders
        (canonical columns and dtypes, with the settings the original read sniffed: decimal
        mark, thousands separator, day-first dates), ``customer_id`` set to ``"(guest)"``.
        Empty (with the canonical columns) when there are none. Lines with any other problem
        stay rejected.

    Raises
    ------
    ValueError
        When ``orders`` carries no read report (it did not come from a reader).

    Examples
    --------
    >>> import loyalty_metrics as lm
    >>> raw = pd.DataFrame({"customer_id": ["a", "", ""], "amount": ["10", "4.5", "x"],
    ...                     "order_date": ["2024-01-05", "2024-01-06", "2024-01-07"]})
    >>> guests = guest_orders(lm.read_orders(raw, errors="reject"))
    >>> guests[["customer_id", "amount"]]  # the "x" line has a second problem: still rejected
      customer_id  amount
    0     (guest)     4.5
    """
    from .io import read_orders, read_report

    report = read_report(orders)
    rejected = report.rejected
    guests = rejected[rejected["reason"] == GUEST_REASON]
    if guests.empty:  # the reader refuses an empty input: same columns and dtypes, no rows
        none = orders.iloc[:0].copy()
        none.attrs = {}
        return none
    raw = guests.drop(columns=["line", "reason"]).assign(customer_id=GUEST_ID)
    settings = report.settings
    dayfirst = set(settings.get("dayfirst", {}).values())
    thousands = settings.get("thousands")
    return read_orders(
        raw.reset_index(drop=True),
        decimal=settings.get("decimal"),
        thousands=None if thousands in (None, "auto") else thousands,
        dayfirst=dayfirst.pop() if len(dayfirst) == 1 else None,
        date_format=settings.get("date_format"),
    )


def guest_revenue(
    guests: pd.DataFrame, *, start: DateLike | None = None, end: DateLike | None = None
) -> float:
    """Net revenue of guest lines dated in ``start``..``end`` (inclusive days; open when None).

    Parameters
    ----------
    guests : pandas.DataFrame
        Guest order lines, as :func:`guest_orders` returns them.
    start, end : date-like, optional
        The window; an order at 18:00 on ``end`` is inside.

    Returns
    -------
    float
        The sum of ``amount`` (0.0 when no line falls in the window).

    Examples
    --------
    >>> guests = pd.DataFrame({"amount": [4.5, 10.0, -2.0],
    ...     "order_date": pd.to_datetime(["2024-01-06 09:00", "2024-02-01 18:00", "2024-02-03 10:00"])})
    >>> guest_revenue(guests, end="2024-02-01")  # 4.5 + 10
    14.5
    """
    dates = guests["order_date"]
    inside = pd.Series(True, index=guests.index)
    start_day, end_day = to_day(start, name="start"), to_day(end, name="end")
    if start_day is not None:
        inside &= dates >= start_day
    if end_day is not None:
        inside &= dates < end_day + pd.Timedelta(days=1)
    return float(guests.loc[inside, "amount"].sum())
