"""The analyst's caveats: when a figure is computed but should not be read at face value.

The checks here are pure functions returning :class:`~loyalty_metrics.errors.LoyaltyWarning`
instances; the metric functions emit them with :func:`emit`, and the CLI and the report gather
them with :func:`collect` to print them next to the figures they concern (their ``about``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import pandas as pd

from ._window import ONE_DAY
from .errors import DataCoverageWarning, LoyaltyWarning

__all__ = [
    "churn_caveats",
    "cohort_caveats",
    "collect",
    "emit",
    "id_match_caveats",
    "window_caveats",
]

#: Below this share of matching ids (of the smaller table's), two tables do not join.
MIN_ID_MATCH = 0.5

#: A base period covered by less than this share of data gets a caveat.
MIN_BASE_COVERAGE = 0.5


def window_caveats(
    first_order: pd.Timestamp,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    churn_period: pd.Timedelta | pd.DateOffset | None = None,
) -> list[LoyaltyWarning]:
    """Caveats on the KPIs of the window ``start``..``end`` given where the data begin.

    Parameters
    ----------
    first_order : pandas.Timestamp
        The day of the first order in the data.
    start, end : pandas.Timestamp
        The window (inclusive days).
    churn_period : pandas.Timedelta or pandas.DateOffset, optional
        Churn's period ``p``; its base period is ``(end - 2p, end - p]``. None: no churn check.

    Returns
    -------
    list of LoyaltyWarning
        - churn (and the simple CLV whose lifespan is 1 / yearly churn) when the base period
          holds data on less than half of its days (but some);
        - ``new_customers`` (and CAC) when the window starts on or before the first day of the
          data: every customer's first purchase is then "new".

    Examples
    --------
    >>> day = pd.Timestamp
    >>> notes = window_caveats(day("2011-12-01"), day("2011-12-01"), day("2012-12-09"),
    ...                        churn_period=pd.Timedelta("365D"))
    >>> [type(n).__name__ for n in notes], notes[0].about
    (['DataCoverageWarning', 'DataCoverageWarning'], ('churn_rate', 'retention_rate', 'clv'))
    >>> print(notes[0])  # doctest: +NORMALIZE_WHITESPACE
    churn_rate: its base period 2010-12-11..2011-12-10 holds 10 days of data (the data begin
    2011-12-01), so churn, retention and the simple CLV's lifespan rest on the customers of
    those days. Use a shorter churn period (churn_period = "90D" under [metrics] in
    loyalty.toml) or a later end date.
    """
    first_order, start, end = (pd.Timestamp(t).normalize() for t in (first_order, start, end))
    notes = [] if churn_period is None else churn_caveats(first_order, end, churn_period)
    if start <= first_order <= end:
        notes.append(
            DataCoverageWarning(
                f"new_customers equals customers: the window starts on the first day of the data "
                f"({first_order.date()}), so every customer's first purchase falls in it, "
                "including customers acquired before the data begin. Start the window later "
                "(--start YYYY-MM-DD) to count only customers new since then.",
                about=("new_customers", "cac", "ltv_cac_ratio"),
            )
        )
    return notes


def churn_caveats(
    first_order: pd.Timestamp, end: pd.Timestamp, churn_period: pd.Timedelta | pd.DateOffset
) -> list[LoyaltyWarning]:
    """Caveat on churn as of ``end`` when its base period ``(end - 2p, end - p]`` holds data on
    less than half of its days (but some). See :func:`window_caveats`.

    Examples
    --------
    >>> day = pd.Timestamp
    >>> churn_caveats(day("2024-01-01"), day("2024-12-31"), pd.Timedelta("90D"))  # covered
    []
    >>> len(churn_caveats(day("2024-01-01"), day("2024-12-31"), pd.Timedelta("365D")))
    1
    """
    first_order, end = pd.Timestamp(first_order).normalize(), pd.Timestamp(end).normalize()
    base_first = end - churn_period - churn_period + ONE_DAY
    base_last = end - churn_period
    length = (base_last - base_first).days + 1
    covered = (base_last - max(first_order, base_first)).days + 1
    if not 0 < covered < MIN_BASE_COVERAGE * length:
        return []
    return [
        DataCoverageWarning(
            f"churn_rate: its base period {base_first.date()}..{base_last.date()} holds "
            f"{covered} day{'s' if covered != 1 else ''} of data (the data begin "
            f"{first_order.date()}), so churn, retention and the simple CLV's lifespan "
            "rest on the customers of those days. Use a shorter churn period "
            '(churn_period = "90D" under [metrics] in loyalty.toml) or a later end date.',
            about=("churn_rate", "retention_rate", "clv"),
        )
    ]


def cohort_caveats(first_order: pd.Timestamp, start: pd.Timestamp) -> list[LoyaltyWarning]:
    """Caveat on a cohort table whose first cohort starts with the data.

    Cohorts are defined by the first purchase *in the data*: when the first cohort shown holds
    the data's first day, it gathers everyone who bought in that period, including customers
    acquired long before the data begin, and its size and retention are not those of a cohort.

    Examples
    --------
    >>> [n.about for n in cohort_caveats(pd.Timestamp("2010-12-01"), pd.Timestamp("2010-12-01"))]
    [('cohort_table',)]
    >>> cohort_caveats(pd.Timestamp("2010-12-01"), pd.Timestamp("2011-01-01"))
    []
    """
    if pd.Timestamp(start).normalize() > pd.Timestamp(first_order).normalize():
        return []
    return [
        DataCoverageWarning(
            f"cohort_table: the first cohort starts with the data ({pd.Timestamp(first_order).date()}) "
            "and gathers every customer who bought in its period, including customers acquired "
            "before the data begin; read it as 'customers at the start', not as a cohort. Start "
            "the table a period later (--start YYYY-MM-DD) to show true cohorts only.",
            about=("cohort_table",),
        )
    ]


def id_match_caveats(frames: Mapping[str, pd.DataFrame | None]) -> list[LoyaltyWarning]:
    """Caveats when the customer ids of a table barely match those of the orders.

    For surveys, events and customers: of the distinct ids of the smaller side (that table's
    or the orders'), the share found in the other. Under half, the tables do not join as
    they should (``17850`` against ``C17850``, emails against numbers): every figure that
    combines them (leads, advocates, engagement, members) is then wrong without an error.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["17850", "13047", "12583"]})
    >>> customers = pd.DataFrame({"customer_id": ["C17850", "C13047", "12583"]})
    >>> print(id_match_caveats({"orders": orders, "customers": customers})[0])
    customers: 1 of its 3 customer ids match an id in orders (33%; of the orders' 3 ids, 1 match); e.g. 'C13047' in customers, '13047' in orders. Check that both files key customers the same way.
    """
    orders = frames.get("orders")
    if orders is None or "customer_id" not in orders.columns:
        return []
    order_ids: pd.Index | None = None  # the orders' distinct ids, once another table needs them
    notes: list[LoyaltyWarning] = []
    for table in ("surveys", "events", "customers"):
        frame = frames.get(table)
        if frame is None or "customer_id" not in frame.columns:
            continue
        ids = pd.Index(frame["customer_id"].dropna().unique())
        if ids.empty:
            continue
        if order_ids is None:
            order_ids = pd.Index(orders["customer_id"].dropna().unique())
        if order_ids.empty:
            continue
        found = ids.isin(order_ids)
        matched = int(found.sum())
        if matched >= MIN_ID_MATCH * min(len(ids), len(order_ids)):
            continue
        example_here = str(sorted(ids[~found].astype(str))[0]) if (~found).any() else ""
        unmatched_orders = order_ids[~order_ids.isin(ids)]
        example_there = (
            str(sorted(unmatched_orders.astype(str))[0]) if len(unmatched_orders) else ""
        )
        notes.append(
            DataCoverageWarning(
                f"{table}: {matched:,} of its {len(ids):,} customer ids match an id in orders "
                f"({100 * matched / len(ids):.0f}%; of the orders' {len(order_ids):,} ids, "
                f"{len(order_ids) - len(unmatched_orders):,} match); e.g. {example_here!r} in "
                f"{table}, {example_there!r} in orders. Check that both files key customers "
                "the same way.",
                about=(table, "data_quality"),
            )
        )
    return notes


def emit(notes: Iterable[LoyaltyWarning], *, stacklevel: int = 3) -> None:
    """Emit each caveat as a Python warning (``stacklevel`` 3: the caller's caller)."""
    for note in notes:
        warnings.warn(note, stacklevel=stacklevel)


@contextmanager
def collect() -> Iterator[list[LoyaltyWarning]]:
    """Gather the caveats emitted inside the block (each message once, in order).

    Other warnings pass through as usual. The list is filled when the block ends.

    Examples
    --------
    >>> with collect() as notes:
    ...     emit([LoyaltyWarning("a"), LoyaltyWarning("a"), LoyaltyWarning("b")])
    >>> [str(n) for n in notes]
    ['a', 'b']
    """
    gathered: list[LoyaltyWarning] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LoyaltyWarning)
            yield gathered
    finally:
        seen: set[str] = set()
        for item in caught:
            if isinstance(item.message, LoyaltyWarning):
                if str(item.message) not in seen:
                    seen.add(str(item.message))
                    gathered.append(item.message)
            else:  # not ours: show it as it would have been shown
                warnings.showwarning(
                    item.message, item.category, item.filename, item.lineno, item.file
                )
