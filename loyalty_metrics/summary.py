"""The per-customer summary: the one heavy pass over order lines that every metric builds on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._validation import validate_orders
from ._window import DateLike, Window
from .orders import NS_PER_DAY, OrderKernel, order_kernel, shared_result

__all__ = [
    "SUMMARY_COLUMNS",
    "CustomerSummary",
    "customer_summary",
    "is_customer_summary",
    "summary_arrays",
    "summary_from_kernel",
    "summary_window",
    "total_revenue",
    "unattributed_revenue",
]

#: Columns of :func:`customer_summary`, in order; then ``channel`` and ``units`` when the
#: orders carry a channel and a quantity.
SUMMARY_COLUMNS = (
    "first_purchase",
    "last_purchase",
    "purchases",
    "revenue",
    "categories",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "first_purchase_ever",
)


class CustomerSummary(pd.DataFrame):
    """What :func:`customer_summary` returns: a DataFrame that knows its window.

    A plain :class:`pandas.DataFrame` in every other respect (``to_parquet``, ``merge``,
    ``concat`` work as usual). Two attributes ride along through selections and copies
    (``summary.loc[mask]``, ``summary[["frequency", "T"]]``), never through ``attrs``:

    - ``window``: the :class:`~loyalty_metrics._window.Window` it was computed over;
    - ``unattributed_revenue``: the net amount in the window of customers without a
      purchase in it (returns only), so that total revenue = ``revenue.sum()`` + it.

    A ``merge`` or ``concat`` result is a table of your own, not a summary of one window:
    its ``window`` is None and the metrics treat it as such.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b"], "amount": [5.0, -2.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> s = customer_summary(orders)
    >>> str(s.window.end.date()), s.unattributed_revenue
    ('2024-01-02', -2.0)
    >>> s.loc[s["purchases"] > 0].window == s.window
    True
    """

    _metadata = ["window", "unattributed_revenue"]
    window: Window | None = None
    unattributed_revenue: float = 0.0

    @property
    def _constructor(self) -> type[CustomerSummary]:
        return CustomerSummary


def customer_summary(
    orders: pd.DataFrame,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    engine: Any = "pandas",
) -> pd.DataFrame:
    """One row per customer with at least one purchase in the window.

    An order is the set of lines sharing ``order_id`` (each line is an order when there is no
    ``order_id``); its net amount is the sum of its lines and its date the earliest of them.
    A *purchase* is an order whose net amount is >= 0 (within 1e-6); a negative order is a
    return, which lowers revenue but is not a purchase. Lines after ``end`` are never read.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (see :func:`loyalty_metrics.read_orders`).
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.
    engine : {"pandas", "duckdb", "spark"} or an Ibis backend, default "pandas"
        Where to compute (DESIGN section 7): with a SQL engine ``orders`` may also be a path
        or glob of CSV/Parquet files or a table of the engine, and only the summary comes
        back (see :mod:`loyalty_metrics.engines`, which also keeps it in the engine).

    Returns
    -------
    CustomerSummary
        A :class:`pandas.DataFrame` indexed by ``customer_id`` (sorted), columns:

        - ``first_purchase``, ``last_purchase``: dates of the first and latest purchase in the
          window.
        - ``purchases``: purchases (orders with net amount >= 0) in the window, >= 1.
        - ``revenue``: sum of the customer's amounts in the window (returns included).
        - ``categories``: distinct ``category`` (else ``product_id``) values of the lines of
          their purchases; NaN when orders carry neither column.
        - ``frequency``: repeat purchase days (distinct purchase days - 1), BTYD convention.
        - ``recency``: days from the first to the latest purchase day.
        - ``T``: days from the first purchase day to ``end``.
        - ``monetary_value``: mean net amount of the repeat purchase days (the first day
          excluded); NaN when ``frequency`` is 0.
        - ``first_purchase_ever``: first purchase on or before ``end`` in all the data,
          regardless of ``start`` (a customer is *new* when it falls in the window).
        - ``channel`` (when orders have one): channel of the first purchase in the window.
        - ``units`` (when orders have a ``quantity``): the sum of the customer's quantities
          in the window, netted as ``revenue`` is (a returned unit counts -1, a blank
          quantity 0); ``units / purchases`` is the customer's units per purchase.

        ``summary.window`` is the window and ``summary.unattributed_revenue`` the net amount
        in the window of customers without a purchase in it (returns only), so that total
        revenue = ``revenue.sum() + unattributed_revenue`` (see :class:`CustomerSummary`).

    Notes
    -----
    Frequency, recency and T follow Fader, Hardie & Lee (2005): all purchases of one calendar
    day are one purchase occasion. They are in days; the predictive models convert units.

    Speed: ids made of one prefix and a number (``C0012345``, ``#1001``, ``100234``) are coded
    by their number, other text ids by a checked 64-bit hash (see ``_ids.py``); the customer
    and order ids are coded on two threads. The result never depends on which path ran.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-05"]),
    ...     "amount": [10.0, 5.0, 20.0, -3.0],
    ... })
    >>> s = customer_summary(orders)
    >>> s[["purchases", "revenue", "frequency", "recency", "T", "monetary_value"]]
                 purchases  revenue  frequency  recency     T  monetary_value
    customer_id
    a                    3     35.0          1     10.0  10.0            20.0
    >>> s.unattributed_revenue
    -3.0
    """
    if engine is not None and engine != "pandas":
        from . import engines

        return engines.customer_summary(orders, start=start, end=end, engine=engine)
    validate_orders(orders, func="customer_summary")
    kernel = order_kernel(orders, end=end)
    window = kernel.window(start, end)
    # Inside shared_kernels() (a report, an export) one summary per window serves every
    # consumer; each gets its own frame over the same columns (copy-on-write keeps it safe).
    summary = shared_result(
        orders, ("customer_summary", window), lambda: summary_from_kernel(kernel, window)
    )
    return summary.copy(deep=False)


def summary_from_kernel(kernel: OrderKernel, window: Window) -> pd.DataFrame:
    """:func:`customer_summary` of the orders behind ``kernel``, over ``window``.

    ``window.end`` must be on or before the kernel's end (the kernel is truncated to it).

    Examples
    --------
    >>> from loyalty_metrics.orders import order_kernel
    >>> orders = pd.DataFrame({"customer_id": ["a", "a"], "amount": [5.0, 7.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    >>> k = order_kernel(orders)
    >>> summary_from_kernel(k, k.window(end="2024-01-31"))["revenue"].tolist()
    [5.0]
    """
    data, keep = summary_arrays(kernel, window)
    index = pd.Index(data.pop("customer_id")[keep], name="customer_id")
    unattributed = float(data["revenue"][~keep].sum())
    # Keep the buyers column by column, freeing each full column as it goes, and let each
    # column be its own block (copy=False): consolidating would copy them all once more.
    columns = {name: data.pop(name)[keep] for name in list(data)}
    summary = CustomerSummary(columns, index=index, copy=False)
    summary.window = window
    summary.unattributed_revenue = unattributed
    return summary


def summary_arrays(
    kernel: OrderKernel, window: Window, *, descriptive: bool = True
) -> tuple[dict[str, Any], np.ndarray]:
    """The summary's columns for every customer code of ``kernel`` (``customer_id`` first),
    and the mask of the customers with a purchase in ``window`` (the summary's rows).

    Two windows of one kernel share the codes, so their rows align without a lookup by id.
    ``descriptive=False`` leaves out ``categories``, ``first_purchase_ever`` and ``channel``
    (what the purchase models do not read): less time and memory.
    """
    k = kernel if window.empty else kernel.as_of(window.end)
    n_customers = k.n_customers
    begin, stop = k.between(window)
    in_window = slice(begin, stop)

    is_purchase = k.purchase[in_window]
    # Memory counts here (a report computes this in a forked copy): when every order is a
    # purchase, views of the kernel instead of copies, and each array freed once used.
    every = bool(is_purchase.all())
    p_customer = k.customer[in_window] if every else k.customer[in_window][is_purchase]
    p_date = k.date[in_window] if every else k.date[in_window][is_purchase]
    purchases = np.bincount(p_customer, minlength=n_customers)
    first = _group_min(p_customer, p_date, n_customers)
    last = _group_max(p_customer, p_date, n_customers)
    revenue = k.revenue_by_customer(window) if not window.empty else np.zeros(n_customers)

    # Purchase days: all purchases of one calendar day are one occasion. The first and last
    # days are those of the first and last purchase; only the other days need counting.
    first_day = _day(first)
    last_day = _day(last)
    p_day = np.floor_divide(p_date, NS_PER_DAY, out=None if every else p_date)
    del p_date
    later = p_day != first_day[p_customer]
    later_customer = p_customer[later]
    del p_customer
    p_amount = k.amount[in_window] if every else k.amount[in_window][is_purchase]
    repeat_spend = np.bincount(later_customer, weights=p_amount[later], minlength=n_customers)
    del p_amount
    later_day = p_day[later]
    del p_day, later
    purchase_days = 1 + _distinct_pairs(later_customer, later_day, n_customers)
    del later_customer, later_day
    end_day = window.end.value // NS_PER_DAY if not window.empty else 0

    keep = purchases > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        frequency = purchase_days - 1
        del purchase_days
        monetary = np.where(frequency > 0, repeat_spend / np.maximum(frequency, 1), np.nan)
    del repeat_spend
    # (small whole day numbers: the float64 difference is the difference of the floats)
    recency = np.subtract(last_day, first_day, dtype="float64")
    T = np.subtract(end_day, first_day, dtype="float64")
    del first_day, last_day
    data: dict[str, Any] = {
        "customer_id": k.customer_ids,
        "first_purchase": first,  # as datetimes below, once read as numbers
        "last_purchase": last,
        "purchases": purchases.astype("int64", copy=False),
        "revenue": revenue,
        "categories": None,
        "frequency": frequency.astype("int64", copy=False),
        "recency": recency,
        "T": T,
        "monetary_value": monetary,
    }
    if not descriptive:
        del data["categories"]
    else:
        data["categories"] = np.full(n_customers, np.nan)
        if k.has_categories:
            pair_customer, pair_category = k.category_pairs(is_purchase, begin, stop)
            data["categories"] = _distinct_pairs(pair_customer, pair_category, n_customers).astype(
                "float64"
            )
            del pair_customer, pair_category
        # First purchase ever (look-back ignores start), over every order up to end: the
        # first in the window unless one came before (often none: the window starts the data).
        upto = k.n_orders if window.empty else begin
        before = k.purchase[:upto]
        first_before = _group_min(k.customer[:upto][before], k.date[:upto][before], n_customers)
        data["first_purchase_ever"] = _as_datetime(np.minimum(first_before, first))
        del first_before
        if k.channel is not None:
            data["channel"] = _first_purchase_channel(k, begin, is_purchase, first)
        if k.has_units:
            units = k.units_by_customer(window) if not window.empty else np.zeros(n_customers)
            data["units"] = units
    data["first_purchase"] = _as_datetime(first)  # first and last are this function's own
    data["last_purchase"] = _as_datetime(last)
    return data, keep


def is_customer_summary(frame: object) -> bool:
    """True when ``frame`` was made by :func:`customer_summary` (metrics accept either).

    Examples
    --------
    >>> is_customer_summary(pd.DataFrame({"amount": [1.0]}))
    False
    """
    return isinstance(frame, CustomerSummary) and frame.window is not None


def summary_window(summary: CustomerSummary) -> Window:
    """The window a customer summary was computed over.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-02"]),
    ...                        "amount": [1.0]})
    >>> summary_window(customer_summary(orders, start="2024-01-01")).start
    Timestamp('2024-01-01 00:00:00')
    """
    if summary.window is None:
        raise ValueError("This frame is not a customer summary of one window.")
    return summary.window


def unattributed_revenue(summary: CustomerSummary) -> float:
    """Net amount in the window of customers without a purchase in it (their returns).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b"], "amount": [5.0, -2.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> unattributed_revenue(customer_summary(orders))
    -2.0
    """
    return float(summary.unattributed_revenue)


def total_revenue(summary: pd.DataFrame) -> float:
    """Net revenue of the window: every amount in it, returns of non-buyers included.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b"], "amount": [5.0, -2.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> total_revenue(customer_summary(orders))
    3.0
    """
    return float(summary["revenue"].sum()) + unattributed_revenue(summary)


def _day(ns: np.ndarray) -> np.ndarray:
    """Day numbers of timestamps (the min/max sentinels stay out of range)."""
    return np.floor_divide(ns, NS_PER_DAY)


#: Largest (groups x value span) counted in a bitmap by :func:`_distinct_pairs` (64 MB).
_BITMAP_CELLS = 1 << 26


def _distinct_pairs(
    groups: np.ndarray, values: np.ndarray, n: int, *, bitmap_cells: int = _BITMAP_CELLS
) -> np.ndarray:
    """Number of distinct ``values`` per group (int64 groups 0..n-1, integer values).

    Few distinct values per group (categories): one flag per (group, value) cell, set in one
    scatter, about twice as fast as sorting 10M pairs. Otherwise (days) one int64 key per
    pair, sorted: numpy's SIMD sort is ten times faster than hashing the keys, and equal
    pairs end up side by side.
    """
    if not len(groups):
        return np.zeros(n, dtype="int64")
    low = int(values.min())
    span = int(values.max()) - low + 1
    if n * span <= bitmap_cells:
        flags = np.zeros(n * span, dtype=bool)
        flags[groups * span + (values - low)] = True
        return flags.reshape(n, span).sum(axis=1)
    keys = np.multiply(groups, span, dtype="int64")  # then in place: no more pair-sized copies
    keys += values
    keys -= low
    keys.sort()
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    return np.bincount(keys[new] // span, minlength=n)


def _group_min(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.iinfo(np.int64).max, dtype="int64")
    np.minimum.at(out, groups, values)
    return out


def _group_max(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.iinfo(np.int64).min, dtype="int64")
    np.maximum.at(out, groups, values)
    return out


def _as_datetime(ns: np.ndarray) -> np.ndarray:
    """``ns`` (int64, changed in place) as datetimes, the min/max sentinels as NaT."""
    ns[ns == np.iinfo(np.int64).max] = np.iinfo(np.int64).min  # the NaT sentinel
    return ns.view("datetime64[ns]")


def _first_purchase_channel(
    k: OrderKernel, begin: int, is_purchase: np.ndarray, first: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """Channel of each customer's first purchase in the window: of the purchases at that
    date (orders ``begin:`` flagged in ``is_purchase``), the one whose first line comes first
    in the file.
    """
    candidates = begin + np.flatnonzero(is_purchase)
    candidates = candidates[k.date[candidates] == first[k.customer[candidates]]]
    line = k.first_line()[candidates]
    owner = k.customer[candidates]
    earliest = np.full(k.n_customers, np.iinfo(np.int64).max, dtype="int64")
    np.minimum.at(earliest, owner, line)
    found = earliest != np.iinfo(np.int64).max
    rows = np.where(found, earliest, -1)
    assert k.channel is not None  # called only when the orders have a channel
    return k.channel.array.take(rows, allow_fill=True)
