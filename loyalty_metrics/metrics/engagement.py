"""Engagement: per-customer activity scores from the events table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._ids import factorize_ids, first_rows, take_ids
from .._window import ONE_DAY, DateLike, resolve_window, to_day
from ..errors import ConfigError
from ..summary import is_customer_summary
from ._common import Span, check_weights, day_after, orders_window, parse_span

__all__ = ["engagement_score", "engagement_scores"]

COMPONENTS = ("frequency", "time", "actions")
_NS_PER_DAY = 86_400 * 10**9
Weights = Mapping[str, float] | Sequence[float] | None


def _end_of(
    events: pd.DataFrame, orders: pd.DataFrame | None, end: DateLike | None
) -> pd.Timestamp:
    """``end``, else the last order date, else the last event's day."""
    day = to_day(end, name="end")
    if day is not None:
        return day
    if orders is not None:
        return orders_window(orders, None, None).end
    return resolve_window(events["timestamp"]).end


def known_id_parts(
    events: pd.DataFrame,
    orders: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    end: pd.Timestamp,
) -> list[pd.Series]:
    """The ids (with repeats) of the customers known up to ``end``, one Series per table."""
    if pd.isna(end):
        return []
    limit = (end + ONE_DAY).to_datetime64()
    parts = [_up_to(events["customer_id"], events["timestamp"], limit)]
    if orders is not None:
        if is_customer_summary(orders):
            parts.append(orders.index.to_series())
        else:
            parts.append(_up_to(orders["customer_id"], orders["order_date"], limit))
    if customers is not None:
        known = customers["customer_id"]
        if "signup_date" in customers.columns:
            known = known.loc[~(customers["signup_date"].to_numpy() >= limit)]
        parts.append(known)
    return [p.astype("str").reset_index(drop=True) for p in parts]


def _up_to(ids: pd.Series, dates: pd.Series, limit: np.datetime64) -> pd.Series:
    """The ids dated before ``limit`` (no copy when that is all of them)."""
    mask = dates.to_numpy() < limit
    return ids if mask.all() else ids.loc[mask]


def known_customers(
    events: pd.DataFrame,
    orders: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    end: pd.Timestamp,
) -> pd.Index:
    """Customers in orders, customers or events up to ``end`` (sorted, unique)."""
    parts = known_id_parts(events, orders, customers, end)
    if not parts:
        return pd.Index([], dtype="str", name="customer_id")
    ids = pd.concat(parts, ignore_index=True).dropna().unique()
    return pd.Index(ids, dtype="str", name="customer_id").sort_values()


@dataclass(frozen=True)
class EventArrays:
    """The events as flat arrays sorted by time, coded once for any number of windows."""

    ids: pd.Index  # distinct customer ids; ``codes`` index it
    codes: np.ndarray  # customer code of each dated event
    ns: np.ndarray  # timestamps (ns), ascending
    seconds: np.ndarray | None  # durations (0 when blank); None without a duration column
    is_key: np.ndarray | None  # event is a key action; None: every event is


def event_arrays(events: pd.DataFrame, key_actions: Sequence[str] | None) -> EventArrays:
    """Code the events once: dated rows only (an undated event is in no window), by time.

    Examples
    --------
    >>> events = pd.DataFrame({"customer_id": ["a", "b"], "event_type": ["view", "buy"],
    ...                        "timestamp": pd.to_datetime(["2024-01-02", "2024-01-01"])})
    >>> event_arrays(events, ["buy"]).is_key.tolist()
    [True, False]
    """
    ns = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    dated = np.flatnonzero(ns != np.iinfo(np.int64).min)
    order = dated[np.argsort(ns[dated], kind="stable")]
    customer_ids = events["customer_id"]
    codes = factorize_ids(customer_ids)  # Arrow's kernels: several times pd.factorize's speed
    ids = take_ids(customer_ids, first_rows(codes))
    seconds = None
    if "duration" in events.columns:
        seconds = np.nan_to_num(events["duration"].to_numpy(dtype="float64")[order])
    is_key = None
    if key_actions is not None:
        is_key = events["event_type"].isin(list(key_actions)).to_numpy(dtype=bool)[order]
    return EventArrays(
        ids=pd.Index(ids), codes=codes[order], ns=ns[order], seconds=seconds, is_key=is_key
    )


def active_scores(
    events: pd.DataFrame,
    end: pd.Timestamp,
    *,
    key_actions: Sequence[str] | None,
    span: Span,
    weights: np.ndarray,
    half_life: pd.Timedelta | None,
    arrays: EventArrays | None = None,
) -> pd.DataFrame:
    """Components and score of the customers with at least one event in the window.

    ``arrays``: :func:`event_arrays` of ``events`` and ``key_actions``, when the caller
    scores many windows of the same events.
    """
    columns = [*COMPONENTS, "score"]
    if pd.isna(end):
        return pd.DataFrame(
            columns=columns, index=pd.Index([], dtype="str", name="customer_id"), dtype="float64"
        )
    a = arrays if arrays is not None else event_arrays(events, key_actions)
    present, components, score = _active(a, end, span, weights, half_life)
    index = pd.Index(a.ids[present], dtype="str", name="customer_id")
    return pd.DataFrame({**components, "score": score}, index=index)


def active_score_total(
    events: pd.DataFrame,
    end: pd.Timestamp,
    *,
    key_actions: Sequence[str] | None,
    span: Span,
    weights: np.ndarray,
    half_life: pd.Timedelta | None,
    arrays: EventArrays | None = None,
) -> float:
    """The sum of :func:`active_scores`' ``score`` (what the mean over known customers needs).

    Examples
    --------
    >>> events = pd.DataFrame({"customer_id": ["a", "b"], "event_type": ["view", "view"],
    ...                        "timestamp": pd.to_datetime(["2024-01-02", "2024-01-01"])})
    >>> active_score_total(events, pd.Timestamp("2024-01-02"), key_actions=None,
    ...                    span=pd.Timedelta(days=90), weights=np.ones(3), half_life=None)
    150.0
    """
    if pd.isna(end):
        return 0.0
    a = arrays if arrays is not None else event_arrays(events, key_actions)
    return float(_active(a, end, span, weights, half_life)[2].sum())


def _active(
    a: EventArrays,
    end: pd.Timestamp,
    span: Span,
    weights: np.ndarray,
    half_life: pd.Timedelta | None,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(positions in ``a.ids``, components, score) of the customers active in the window."""
    lo, hi = np.searchsorted(a.ns, [day_after(end, span).value, (end + ONE_DAY).value])
    codes, present = pd.factorize(a.codes[lo:hi])
    n = len(present)
    day = a.ns[lo:hi] // _NS_PER_DAY
    end_day = end.value // _NS_PER_DAY
    age = (end_day - day).astype("float64")
    if half_life is None:
        decay = np.ones(hi - lo)
    else:
        decay = 0.5 ** (age / (half_life / pd.Timedelta(days=1)))
    # frequency: distinct active days (each weighted by its decay); a day's key is unique
    days_back = int(age.max()) + 1 if hi > lo else 1
    key = pd.unique(codes.astype("int64") * days_back + (end_day - day))
    key_age = (key % days_back).astype("float64")
    key_decay = (
        np.ones(len(key))
        if half_life is None
        else 0.5 ** (key_age / (half_life / pd.Timedelta(days=1)))
    )
    frequency = np.bincount(key // days_back, weights=key_decay, minlength=n)
    has_time = a.seconds is not None
    if a.seconds is not None:
        time = np.bincount(codes, weights=a.seconds[lo:hi] * decay, minlength=n)
    else:
        time = np.full(n, np.nan)
    is_key = np.ones(hi - lo, dtype=bool) if a.is_key is None else a.is_key[lo:hi]
    actions = np.bincount(codes, weights=decay * is_key, minlength=n)
    components = {"frequency": frequency, "time": time, "actions": actions}
    used = np.array([has_time or c != "time" for c in COMPONENTS])
    w = np.where(used, weights, 0.0)
    if w.sum() <= 0:
        raise ConfigError(
            "engagement weights must give a positive weight to an available component "
            "(the events carry no 'duration', so 'time' is unavailable)."
        )
    # percentile ranks across the customers with at least one event in the window
    ranks = np.column_stack([pct_rank(components[c]) for c in COMPONENTS]) * 100
    score = (np.nan_to_num(ranks) * w).sum(axis=1) / w.sum()
    return present, components, score


def pct_rank(values: np.ndarray) -> np.ndarray:
    """``Series(values).rank(pct=True, method="average")``, bit for bit, NaN staying NaN.

    Whole numbers in a range not much wider than their count (days and action counts
    without decay) are ranked by counting instead of sorting: the average rank of a value
    is (values below) + (equal values + 1) / 2.

    Examples
    --------
    >>> pct_rank(np.array([3.0, 1.0, 3.0, 2.0])).tolist()
    [0.875, 0.25, 0.875, 0.5]
    """
    values = np.asarray(values, dtype="float64")
    n = len(values)
    if n and not np.isnan(values).any():
        low, high = values.min(), values.max()
        whole = high - low < 4 * n + 1024 and bool((values == np.floor(values)).all())
        if whole:
            offset = (values - low).astype("int64")
            counts = np.bincount(offset)
            below = np.cumsum(counts) - counts
            return (below[offset] + (counts[offset] + 1) / 2) / n
    return pd.Series(values).rank(pct=True, method="average").to_numpy()


def scores_for(
    events: pd.DataFrame,
    known: pd.Index,
    end: pd.Timestamp,
    *,
    key_actions: Sequence[str] | None,
    span: Span,
    weights: np.ndarray,
    half_life: pd.Timedelta | None,
) -> pd.DataFrame:
    """The score frame for the ``known`` customers (the engine of :func:`engagement_scores`)."""
    active = active_scores(
        events, end, key_actions=key_actions, span=span, weights=weights, half_life=half_life
    )
    everyone = known.union(active.index) if len(active) else known
    out = active.reindex(everyone, fill_value=0.0)
    if "duration" not in events.columns:
        out["time"] = np.nan
    out.index.name = "customer_id"
    return out.sort_index()


def _options(
    key_actions: Sequence[str] | None,
    window: str | pd.Timedelta,
    weights: Weights,
    half_life: str | pd.Timedelta | float | None,
    func: str,
) -> tuple[Sequence[str] | None, Span, np.ndarray, pd.Timedelta | None]:
    if key_actions is not None and (
        isinstance(key_actions, str) or not all(isinstance(k, str) for k in key_actions)
    ):
        raise ConfigError(
            f"The 'key_actions' parameter of {func} must be a list of event types. "
            f"Got {key_actions!r} instead."
        )
    span = parse_span(window, name="window", func=func)
    w = check_weights(weights, COMPONENTS, func=func)
    hl = None
    if half_life is not None:
        if isinstance(half_life, int | float) and not isinstance(half_life, bool):
            hl = pd.Timedelta(days=float(half_life)) if half_life > 0 else None
        else:
            parsed = parse_span(half_life, name="half_life", func=func)
            hl = parsed if isinstance(parsed, pd.Timedelta) else None
        if hl is None:
            raise ConfigError(
                f"The 'half_life' parameter of {func} must be a positive number of days or a "
                f"length such as '30D'. Got {half_life!r} instead."
            )
    return key_actions, span, w, hl


def engagement_scores(
    events: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    key_actions: Sequence[str] | None = None,
    window: str | pd.Timedelta = "90D",
    weights: Weights = None,
    half_life: str | pd.Timedelta | float | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """Engagement score of every known customer over the last ``window`` before ``end``.

    Parameters
    ----------
    events : pandas.DataFrame
        A validated events frame (``customer_id``, ``timestamp``, ``event_type``, optional
        ``duration`` in seconds).
    orders : pandas.DataFrame, optional
        Orders (or their customer summary): its customers are known customers, and its last
        order date is the default ``end``.
    customers : pandas.DataFrame, optional
        The customers table: its customers are known customers (those with a
        ``signup_date`` after ``end`` are not yet).
    key_actions : list of str, optional
        Event types counted by the ``actions`` component (default: every event).
    window : str or pandas.Timedelta, default "90D"
        Look-back: the ``window`` calendar days ending on ``end``.
    weights : mapping or sequence, optional
        Weights of ``frequency``, ``time``, ``actions`` (default equal).
    half_life : str, pandas.Timedelta or float, optional
        Recency decay (an extension, off by default): an event ``age`` days before ``end``
        counts ``0.5 ** (age / half_life)`` in every component. A number is in days.
    start : date-like, optional
        Accepted for a uniform signature; the look-back ignores it (DESIGN section 3).
    end : date-like, optional
        Default the last order date (the last event's day without orders).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), columns ``frequency`` (distinct active days),
        ``time`` (total duration, seconds; NaN when events carry no ``duration``),
        ``actions`` (key-action events) and ``score`` (0-100, higher is more engaged).

    Notes
    -----
    Each component is percentile-ranked across the customers with at least one event in
    the window (``rank(pct=True, method="average") * 100``); the score is their weighted
    mean. Known customers (in orders, customers or events up to ``end``) without an event
    in the window score 0. Without a ``duration`` column the time component is left out
    and the other weights renormalised.

    Examples
    --------
    >>> events = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-02"]),
    ...     "event_type": ["login", "review", "login"],
    ...     "duration": [60.0, 30.0, 10.0],
    ... })
    >>> engagement_scores(events, key_actions=["review"])
                 frequency  time  actions  score
    customer_id
    a                  2.0  90.0      1.0  100.0
    b                  1.0  10.0      0.0   50.0
    """
    func = "engagement_scores"
    key_actions, span, w, hl = _options(key_actions, window, weights, half_life, func)
    day = _end_of(events, orders, end)
    known = known_customers(events, orders, customers, day)
    return scores_for(
        events, known, day, key_actions=key_actions, span=span, weights=w, half_life=hl
    )


def engagement_score(
    events: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    key_actions: Sequence[str] | None = None,
    window: str | pd.Timedelta = "90D",
    weights: Weights = None,
    half_life: str | pd.Timedelta | float | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float:
    """Mean engagement score over the known customers (0-100, higher is more engaged).

    Parameters
    ----------
    events, orders, customers, key_actions, window, weights, half_life, start, end
        As in :func:`engagement_scores`.

    Returns
    -------
    float
        The mean ``score`` of :func:`engagement_scores`, 0-100.

    Notes
    -----
    Known customers without events in the window count with 0, so a large silent base pulls
    the mean down. NaN when there is no known customer.

    Examples
    --------
    >>> events = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-02"]),
    ...     "event_type": ["login", "review", "login"],
    ...     "duration": [60.0, 30.0, 10.0],
    ... })
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"]})
    >>> engagement_score(events, customers=customers, key_actions=["review"])  # (100 + 50 + 0) / 3
    50.0
    """
    scores = engagement_scores(
        events,
        orders,
        customers,
        key_actions=key_actions,
        window=window,
        weights=weights,
        half_life=half_life,
        start=start,
        end=end,
    )
    return float(scores["score"].mean()) if len(scores) else float("nan")
