"""Customer segments: the loyalty ladder and its transitions, the loyalty loop, RFM.

Every function works on the per-customer summary (:func:`loyalty_metrics.customer_summary`) or on
the purchase days from :mod:`loyalty_metrics.cohorts`; surveys and the customers table are used
only up to ``end`` (rows dated after it are ignored; a survey row without a date cannot be
placed in time and is ignored when a date is needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._validation import validate_orders
from ._window import ONE_DAY, DateLike, resolve_window, to_day
from .cohorts import (
    _INT_MAX,
    _NS_PER_DAY,
    _PERIODS,
    ALL_COHORTS,
    CohortFrame,
    CohortPeriod,
    _check_choice,
    _orders_up_to_end,
    _period_index,
    _purchase_intervals,
    _shown_buyers,
)
from .errors import ConfigError
from .orders import OrderKernel, order_kernel
from .summary import customer_summary

__all__ = [
    "DEFAULT_SEGMENT_MAP",
    "LADDER_STAGES",
    "LOOP_STAGES",
    "ladder_transitions",
    "loyalty_ladder",
    "loyalty_loop",
    "rfm_segments",
]

#: The rungs of the loyalty ladder, lowest first.
LADDER_STAGES = ("lead", "buyer", "repeat", "advocate")
#: The stages of the loyalty loop after a purchase, in loop order.
LOOP_STAGES = ("purchase", "enjoyment", "advocacy", "bond")
#: Row label of :func:`ladder_transitions` for customers not yet known at ``start``.
NEW = "new"

#: The widely used 10-segment RFM map on R and F scores (bins=5): segment -> (R, F) scores.
#: It covers each of the 25 R x F cells exactly once.
DEFAULT_SEGMENT_MAP: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "Champions": ((5,), (4, 5)),
    "Loyal": ((3, 4), (4, 5)),
    "Potential loyalist": ((4, 5), (2, 3)),
    "New": ((5,), (1,)),
    "Promising": ((4,), (1,)),
    "Need attention": ((3,), (3,)),
    "About to sleep": ((3,), (1, 2)),
    "At risk": ((1, 2), (3, 4)),
    "Can't lose them": ((1, 2), (5,)),
    "Hibernating": ((1, 2), (1, 2)),
}


# --------------------------------------------------------------------------------------------
# Shared input handling
# --------------------------------------------------------------------------------------------
def _as_of(orders: pd.DataFrame, end: DateLike | None) -> pd.Timestamp | None:
    """``end`` as a day; default the last order date; None when there is nothing to anchor it."""
    validate_orders(orders)
    if end is not None:
        return to_day(end, name="end")
    window = resolve_window(orders["order_date"], None, None)
    return None if window.empty else window.end


def _before(dates: pd.Series, end: pd.Timestamp | None) -> np.ndarray:
    """Rows dated on or before ``end`` (NaT excluded); all rows when ``end`` is None."""
    if end is None:
        return np.ones(len(dates), dtype=bool)
    values = dates.to_numpy(dtype="datetime64[ns]")
    return values < (end + ONE_DAY).to_datetime64()


def _survey_rows(
    surveys: pd.DataFrame | None, end: pd.Timestamp | None, *, need_dates: bool
) -> pd.DataFrame:
    """Identified survey responses on or before ``end`` (dated ones only when ``need_dates``)."""
    columns = ["customer_id", "response_date", "score", "csat"]
    if surveys is None or "customer_id" not in surveys.columns:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    rows = surveys.loc[surveys["customer_id"].notna()]
    # A table whose response_date is entirely blank is undated (as in metrics.survey).
    has_dates = "response_date" in rows.columns and bool(surveys["response_date"].notna().any())
    if need_dates and not has_dates:
        rows = rows.iloc[:0]
    if has_dates and (end is not None or need_dates):
        keep = _before(rows["response_date"], end) & rows["response_date"].notna().to_numpy()
        rows = rows.loc[keep]
    out = pd.DataFrame({"customer_id": rows["customer_id"].astype("str").to_numpy()})
    out["response_date"] = (
        rows["response_date"].to_numpy(dtype="datetime64[ns]")
        if has_dates
        else np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    )
    out["score"] = rows["score"].to_numpy(dtype="float64", na_value=np.nan)
    out["csat"] = (
        rows["csat"].to_numpy(dtype="float64", na_value=np.nan)
        if "csat" in rows.columns
        else np.nan
    )
    return out


def _customer_rows(customers: pd.DataFrame | None, end: pd.Timestamp | None) -> pd.DataFrame:
    """Customers-table rows known by ``end`` (signed up on or before it, or undated)."""
    if customers is None:
        return pd.DataFrame({"customer_id": pd.Series(dtype="str")})
    rows = customers
    if "signup_date" in rows.columns and end is not None:
        keep = _before(rows["signup_date"], end) | rows["signup_date"].isna().to_numpy()
        rows = rows.loc[keep]
    return rows


@dataclass(frozen=True)
class _Rungs:
    """The ladder as of one day: per known customer (``ids``, sorted), the rung code (0 lead,
    1 buyer, 2 repeat, 3 advocate), purchases, latest score, converted referrals, and the
    customer's code in the order kernel (-1: known only from the customers table or surveys).
    """

    ids: pd.Index
    code: np.ndarray
    stage: np.ndarray
    purchases: np.ndarray
    latest_score: np.ndarray
    converted: np.ndarray


@dataclass(frozen=True)
class _OrderCustomers:
    """What the ladder reads of the orders as of a day: the customer ids (``ids``, sorted),
    each one's purchases up to that day (``bought``) and whether they have a line by then
    (``known``). Two dates share ``ids`` so that their rungs match by position."""

    ids: pd.Index
    bought: np.ndarray
    known: np.ndarray


def _kernel_customers(kernel: OrderKernel, as_of: pd.Timestamp | None) -> _OrderCustomers:
    k = kernel.as_of(as_of) if as_of is not None else kernel
    known = np.zeros(k.n_customers, dtype=bool)  # customers with a line up to as_of
    known[k.customer] = True
    return _OrderCustomers(
        ids=pd.Index(k.customer_ids, dtype="str", name="customer_id"),
        bought=np.bincount(k.customer[k.purchase], minlength=k.n_customers),
        known=known,
    )


def _engine_customers(purchases: pd.Series, ids: pd.Index | None = None) -> _OrderCustomers:
    """From an engine's purchases per customer (:func:`engines.purchases_by_customer`), over
    ``ids`` (a later date's customers, which include these) when given."""
    if ids is None:
        return _OrderCustomers(
            purchases.index, purchases.to_numpy(dtype="int64"), np.ones(len(purchases), bool)
        )
    where = ids.get_indexer(purchases.index)
    bought = np.zeros(len(ids), dtype="int64")
    bought[where] = purchases.to_numpy(dtype="int64")
    known = np.zeros(len(ids), dtype=bool)
    known[where] = True
    return _OrderCustomers(ids, bought, known)


def _rungs(
    orders: _OrderCustomers | None,
    surveys: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp | None,
) -> _Rungs:
    """The ladder as of ``as_of`` from the orders' customers (None: no order to anchor it).

    Works on customer codes (positions in ``orders.ids``): only the ids known from the
    customers table or surveys alone are looked up by text.
    """
    responses = _survey_rows(surveys, as_of, need_dates=False)
    table = _customer_rows(customers, as_of)
    if orders is None:
        by_code = pd.Index([], dtype="str", name="customer_id")
        bought = np.zeros(0, dtype="int64")
        known = np.zeros(0, dtype=bool)
    else:
        by_code, bought, known = orders.ids, orders.bought, orders.known.copy()
    others = pd.Index(
        pd.concat(
            [table["customer_id"].astype("str"), responses["customer_id"].astype("str")],
            ignore_index=True,
        ).unique(),
        dtype="str",
    )
    new = others[:0]
    if len(others):
        found = by_code.get_indexer(others)
        known[found[found >= 0]] = True
        new = others[found < 0]
    code = np.concatenate([np.flatnonzero(known), np.full(len(new), -1, dtype="int64")])
    # (every code known, as at the kernel's end: the ids as they are, not a copy of millions)
    ids = by_code if known.all() else by_code[known]
    if len(new):
        ids = ids.append(new)
    if len(new):  # the kernel's ids are sorted; ids from the other tables join them
        order = ids.argsort()
        ids, code = ids[order], code[order]
    ids = ids.rename("customer_id")
    purchases = np.where(code >= 0, bought[np.maximum(code, 0)] if len(bought) else 0, 0)
    purchases = purchases.astype("int64")

    latest = np.full(len(ids), np.nan)
    scored = responses.loc[responses["score"].notna()]
    if len(scored):
        scored = scored.sort_values("response_date", kind="stable", na_position="first")
        last = scored.groupby("customer_id", sort=False)["score"].last()
        latest[ids.get_indexer(last.index)] = last.to_numpy(dtype="float64")

    converted = np.zeros(len(ids), dtype="int64")
    if "referred_by" in table.columns:
        referred = table.loc[table["referred_by"].notna()]
        friend = ids.get_indexer(referred["customer_id"].astype("str"))
        has_bought = np.zeros(len(friend), dtype=bool)
        has_bought[friend >= 0] = purchases[friend[friend >= 0]] > 0
        counts = referred.loc[has_bought, "referred_by"].astype("str").value_counts()
        referrer = ids.get_indexer(counts.index)  # referrers who are not known are ignored
        converted[referrer[referrer >= 0]] = counts.to_numpy()[referrer >= 0]

    stage = np.where(purchases >= 2, 2, purchases)  # lead 0, buyer 1, repeat 2
    advocate = (purchases >= 2) & ((latest >= 9) | (converted > 0))
    stage = np.where(advocate, 3, stage)
    return _Rungs(ids, code, stage, purchases, latest, converted)


def _ladder_kernel(orders: pd.DataFrame, as_of: pd.Timestamp | None) -> OrderKernel | None:
    """The order kernel up to ``as_of`` (None when there is no date to anchor the ladder)."""
    return None if as_of is None else order_kernel(orders, end=as_of)


# --------------------------------------------------------------------------------------------
# The loyalty ladder
# --------------------------------------------------------------------------------------------
def loyalty_ladder(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    end: DateLike | None = None,
    engine: Any = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The rung of the loyalty ladder of every known customer as of ``end``.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    surveys : pandas.DataFrame, optional
        Survey responses (``customer_id``, ``score``, optional ``response_date``).
    customers : pandas.DataFrame, optional
        The customers table (``customer_id``, optional ``signup_date``, ``referred_by``).
    end : date-like, optional
        The as-of date; default the last order date. Nothing dated after it is used.
    engine : {"pandas", "duckdb", "spark"} or an Ibis backend, optional
        Where the orders are read (:mod:`loyalty_metrics.engines`): ``orders`` may then be a
        path, glob or engine table (``columns``: its column mapping), and only each
        customer's purchase count comes back; surveys and customers stay DataFrames.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), one row per known customer, columns:

        - ``stage``: ordered categorical ``lead`` < ``buyer`` < ``repeat`` < ``advocate``;
        - ``purchases``: purchases (orders with net amount >= 0) up to ``end``, all history;
        - ``latest_score``: their latest NPS score (0-10) up to ``end``, NaN without one;
        - ``converted_referrals``: customers they referred who purchased by ``end``.

    Notes
    -----
    Known customers are those with an order line, a customers-table row (signed up on or
    before ``end``, or without ``signup_date``) or an identified survey response (dated on or
    before ``end``; undated responses count only when the table has no ``response_date``).
    ``lead``: known, no purchase; ``buyer``: 1 purchase; ``repeat``: >= 2 purchases;
    ``advocate``: repeat, and either the latest NPS score is >= 9 or a customer whose
    ``referred_by`` names them has purchased. The latest score is the one with the latest
    ``response_date`` (ties and undated tables: the last row). Referrers who are not known
    customers are ignored.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-01", "2024-02-01", "2024-01-05", "2024-01-02", "2024-03-01"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0, 9.0],
    ... })
    >>> surveys = pd.DataFrame({"customer_id": ["a", "d"], "score": [10.0, 6.0],
    ...                         "response_date": pd.to_datetime(["2024-02-02", "2024-01-10"])})
    >>> loyalty_ladder(orders, surveys)
                    stage  purchases  latest_score  converted_referrals
    customer_id
    a            advocate          2          10.0                    0
    b               buyer          1           NaN                    0
    c              repeat          2           NaN                    0
    d                lead          0           6.0                    0
    """
    if engine is not None and engine != "pandas":
        from . import engines

        as_of = engines.order_window(orders, end=end, engine=engine, columns=columns).end
        bought = engines.purchases_by_customer(orders, end=as_of, engine=engine, columns=columns)
        rungs = _rungs(_engine_customers(bought), surveys, customers, as_of)
    else:
        as_of = _as_of(orders, end)
        kernel = _ladder_kernel(orders, as_of)
        order_side = None if kernel is None else _kernel_customers(kernel, as_of)
        rungs = _rungs(order_side, surveys, customers, as_of)
    stage = pd.Categorical.from_codes(
        rungs.stage, categories=pd.Index(LADDER_STAGES, dtype="str"), ordered=True
    )
    return pd.DataFrame(
        {
            "stage": stage,
            "purchases": rungs.purchases,
            "latest_score": rungs.latest_score,
            "converted_referrals": rungs.converted,
        },
        index=rungs.ids,
    )


def ladder_transitions(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    start: DateLike,
    end: DateLike | None = None,
    engine: Any = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Moves between ladder rungs from ``start`` to ``end``: counts and row percentages.

    Parameters
    ----------
    orders, surveys, customers : pandas.DataFrame
        As in :func:`loyalty_ladder`.
    start : date-like
        The first date: each customer's rung as of the end of that day.
    end : date-like, optional
        The second date (default the last order date), after ``start``.
    engine, columns
        As in :func:`loyalty_ladder`.

    Returns
    -------
    pandas.DataFrame
        Rows ``from`` = ``new``, ``lead``, ``buyer``, ``repeat``, ``advocate`` (``new``:
        known at ``end`` but not yet at ``start``); columns a two-level index:
        ``("customers", stage)`` counts for each rung at ``end`` plus ``("customers",
        "total")``, and ``("row_share", stage)``: percentages of the row total (0-100, NaN for
        an empty row). All rows and columns are always present.

    Notes
    -----
    Rungs are computed by :func:`loyalty_ladder` as of each date, so a customer climbs when
    they purchase again or become an advocate, and slips when, for instance, an advocate's
    latest NPS score drops below 9. A customer known at ``start`` is still known at ``end``.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-05", "2024-02-01"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0],
    ... })
    >>> moves = ladder_transitions(orders, start="2024-01-31", end="2024-02-29")
    >>> moves["customers"]
    to        lead  buyer  repeat  advocate  total
    from
    new          0      1       0         0      1
    lead         0      0       0         0      0
    buyer        0      1       1         0      2
    repeat       0      0       0         0      0
    advocate     0      0       0         0      0
    """
    first_day = to_day(start, name="start")
    if first_day is None:
        raise ConfigError("The 'start' parameter of ladder_transitions must be a date.")
    if engine is not None and engine != "pandas":
        from . import engines

        last_day = engines.order_window(orders, end=end, engine=engine, columns=columns).end
    else:
        last_day = _as_of(orders, end)
    if last_day is not None and first_day > last_day:
        raise ValueError(f"start ({first_day.date()}) is after end ({last_day.date()}).")
    if engine is not None and engine != "pandas":
        from . import engines

        on = {"engine": engine, "columns": columns}
        later = engines.purchases_by_customer(orders, end=last_day, **on)
        earlier = engines.purchases_by_customer(orders, end=first_day, **on)
        before = _rungs(_engine_customers(earlier, later.index), surveys, customers, first_day)
        after = _rungs(_engine_customers(later), surveys, customers, last_day)
    else:
        kernel = _ladder_kernel(orders, last_day)  # one netting serves both dates
        before_side = None if kernel is None else _kernel_customers(kernel, first_day)
        after_side = None if kernel is None else _kernel_customers(kernel, last_day)
        before = _rungs(before_side, surveys, customers, first_day)
        after = _rungs(after_side, surveys, customers, last_day)
    rows_labels = [NEW, *LADDER_STAGES]
    from_codes = _earlier_stage(before, after) + 1
    to_codes = after.stage.astype("int64")
    n_to = len(LADDER_STAGES)
    counts = np.bincount(from_codes * n_to + to_codes, minlength=len(rows_labels) * n_to)
    counts = counts.reshape(len(rows_labels), n_to)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, 100.0 * counts / totals, np.nan)
    columns = pd.MultiIndex.from_tuples(
        [("customers", s) for s in (*LADDER_STAGES, "total")]
        + [("row_share", s) for s in LADDER_STAGES],
        names=[None, "to"],
    )
    data = np.hstack([counts, totals, shares]).astype("float64")
    out = pd.DataFrame(data, index=pd.Index(rows_labels, name="from"), columns=columns)
    return out.astype({c: "int64" for c in columns if c[0] == "customers"})


def _earlier_stage(before: _Rungs, after: _Rungs) -> np.ndarray:
    """The rung at ``before`` of each customer of ``after`` (-1: not yet known).

    Customers of the orders are matched by kernel code; only those known from the other
    tables alone are matched by id.
    """
    size = 1 + max(int(before.code.max(initial=-1)), int(after.code.max(initial=-1)), 0)
    stage_of_code = np.full(size, -1, dtype="int64")
    in_kernel = before.code >= 0
    stage_of_code[before.code[in_kernel]] = before.stage[in_kernel]
    earlier = np.where(after.code >= 0, stage_of_code[np.maximum(after.code, 0)], -1)
    outside = after.code < 0
    if outside.any() and (~in_kernel).any():
        found = before.ids[~in_kernel].get_indexer(after.ids[outside])
        earlier[outside] = np.where(found >= 0, before.stage[~in_kernel][found], -1)
    return earlier.astype("int64")


# --------------------------------------------------------------------------------------------
# The loyalty loop
# --------------------------------------------------------------------------------------------
def loyalty_loop(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    output: Literal["funnel", "customers"] = "funnel",
    period: CohortPeriod = "M",
    include_all: bool = False,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """How far round the loyalty loop each buyer got since their latest purchase.

    The loop: purchase -> enjoyment -> advocacy -> bond -> next purchase.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    surveys : pandas.DataFrame, optional
        Survey responses with ``customer_id``, ``response_date``, ``score`` and/or ``csat``.
    customers : pandas.DataFrame, optional
        The customers table; its ``referred_by`` column gives referrals.
    output : {"funnel", "customers"}, default "funnel"
        ``"funnel"``: one row per first-purchase cohort with the share reaching each stage;
        ``"customers"``: one row per buyer with the stage they reached.
    period : {"M", "W", "Q", "Y"}, default "M"
        Cohort period, as in :func:`loyalty_metrics.cohort_table`.
    include_all : bool, default False
        With ``output="funnel"``, append an ``"All cohorts"`` row pooling every buyer shown.
    start, end : date-like, optional
        ``end`` (default the last order date) is the as-of date; ``start`` only chooses the
        first cohort shown (as in :func:`loyalty_metrics.cohort_table`).

    Returns
    -------
    pandas.DataFrame
        ``output="funnel"``: index ``cohort``; columns ``buyers``, then ``enjoyment``,
        ``advocacy``, ``bond`` (buyers whose furthest stage is that stage or a later one) and
        ``enjoyment_share``, ``advocacy_share``, ``bond_share`` (percent of buyers, 0-100;
        the ``purchase`` stage is every buyer, 100%).

        ``output="customers"``: index ``customer_id``; columns ``cohort`` (period),
        ``latest_purchase`` (day), ``usual_gap_days`` (their usual time between purchases),
        the flags ``enjoyment``, ``advocacy``, ``bond`` and ``stage``, an ordered categorical
        ``purchase`` < ``enjoyment`` < ``advocacy`` < ``bond`` (the furthest flag set).

    Notes
    -----
    For a buyer whose latest purchase (on or before ``end``) was on day ``L``:

    - ``enjoyment``: a survey response dated on or after ``L`` (and on or before ``end``)
      with ``csat`` 4-5 or an NPS ``score`` >= 7;
    - ``advocacy``: a response dated on or after ``L`` with score 9-10, or a customer whose
      ``referred_by`` names them and whose first purchase fell on or after ``L``;
    - ``bond``: ``L`` was a repeat purchase that came within their usual time between
      purchases: ``L - previous purchase day <= usual gap``, where the usual gap is the median
      of the buyer's own gaps between purchase days when they have at least two gaps, else
      the median of every buyer's gaps (up to ``end``). It marks a buyer who came back round
      the loop on time to make the latest purchase.

    The stage is the furthest of these reached (a later stage counts even when an earlier one
    left no trace: surveys are sparse, so a missing response is no evidence against
    enjoyment). Undated survey rows cannot be placed after a purchase and are ignored.
    Purchases of one calendar day are one purchase occasion.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-01", "2024-01-11", "2024-01-05", "2024-01-02", "2024-03-01"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0, 9.0],
    ... })
    >>> surveys = pd.DataFrame({"customer_id": ["b"], "score": [9.0],
    ...                         "response_date": pd.to_datetime(["2024-01-06"])})
    >>> loyalty_loop(orders, surveys, output="customers")[["usual_gap_days", "stage"]]
                 usual_gap_days     stage
    customer_id
    a                      34.5      bond
    b                      34.5  advocacy
    c                      34.5  purchase
    """
    func = "loyalty_loop"
    _check_choice(func, "output", output, ("funnel", "customers"))
    _check_choice(func, "period", period, _PERIODS)
    o = _orders_up_to_end(orders, start=start, end=end)
    buyers, _, cohort = _shown_buyers(o, period)
    as_of = None if o.window.empty else o.window.end

    # Latest and previous purchase days of every customer.
    gaps, gap_customer = _purchase_intervals(o)
    latest = np.full(o.n_customers, _INT_MAX, dtype="int64")
    latest_all = np.full(o.n_customers, np.iinfo(np.int64).min, dtype="int64")
    np.maximum.at(latest_all, o.customer[o.purchase], o.day[o.purchase])
    latest[buyers] = latest_all[buyers]
    n_gaps = np.bincount(gap_customer, minlength=o.n_customers)
    # gaps are in customer-then-day order: each customer's last gap closes at their latest day
    last_gap = np.full(o.n_customers, -1, dtype="int64")
    last_gap[gap_customer] = gaps
    own_median = (
        pd.Series(gaps.astype("float64"))
        .groupby(gap_customer)
        .median()
        .reindex(range(o.n_customers))
    ).to_numpy()
    population = float(np.median(gaps)) if len(gaps) else np.nan
    usual = np.where(n_gaps >= 2, own_median, population)
    bond = (n_gaps >= 1) & (last_gap <= usual)

    ids = o.customer_ids[buyers]
    code_of = pd.Series(buyers, index=ids)
    enjoyment = np.zeros(o.n_customers, dtype=bool)
    advocacy = np.zeros(o.n_customers, dtype=bool)
    responses = _survey_rows(surveys, as_of, need_dates=True)
    if len(responses):
        who = code_of.reindex(responses["customer_id"]).to_numpy()
        found = ~np.isnan(who)
        who = who[found].astype("int64")
        day = responses["response_date"].to_numpy(dtype="datetime64[ns]")[found].view("int64")
        after = day // _NS_PER_DAY >= latest[who]
        score = responses["score"].to_numpy()[found]
        csat = responses["csat"].to_numpy()[found]
        enjoyment[who[after & ((csat >= 4) | (score >= 7))]] = True
        advocacy[who[after & (score >= 9)]] = True
    table = _customer_rows(customers, as_of)
    if "referred_by" in table.columns and len(buyers):
        first_all = o.first_purchase_day()
        all_codes = pd.Series(np.arange(o.n_customers), index=o.customer_ids)
        referred = table.loc[table["referred_by"].notna()]
        friend = all_codes.reindex(referred["customer_id"].astype("str")).to_numpy()
        referrer = code_of.reindex(referred["referred_by"].astype("str")).to_numpy()
        ok = ~np.isnan(friend) & ~np.isnan(referrer)
        friend, referrer = friend[ok].astype("int64"), referrer[ok].astype("int64")
        converted = first_all[friend] != _INT_MAX
        on_time = converted & (first_all[friend] >= latest[referrer])
        advocacy[referrer[on_time]] = True

    stage_code = np.select(
        [bond[buyers], advocacy[buyers], enjoyment[buyers]], [3, 2, 1], default=0
    ).astype("int64")
    if output == "customers":
        frame = pd.DataFrame(
            {
                "cohort": _period_index(cohort, period).to_numpy(),
                "latest_purchase": latest[buyers].astype("datetime64[D]").astype("datetime64[ns]"),
                "usual_gap_days": usual[buyers],
                "enjoyment": enjoyment[buyers],
                "advocacy": advocacy[buyers],
                "bond": bond[buyers],
                "stage": pd.Categorical.from_codes(
                    stage_code, categories=pd.Index(LOOP_STAGES, dtype="str"), ordered=True
                ),
            },
            index=ids.rename("customer_id"),
        )
        return frame.sort_index()

    cohorts, rows = np.unique(cohort, return_inverse=True)
    n_rows = len(cohorts)
    buyers_per_row = np.bincount(rows, minlength=n_rows)
    reached = {
        name: np.bincount(rows[stage_code >= code], minlength=n_rows)
        for code, name in enumerate(LOOP_STAGES)
        if code > 0
    }
    if include_all:
        buyers_per_row = np.append(buyers_per_row, buyers_per_row.sum())
        reached = {k: np.append(v, v.sum()) for k, v in reached.items()}
    frame = CohortFrame({"buyers": buyers_per_row, **reached})
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in LOOP_STAGES[1:]:
            frame[f"{name}_share"] = 100.0 * frame[name] / frame["buyers"]
    index = _period_index(cohorts, period)
    if include_all:
        frame.index = pd.Index([*index, ALL_COHORTS], dtype=object, name="cohort")
    else:
        frame.index = index
    return frame


# --------------------------------------------------------------------------------------------
# RFM
# --------------------------------------------------------------------------------------------
def _scores(values: pd.Series, bins: int) -> np.ndarray:
    """1..bins by percentile rank; tied values always share a score; the lowest value gets 1."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype="int64")
    return (1 + np.floor(bins * _below(values) / n)).astype("int64")


def _below(values: pd.Series) -> np.ndarray:
    """How many values are strictly lower than each one: ``rank(method="min") - 1``.

    By counting the distinct values, three to four times faster than ``rank`` on millions
    of customers: whole numbers over a short range (purchases, recency in days) by one
    bincount, others by the sort in ``np.unique``; NaN (not in a summary) keeps ``rank``'s.
    """
    v = values.to_numpy(dtype="float64")
    if np.isnan(v).any():
        return values.rank(method="min").to_numpy() - 1
    if len(v):
        low, high = float(v.min()), float(v.max())
        if high - low <= 4 * len(v) and (v == np.floor(v)).all():
            offset = (v - low).astype("int64")
            count = np.bincount(offset)
            return (np.cumsum(count) - count)[offset]
    _, which, count = np.unique(v, return_inverse=True, return_counts=True)
    return (np.cumsum(count) - count)[which]


def _rfm_codes(
    r: np.ndarray, f: np.ndarray, m: np.ndarray, bins: int
) -> pd.api.extensions.ExtensionArray:
    """The RFM codes (``"545"``; ``"10-3-7"`` when bins > 9) as ``str``: each distinct
    combination is written once and taken for every customer (millions of customers share a
    few hundred codes)."""
    import pyarrow as pa

    sep = "" if bins <= 9 else "-"
    combos, which = np.unique((r * (bins + 1) + f) * (bins + 1) + m, return_inverse=True)
    labels = [
        f"{c // (bins + 1) ** 2}{sep}{c // (bins + 1) % (bins + 1)}{sep}{c % (bins + 1)}"
        for c in combos.tolist()
    ]
    return pd.array(pa.array(labels, pa.string()).take(pa.array(which.ravel())), dtype="str")


def _as_scores(value: int | Iterable[int], bins: int, segment: str) -> list[int]:
    scores = [value] if isinstance(value, int | np.integer) else list(value)
    bad = [s for s in scores if not isinstance(s, int | np.integer) or not 1 <= s <= bins]
    if bad or not scores:
        raise ConfigError(
            f"The 'segment_map' parameter of rfm_segments: segment {segment!r} has scores "
            f"{bad or scores!r} outside 1..{bins}."
        )
    return [int(s) for s in scores]


def _segment_grid(
    segment_map: Mapping[str, tuple[int | Iterable[int], int | Iterable[int]]], bins: int
) -> tuple[np.ndarray, list[str]]:
    """(bins x bins) grid of segment codes indexed by [R - 1, F - 1]; checks full coverage."""
    names = list(segment_map)
    grid = np.full((bins, bins), -1, dtype="int64")
    overlaps: list[str] = []
    for code, name in enumerate(names):
        cell = segment_map[name]
        if not isinstance(cell, tuple | list) or len(cell) != 2:
            raise ConfigError(
                f"The 'segment_map' parameter of rfm_segments maps each segment to a pair "
                f"(R scores, F scores); segment {name!r} has {cell!r}."
            )
        for r in _as_scores(cell[0], bins, name):
            for f in _as_scores(cell[1], bins, name):
                if grid[r - 1, f - 1] >= 0:
                    overlaps.append(f"R{r} F{f} ({names[grid[r - 1, f - 1]]} and {name})")
                grid[r - 1, f - 1] = code
    missing = [f"R{r + 1} F{f + 1}" for r, f in zip(*np.nonzero(grid < 0), strict=True)]
    if missing or overlaps:
        problems = []
        if missing:
            problems.append("uncovered: " + ", ".join(missing))
        if overlaps:
            problems.append("in two segments: " + ", ".join(overlaps))
        raise ConfigError(
            "The 'segment_map' parameter of rfm_segments must put every R x F combination "
            f"in exactly one segment; {'; '.join(problems)}."
        )
    return grid, names


def rfm_segments(
    orders: pd.DataFrame,
    *,
    bins: int = 5,
    segment_map: Mapping[str, tuple[int | Iterable[int], int | Iterable[int]]] | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """Recency, frequency and monetary scores, the RFM code and a named segment per customer.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame, or a customer summary made by
        :func:`loyalty_metrics.customer_summary` (then ``start`` and ``end`` are ignored: the
        summary's own window holds, and no pass over order lines is made).
    bins : int, default 5
        Number of scores (1..bins) on each axis.
    segment_map : mapping, optional
        Segment name -> ``(R scores, F scores)``, each an int or an iterable of ints; every
        R x F combination must fall in exactly one segment (else :class:`ConfigError` listing
        the uncovered or doubled ones). Default :data:`DEFAULT_SEGMENT_MAP`, the widely used
        10 segments (Champions R5 F4-5, Loyal R3-4 F4-5, Potential loyalist R4-5 F2-3, New R5
        F1, Promising R4 F1, Need attention R3 F3, About to sleep R3 F1-2, At risk R1-2 F3-4,
        Can't lose them R1-2 F5, Hibernating R1-2 F1-2), which needs ``bins=5``.
    start, end : date-like, optional
        Window (default: all history up to the last order date).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), one row per customer with a purchase in the
        window: ``recency_days`` (days from the latest purchase to ``end``), ``purchases``,
        ``revenue`` (net, returns included), the scores ``R``, ``F``, ``M`` (1..bins, higher
        is better: most recent, most frequent, highest spending), ``rfm`` (e.g. ``"545"``;
        ``"10-3-7"`` when bins > 9) and ``segment`` (categorical, in map order).

    Notes
    -----
    A score is ``1 + floor(bins * share of customers with a strictly lower value)``
    (``rank(method="min")``): tied customers always get the same score and the lowest value
    always scores 1, so the many one-purchase customers of real data all get F1 (plain
    ``qcut`` raises on such duplicates or splits ties arbitrarily). Recency ranks the latest
    purchase date, so the most recent buyers score highest. With few distinct values some
    scores stay unused.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "c", "c", "d", "e"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-06-01", "2024-06-01",
    ...                                   "2024-01-05", "2024-02-01", "2024-01-10", "2024-05-01"]),
    ...     "amount": [10.0, 20.0, 30.0, 5.0, 8.0, 9.0, 50.0, 4.0],
    ... })
    >>> rfm_segments(orders)[["recency_days", "purchases", "R", "F", "M", "rfm", "segment"]]
                 recency_days  purchases  R  F  M  rfm         segment
    customer_id
    a                     0.0          3  4  5  5  455           Loyal
    b                     0.0          1  4  1  2  412       Promising
    c                   121.0          2  2  4  3  243         At risk
    d                   143.0          1  1  1  4  114     Hibernating
    e                    31.0          1  3  1  1  311  About to sleep

    a and b tie on recency: both have 3 of 5 customers strictly below them, so both get R4.
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ConfigError(
            f"The 'bins' parameter of rfm_segments must be an integer >= 1. Got {bins!r} instead."
        )
    if segment_map is None:
        if bins != 5:
            raise ConfigError(
                "The default segment map of rfm_segments is defined on 5 scores; pass "
                f"segment_map= for bins={bins}."
            )
        segment_map = DEFAULT_SEGMENT_MAP
    grid, names = _segment_grid(segment_map, int(bins))
    from .summary import is_customer_summary, summary_window

    if is_customer_summary(orders):
        summary, window_end = orders, summary_window(orders).end
    else:
        summary = customer_summary(orders, start=start, end=end)
        window_end = summary_window(summary).end
    last = summary["last_purchase"].dt.normalize()
    recency = ((window_end - last) / pd.Timedelta(days=1)).astype("float64")
    r = _scores(-recency, bins)
    f = _scores(summary["purchases"], bins)
    m = _scores(summary["revenue"], bins)
    rfm = _rfm_codes(r, f, m, bins)
    segment = pd.Categorical.from_codes(
        grid[r - 1, f - 1] if len(r) else np.zeros(0, dtype="int64"),
        categories=pd.Index(names, dtype="str"),
    )
    return pd.DataFrame(
        {
            "recency_days": recency.to_numpy(),
            "purchases": summary["purchases"].to_numpy(dtype="int64"),
            "revenue": summary["revenue"].to_numpy(dtype="float64"),
            "R": r,
            "F": f,
            "M": m,
            "rfm": rfm,
            "segment": segment,
        },
        index=summary.index,
    )
