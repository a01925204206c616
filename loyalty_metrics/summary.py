"""The per-customer summary: the one heavy pass over order lines that every metric builds on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ._ids import factorize_ids, first_rows, take_ids
from ._validation import validate_orders
from ._window import DateLike, Window, resolve_window
from .schema import AMOUNT_TOLERANCE

__all__ = [
    "SUMMARY_COLUMNS",
    "customer_summary",
    "is_customer_summary",
    "summary_window",
    "total_revenue",
    "unattributed_revenue",
]

#: Columns of :func:`customer_summary`, in order (``channel`` only when orders carry one).
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

_NS_PER_DAY = 86_400 * 10**9
_ATTR = "loyalty_metrics.summary"


def customer_summary(
    orders: pd.DataFrame, *, start: DateLike | None = None, end: DateLike | None = None
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

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), columns:

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

        ``summary.attrs`` records the window (``start``, ``end``) and ``unattributed_revenue``,
        the net amount in the window of customers without a purchase in it (returns only), so
        that total revenue = ``revenue.sum() + unattributed_revenue``.

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
    >>> s.attrs["loyalty_metrics.summary"]["unattributed_revenue"]
    -3.0
    """
    validate_orders(orders, func="customer_summary")
    window = resolve_window(orders["order_date"], start, end)
    lines = _lines_up_to_end(orders, window)

    has_order_ids = "order_id" in lines.columns and lines["order_id"].notna().any()
    customer_codes, raw_order_codes = _id_codes(lines, has_order_ids)
    n_customers = int(customer_codes.max(initial=-1)) + 1
    dates_ns = lines["order_date"].to_numpy(dtype="datetime64[ns]").view("int64")
    amounts = lines["amount"].to_numpy(dtype="float64", na_value=np.nan)
    in_window = window.contains(lines["order_date"])

    # Order level: net amount and earliest date per order.
    if has_order_ids:
        assert raw_order_codes is not None  # _id_codes gives codes when there are order ids
        order_codes = _order_codes(customer_codes, raw_order_codes)
        del raw_order_codes
        n_orders = int(order_codes.max()) + 1 if len(order_codes) else 0
        order_amount = np.bincount(order_codes, weights=amounts, minlength=n_orders)
        order_date = np.full(n_orders, np.iinfo(np.int64).max, dtype="int64")
        np.minimum.at(order_date, order_codes, dates_ns)
        order_customer = np.empty(n_orders, dtype="int64")
        order_customer[order_codes] = customer_codes
    else:
        order_codes = None
        order_amount, order_date, order_customer = amounts, dates_ns, customer_codes

    order_is_purchase = order_amount >= -AMOUNT_TOLERANCE
    start_ns = window.start.value if not window.empty else 0
    end_ns = window.end_exclusive.value if not window.empty else 0
    order_in_window = (order_date >= start_ns) & (order_date < end_ns)
    purchase = order_is_purchase & order_in_window
    # Lines of the purchases in the window (an order is in the window by its date).
    purchase_line = purchase[order_codes] if order_codes is not None else purchase
    del order_codes

    # First purchase ever (look-back ignores start), on the order level.
    first_ever = _group_min(
        order_customer[order_is_purchase], order_date[order_is_purchase], n_customers
    )

    p_customer = order_customer[purchase]
    p_date = order_date[purchase]
    p_amount = order_amount[purchase]
    # Free the order-level arrays as soon as they are used: at 10M lines each is ~50-80 MB,
    # and holding them all sets the peak memory.
    del order_amount, order_date, order_customer, order_is_purchase, order_in_window
    purchases = np.bincount(p_customer, minlength=n_customers)
    first = _group_min(p_customer, p_date, n_customers)
    last = _group_max(p_customer, p_date, n_customers)
    if in_window.all():  # the usual case: skip copying 10M codes and amounts
        revenue = np.bincount(customer_codes, weights=amounts, minlength=n_customers)
    else:
        revenue = np.bincount(
            customer_codes[in_window], weights=amounts[in_window], minlength=n_customers
        )

    # Purchase days: all purchases of one calendar day are one occasion. The first and last
    # days are those of the first and last purchase; only the other days need counting.
    first_day = _day(first)
    last_day = _day(last)
    p_day = np.floor_divide(p_date, _NS_PER_DAY)
    later = p_day != first_day[p_customer]
    repeat_spend = np.bincount(p_customer[later], weights=p_amount[later], minlength=n_customers)
    purchase_days = 1 + _distinct_pairs(p_customer[later], p_day[later], n_customers)
    end_day = window.end.value // _NS_PER_DAY if not window.empty else 0
    del p_customer, p_date, p_amount, p_day, later

    categories = _distinct_categories(lines, customer_codes, purchase_line, n_customers)
    _release_arrow_memory()

    keep = purchases > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        frequency = purchase_days - 1
        monetary = np.where(frequency > 0, repeat_spend / np.maximum(frequency, 1), np.nan)
    data = {
        "first_purchase": _to_datetime(first),
        "last_purchase": _to_datetime(last),
        "purchases": purchases.astype("int64"),
        "revenue": revenue,
        "categories": categories,
        "frequency": frequency.astype("int64"),
        "recency": (last_day - first_day).astype("float64"),
        "T": (end_day - first_day).astype("float64"),
        "monetary_value": monetary,
        "first_purchase_ever": _to_datetime(first_ever),
    }
    if "channel" in lines.columns:
        data["channel"] = _first_purchase_channel(
            lines["channel"], customer_codes, purchase_line, dates_ns, first, n_customers
        )
    # The buyers' ids, in code order (so sorted).
    ids = take_ids(lines["customer_id"], first_rows(customer_codes)[keep])
    del customer_codes, purchase_line, in_window
    index = pd.Index(ids, name="customer_id")
    if index.dtype != "str":
        index = index.astype("str")
    unattributed = float(revenue[~keep].sum())
    # Keep the buyers column by column, freeing each full column as it goes, and let each
    # column be its own block (copy=False): consolidating would copy them all once more.
    columns = {name: data.pop(name)[keep] for name in list(data)}
    summary = pd.DataFrame(columns, index=index, copy=False)
    summary.attrs[_ATTR] = {
        "start": window.start,
        "end": window.end,
        "unattributed_revenue": unattributed,
    }
    return summary


def is_customer_summary(frame: object) -> bool:
    """True when ``frame`` was made by :func:`customer_summary` (metrics accept either).

    Examples
    --------
    >>> is_customer_summary(pd.DataFrame({"amount": [1.0]}))
    False
    """
    return isinstance(frame, pd.DataFrame) and _ATTR in frame.attrs


def summary_window(summary: pd.DataFrame) -> Window:
    """The window a customer summary was computed over.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-02"]),
    ...                        "amount": [1.0]})
    >>> summary_window(customer_summary(orders, start="2024-01-01")).start
    Timestamp('2024-01-01 00:00:00')
    """
    meta = summary.attrs[_ATTR]
    return Window(start=meta["start"], end=meta["end"])


def unattributed_revenue(summary: pd.DataFrame) -> float:
    """Net amount in the window of customers without a purchase in it (their returns).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b"], "amount": [5.0, -2.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> unattributed_revenue(customer_summary(orders))
    -2.0
    """
    return float(summary.attrs[_ATTR]["unattributed_revenue"])


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


def _release_arrow_memory() -> None:
    """Return the pages Arrow's allocator freed (hashing the string ids) to the OS."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _lines_up_to_end(orders: pd.DataFrame, window: Window) -> pd.DataFrame:
    if window.empty:
        return orders.iloc[:0]
    mask = window.up_to_end(orders["order_date"])
    return orders if mask.all() else orders.loc[mask]


def _id_codes(lines: pd.DataFrame, has_order_ids: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes of the customer ids (sorted) and of the order ids, coded side by side.

    The two are independent and spend their time in Arrow and numpy kernels, which release
    the GIL: on two cores the pair costs about the slower one.
    """
    if not has_order_ids:
        return factorize_ids(lines["customer_id"], sort=True), None
    with ThreadPoolExecutor(max_workers=1) as pool:
        order_codes = pool.submit(factorize_ids, lines["order_id"])
        customer_codes = factorize_ids(lines["customer_id"], sort=True)
        return customer_codes, order_codes.result()


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
    if (owner[raw] == customer_codes).all():
        return raw
    key = raw * (int(customer_codes.max(initial=0)) + 1) + customer_codes
    codes, _ = pd.factorize(key)
    return codes.astype("int64")


def _day(ns: np.ndarray) -> np.ndarray:
    """Day numbers of timestamps (the min/max sentinels stay out of range)."""
    return np.floor_divide(ns, _NS_PER_DAY)


def _distinct_pairs(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Number of distinct ``values`` per group (int64 groups 0..n-1, int64 values).

    One int64 key per pair, sorted: numpy's SIMD sort is ten times faster than hashing the
    keys, and equal pairs end up side by side.
    """
    if not len(groups):
        return np.zeros(n, dtype="int64")
    low = int(values.min())
    span = int(values.max()) - low + 1
    keys = np.sort(groups * span + (values - low))
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


def _to_datetime(ns: np.ndarray) -> np.ndarray:
    invalid = (ns == np.iinfo(np.int64).max) | (ns == np.iinfo(np.int64).min)
    out = ns.copy()
    out[invalid] = np.iinfo(np.int64).min  # the NaT sentinel
    return out.view("datetime64[ns]")


def _distinct_categories(
    lines: pd.DataFrame,
    customer_codes: np.ndarray,
    purchase_line: np.ndarray,
    n_customers: int,
) -> np.ndarray:
    column = next((c for c in ("category", "product_id") if c in lines.columns), None)
    if column is None:
        return np.full(n_customers, np.nan)
    values = lines[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat_codes = values.cat.codes.to_numpy().astype("int64")
    else:
        cat_codes, _ = pd.factorize(values)
    keep = purchase_line & (cat_codes >= 0)
    return _distinct_pairs(customer_codes[keep], cat_codes[keep], n_customers).astype("float64")


def _first_purchase_channel(
    channel: pd.Series,
    customer_codes: np.ndarray,
    purchase_line: np.ndarray,
    dates_ns: np.ndarray,
    first: np.ndarray,
    n_customers: int,
) -> pd.Categorical:
    candidates = np.flatnonzero(purchase_line & (dates_ns == first[customer_codes]))
    # The first such line of each customer, in file order, decides.
    row = np.full(n_customers, np.iinfo(np.int64).max, dtype="int64")
    np.minimum.at(row, customer_codes[candidates], candidates)
    found = row != np.iinfo(np.int64).max
    if isinstance(channel.dtype, pd.CategoricalDtype):
        codes = np.full(n_customers, -1, dtype=channel.cat.codes.dtype)
        codes[found] = channel.cat.codes.to_numpy()[row[found]]
        return pd.Categorical.from_codes(codes, dtype=channel.dtype)
    values = pd.Series(pd.NA, index=range(n_customers), dtype=channel.dtype)
    values.iloc[np.flatnonzero(found)] = channel.iloc[row[found]].to_numpy()
    return values.array
