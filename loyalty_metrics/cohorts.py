"""Acquisition cohorts: retention and revenue tables, repeat rates and time between purchases.

A customer's *cohort* is the calendar period (week, month, quarter or year) of their first
purchase ever on or before ``end``. This module holds the one heavy pass over order lines that
cohorts need (DESIGN section 1): it reduces lines to orders with the same conventions as
:func:`loyalty_metrics.customer_summary` (lines sharing ``order_id`` are one order, its net amount
is the sum of its lines, its date the earliest of them; an order with net amount >= -1e-6 is a
purchase) and never reads a line dated after ``end``. Everything else works on integer codes
(customers, days, periods) with ``bincount``-style aggregation, so a table over millions of
lines costs a few passes over flat arrays.

Cell status
-----------
Every cohort cell is one of

- ``"complete"``: the calendar period ends before the period containing ``end`` starts (fully observed);
- ``"partial"``: the period contains ``end`` (DESIGN's rule, even when ``end`` is its last day:
  a report run on the 31st still treats its month as in progress); the value counts what
  happened so far (charts hatch it);
- ``"unreachable"``: the period starts after ``end``; the value is NaN, never 0 (charts leave it
  blank).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import caveats
from ._validation import validate_orders
from ._window import DateLike, Window
from .errors import ConfigError
from .orders import OrderKernel, order_kernel, shared_result

__all__ = [
    "ALL_COHORTS",
    "CELL_STATUSES",
    "CohortFrame",
    "CohortTable",
    "cohort_cell_status",
    "cohort_table",
    "inter_purchase_times",
    "repeat_rate_by_cohort",
    "time_to_second_purchase",
]

CohortPeriod = Literal["W", "M", "Q", "Y"]
CohortValues = Literal["customers", "retention", "revenue", "cumulative_revenue_per_customer"]
CohortMode = Literal["on", "on_or_after"]

#: The label of the summary row that ``include_all=True`` appends.
ALL_COHORTS = "All cohorts"
#: The possible statuses of a cohort cell, from most to least observed.
CELL_STATUSES = ("complete", "partial", "unreachable")

_PERIODS = ("W", "M", "Q", "Y")
_VALUES = ("customers", "retention", "revenue", "cumulative_revenue_per_customer")
_MODES = ("on", "on_or_after")
_NS_PER_DAY = 86_400 * 10**9
_INT_MAX = np.iinfo(np.int64).max
_INT_MIN = np.iinfo(np.int64).min
_ATTR = "loyalty_metrics.cohorts"


# --------------------------------------------------------------------------------------------
# Parameter checks (shared with segments.py and programs.py)
# --------------------------------------------------------------------------------------------
def _check_choice(func: str, name: str, value: object, allowed: Sequence[str]) -> None:
    """Raise the sklearn-style parameter error when ``value`` is not one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in sorted(allowed))
        raise ConfigError(
            f"The {name!r} parameter of {func} must be one of {{{choices}}}. Got {value!r} instead."
        )


_OFFSET_RE = re.compile(r"^\s*(\d*)\s*([DWMQY])[SE]?\s*$", re.IGNORECASE)


def _parse_offset(value: object, *, func: str, name: str) -> pd.Timedelta | pd.DateOffset:
    """``"90D"``, ``"12W"`` -> Timedelta; ``"3M"``, ``"1Q"``, ``"1Y"`` -> calendar DateOffset."""
    if isinstance(value, pd.DateOffset):
        return value
    is_delta = isinstance(value, np.timedelta64) or hasattr(value, "total_seconds")
    if is_delta and pd.Timedelta(value) > pd.Timedelta(0):
        return pd.Timedelta(value)
    match = _OFFSET_RE.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1) or 1) == 0:
        raise ConfigError(
            f"The {name!r} parameter of {func} must be an offset such as '90D', '12W', '3M' "
            f"or '1Y'. Got {value!r} instead."
        )
    count = int(match.group(1) or 1)
    unit = match.group(2).upper()
    if unit == "D":
        return pd.Timedelta(days=count)
    if unit == "W":
        return pd.Timedelta(weeks=count)
    months = {"M": 1, "Q": 3, "Y": 12}[unit] * count
    return pd.DateOffset(months=months)


def _add_offset(days: np.ndarray, offset: pd.Timedelta | pd.DateOffset) -> np.ndarray:
    """Day numbers shifted by ``offset`` (calendar-aware for month offsets)."""
    if isinstance(offset, pd.Timedelta):
        return days + offset.days
    shifted = pd.DatetimeIndex(days.astype("datetime64[D]")) + offset
    return shifted.to_numpy().astype("datetime64[D]").astype("int64")


def _in_index(values: pd.Series | pd.Index | np.ndarray, universe: pd.Index) -> np.ndarray:
    """Boolean mask of ``values`` found in ``universe``, by hashing.

    (``Series.isin`` on pandas' Arrow-backed strings loops in Python over a large value set.)
    """
    index = universe if universe.is_unique else universe.unique()
    return index.get_indexer(pd.Index(values)) >= 0


# --------------------------------------------------------------------------------------------
# Orders from the order kernel (private, shared with segments.py and programs.py)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Orders:
    """Orders dated on or before ``window.end``, one entry per order, as flat arrays.

    ``customer`` are codes into ``customer_ids``; ``day`` is the order date (its earliest line)
    as whole days since 1970-01-01; ``amount`` the net amount; ``purchase`` marks net amount
    >= -1e-6.
    """

    window: Window
    customer_ids: pd.Index  # str
    customer: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    purchase: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def end_day(self) -> int:
        return int(self.window.end.value // _NS_PER_DAY)

    @property
    def start_day(self) -> int:
        return int(self.window.start.value // _NS_PER_DAY)

    def first_purchase_day(self) -> np.ndarray:
        """Day of each customer's first purchase (int64 max when they never purchased);
        computed once per view, callers must not change it."""
        return self._first_purchase_day

    @cached_property
    def _first_purchase_day(self) -> np.ndarray:
        out = np.full(self.n_customers, _INT_MAX, dtype="int64")
        np.minimum.at(out, self.customer[self.purchase], self.day[self.purchase])
        return out

    def purchase_days(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (customer, day) of purchases, sorted by customer then day."""
        c = self.customer[self.purchase]
        d = self.day[self.purchase]
        if len(c) == 0:
            return c, d
        low = int(d.min())
        span = int(d.max()) - low + 1
        keys = np.unique(c * span + (d - low))
        return keys // span, keys % span + low


def _empty_orders(window: Window) -> _Orders:
    empty_i = np.zeros(0, dtype="int64")
    return _Orders(
        window=window,
        customer_ids=pd.Index([], dtype="str"),
        customer=empty_i,
        day=empty_i,
        amount=np.zeros(0, dtype="float64"),
        purchase=np.zeros(0, dtype=bool),
    )


def _orders_up_to_end(
    orders: pd.DataFrame, *, start: DateLike | None = None, end: DateLike | None = None
) -> _Orders:
    """The orders on or before ``end`` (the order kernel's), over the window ``start..end``."""
    validate_orders(orders)
    kernel = order_kernel(orders, end=end)
    window = kernel.window(start, end)
    # Inside shared_kernels() (a report) the cohort tables, repeat rates and the loop of one
    # window share one view, and so its first purchase days.
    return shared_result(
        orders, ("cohort_orders", window), lambda: orders_from_kernel(kernel, window)
    )


def orders_from_kernel(kernel: OrderKernel, window: Window) -> _Orders:
    """The cohorts' view of an order kernel truncated at ``window.end``."""
    if window.empty:
        return _empty_orders(window)
    k = kernel.as_of(window.end)
    return _Orders(
        window=window,
        customer_ids=pd.Index(k.customer_ids, dtype="str"),
        customer=k.customer,
        day=k.day,
        amount=k.amount,
        purchase=k.purchase,
    )


# --------------------------------------------------------------------------------------------
# Periods as integer codes
# --------------------------------------------------------------------------------------------
def _period_codes(days: np.ndarray, period: str) -> np.ndarray:
    """Calendar-period code of each day number; codes are pandas Period ordinals (W: -1)."""
    days = np.asarray(days, dtype="int64")
    if period == "W":
        return (days + 3) // 7  # weeks Monday..Sunday (W-SUN); 1970-01-01 was a Thursday
    low = int(days.min(initial=0))
    span = int(days.max(initial=0)) - low + 1
    if len(days) > 4 * span:
        # Millions of orders over a few thousand days: the calendar conversion once per day
        # of the span, then a lookup (the conversion costs ten times the gather).
        return _period_codes(np.arange(low, low + span), period)[days - low]
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype("int64")
    if period == "Q":
        return months // 3
    if period == "Y":
        return months // 12
    return months


def _period_first_day(codes: np.ndarray, period: str) -> np.ndarray:
    """First day number of each period code (the inverse of :func:`_period_codes`)."""
    codes = np.asarray(codes, dtype="int64")
    if period == "W":
        return codes * 7 - 3
    months = codes * {"M": 1, "Q": 3, "Y": 12}[period]
    return months.astype("datetime64[M]").astype("datetime64[D]").astype("int64")


def _period_index(codes: np.ndarray, period: str) -> pd.PeriodIndex:
    ordinals = np.asarray(codes, dtype="int64") + (1 if period == "W" else 0)
    return pd.PeriodIndex.from_ordinals(ordinals, freq=period).rename("cohort")


def _end_period(window: Window, period: str) -> int:
    """Code of the period containing ``end``."""
    end_day = int(window.end.value // _NS_PER_DAY)
    return int(_period_codes(np.array([end_day]), period)[0])


def _first_shown_cohort(window: Window, period: str) -> int:
    return int(_period_codes(np.array([window.start.value // _NS_PER_DAY]), period)[0])


# --------------------------------------------------------------------------------------------
# Cohort tables
# --------------------------------------------------------------------------------------------
class CohortFrame(pd.DataFrame):
    """A DataFrame whose rows are cohorts, as the cohort functions return it.

    The rows are cohort periods and, with ``include_all=True``, the ``"All cohorts"`` row
    after them: an index mixing :class:`pandas.Period` labels and text, which Arrow cannot
    hold. :meth:`to_parquet` therefore writes such labels as text (``"2024-01"``,
    ``"All cohorts"``); a table without that row keeps its period index. In every other
    respect a plain :class:`pandas.DataFrame` (``merge`` and ``concat`` keep the class).

    Examples
    --------
    >>> import io
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [1.0, 1.0, 1.0],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-05", "2024-01-20"])})
    >>> buffer = io.BytesIO()
    >>> cohort_cell_status(orders, include_all=True).to_parquet(buffer)
    >>> pd.read_parquet(buffer).index.tolist()
    ['2024-01', 'All cohorts']
    """

    @property
    def _constructor(self) -> type[CohortFrame]:
        return CohortFrame

    def to_parquet(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`pandas.DataFrame.to_parquet`, with the labels of a mixed cohort index as
        text (see the class)."""
        frame = self.copy(deep=False)
        frame.index = _labels_as_text(frame.index)
        return pd.DataFrame.to_parquet(frame, *args, **kwargs)


def _labels_as_text(index: pd.Index) -> pd.Index:
    """``index`` with each level of mixed labels (object dtype) as text; others as they are."""
    if isinstance(index, pd.MultiIndex):
        levels = [_labels_as_text(index.get_level_values(i)) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays(levels, names=index.names)
    if index.dtype == object:
        return pd.Index([str(label) for label in index], dtype="str", name=index.name)
    return index


class CohortTable(CohortFrame):
    """What :func:`cohort_table` returns: a DataFrame that knows how it was made.

    Attributes (kept through selections and copies; a ``merge`` or ``concat`` result has
    them as None): ``cohort_period``, ``cohort_values`` and ``cohort_mode`` (the options it
    was made with), ``window`` and ``cohort_size`` (customers per cohort row, a Series
    indexed like the rows, without the ``All cohorts`` row).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [1.0, 1.0, 1.0],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-05", "2024-01-20"])})
    >>> table = cohort_table(orders)
    >>> table.cohort_size.tolist(), table.cohort_period
    ([2], 'M')
    """

    _metadata = ["cohort_period", "cohort_values", "cohort_mode", "window", "cohort_size"]
    cohort_period: str | None = None
    cohort_values: str | None = None
    cohort_mode: str | None = None
    window: Window | None = None
    cohort_size: pd.Series | None = None

    @property
    def _constructor(self) -> type[CohortTable]:
        return CohortTable


@dataclass(frozen=True)
class _CohortGrid:
    """Shown cohorts (rows), their sizes and the status of every (cohort, periods since) cell."""

    cohorts: np.ndarray  # period codes of the rows, ascending
    sizes: np.ndarray  # customers per row
    status: np.ndarray  # (rows, columns) codes: 0 complete, 1 partial, 2 unreachable
    row_of_customer: np.ndarray  # row per customer code, -1 when not shown
    cohort_of_customer: np.ndarray  # cohort code per customer (int64 max: no purchase)

    @property
    def shape(self) -> tuple[int, int]:
        return self.status.shape


def _cohort_grid(o: _Orders, period: str) -> _CohortGrid:
    first = o.first_purchase_day()
    buyer = first != _INT_MAX
    cohort = np.full(o.n_customers, _INT_MAX, dtype="int64")
    cohort[buyer] = _period_codes(first[buyer], period)
    if o.window.empty or not buyer.any():
        return _CohortGrid(
            cohorts=np.zeros(0, dtype="int64"),
            sizes=np.zeros(0, dtype="int64"),
            status=np.zeros((0, 0), dtype="int8"),
            row_of_customer=np.full(o.n_customers, -1, dtype="int64"),
            cohort_of_customer=cohort,
        )
    shown = buyer & (cohort >= _first_shown_cohort(o.window, period))
    cohorts, inverse, sizes = np.unique(cohort[shown], return_inverse=True, return_counts=True)
    row_of_customer = np.full(o.n_customers, -1, dtype="int64")
    row_of_customer[shown] = inverse
    end_code = _end_period(o.window, period)
    n_cols = int(end_code - cohorts[0]) + 1 if len(cohorts) else 0
    absolute = cohorts[:, None] + np.arange(n_cols)[None, :]
    status = np.where(absolute < end_code, 0, np.where(absolute == end_code, 1, 2)).astype("int8")
    return _CohortGrid(cohorts, sizes, status, row_of_customer, cohort)


def _active_cells(o: _Orders, grid: _CohortGrid, period: str) -> np.ndarray:
    """Customers active ("on") in each (row, periods since) cell, as a flat count array."""
    n_rows, n_cols = grid.shape
    sel = o.purchase & (grid.row_of_customer[o.customer] >= 0)
    cust = o.customer[sel]
    codes = _period_codes(o.day[sel], period)
    cells = np.zeros(n_rows * n_cols, dtype="int64")
    if len(cust) == 0:
        return cells
    # The orders are in date order, so each period's are one run. Its distinct customers:
    # write each order's position under its customer, then keep the orders whose position
    # was kept (one per customer, whichever write won). O(orders), where flags of every
    # (customer, period) pair took hundreds of MB.
    slot = np.empty(o.n_customers, dtype="int64")
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    for begin, stop in zip(starts, np.r_[starts[1:], len(codes)], strict=True):
        run = cust[begin:stop]
        position = np.arange(len(run))
        slot[run] = position
        active = run[slot[run] == position]
        rows = grid.row_of_customer[active]
        since = codes[begin] - grid.cohorts[rows]
        cells += np.bincount(rows * n_cols + since, minlength=n_rows * n_cols)
    return cells


def _active_on_or_after(o: _Orders, grid: _CohortGrid, period: str) -> np.ndarray:
    """Customers active in each period or any later one (up to ``end``)."""
    n_rows, n_cols = grid.shape
    last = np.full(o.n_customers, _INT_MIN, dtype="int64")
    np.maximum.at(last, o.customer[o.purchase], o.day[o.purchase])
    shown = grid.row_of_customer >= 0
    rows = grid.row_of_customer[shown]
    since = _period_codes(last[shown], period) - grid.cohorts[rows]
    at_last = np.bincount(rows * n_cols + since, minlength=n_rows * n_cols).reshape(n_rows, n_cols)
    # active in k or later  <=>  last active period >= k: a reverse cumulative sum.
    return np.cumsum(at_last[:, ::-1], axis=1)[:, ::-1].ravel()


def _revenue_cells(o: _Orders, grid: _CohortGrid, period: str) -> np.ndarray:
    """Net amount (purchases and returns) of each cohort's members in each period since."""
    n_rows, n_cols = grid.shape
    rows = grid.row_of_customer[o.customer]
    sel = rows >= 0
    rows = rows[sel]
    since = _period_codes(o.day[sel], period) - grid.cohorts[rows]
    after = since >= 0  # a return dated before the first purchase belongs to no cell
    return np.bincount(
        rows[after] * n_cols + since[after],
        weights=o.amount[sel][after],
        minlength=n_rows * n_cols,
    )


def _check_cohort_args(
    func: str, period: str, values: str | None = None, mode: str | None = None
) -> None:
    _check_choice(func, "period", period, _PERIODS)
    if values is not None:
        _check_choice(func, "values", values, _VALUES)
    if mode is not None:
        _check_choice(func, "mode", mode, _MODES)
        if mode == "on_or_after" and values in ("revenue", "cumulative_revenue_per_customer"):
            raise ConfigError(
                f"The 'mode' parameter of {func} applies to customers and retention only; "
                f"use mode='on' with values={values!r}."
            )


def _status_frame(grid: _CohortGrid, period: str, include_all: bool) -> CohortFrame:
    labels = np.asarray(CELL_STATUSES, dtype=object)
    frame = CohortFrame(
        labels[grid.status],
        index=_period_index(grid.cohorts, period),
        columns=pd.RangeIndex(grid.shape[1], name="periods_since"),
    ).astype("str")
    if include_all:
        has_complete = (grid.status == 0).any(axis=0)
        frame = _append_row(frame, np.where(has_complete, "complete", "unreachable"))
    return frame


def _append_row(frame: pd.DataFrame, row: np.ndarray | dict) -> CohortFrame:
    """``frame`` with an ``"All cohorts"`` row appended (the index becomes object dtype)."""
    extra = pd.DataFrame([row], index=[ALL_COHORTS], columns=frame.columns).astype(frame.dtypes)
    out = CohortFrame(pd.concat([frame, extra]))
    out.index = pd.Index(list(frame.index) + [ALL_COHORTS], dtype=object, name="cohort")
    return out


def cohort_table(
    orders: pd.DataFrame,
    *,
    period: CohortPeriod = "M",
    values: CohortValues = "retention",
    mode: CohortMode = "on",
    include_all: bool = False,
    start: DateLike | None = None,
    end: DateLike | None = None,
    engine: Any = "pandas",
) -> pd.DataFrame:
    """Acquisition cohorts by periods since their first purchase.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (``customer_id``, ``order_date``, ``amount``, optional
        ``order_id``).
    period : {"M", "W", "Q", "Y"}, default "M"
        Calendar period of cohorts and columns: months, weeks (Monday to Sunday), quarters or
        years.
    values : {"retention", "customers", "revenue", "cumulative_revenue_per_customer"}
        - ``customers``: members active in the period (with a purchase in it);
        - ``retention``: ``100 * active / cohort size`` (0-100; column 0 is 100 in mode "on");
        - ``revenue``: net amount (purchases minus returns) of the cohort's members in the
          period, in the orders' currency;
        - ``cumulative_revenue_per_customer``: revenue of periods 0..k / cohort size.
    mode : {"on", "on_or_after"}, default "on"
        ``"on"`` counts members active in period k; ``"on_or_after"`` those active in k or any
        later period up to ``end`` (an "unbounded" retention curve, never increasing in k).
        Only for ``customers`` and ``retention``.
    include_all : bool, default False
        Append a row labelled ``"All cohorts"`` (:data:`ALL_COHORTS`): for each column, the
        average over the cohorts whose cell is *complete*, weighted by cohort size
        (``sum(size * value) / sum(size)``; for retention and per-customer revenue this is the
        pooled figure). Partial cells never enter it. The index then holds the periods and
        that string.
    start, end : date-like, optional
        ``end`` (default: last order date) is the as-of date: nothing after it is read.
        ``start`` (default: first order date) only chooses the first cohort shown, the one
        whose period contains ``start``; cohorts are always defined on the first purchase ever
        up to ``end``, so a cohort row never depends on ``start``.
    engine : {"pandas", "duckdb", "spark"} or an Ibis backend, default "pandas"
        Where to compute (DESIGN section 7): with a SQL engine ``orders`` may also be a path
        or glob of CSV/Parquet files or a table of the engine, and only the cells come back
        (see :mod:`loyalty_metrics.engines`).

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (a :class:`pandas.PeriodIndex`, ascending, only cohorts with
        customers), columns ``periods_since`` 0, 1, ... up to the last observable period of
        the oldest cohort shown (no cap). Floats; cells after ``end`` are NaN, never 0.
        A :class:`CohortTable`: ``table.cohort_size`` gives the customers of each cohort row,
        ``table.window`` the window (``attrs["loyalty_metrics.cohorts"]`` holds the same as
        plain values: ``period``, ``values``, ``mode``, ``start``, ``end`` as ISO dates and
        ``cohort_size`` as a list).

    Notes
    -----
    A customer belongs to the cohort of their first purchase ever on or before ``end``; they
    are active in a period when they made a purchase (an order with net amount >= 0) dated in
    it. Revenue counts every order of the members, returns included, from their first
    purchase on. Each cell has a status (see :func:`cohort_cell_status`): ``complete``,
    ``partial`` (the period containing ``end``) or
    ``unreachable`` (NaN). In mode ``"on_or_after"`` a value can still grow as later periods
    are observed, whatever its status.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-05", "2024-02-10", "2024-01-20", "2024-03-02", "2024-02-03"]),
    ...     "amount": [10.0, 20.0, 5.0, 5.0, 8.0],
    ... })
    >>> cohort_table(orders, values="customers")
    periods_since    0    1    2
    cohort
    2024-01        2.0  1.0  1.0
    2024-02        1.0  0.0  NaN
    >>> cohort_table(orders, include_all=True).round(1)
    periods_since      0     1     2
    cohort
    2024-01        100.0  50.0  50.0
    2024-02        100.0   0.0   NaN
    All cohorts    100.0  50.0   NaN
    """
    if engine is not None and engine != "pandas":
        from . import engines

        return engines.cohort_table(orders, period=period, values=values, mode=mode,
                                    include_all=include_all, start=start, end=end, engine=engine)  # fmt: skip
    _check_cohort_args("cohort_table", period, values, mode)
    o = _orders_up_to_end(orders, start=start, end=end)
    if len(o.day):
        first = pd.Timestamp(int(o.day.min()) * _NS_PER_DAY)
        caveats.emit(caveats.cohort_caveats(first, o.window.start))
    grid = _cohort_grid(o, period)
    n_rows, n_cols = grid.shape
    if values in ("customers", "retention"):
        if mode == "on":
            cells = _active_cells(o, grid, period)
        else:
            cells = _active_on_or_after(o, grid, period)
    else:
        cells = _revenue_cells(o, grid, period)
    table = cells.reshape(n_rows, n_cols).astype("float64")
    sizes = grid.sizes.astype("float64")[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        if values == "retention":
            table = 100.0 * table / sizes
        elif values == "cumulative_revenue_per_customer":
            table = np.cumsum(table, axis=1) / sizes
    table[grid.status == 2] = np.nan
    frame = pd.DataFrame(
        table,
        index=_period_index(grid.cohorts, period),
        columns=pd.RangeIndex(n_cols, name="periods_since"),
    )
    if include_all:
        complete = grid.status == 0
        weights = np.where(complete, sizes, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            average = (np.where(complete, table, 0.0) * weights).sum(axis=0) / weights.sum(axis=0)
        frame = _append_row(frame, average)
    table = CohortTable(frame)
    table.cohort_period, table.cohort_values, table.cohort_mode = period, values, mode
    table.window = o.window
    table.cohort_size = pd.Series(
        grid.sizes.astype("int64"), index=_period_index(grid.cohorts, period), name="cohort_size"
    )
    # The same, as plain values, for readers of the attrs (JSON-safe: to_parquet keeps them).
    frame_attrs = {
        "period": period,
        "values": values,
        "mode": mode,
        "start": None if o.window.empty else str(o.window.start.date()),
        "end": None if o.window.empty else str(o.window.end.date()),
        "cohort_size": [int(s) for s in grid.sizes],
    }
    table.attrs[_ATTR] = frame_attrs
    return table


def cohort_cell_status(
    orders: pd.DataFrame,
    *,
    period: CohortPeriod = "M",
    include_all: bool = False,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """The status of every cell of :func:`cohort_table`: complete, partial or unreachable.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    period : {"M", "W", "Q", "Y"}, default "M"
        As in :func:`cohort_table`.
    include_all : bool, default False
        Append the ``"All cohorts"`` row: ``complete`` where at least one cohort's cell is
        complete (its average is defined), else ``unreachable``.
    start, end : date-like, optional
        As in :func:`cohort_table`.

    Returns
    -------
    pandas.DataFrame
        Same index and columns as ``cohort_table(orders, period=period, ...)`` (its shape does
        not depend on ``values`` or ``mode``); string cells, one of :data:`CELL_STATUSES`:

        - ``"complete"``: the period ended before the period containing ``end``;
        - ``"partial"``: the period contains ``end`` (draw it hatched);
        - ``"unreachable"``: the period starts after ``end`` (the table holds NaN; leave it
          blank).

        Masks for charts: ``status.eq("partial").to_numpy()``.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-02-03"]),
    ...     "amount": [10.0, 20.0, 8.0],
    ... })
    >>> cohort_cell_status(orders)
    periods_since         0            1
    cohort
    2024-01        complete      partial
    2024-02         partial  unreachable
    >>> cohort_cell_status(orders, end="2024-03-05")
    periods_since         0         1            2
    cohort
    2024-01        complete  complete      partial
    2024-02        complete   partial  unreachable
    """
    _check_cohort_args("cohort_cell_status", period)
    o = _orders_up_to_end(orders, start=start, end=end)
    grid = _cohort_grid(o, period)
    return _status_frame(grid, period, include_all)


# --------------------------------------------------------------------------------------------
# Second purchase and time between purchases
# --------------------------------------------------------------------------------------------
def _second_purchase_day(o: _Orders, first: np.ndarray) -> np.ndarray:
    """Day of each customer's second purchase order (same-day orders count; int64 max: none)."""
    c = o.customer[o.purchase]
    d = o.day[o.purchase]
    on_first = d == first[c]
    # Two purchase orders on the first day: the second purchase is that same day.
    same_day = np.bincount(c[on_first], minlength=o.n_customers) >= 2
    later = np.full(o.n_customers, _INT_MAX, dtype="int64")
    np.minimum.at(later, c[~on_first], d[~on_first])
    return np.where(same_day, first, later)


def _shown_buyers(o: _Orders, period: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers of the shown cohorts: their codes, first purchase day and cohort code."""
    first = o.first_purchase_day()
    buyer = np.flatnonzero(first != _INT_MAX)
    if len(buyer) == 0 or o.window.empty:
        empty = np.zeros(0, dtype="int64")
        return empty, empty, empty
    cohort = _period_codes(first[buyer], period)
    shown = cohort >= _first_shown_cohort(o.window, period)
    return buyer[shown], first[buyer][shown], cohort[shown]


def repeat_rate_by_cohort(
    orders: pd.DataFrame,
    *,
    within: str | Iterable[str] = ("30D", "60D", "90D"),
    period: CohortPeriod = "M",
    include_all: bool = False,
    level: float = 0.95,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """Share of each first-purchase cohort whose second purchase came within each window.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    within : str or iterable of str, default ("30D", "60D", "90D")
        Offsets: ``"<n>D"`` days, ``"<n>W"`` weeks, ``"<n>M"``/``"<n>Q"``/``"<n>Y"``
        calendar months, quarters, years (also :class:`pandas.Timedelta` /
        :class:`pandas.DateOffset`).
    period : {"M", "W", "Q", "Y"}, default "M"
        Cohort period, as in :func:`cohort_table`.
    include_all : bool, default False
        Append rows ``("All cohorts", within)`` pooling every shown cohort (their
        ``repeaters.sum() / n.sum()``).
    level : float, default 0.95
        Confidence level of the Wilson interval.
    start, end : date-like, optional
        As in :func:`cohort_table` (``start`` only chooses the first cohort shown).

    Returns
    -------
    pandas.DataFrame
        Index (``cohort``, ``within``), rows in cohort order then in the order of ``within``;
        columns:

        - ``customers``: cohort size;
        - ``n``: members whose window is observable, i.e. first purchase on or before
          ``end - within``;
        - ``repeaters``: of those, members whose second purchase came at most ``within``
          after the first;
        - ``repeat_rate``: ``100 * repeaters / n`` (0-100, higher is better; NaN when n = 0);
        - ``ci_low``, ``ci_high``: Wilson interval of the rate (percent);
        - ``complete``: True when every member's window is observable (``n == customers``).

    Notes
    -----
    The rule is DESIGN's ``repeat_purchase_rate(within=)`` applied per cohort: only members
    whose whole window lies on or before ``end`` count, so the pooled figure over all cohorts
    equals the overall rate over the same customers. A cohort still being observed has a
    rate over its earliest members (``complete`` is False); a cohort none of whose windows is
    observable has ``n = 0`` and NaN. The second purchase is the second purchase *order* in
    date order: two orders on the first day make a second purchase after 0 days. Windows are
    counted in calendar days from the first purchase day.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-01", "2024-01-20", "2024-01-10", "2024-02-01", "2024-04-15"]),
    ...     "amount": [10.0, 20.0, 5.0, 5.0, 8.0],
    ... })
    >>> repeat_rate_by_cohort(orders, within=["30D", "90D"])[["n", "repeaters", "repeat_rate"]]
                     n  repeaters  repeat_rate
    cohort  within
    2024-01 30D      2          1         50.0
            90D      2          1         50.0
    2024-02 30D      1          0          0.0
            90D      0          0          NaN
    """
    from ._stats import wilson_interval  # lazy: scipy is slow to import, cohort tables skip it

    _check_choice("repeat_rate_by_cohort", "period", period, _PERIODS)
    labels = [within] if isinstance(within, str) else list(within)
    offsets = [_parse_offset(w, func="repeat_rate_by_cohort", name="within") for w in labels]
    labels = [str(w) for w in labels]
    o = _orders_up_to_end(orders, start=start, end=end)
    buyers, first, cohort = _shown_buyers(o, period)
    second = _second_purchase_day(o, o.first_purchase_day())[buyers]
    cohorts, rows = np.unique(cohort, return_inverse=True)
    n_rows = len(cohorts)
    sizes = np.bincount(rows, minlength=n_rows)
    end_day = o.end_day if not o.window.empty else 0
    parts = []
    for label, offset in zip(labels, offsets, strict=True):
        deadline = _add_offset(first, offset)
        observable = deadline <= end_day
        repeated = observable & (second <= deadline)
        n = np.bincount(rows[observable], minlength=n_rows)
        k = np.bincount(rows[repeated], minlength=n_rows)
        parts.append((label, n, k))
    index_cohorts = list(_period_index(cohorts, period))
    records_idx: list[Any] = []
    cols: dict[str, list[Any]] = {"customers": [], "n": [], "repeaters": []}
    for r in range(n_rows):  # one row per (cohort, window): a handful of periods
        for label, n, k in parts:
            records_idx.append((index_cohorts[r], label))
            cols["customers"].append(sizes[r])
            cols["n"].append(n[r])
            cols["repeaters"].append(k[r])
    if include_all:
        for label, n, k in parts:
            records_idx.append((ALL_COHORTS, label))
            cols["customers"].append(sizes.sum())
            cols["n"].append(n.sum())
            cols["repeaters"].append(k.sum())
    out = CohortFrame(
        {key: np.asarray(val, dtype="int64") for key, val in cols.items()},
        index=pd.MultiIndex.from_tuples(records_idx, names=["cohort", "within"])
        if records_idx
        else pd.MultiIndex.from_arrays([[], []], names=["cohort", "within"]),
    )
    n = out["n"].to_numpy(dtype="float64")
    k = out["repeaters"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["repeat_rate"] = np.where(n > 0, 100.0 * k / n, np.nan)
    out["ci_low"], out["ci_high"] = wilson_interval(k, n, level=level)
    out["complete"] = out["n"] == out["customers"]
    return out


def _quantile_columns(quantiles: Sequence[float]) -> list[str]:
    return [f"p{100 * q:g}_days" for q in quantiles]


def _distribution_table(
    values: np.ndarray,
    groups: np.ndarray,
    cohorts: np.ndarray,
    period: str,
    quantiles: Sequence[float],
    include_all: bool,
) -> CohortFrame:
    """Mean, median and quantiles of ``values`` per cohort row (+ a pooled row)."""
    columns = ["mean_days", "median_days", *_quantile_columns(quantiles)]
    series = pd.Series(values.astype("float64"))
    stats = CohortFrame(np.nan, index=pd.RangeIndex(len(cohorts)), columns=columns)
    if len(values):
        grouped = series.groupby(groups)
        stats.loc[grouped.mean().index, "mean_days"] = grouped.mean()
        stats.loc[grouped.median().index, "median_days"] = grouped.median()
        if quantiles:
            q = grouped.quantile(list(quantiles)).unstack()
            stats.loc[q.index, _quantile_columns(quantiles)] = q.to_numpy()
    stats.index = _period_index(cohorts, period)
    if include_all:
        pooled = [series.mean(), series.median(), *(series.quantile(q) for q in quantiles)]
        stats = _append_row(stats, np.asarray(pooled if len(values) else [np.nan] * len(columns)))
    return stats


def _check_quantiles(func: str, quantiles: Iterable[float]) -> list[float]:
    qs = [float(q) for q in quantiles]
    if not all(0.0 <= q <= 1.0 for q in qs):
        raise ConfigError(
            f"The 'quantiles' parameter of {func} must hold numbers in [0, 1]. Got {qs!r} instead."
        )
    return qs


def time_to_second_purchase(
    orders: pd.DataFrame,
    *,
    period: CohortPeriod = "M",
    quantiles: Iterable[float] = (0.25, 0.75, 0.9),
    include_all: bool = False,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """Days from the first to the second purchase, per first-purchase cohort.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    period : {"M", "W", "Q", "Y"}, default "M"
        Cohort period, as in :func:`cohort_table`.
    quantiles : iterable of float, default (0.25, 0.75, 0.9)
        Extra quantiles (0-1) of the distribution, next to the median.
    include_all : bool, default False
        Append an ``"All cohorts"`` row pooling every shown customer.
    start, end : date-like, optional
        As in :func:`cohort_table`.

    Returns
    -------
    pandas.DataFrame
        Index ``cohort``; columns ``customers`` (cohort size), ``returned`` (members with a
        second purchase on or before ``end``), ``returned_share`` (``100 * returned /
        customers``), ``mean_days``, ``median_days`` and one ``p<q>_days`` column per quantile
        (``p25_days``...), over the members who returned (NaN when none did).

    Notes
    -----
    Days are calendar days between the first and second purchase *orders* (two orders on the
    first day give 0), the rule of ``repeat_purchase_rate(within=)``. The times are those of
    the customers who came back by ``end``: for recent cohorts the slow returners are not
    observed yet (right-censoring), so their times look shorter and ``returned_share`` lower;
    compare cohorts at equal age or use :func:`repeat_rate_by_cohort`.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-01", "2024-01-11", "2024-01-05", "2024-02-04", "2024-01-09"]),
    ...     "amount": [10.0, 20.0, 5.0, 5.0, 8.0],
    ... })
    >>> time_to_second_purchase(orders, quantiles=[0.9]).T
    cohort          2024-01
    customers          3.00
    returned           2.00
    returned_share    66.67
    mean_days         20.00
    median_days       20.00
    p90_days          28.00
    """
    qs = _check_quantiles("time_to_second_purchase", quantiles)
    _check_choice("time_to_second_purchase", "period", period, _PERIODS)
    o = _orders_up_to_end(orders, start=start, end=end)
    buyers, first, cohort = _shown_buyers(o, period)
    second = _second_purchase_day(o, o.first_purchase_day())[buyers]
    cohorts, rows = np.unique(cohort, return_inverse=True)
    returned = second != _INT_MAX
    sizes = np.bincount(rows, minlength=len(cohorts))
    n_returned = np.bincount(rows[returned], minlength=len(cohorts))
    stats = _distribution_table(
        (second - first)[returned], rows[returned], cohorts, period, qs, include_all
    )
    if include_all:
        sizes = np.append(sizes, sizes.sum())
        n_returned = np.append(n_returned, n_returned.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(sizes > 0, 100.0 * n_returned / np.maximum(sizes, 1), np.nan)
    stats.insert(0, "customers", sizes.astype("int64"))
    stats.insert(1, "returned", n_returned.astype("int64"))
    stats.insert(2, "returned_share", share)
    return stats


def _purchase_intervals(o: _Orders) -> tuple[np.ndarray, np.ndarray]:
    """Gaps in days between consecutive purchase days of each customer, and their customer."""
    c, d = o.purchase_days()
    same = c[1:] == c[:-1]
    return np.diff(d)[same], c[1:][same]


def inter_purchase_times(
    orders: pd.DataFrame,
    *,
    period: CohortPeriod = "M",
    quantiles: Iterable[float] = (0.25, 0.75, 0.9),
    include_all: bool = False,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """Days between consecutive purchase days, per first-purchase cohort.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    period : {"M", "W", "Q", "Y"}, default "M"
        Cohort period, as in :func:`cohort_table`.
    quantiles : iterable of float, default (0.25, 0.75, 0.9)
        Extra quantiles (0-1) next to the median.
    include_all : bool, default False
        Append an ``"All cohorts"`` row pooling every interval of the shown customers.
    start, end : date-like, optional
        As in :func:`cohort_table`.

    Returns
    -------
    pandas.DataFrame
        Index ``cohort``; columns ``customers`` (cohort size), ``repeat_customers`` (members
        with at least two purchase days), ``intervals`` (number of gaps), ``mean_days``,
        ``median_days`` and one ``p<q>_days`` column per quantile, over all the gaps of the
        cohort's members (a customer with many purchases weighs more; NaN when none).

    Notes
    -----
    All purchases of one calendar day are one purchase occasion (the BTYD convention of
    :func:`loyalty_metrics.customer_summary`), so every gap is at least one day. Only gaps
    closed by ``end`` are seen: the open time since the last purchase is not a gap.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "b"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-05", "2024-01-05"]),
    ...     "amount": [10.0, 20.0, 5.0, 5.0, 8.0],
    ... })
    >>> inter_purchase_times(orders, quantiles=[]).T
    cohort            2024-01
    customers             2.0
    repeat_customers      1.0
    intervals             2.0
    mean_days            15.0
    median_days          15.0
    """
    qs = _check_quantiles("inter_purchase_times", quantiles)
    _check_choice("inter_purchase_times", "period", period, _PERIODS)
    o = _orders_up_to_end(orders, start=start, end=end)
    buyers, _, cohort = _shown_buyers(o, period)
    cohorts, rows = np.unique(cohort, return_inverse=True)
    row_of = np.full(o.n_customers, -1, dtype="int64")
    row_of[buyers] = rows
    gaps, gap_customer = _purchase_intervals(o)
    gap_rows = row_of[gap_customer]
    sel = gap_rows >= 0
    gaps, gap_rows, gap_customer = gaps[sel], gap_rows[sel], gap_customer[sel]
    n_rows = len(cohorts)
    sizes = np.bincount(rows, minlength=n_rows)
    n_gaps = np.bincount(gap_rows, minlength=n_rows)
    repeaters = np.bincount(row_of[np.unique(gap_customer)], minlength=n_rows)
    stats = _distribution_table(gaps, gap_rows, cohorts, period, qs, include_all)
    if include_all:
        sizes, repeaters, n_gaps = (np.append(a, a.sum()) for a in (sizes, repeaters, n_gaps))
    stats.insert(0, "customers", sizes.astype("int64"))
    stats.insert(1, "repeat_customers", repeaters.astype("int64"))
    stats.insert(2, "intervals", n_gaps.astype("int64"))
    return stats
