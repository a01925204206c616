"""The order kernel: order lines netted into orders, once (DESIGN sections 1 and 2).

Every consumer of orders (the customer summary, cohorts, the purchase, churn and value
metrics, the ladder, RFM, the loyalty loop, programme impact, the models' calibration split
and the KPI snapshots) starts from :func:`order_kernel`, so the rule of what an order is lives
here alone:

- Lines sharing an ``order_id`` *and* a customer are one order; a line without ``order_id``
  (or when the table has none) is an order of its own, and an ``order_id`` used by two
  customers is two orders (one per customer).
- An order's date is the earliest of its lines; its net amount is the sum of its lines dated
  on or before ``end`` (a line after ``end`` is never read).
- A *purchase* is an order whose net amount is >= 0, compared with a tolerance of 1e-6.
- A customer's categories are the distinct ``category`` (else ``product_id``) values of the
  lines of their purchases.
- A customer's units are the ``quantity`` of their lines, netted as revenue is.

The kernel holds O(orders) arrays sorted by order date, plus the few lines dated on a later
day than their order (partial returns, typically) and the category of every line. That is
enough to answer "as of" any earlier day without the lines: :meth:`OrderKernel.as_of` keeps
the orders dated up to that day and re-nets the orders whose later lines fall after it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ._ids import factorize_ids, factorize_ids_with_uniques
from ._window import DateLike, Window, checked_window, resolve_window, to_day
from .schema import AMOUNT_TOLERANCE

__all__ = [
    "NS_PER_DAY",
    "CategoryTimeline",
    "FirstPurchases",
    "OrderKernel",
    "category_timeline",
    "first_purchases",
    "order_kernel",
    "share_kernel",
    "shared_kernels",
    "shared_result",
]

T = TypeVar("T")

NS_PER_DAY = 86_400 * 10**9
_INT_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True, eq=False)
class OrderKernel:
    """Orders dated on or before ``end``, one entry per order, sorted by date.

    Attributes
    ----------
    end : pandas.Timestamp
        The last day read (NaT when there was no order line).
    customer_ids : pandas.Series
        The distinct customer ids (``str``), sorted; a customer's code is its position.
        Every customer with a line on or before ``end`` is here, buyer or not.
    customer : numpy.ndarray
        int64 customer code of each order.
    date : numpy.ndarray
        int64 nanoseconds since the epoch: the order's earliest line (ascending).
    amount : numpy.ndarray
        float64 net amount of the order's lines dated on or before ``end``.
    purchase : numpy.ndarray
        bool, ``amount >= -1e-6``.
    channel : pandas.Series or None
        The ``channel`` column of the lines read (None when the orders have none); an
        order's channel is that of its first line (:meth:`first_line`).
    has_categories : bool
        True when the orders carry ``category`` or ``product_id``.
    has_units : bool
        True when the orders carry ``quantity`` (see :meth:`units_by_customer`).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["b", "a", "a", "a"],
    ...     "order_id": ["1", "2", "2", None],
    ...     "order_date": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-05", "2024-01-03"]),
    ...     "amount": [5.0, 10.0, -12.0, 0.0],
    ... })
    >>> k = order_kernel(orders)
    >>> k.customer_ids.tolist(), k.customer.tolist(), k.amount.tolist(), k.purchase.tolist()
    (['a', 'b'], [0, 1, 0], [-2.0, 5.0, 0.0], [False, True, True])
    >>> k.as_of("2024-01-04").amount.tolist()  # order 2's return is not there yet
    [10.0, 5.0, 0.0]
    """

    end: pd.Timestamp
    customer_ids: pd.Series
    customer: np.ndarray
    date: np.ndarray
    amount: np.ndarray
    purchase: np.ndarray
    channel: pd.Series | None
    has_categories: bool
    has_units: bool
    # Net amount of the lines on each order's own day (the lines dated later are below).
    _day_amount: np.ndarray
    # The same for quantity (blank counts 0), and of the later lines; empty without quantity.
    _day_units: np.ndarray
    _late_units: np.ndarray
    _first_line: np.ndarray  # file position of each order's first line (ties of channel)
    # Lines dated on a later day than their order: order index, date (ns), amount; by date.
    _late_order: np.ndarray
    _late_date: np.ndarray
    _late_amount: np.ndarray
    # The categories of the lines on their order's own day: order index, category code (of
    # every order read: truncations select by index); per order, one of them (-1: none) and
    # whether they hold several; the categories of the later lines, by date: order, code, day.
    _cat_order: np.ndarray
    _cat_code: np.ndarray
    _order_cat: np.ndarray
    _order_cats_mixed: np.ndarray
    _late_cat_order: np.ndarray
    _late_cat_code: np.ndarray
    _late_cat_day: np.ndarray

    @property
    def n_customers(self) -> int:
        """Number of customer codes (customers with a line on or before ``end``)."""
        return len(self.customer_ids)

    @property
    def n_orders(self) -> int:
        """Number of orders."""
        return len(self.date)

    @property
    def day(self) -> np.ndarray:
        """Each order's date as whole days since 1970-01-01."""
        return self.date // NS_PER_DAY

    def window(self, start: DateLike | None = None, end: DateLike | None = None) -> Window:
        """The window ``start..end`` with the defaults of every public function: ``end`` the
        kernel's end, ``start`` the first order date on or before ``end``.
        """
        end_day = to_day(end, name="end")
        if end_day is None:
            end_day = self.end
        start_day = to_day(start, name="start")
        if start_day is None and not pd.isna(end_day):
            stop = int(np.searchsorted(self.date, (end_day + pd.Timedelta(days=1)).value))
            first = pd.Timestamp(self.date[0]) if stop else end_day
            start_day = first.normalize()
        elif start_day is None:
            start_day = pd.NaT
        return checked_window(start_day, end_day)

    def as_of(self, end: DateLike) -> OrderKernel:
        """The kernel of the same lines truncated at ``end`` (on or before ``self.end``).

        Orders dated after ``end`` go, and an order whose later lines fall after ``end`` is
        re-netted without them (it may become a purchase again). Customer codes stay.
        """
        end_day = to_day(end, name="end")
        if end_day is None or pd.isna(self.end) or end_day >= self.end:
            return self
        stop_ns = (end_day + pd.Timedelta(days=1)).value
        k = int(np.searchsorted(self.date, stop_ns))
        j = int(np.searchsorted(self._late_date, stop_ns))
        amount, purchase = self.amount[:k], self.purchase[:k]
        cut = self._late_order[j:]  # orders with a line after end: net them again
        cut = np.unique(cut[cut < k])
        if len(cut):
            kept = np.isin(self._late_order[:j], cut)
            slot = np.searchsorted(cut, self._late_order[:j][kept])
            amount, purchase = amount.copy(), purchase.copy()
            # as a fresh kernel nets them: own day's lines + later lines, in date order
            amount[cut] = self._day_amount[cut] + np.bincount(
                slot, weights=self._late_amount[:j][kept], minlength=len(cut)
            )
            purchase[cut] = amount[cut] >= -AMOUNT_TOLERANCE
        late_cats = int(
            np.searchsorted(self._late_cat_day, end_day.value // NS_PER_DAY, side="right")
        )
        return replace(
            self,
            end=end_day,
            customer=self.customer[:k],
            date=self.date[:k],
            amount=amount,
            purchase=purchase,
            _day_amount=self._day_amount[:k],
            _day_units=self._day_units[:k],
            _late_units=self._late_units[:j],
            _first_line=self._first_line[:k],
            _late_order=self._late_order[:j],
            _late_date=self._late_date[:j],
            _late_amount=self._late_amount[:j],
            _order_cat=self._order_cat[:k],
            _order_cats_mixed=self._order_cats_mixed[:k],
            _late_cat_order=self._late_cat_order[:late_cats],
            _late_cat_code=self._late_cat_code[:late_cats],
            _late_cat_day=self._late_cat_day[:late_cats],
        )

    def orders_with_lines_after(self, day: DateLike) -> np.ndarray:
        """Indices (distinct, ascending) of the orders with a line dated after ``day``
        although the order itself is dated on or before it: :meth:`as_of` ``day`` nets them
        differently.

        Examples
        --------
        >>> orders = pd.DataFrame({
        ...     "customer_id": ["a", "a", "b"], "order_id": ["1", "1", "2"],
        ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-02"]),
        ...     "amount": [5.0, -5.0, 3.0]})
        >>> k = order_kernel(orders)
        >>> k.orders_with_lines_after("2024-01-05").tolist(), k.orders_with_lines_after("2024-01-09").tolist()
        ([0], [])
        """
        day_ns = to_day(day, name="day")
        if day_ns is None or pd.isna(day_ns):
            raise ValueError("orders_with_lines_after needs a day.")
        stop_ns = (day_ns + pd.Timedelta(days=1)).value
        late = self._late_order[int(np.searchsorted(self._late_date, stop_ns)) :]
        return np.unique(late[late < int(np.searchsorted(self.date, stop_ns))])

    def between(self, window: Window) -> tuple[int, int]:
        """``(begin, stop)``: the orders dated in ``window`` are ``begin:stop``."""
        if window.empty:
            return 0, 0
        begin = int(np.searchsorted(self.date, window.start.value))
        stop = int(np.searchsorted(self.date, window.end_exclusive.value))
        return begin, stop

    def revenue_by_customer(self, window: Window) -> np.ndarray:
        """Net amount of every line dated in ``window``, per customer code."""
        return self._sum_by_customer(window, self._day_amount, self._late_amount)

    def units_by_customer(self, window: Window) -> np.ndarray:
        """Net ``quantity`` of every line dated in ``window``, per customer code (a blank
        quantity counts 0); only when :attr:`has_units`."""
        if not self.has_units:
            raise ValueError("The orders carry no quantity column.")
        return self._sum_by_customer(window, self._day_units, self._late_units)

    def _sum_by_customer(
        self, window: Window, on_day: np.ndarray, late_values: np.ndarray
    ) -> np.ndarray:
        """Sum per customer code of a line value over the lines dated in ``window``
        (``on_day``: per order, of its own day's lines; ``late_values``: of the later lines)."""
        n = self.n_customers
        begin, stop = self.between(window)
        total = np.bincount(  # float64 even when no order is in the window
            self.customer[begin:stop], weights=on_day[begin:stop], minlength=n
        ).astype("float64", copy=False)
        if len(self._late_date):
            lo, hi = np.searchsorted(
                self._late_date, [window.start.value, window.end_exclusive.value]
            )
            if hi > lo:
                late = self._late_order[lo:hi]
                total += np.bincount(self.customer[late], weights=late_values[lo:hi], minlength=n)
        return total

    def revenue_total(self, window: Window) -> float:
        """Net amount of every line dated in ``window`` (returns of anyone included)."""
        begin, stop = self.between(window)
        total = float(self._day_amount[begin:stop].sum())
        if len(self._late_date):
            lo, hi = np.searchsorted(
                self._late_date, [window.start.value, window.end_exclusive.value]
            )
            total += float(self._late_amount[lo:hi].sum())
        return total

    def category_pairs(
        self, orders: np.ndarray, begin: int = 0, stop: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(customer code, category code) of every line of the orders ``begin:stop`` flagged
        in ``orders`` (a bool per order of that range), repeats included.
        """
        stop = self.n_orders if stop is None else stop
        chosen = np.zeros(self._cat_order.max(initial=-1) + 1 if len(self._cat_order) else 0, bool)
        chosen[begin : min(stop, len(chosen))] = orders[: max(0, min(stop, len(chosen)) - begin)]
        keep = chosen[self._cat_order]  # orders outside begin:stop (or cut by end) stay out
        late = self._late_cat_order - begin
        late_keep = (late >= 0) & (late < stop - begin)
        late_keep[late_keep] = orders[late[late_keep]]
        customer = np.concatenate(
            [self.customer[self._cat_order[keep]], self.customer[self._late_cat_order[late_keep]]]
        )
        category = np.concatenate([self._cat_code[keep], self._late_cat_code[late_keep]])
        return customer, category

    def line_categories(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """(customer code, category code) of every line dated in ``window`` with a category
        (``category``, else ``product_id``), whatever its order's net amount.

        The category codes are those of :func:`pandas.factorize` over the column of the
        lines read (of a categorical column, its own codes); -1 (blank) lines are left out.

        Examples
        --------
        >>> orders = pd.DataFrame({
        ...     "customer_id": ["a", "a", "b"], "order_id": ["1", "1", "2"],
        ...     "category": ["x", "y", "y"], "amount": [5.0, -5.0, 3.0],
        ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-02"])})
        >>> k = order_kernel(orders)
        >>> [c.tolist() for c in k.line_categories(k.window(start="2024-01-02"))]
        [[1, 0], [1, 1]]
        """
        if window.empty:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int32")
        begin, stop = self.between(window)  # a line on its order's day: by the order's index
        own = (self._cat_order >= begin) & (self._cat_order < stop)
        lo, hi = np.searchsorted(
            self._late_cat_day,
            [window.start.value // NS_PER_DAY, window.end_exclusive.value // NS_PER_DAY],
        )
        customer = np.concatenate(
            [self.customer[self._cat_order[own]], self.customer[self._late_cat_order[lo:hi]]]
        )
        return customer, np.concatenate([self._cat_code[own], self._late_cat_code[lo:hi]])

    def customer_counts(
        self,
        window: Window,
        timeline: CategoryTimeline | None = None,
        firsts: FirstPurchases | None = None,
    ) -> dict[str, int]:
        """Counts over the purchases dated in ``window`` (``window.end`` <= ``end``): buyers
        (``customers``), ``purchases``, ``repeat_customers`` (2 or more), ``new_customers``
        (no purchase before the window) and, with categories, ``single_category_customers``
        and ``multi_category_customers`` (of the lines of those purchases). O(orders).

        ``timeline``: :func:`category_timeline` of the kernel this one was truncated from,
        for windows starting on its ``start`` (the category counts of the customers it
        covers then cost a binary search). ``firsts``: :func:`first_purchases` of that kernel
        (who purchased before the window, without a pass over the earlier orders).
        """
        n = self.n_customers
        begin, stop = self.between(window)
        is_purchase = self.purchase[begin:stop]
        customer_all = self.customer[begin:stop]
        customer = customer_all[is_purchase]
        per_customer = np.bincount(customer, minlength=n)
        buyers = per_customer > 0
        # new customers have no purchase before the window
        if firsts is not None:
            earlier = firsts.before(self, begin)
        else:
            earlier = np.zeros(n, dtype=bool)
            earlier[self.customer[:begin][self.purchase[:begin]]] = True
        # count_nonzero: a tenth of bool.sum()'s time over millions of customers, per row
        out = {
            "customers": int(np.count_nonzero(buyers)),
            "new_customers": int(np.count_nonzero(buyers & ~earlier)),
            "purchases": len(customer),
            "repeat_customers": int(np.count_nonzero(per_customer >= 2)),
        }
        if self.has_categories and timeline is not None and timeline.start == window.start:
            out.update(timeline.counts(window))  # the customers whose categories only grow
            rest = self._category_counts(is_purchase & timeline.volatile[customer_all], begin)
            for key, value in rest.items():
                out[key] += value
        elif self.has_categories:
            out.update(self._category_counts(is_purchase, begin))
        return out

    def _category_counts(self, is_purchase: np.ndarray, begin: int) -> dict[str, int]:
        """Single- and multi-category customers of the orders ``begin:`` flagged: each
        order's own day's categories in brief, plus the few lines dated after their order.
        """
        n = self.n_customers
        rows = begin + np.flatnonzero(is_purchase)
        own = rows[self._order_cat[rows] >= 0]
        late = self._late_cat_order
        late_in = np.zeros(len(late), dtype=bool)
        inside = (late >= begin) & (late < begin + len(is_purchase))
        late_in[inside] = is_purchase[late[inside] - begin]
        customer = np.concatenate([self.customer[own], self.customer[late[late_in]]])
        category = np.concatenate([self._order_cat[own], self._late_cat_code[late_in]])
        # several categories <=> an order holds several, or two of the customer's differ
        reference = np.full(n, -1, dtype=category.dtype)
        reference[customer] = category
        multi = np.zeros(n, dtype=bool)
        multi[customer[category != reference[customer]]] = True
        multi[self.customer[own[self._order_cats_mixed[own]]]] = True
        # customers with a category: those with a reference (codes are >= 0), among whom
        # the multi-category ones
        n_multi = int(np.count_nonzero(multi))
        return {
            "single_category_customers": int(np.count_nonzero(reference >= 0)) - n_multi,
            "multi_category_customers": n_multi,
        }

    def first_line(self) -> np.ndarray:
        """File position of each order's first line at its date (breaks ties in file order)."""
        return self._first_line


@dataclass(frozen=True)
class CategoryTimeline:
    """When each customer reaches one and two categories, for windows starting at ``start``.

    A customer none of whose orders dated on or after ``start`` has a line on a later day is
    *stable*: their purchases, and so their categories, only grow as a window's end moves
    on, so the first day they hold a category and the first day they hold two are fixed.
    The other, *volatile* customers (an order re-netted by a later line can stop being a
    purchase) are counted exactly by :meth:`OrderKernel.customer_counts`.
    """

    start: pd.Timestamp
    volatile: np.ndarray  # bool per customer code
    _some: np.ndarray  # sorted: ns of each stable customer's first categorised purchase
    _multi: np.ndarray  # sorted: ns from which a stable customer holds two categories

    def counts(self, window: Window) -> dict[str, int]:
        """Single- and multi-category stable customers of the window ``start..end``."""
        stop = window.end_exclusive.value
        some = int(np.searchsorted(self._some, stop))
        multi = int(np.searchsorted(self._multi, stop))
        return {"single_category_customers": some - multi, "multi_category_customers": multi}


@dataclass(frozen=True)
class FirstPurchases:
    """Who purchased before any order index, for a kernel and every :meth:`OrderKernel.as_of`
    truncation of it: the first purchase of each customer among the orders no later line
    re-nets (their net amount, so their purchase flag, is the same in every truncation), and
    the few orders with later lines, whose flag each truncation gives.
    """

    _first_settled: np.ndarray  # per customer code: index of that first purchase (int64 max)
    _relined: np.ndarray  # sorted indices of the orders with a line on a later day

    def before(self, kernel: OrderKernel, begin: int) -> np.ndarray:
        """Bool per customer code: a purchase among ``kernel``'s orders ``:begin``
        (``kernel``: the one this was made from, or a truncation of it)."""
        earlier = self._first_settled < begin
        relined = self._relined[: int(np.searchsorted(self._relined, begin))]
        earlier[kernel.customer[relined[kernel.purchase[relined]]]] = True
        return earlier


def first_purchases(kernel: OrderKernel) -> FirstPurchases:
    """The :class:`FirstPurchases` of ``kernel`` (O(orders), once for many windows).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b"], "order_id": ["1", "2", "3", "3"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02",
    ...                                   "2024-01-09"]),
    ...     "amount": [5.0, 7.0, 3.0, -4.0]})
    >>> k = order_kernel(orders)
    >>> firsts = first_purchases(k)
    >>> firsts.before(k, 2).tolist()  # b's order 3 nets to -1 through 01-09: a return
    [True, False]
    >>> firsts.before(k.as_of("2024-01-08"), 2).tolist()  # through 01-08 it is a purchase
    [True, True]
    """
    relined = np.unique(kernel._late_order)
    settled = kernel.purchase.copy()
    settled[relined] = False
    rows = np.flatnonzero(settled)
    first = np.full(kernel.n_customers, _INT_MAX, dtype="int64")
    np.minimum.at(first, kernel.customer[rows], rows)
    return FirstPurchases(_first_settled=first, _relined=relined)


def category_timeline(kernel: OrderKernel, start: pd.Timestamp) -> CategoryTimeline:
    """The :class:`CategoryTimeline` of ``kernel``'s orders for windows starting at ``start``.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"], "category": ["x", "y", "x"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05"]),
    ...     "amount": [5.0, 7.0, 3.0]})
    >>> k = order_kernel(orders)
    >>> t = category_timeline(k, pd.Timestamp("2024-01-01"))
    >>> t.counts(k.window(end="2024-01-31")), t.counts(k.window(end="2024-02-29"))
    ({'single_category_customers': 2, 'multi_category_customers': 0}, \
{'single_category_customers': 1, 'multi_category_customers': 1})
    """
    n = kernel.n_customers
    begin = int(np.searchsorted(kernel.date, start.value))
    volatile = np.zeros(n, dtype=bool)
    late = kernel._late_order[kernel._late_order >= begin]
    volatile[kernel.customer[late]] = True
    rows = begin + np.flatnonzero(kernel.purchase[begin:])
    rows = rows[~volatile[kernel.customer[rows]] & (kernel._order_cat[rows] >= 0)]
    customer, date, category = kernel.customer[rows], kernel.date[rows], kernel._order_cat[rows]
    never = np.iinfo(np.int64).max
    some = np.full(n, never, dtype="int64")
    np.minimum.at(some, customer, date)
    # the category of one of the first purchases; a later (or same-day) other one, or an
    # order holding several, makes two
    first = np.full(n, -1, dtype="int64")
    at_first = date == some[customer]
    first[customer[at_first]] = category[at_first]
    second = (category != first[customer]) | kernel._order_cats_mixed[rows]
    multi = np.full(n, never, dtype="int64")
    np.minimum.at(multi, customer[second], date[second])
    return CategoryTimeline(
        start=start,
        volatile=volatile,
        _some=np.sort(some[some != never]),
        _multi=np.sort(multi[multi != never]),
    )


def _net(day_amount: np.ndarray, late_order: np.ndarray, late_amount: np.ndarray) -> np.ndarray:
    """Net amount per order: its own day's lines plus its later lines."""
    if not len(late_order):
        return day_amount
    return day_amount + np.bincount(late_order, weights=late_amount, minlength=len(day_amount))


@dataclass
class _Shared:
    """What one orders frame shares inside `shared_kernels()`: its kernel and the results
    computed from it (customer summaries by window...)."""

    frame: pd.DataFrame
    kernel: OrderKernel
    results: dict[Hashable, Any] = field(default_factory=dict)


# Shared by every call made inside `shared_kernels()`: orders frame id -> what it shares.
_SHARED: ContextVar[dict[int, _Shared] | None] = ContextVar(
    "loyalty_metrics_shared_kernels", default=None
)


@contextmanager
def shared_kernels() -> Iterator[None]:
    """Within this block, the lines of each orders frame are netted once, whatever is asked.

    Every function that nets orders (``customer_summary``, ``kpis``, ``cohort_table``, the
    ladder...) then reuses the kernel of all the frame's lines, truncated to its own ``end``
    (:meth:`OrderKernel.as_of`), instead of netting the lines again. The report and the
    export compute everything inside one such block. The frames must not change meanwhile.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a"], "amount": [5.0, 7.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    >>> with shared_kernels():
    ...     whole = order_kernel(orders)
    ...     january = order_kernel(orders, end="2024-01-31")
    >>> january.amount.tolist(), january.customer_ids is whole.customer_ids
    ([5.0], True)
    """
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def order_kernel(orders: pd.DataFrame, *, end: DateLike | None = None) -> OrderKernel:
    """Net the order lines dated on or before ``end`` into orders (see the module docstring).

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (``customer_id``, ``order_date``, ``amount``; optional
        ``order_id``, ``category``/``product_id``, ``channel``).
    end : date-like, optional
        The last day read; default the last order date.

    Returns
    -------
    OrderKernel

    Notes
    -----
    Speed: customer and order ids are coded by ``_ids`` (numbered ids by value, other text
    by Arrow's hash), side by side on two threads; the distinct customer ids come from that
    coding. Orders that already come in date order (lines sorted by date, the usual export)
    are neither sorted nor reordered.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a"], "order_id": ["1", "1"],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
    ...                        "amount": [3.0, 4.0]})
    >>> order_kernel(orders).amount.tolist()
    [7.0]
    """
    entry = _shared_entry(orders)
    if entry is None:
        return _build(orders, end)
    kernel = entry.kernel
    end_day = to_day(end, name="end")
    if end_day is None:
        return kernel
    if not pd.isna(kernel.end) and end_day < kernel.end:
        return kernel.as_of(end_day)
    return replace(kernel, end=end_day)  # after the last line: the same orders


def _shared_entry(orders: pd.DataFrame) -> _Shared | None:
    """The shared entry of ``orders`` inside `shared_kernels()` (its kernel built on first
    use), None outside."""
    shared = _SHARED.get()
    if shared is None:
        return None
    entry = shared.get(id(orders))
    if entry is None or entry.frame is not orders:
        entry = shared[id(orders)] = _Shared(orders, _build(orders, None))
    return entry


def share_kernel(orders: pd.DataFrame) -> bool:
    """Net the lines of ``orders`` now, for every later use inside `shared_kernels()`
    (True); outside, where nothing is shared, do nothing (False).

    For a caller that hands the kernel to work it starts elsewhere (a forked copy sees what
    this process had computed when it started).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a"], "amount": [5.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01"])})
    >>> share_kernel(orders)
    False
    >>> with shared_kernels():
    ...     share_kernel(orders), order_kernel(orders) is order_kernel(orders)
    (True, True)
    """
    return _shared_entry(orders) is not None


def shared_result(orders: pd.DataFrame, key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, computed once per ``orders`` frame and ``key`` inside `shared_kernels()`
    (every time outside). For results of the kernel that several consumers ask for, such as
    the customer summary of one window; callers must not change what they get.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a"], "amount": [5.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01"])})
    >>> calls = []
    >>> with shared_kernels():
    ...     for _ in range(2):
    ...         _ = shared_result(orders, "x", lambda: calls.append(1))
    >>> len(calls)
    1
    """
    entry = _shared_entry(orders)
    if entry is None:
        return make()
    if key not in entry.results:
        entry.results[key] = make()
    return entry.results[key]


def _build(orders: pd.DataFrame, end: DateLike | None) -> OrderKernel:
    window = resolve_window(orders["order_date"], None, end)
    if window.empty:
        return _empty(orders, window.end)
    mask = window.up_to_end(orders["order_date"])
    lines = orders if mask.all() else orders.loc[mask]
    if not len(lines):
        return _empty(orders, window.end)

    has_order_ids = "order_id" in lines.columns and lines["order_id"].notna().any()
    customer_codes, ids, raw_order_codes = _id_codes(lines, has_order_ids)
    if ids.dtype != "str":
        ids = ids.astype("str")
    dates_ns = lines["order_date"].to_numpy(dtype="datetime64[ns]").view("int64")
    amounts = lines["amount"].to_numpy(dtype="float64", na_value=np.nan)
    units = None
    if "quantity" in lines.columns:
        # one copy: nan_to_num makes it (blank quantities count 0)
        units = np.nan_to_num(lines["quantity"].to_numpy(dtype="float64", na_value=np.nan))
    day_units = late_units = np.zeros(0, dtype="float64")
    with_channel = "channel" in lines.columns

    if has_order_ids:
        assert raw_order_codes is not None  # _id_codes gives codes when there are order ids
        order_codes = _order_codes(customer_codes, raw_order_codes)
        del raw_order_codes
        n_orders = int(order_codes.max()) + 1
        order_date = np.full(n_orders, _INT_MAX, dtype="int64")
        np.minimum.at(order_date, order_codes, dates_ns)
        order_customer = np.empty(n_orders, dtype="int64")
        order_customer[order_codes] = customer_codes
        del customer_codes
        # A line is late when dated on a day after its order's (whose date is its earliest);
        # the lines are looked at only when some order's lines span several days.
        late: np.ndarray | None = None
        if _spans_days(order_codes, dates_ns, order_date):
            late = dates_ns // NS_PER_DAY > order_date[order_codes] // NS_PER_DAY
            on_day = ~late
            day_amount = np.bincount(
                order_codes[on_day], weights=amounts[on_day], minlength=n_orders
            )
            late_order, late_date, late_amount = order_codes[late], dates_ns[late], amounts[late]
            if units is not None:
                day_units = np.bincount(
                    order_codes[on_day], weights=units[on_day], minlength=n_orders
                )
                late_units = units[late]
            del on_day
        else:
            day_amount = np.bincount(order_codes, weights=amounts, minlength=n_orders)
            late_order = late_date = np.zeros(0, dtype="int64")
            late_amount = np.zeros(0, dtype="float64")
            if units is not None:
                day_units = np.bincount(order_codes, weights=units, minlength=n_orders)
        first_line = np.zeros(0, dtype="int64")
        if with_channel:  # the first line (file order) at the order's own date: its channel
            first_line = np.full(n_orders, _INT_MAX, dtype="int64")
            at_date = np.flatnonzero(dates_ns == order_date[order_codes])
            np.minimum.at(first_line, order_codes[at_date], at_date)
            del at_date
        line_order = order_codes
    else:
        n_orders = len(lines)
        order_date, order_customer = dates_ns, customer_codes
        day_amount = amounts
        if units is not None:
            day_units = units
        late = None
        late_order = late_date = np.zeros(0, dtype="int64")
        late_amount = np.zeros(0, dtype="float64")
        first_line = np.arange(n_orders, dtype="int64") if with_channel else np.zeros(0, "int64")
        line_order = np.arange(n_orders, dtype="int64")

    # Sort the orders by date (lines usually come nearly sorted: a stable sort is quick).
    by_date = _date_order(order_date)
    rank = None
    if by_date is not None:
        rank = np.empty(n_orders, dtype="int64")
        rank[by_date] = np.arange(n_orders)
    if by_date is None and not has_order_ids:
        # one order per line, already in date order: copies, so that the kernel holds none
        # of the frame's own arrays
        order_date, day_amount = order_date.copy(), day_amount.copy()
    categories = _category_lines(lines, line_order, late, dates_ns, rank, n_orders, by_date)
    del line_order, late
    late_order = _renumbered(late_order, rank)
    del rank
    late_sort = np.argsort(late_date, kind="stable")
    late_order, late_date, late_amount = (
        late_order[late_sort],
        late_date[late_sort],
        late_amount[late_sort],
    )
    day_amount = _reordered(day_amount, by_date)
    if units is not None:
        day_units, late_units = _reordered(day_units, by_date), late_units[late_sort]
    amount = _net(day_amount, late_order, late_amount)
    _release_arrow_memory()
    return OrderKernel(
        end=window.end,
        customer_ids=ids.rename("customer_id"),
        customer=_reordered(order_customer, by_date),
        date=_reordered(order_date, by_date),
        amount=amount,
        purchase=amount >= -AMOUNT_TOLERANCE,
        channel=lines["channel"] if with_channel else None,
        has_categories=categories is not None,
        has_units=units is not None,
        _day_amount=day_amount,
        _day_units=day_units,
        _late_units=late_units,
        _first_line=_reordered(first_line, by_date) if with_channel else first_line,
        _late_order=late_order,
        _late_date=late_date,
        _late_amount=late_amount,
        **(categories or _no_categories(n_orders)),
    )


def _empty(orders: pd.DataFrame, end: pd.Timestamp) -> OrderKernel:
    none_i = np.zeros(0, dtype="int64")
    none_f = np.zeros(0, dtype="float64")
    channel = orders["channel"].iloc[:0] if "channel" in orders.columns else None
    has_categories = any(c in orders.columns for c in ("category", "product_id"))
    return OrderKernel(
        end=end,
        customer_ids=pd.Series([], dtype="str", name="customer_id"),
        customer=none_i,
        date=none_i,
        amount=none_f,
        purchase=np.zeros(0, dtype=bool),
        channel=channel,
        has_categories=has_categories,
        has_units="quantity" in orders.columns,
        _day_amount=none_f,
        _day_units=none_f,
        _late_units=none_f,
        _first_line=none_i,
        _late_order=none_i,
        _late_date=none_i,
        _late_amount=none_f,
        **_no_categories(0),
    )


def _category_lines(
    lines: pd.DataFrame,
    line_order: np.ndarray,
    late: np.ndarray | None,
    dates_ns: np.ndarray,
    rank: np.ndarray | None,
    n_orders: int,
    by_date: np.ndarray | None,
) -> dict[str, np.ndarray] | None:
    """The kernel's category fields (see :class:`OrderKernel`), None without categories.

    ``line_order``: each line's order (before sorting by date); ``rank``: each order's place
    once sorted and ``by_date`` the orders in that order (both None when the orders are in
    date order already); ``late``: the line is dated after its order's day (None: no line).
    """
    column = next((c for c in ("category", "product_id") if c in lines.columns), None)
    if column is None:
        return None
    values = lines[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype("int32")
    else:
        codes = pd.factorize(values)[0].astype("int32")
    present = codes >= 0
    own = present if late is None else present & ~late
    if own.all():  # no blank category and no late line: every line (no copies)
        own_order, own_code = line_order, codes
    else:
        own_order, own_code = line_order[own], codes[own]
    del own
    order_cat = np.full(n_orders, -1, dtype="int32")
    order_cat[own_order] = own_code
    mixed = np.zeros(n_orders, dtype=bool)
    mixed[own_order[own_code != order_cat[own_order]]] = True
    later = np.flatnonzero(present & late) if late is not None else np.zeros(0, dtype="int64")
    later = later[np.argsort(dates_ns[later], kind="stable")]
    return {
        "_cat_order": _renumbered(own_order, rank).astype("int32"),
        "_cat_code": own_code,
        "_order_cat": _reordered(order_cat, by_date),
        "_order_cats_mixed": _reordered(mixed, by_date),
        "_late_cat_order": _renumbered(line_order[later], rank),
        "_late_cat_code": codes[later],
        "_late_cat_day": dates_ns[later] // NS_PER_DAY,
    }


def _date_order(order_date: np.ndarray) -> np.ndarray | None:
    """The positions of the orders sorted by date (stable), None when they already are
    (lines in date order, the usual export, give orders in date order): the kernel's arrays
    then need no reordering."""
    if (order_date[1:] >= order_date[:-1]).all():
        return None
    return np.argsort(order_date, kind="stable")


def _reordered(values: np.ndarray, by_date: np.ndarray | None) -> np.ndarray:
    """Per-order ``values`` in date order (``values[by_date]``); ``values`` itself when the
    orders already are (``by_date`` None)."""
    return values if by_date is None else values[by_date]


def _renumbered(orders: np.ndarray, rank: np.ndarray | None) -> np.ndarray:
    """Order indexes as places in date order (``rank[orders]``); ``orders`` itself when the
    orders already are in date order (``rank`` None)."""
    return orders if rank is None else rank[orders]


def _no_categories(n_orders: int) -> dict[str, np.ndarray]:
    none = np.zeros(0, dtype="int64")
    return {
        "_cat_order": none.astype("int32"),
        "_cat_code": none.astype("int32"),
        "_order_cat": np.full(n_orders, -1, dtype="int32"),
        "_order_cats_mixed": np.zeros(n_orders, dtype=bool),
        "_late_cat_order": none,
        "_late_cat_code": none.astype("int32"),
        "_late_cat_day": none,
    }


def _id_codes(
    lines: pd.DataFrame, has_order_ids: bool
) -> tuple[np.ndarray, pd.Series, np.ndarray | None]:
    """Codes of the customer ids (sorted) with the distinct customer ids, and codes of the
    order ids, coded side by side.

    The two are independent and spend their time in Arrow and numpy kernels, which release
    the GIL: on two cores the pair costs about the slower one.
    """
    if not has_order_ids:
        return *factorize_ids_with_uniques(lines["customer_id"], sort=True), None
    with ThreadPoolExecutor(max_workers=1) as pool:
        order_codes = pool.submit(factorize_ids, lines["order_id"])
        customer_codes, ids = factorize_ids_with_uniques(lines["customer_id"], sort=True)
        return customer_codes, ids, order_codes.result()


def _spans_days(order_codes: np.ndarray, dates_ns: np.ndarray, first_date: np.ndarray) -> bool:
    """Whether some order has lines on two days: its last line's day after its first's
    (``first_date``), per order rather than per line."""
    last = np.full(len(first_date), np.iinfo(np.int64).min, dtype="int64")
    np.maximum.at(last, order_codes, dates_ns)
    return bool((last // NS_PER_DAY > first_date // NS_PER_DAY).any())


def _order_codes(customer_codes: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Dense codes of (customer, order_id) from the order ids' codes ``raw`` (-1 for blank);
    a blank order_id makes its line an order of its own.
    """
    blank = raw < 0
    if blank.any():
        raw[blank] = raw.max(initial=-1) + 1 + np.arange(int(blank.sum()))
    # Usually an order_id belongs to one customer: then its code is the order's code.
    owner = np.empty(int(raw.max(initial=-1)) + 1, dtype="int64")
    owner[raw] = customer_codes
    step = 1 << 20  # compared a slice at a time: no temporary the size of the lines
    if all(
        (owner[raw[i : i + step]] == customer_codes[i : i + step]).all()
        for i in range(0, len(raw), step)
    ):
        return raw
    key = raw * (int(customer_codes.max(initial=0)) + 1) + customer_codes
    codes, _ = pd.factorize(key)
    return codes.astype("int64")


def _release_arrow_memory() -> None:
    """Return the pages Arrow's allocator freed (hashing the string ids) to the OS."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
