"""The order kernel: the one netting rule (hand-worked) and as-of truncation (property)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics import orders as orders_module
from loyalty_metrics.orders import order_kernel


def _orders(rows, with_category: bool = False) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame["order_id"] = frame["order_id"].astype("str")
    frame["order_date"] = pd.to_datetime(frame["order_date"]).astype("datetime64[ns]")
    if with_category:
        frame["category"] = pd.Categorical([f"k{i % 3}" for i in range(len(frame))])
    return frame


def _as_table(kernel) -> list[tuple]:
    """The kernel's orders as comparable rows (customer id, date, amount, purchase)."""
    ids = kernel.customer_ids.to_numpy()[kernel.customer]
    rows = zip(ids, kernel.date, kernel.amount, kernel.purchase, strict=True)
    return sorted((str(c), int(d), float(a), bool(p)) for c, d, a, p in rows)


def test_one_netting_rule() -> None:
    orders = _orders(
        [
            ("a", "1", "2024-01-02", 10.0),  # order a/1: 10 - 4 = 6, dated 01-01
            ("a", "1", "2024-01-01", -4.0),
            ("b", "1", "2024-01-03", 5.0),  # same id, other customer: order b/1
            ("a", None, "2024-01-04", 2.0),  # blank ids: one order per line
            ("a", None, "2024-01-04", -3.0),  # a return of its own, not a purchase
            ("b", "2", "2024-01-05", -1e-7),  # nets within 1e-6 of 0: a purchase
        ]
    )
    k = order_kernel(orders)
    day = pd.Timestamp("2024-01-01").value // 86_400_000_000_000
    assert _as_table(k) == [
        ("a", pd.Timestamp("2024-01-01").value, 6.0, True),
        ("a", pd.Timestamp("2024-01-04").value, -3.0, False),
        ("a", pd.Timestamp("2024-01-04").value, 2.0, True),
        ("b", pd.Timestamp("2024-01-03").value, 5.0, True),
        ("b", pd.Timestamp("2024-01-05").value, -1e-7, True),
    ]
    assert k.day.min() == day and (np.diff(k.date) >= 0).all()  # sorted by date
    # As of 01-01 the 10.0 line of 01-02 is not there yet: order a/1 is a return.
    assert _as_table(k.as_of("2024-01-01")) == [
        ("a", pd.Timestamp("2024-01-01").value, -4.0, False)
    ]


line = st.tuples(
    st.integers(0, 4),  # customer
    st.one_of(st.none(), st.integers(0, 6)),  # order id (shared across customers at times)
    st.integers(0, 60),  # day
    st.sampled_from([-20.0, -5.0, -0.1, 0.0, 0.1, 3.0, 7.5, 20.0]),
)


def _generated(rows) -> pd.DataFrame:
    """The orders of generated ``line`` tuples (customer, order id, day, amount)."""
    return _orders(
        [
            (
                f"c{c}",
                None if o is None else f"o{o}",
                pd.Timestamp("2024-01-01") + pd.Timedelta(days=d),
                a,
            )
            for c, o, d, a in rows
        ],
        with_category=True,
    )


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(line, min_size=1, max_size=40), cut=st.integers(0, 60))
def test_as_of_equals_the_kernel_of_truncated_lines(rows, cut) -> None:
    orders = _generated(rows)
    end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=cut)
    kernel = order_kernel(orders)
    if end > kernel.end:
        return
    truncated = orders.loc[orders["order_date"] <= end]
    fresh = order_kernel(truncated, end=end)
    as_of = kernel.as_of(end)
    assert _as_table(as_of) == _as_table(fresh)
    # The lines' categories, per customer, are the same too.
    seen = []
    for k in (as_of, fresh):
        every = np.ones(k.n_orders, dtype=bool)
        customer, category = k.category_pairs(every)
        pairs = sorted(zip(k.customer_ids.to_numpy()[customer], category, strict=True))
        seen.append(pairs)
    assert seen[0] == seen[1]


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(line, min_size=1, max_size=40), cut=st.integers(0, 60))
def test_category_counts_agree_with_the_lines(rows, cut) -> None:
    """The O(orders) single/multi-category counts equal the distinct categories per customer
    of the purchases' lines, for the whole kernel and truncated at any end."""
    orders = _generated(rows)
    kernel = order_kernel(orders)
    end = min(kernel.end, pd.Timestamp("2024-01-01") + pd.Timedelta(days=cut))
    for k in (kernel, kernel.as_of(end)):
        customer, category = k.category_pairs(k.purchase)
        distinct = pd.Series(category).groupby(customer).nunique()
        expected = (int((distinct == 1).sum()), int((distinct > 1).sum()))
        counts = k.customer_counts(k.window(end=k.end))
        assert (counts["single_category_customers"], counts["multi_category_customers"]) == (
            expected
        )


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(line, min_size=1, max_size=40),
    start=st.integers(0, 40),
    blanks=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_category_timeline_equals_the_pass_over_the_orders(rows, start, blanks) -> None:
    """For every end after a fixed start, the timeline's counts (stable customers by binary
    search, volatile ones exactly) equal the counts of a pass over the orders."""
    from loyalty_metrics._window import Window
    from loyalty_metrics.orders import category_timeline

    orders = _generated(rows)
    # some blank categories, and mixed categories within an order
    orders["category"] = (
        orders["category"].astype(object).where(~np.asarray(blanks[: len(orders)]), None)
    )
    kernel = order_kernel(orders)
    first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=start)
    timeline = category_timeline(kernel, first)
    for cut in range(start, 61, 3):
        end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=cut)
        if end > kernel.end:
            break
        k = kernel.as_of(end)
        window = Window(start=first, end=end)
        assert k.customer_counts(window, timeline) == k.customer_counts(window)


@contextmanager
def _always_sorting() -> Iterator[None]:
    """The kernel always sorts its orders by date (its general path), even when in order."""
    shortcut = orders_module._date_order
    orders_module._date_order = lambda dates: np.argsort(dates, kind="stable")
    try:
        yield
    finally:
        orders_module._date_order = shortcut


def _kernel_fields(kernel) -> dict:
    import dataclasses

    return {f.name: getattr(kernel, f.name) for f in dataclasses.fields(kernel)}


def _assert_same_kernel(fast, general) -> None:
    a, b = _kernel_fields(fast), _kernel_fields(general)
    for name, value in a.items():
        other = b[name]
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype, name
            np.testing.assert_array_equal(value, other, err_msg=name)
        elif isinstance(value, pd.Series):
            pd.testing.assert_series_equal(value, other, check_exact=True)
        else:
            assert value == other or (pd.isna(value) and pd.isna(other)), name


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(line, min_size=1, max_size=40),
    in_date_order=st.booleans(),
    extras=st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=40, max_size=40),
    channel=st.booleans(),
)
def test_orders_already_in_date_order_skip_the_sort(rows, in_date_order, extras, channel) -> None:
    """Orders in date order take the kernel's shortcut (no sort, no reordering): the kernel
    equals the one built through the stable sort, field by field; so do unsorted lines."""
    if in_date_order:
        rows = sorted(rows, key=lambda r: r[2])
    orders = _generated(rows)
    blank_category, quantity = zip(*extras[: len(rows)], strict=True)
    orders["category"] = orders["category"].mask(list(blank_category))
    orders["quantity"] = np.array(quantity, dtype="float64")
    if channel:
        orders["channel"] = pd.Categorical(["web", "shop"] * 20)[: len(rows)]
    fast = order_kernel(orders)
    with _always_sorting():
        general = order_kernel(orders)
    _assert_same_kernel(fast, general)


def test_a_kernel_in_date_order_holds_none_of_the_frames_arrays() -> None:
    # one order per line (no order_id), lines in date order: the kernel's date and amount
    # are copies, so changing the frame afterwards changes nothing in it
    orders = pd.DataFrame({
        "customer_id": pd.Series(["a", "b"], dtype="str"),
        "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"]).astype("datetime64[ns]"),
        "amount": [5.0, -2.0],
    })  # fmt: skip
    k = order_kernel(orders)
    for array in (k.date, k.amount, k._day_amount):
        assert not np.shares_memory(array, orders["amount"].to_numpy())
        assert not np.shares_memory(array, orders["order_date"].to_numpy())
    orders.loc[0, "amount"] = 100.0
    assert k.amount.tolist() == [5.0, -2.0] and k.purchase.tolist() == [True, False]


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(line, min_size=1, max_size=40),
    first=st.integers(0, 60),
    last=st.integers(0, 60),
    blanks=st.lists(st.booleans(), min_size=40, max_size=40),
    categorical=st.booleans(),
    truncate=st.booleans(),
)
def test_line_categories_are_the_lines_in_the_window(
    rows, first, last, blanks, categorical, truncate
) -> None:
    """(customer, category) of every categorised line dated in the window, with the codes of
    pandas.factorize over the column (a categorical's own codes): what the report's category
    mix counts buyers from."""
    from loyalty_metrics._window import Window

    orders = _generated(rows)
    values = orders["category"].astype(object).where(~np.asarray(blanks[: len(orders)]), None)
    orders["category"] = values.astype("category") if categorical else values.astype("str")
    if not categorical:
        orders.loc[values.isna(), "category"] = None
    day0 = pd.Timestamp("2024-01-01")
    window = Window(
        start=day0 + pd.Timedelta(days=min(first, last)),
        end=day0 + pd.Timedelta(days=max(first, last)),
    )
    kernel = order_kernel(orders)
    if truncate and window.end < kernel.end:
        kernel = kernel.as_of(window.end)
    if categorical:
        codes, names = orders["category"].cat.codes.to_numpy(), orders["category"].cat.categories
    else:
        codes, names = pd.factorize(orders["category"])
    customer, category = kernel.line_categories(window)
    assert (category >= 0).all()
    got = sorted(zip(kernel.customer_ids.to_numpy()[customer], names[category], strict=True))
    inside = window.contains(orders["order_date"]) & (codes >= 0)
    expected = sorted(zip(orders["customer_id"][inside], names[codes[inside]], strict=True))
    assert got == expected


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(line, min_size=1, max_size=40),
    first=st.integers(0, 60),
    last=st.integers(0, 60),
)
def test_first_purchases_count_the_new_customers_of_any_truncation(rows, first, last) -> None:
    """Counting new customers from first_purchases (settled orders by index, re-netted ones
    exactly) equals the pass over every earlier order, for the kernel and its truncations."""
    from loyalty_metrics._window import Window
    from loyalty_metrics.orders import first_purchases

    orders = _generated(rows)
    kernel = order_kernel(orders)
    firsts = first_purchases(kernel)
    day0 = pd.Timestamp("2024-01-01")
    window = Window(
        start=day0 + pd.Timedelta(days=min(first, last)),
        end=min(kernel.end, day0 + pd.Timedelta(days=max(first, last))),
    )
    if window.end < window.start:
        return
    k = kernel.as_of(window.end)
    assert k.customer_counts(window, firsts=firsts) == k.customer_counts(window)
    begin = k.between(window)[0]
    expected = np.zeros(k.n_customers, dtype=bool)
    expected[k.customer[:begin][k.purchase[:begin]]] = True
    np.testing.assert_array_equal(firsts.before(k, begin), expected)


def test_first_purchases_take_a_relined_order_as_each_truncation_nets_it() -> None:
    # a's order 1: -5 on 01-01, +20 on 01-10. Through 01-10 it nets +15 (a purchase); as of
    # 01-05 it is a -5 return, so a's order 3 (01-04) is a's first purchase: a is new in
    # 01-04..01-05, b (first purchase 01-03) is not among its buyers.
    from loyalty_metrics._window import Window
    from loyalty_metrics.orders import first_purchases

    orders = _orders(
        [
            ("a", "1", "2024-01-01", -5.0),
            ("a", "1", "2024-01-10", 20.0),
            ("b", "2", "2024-01-03", 3.0),
            ("a", "3", "2024-01-04", 2.0),
        ]
    )
    kernel = order_kernel(orders)
    k = kernel.as_of("2024-01-05")
    window = Window(start=pd.Timestamp("2024-01-04"), end=pd.Timestamp("2024-01-05"))
    counts = k.customer_counts(window, firsts=first_purchases(kernel))
    assert (counts["customers"], counts["new_customers"]) == (1, 1)
    # through 01-10, order 1 is a's first purchase: a is not new in 01-04..01-10
    whole = Window(start=pd.Timestamp("2024-01-04"), end=pd.Timestamp("2024-01-10"))
    assert kernel.customer_counts(whole, firsts=first_purchases(kernel))["new_customers"] == 0


def test_spans_days_per_order() -> None:
    from loyalty_metrics.orders import NS_PER_DAY, _spans_days

    hour = NS_PER_DAY // 24
    codes = np.array([0, 0, 1])
    first = np.array([0, 5 * NS_PER_DAY])
    # order 0: lines at 00:00 and 23:00 of day 0 (one day); order 1: day 5 only
    assert not _spans_days(codes, np.array([0, 23 * hour, 5 * NS_PER_DAY]), first)
    # order 0's second line on day 1: the order spans two days
    assert _spans_days(codes, np.array([0, NS_PER_DAY, 5 * NS_PER_DAY]), first)
