"""Private helpers shared by the metric modules: parameter checks, spans, periods, breakdowns."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from .._stats import wilson_interval
from .._validation import validate_orders
from .._window import ONE_DAY, DateLike, Window, resolve_window, to_day
from ..errors import ConfigError
from ..summary import customer_summary, is_customer_summary, summary_window
from ..summary import total_revenue as total_revenue  # re-exported for the metric modules

#: A breakdown row is flagged ``low_n`` below this many units...
LOW_N = 30
#: ...or when its interval's half-width exceeds this many points.
MAX_HALF_WIDTH = 10.0

RATE_COLUMNS = ("n", "successes", "ci_low", "ci_high", "low_n")

Span: TypeAlias = pd.Timedelta | pd.DateOffset
By: TypeAlias = str | pd.Series | None


# ---------------------------------------------------------------------------------------------
# Parameter checks (sklearn wording: "The 'x' parameter of f must be ... Got ... instead.")


def check_option(value: Any, allowed: Iterable[Any], *, name: str, func: str) -> Any:
    """Return ``value`` when it is one of ``allowed``, else raise a ConfigError."""
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ConfigError(
            f"The {name!r} parameter of {func} must be one of {{{choices}}}. Got {value!r} instead."
        )
    return value


def check_number(
    value: Any, *, name: str, func: str, low: float | None = None, open_low: bool = False
) -> float:
    """A real number (not bool), optionally bounded below."""
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.number)
    if ok:
        value = float(value)
        ok = not np.isnan(value)
        if ok and low is not None:
            ok = value > low if open_low else value >= low
    if not ok:
        bound = "" if low is None else f" {'>' if open_low else '>='} {low:g}"
        raise ConfigError(
            f"The {name!r} parameter of {func} must be a number{bound}. Got {value!r} instead."
        )
    return float(value)


_SPAN = re.compile(r"^\s*(\d+)\s*(D|W|M|MS|ME|Q|QE|QS|Y|YE|YS|A)\s*$", re.IGNORECASE)


def parse_span(value: Any, *, name: str, func: str) -> Span:
    """A look-back length: ``"90D"``, ``"12W"``, ``"3M"``, ``"1Y"``, a Timedelta or a DateOffset.

    Days and weeks are exact lengths; months, quarters and years are calendar offsets
    (``2024-03-31 - 1M`` is ``2024-02-29``).
    """
    if isinstance(value, pd.Timedelta | pd.DateOffset) and not isinstance(value, bool):
        span = value
    elif isinstance(value, str) and (match := _SPAN.match(value)):
        count, unit = int(match.group(1)), match.group(2).upper()
        if unit == "D":
            span = pd.Timedelta(days=count)
        elif unit == "W":
            span = pd.Timedelta(weeks=count)
        elif unit in ("M", "MS", "ME"):
            span = pd.DateOffset(months=count)
        elif unit in ("Q", "QE", "QS"):
            span = pd.DateOffset(months=3 * count)
        else:
            span = pd.DateOffset(years=count)
    else:
        span = None
    if span is None or (isinstance(span, pd.Timedelta) and span <= pd.Timedelta(0)):
        raise ConfigError(
            f"The {name!r} parameter of {func} must be a positive period such as '90D', "
            f"'12W', '3M' or '1Y'. Got {value!r} instead."
        )
    return span


def parse_trend_window(window: Any, *, func: str) -> Span | None:
    """``window`` of a KPI trend: ``"expanding"`` or ``"period"`` (None), else a trailing span.

    >>> parse_trend_window("expanding", func="kpis_by_period") is None
    True
    >>> parse_trend_window("90D", func="kpis_by_period")
    Timedelta('90 days 00:00:00')
    """
    if isinstance(window, str) and window in ("expanding", "period"):
        return None
    try:
        return parse_span(window, name="window", func=func)
    except ValueError:
        check_option(window, ("expanding", "period"), name="window", func=func)
        raise


def check_freq(freq: Any, *, func: str) -> str:
    """A pandas period alias ("D", "W", "M", "Q", "Y", ...)."""
    try:
        if not isinstance(freq, str):
            raise TypeError
        pd.Period("2000-01-01", freq=freq)
    except (TypeError, ValueError):
        raise ConfigError(
            f"The 'freq' parameter of {func} must be a period alias such as 'D', 'W', 'M', 'Q' "
            f"or 'Y'. Got {freq!r} instead."
        ) from None
    return freq


def check_weights(
    weights: Mapping[str, float] | Sequence[float] | None,
    names: Sequence[str],
    *,
    func: str,
    name: str = "weights",
) -> np.ndarray:
    """Weights as an array in ``names`` order (equal weights when None)."""
    if weights is None:
        return np.ones(len(names))
    if isinstance(weights, Mapping):
        unknown = sorted(set(weights) - set(names))
        missing = [n for n in names if n not in weights]
        if unknown or missing:
            raise ConfigError(
                f"The {name!r} parameter of {func} must have the keys {list(names)}. "
                f"Got {sorted(weights)} instead."
            )
        values = [weights[n] for n in names]
    else:
        values = list(weights)
    ok = len(values) == len(names) and all(
        not isinstance(v, bool) and isinstance(v, int | float | np.number) and v >= 0
        for v in values
    )
    if not ok or sum(values) <= 0:
        raise ConfigError(
            f"The {name!r} parameter of {func} must be {len(names)} non-negative numbers "
            f"(not all zero) for {list(names)}. Got {weights!r} instead."
        )
    return np.asarray(values, dtype="float64")


# ---------------------------------------------------------------------------------------------
# Orders or summary.


def get_summary(
    orders: pd.DataFrame, start: DateLike | None, end: DateLike | None, *, func: str
) -> pd.DataFrame:
    """The customer summary of ``orders`` (or ``orders`` itself when it already is one).

    A summary was computed over one window; asking for another is an error, not a silent
    recomputation (the order lines are gone).
    """
    if is_customer_summary(orders):
        window = summary_window(orders)
        for label, given, actual in (("start", start, window.start), ("end", end, window.end)):
            day = to_day(given, name=label)
            if day is not None and not (pd.isna(actual) or day == actual):
                raise ConfigError(
                    f"{func} was given a customer summary computed with {label}="
                    f"{actual.date()} but {label}={day.date()}; pass the orders frame, or a "
                    "summary of that window."
                )
        return orders
    return customer_summary(orders, start=start, end=end)


def require_orders(orders: pd.DataFrame, *, func: str, why: str) -> None:
    """Refuse a customer summary where the order lines are needed."""
    if is_customer_summary(orders):
        raise ConfigError(f"{func} needs the orders frame, not a customer summary: {why}.")


def require_order_lines(orders: Any, *, func: str) -> None:
    """Say what was passed and what is expected when ``orders`` is not an orders frame.

    (Missing columns of an orders frame are the entry checks' to report, with the readers'
    wording: see :mod:`loyalty_metrics._validation`.)

    Examples
    --------
    >>> require_order_lines([1, 2], func="kpis")
    Traceback (most recent call last):
    ...
    TypeError: kpis needs the order lines (columns customer_id, order_date, amount, as read_orders returns); got list.
    """
    expected = "the order lines (columns customer_id, order_date, amount, as read_orders returns)"
    if not isinstance(orders, pd.DataFrame):
        raise TypeError(f"{func} needs {expected}; got {type(orders).__name__}.")
    if is_customer_summary(orders):
        raise ConfigError(
            f"{func} needs {expected}, not a customer summary: it nets the orders and measures "
            f"churn and new customers from the lines. Pass the frame you gave customer_summary."
        )


def orders_window(orders: pd.DataFrame, start: DateLike | None, end: DateLike | None) -> Window:
    """The window of an orders frame or a summary."""
    if is_customer_summary(orders):
        return summary_window(orders)
    validate_orders(orders)
    return resolve_window(orders["order_date"], start, end)


def new_customer_mask(summary: pd.DataFrame) -> np.ndarray:
    """Customers whose first purchase ever falls in the summary's window."""
    window = summary_window(summary)
    if window.empty:
        return np.zeros(len(summary), dtype=bool)
    return window.contains(summary["first_purchase_ever"])


# ---------------------------------------------------------------------------------------------
# Time.


def day_after(span_end: pd.Timestamp, span: Span) -> pd.Timestamp:
    """First day of the interval ``(span_end - span, span_end]`` of whole days."""
    return (span_end - span) + ONE_DAY


def periods(window: Window, freq: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """``(first day, last day)`` of each calendar period of ``freq`` overlapping ``window``.

    The first and the last period are clipped to the window, so the last period of a window
    that ends mid-month is labelled with the window's end (nothing after ``end`` is used).
    """
    if window.empty:
        return []
    spans = pd.period_range(window.start.to_period(freq), window.end.to_period(freq), freq=freq)
    out = []
    for period in spans:
        first = max(period.start_time.normalize(), window.start)
        last = min(period.end_time.normalize(), window.end)
        out.append((first, last))
    return out


def trend_windows(overall: Window, freq: str, window: Any, trailing: Span | None) -> list[Window]:
    """The window of each row of a KPI trend (``window`` and ``trailing`` as
    :func:`parse_trend_window` read them): ``"period"`` the period alone, a trailing span the
    span up to the period's end (not before ``overall.start``), else ``overall.start`` to it.

    >>> w = Window(start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2024-02-10"))
    >>> [(r.start.day, r.end.day) for r in trend_windows(w, "M", "period", None)]
    [(1, 31), (1, 10)]
    """
    rows = []
    for first, last in periods(overall, freq):
        if window == "period":
            start = first
        elif trailing is not None:
            start = max(day_after(last, trailing), overall.start)
        else:
            start = overall.start
        rows.append(Window(start=start, end=last))
    return rows


def period_labels(dates: pd.Series, window: Window, freq: str) -> pd.Series:
    """Each date's period label: the period's last day, clipped to the window's end."""
    ends = dates.dt.to_period(freq).dt.end_time.dt.normalize()
    return ends.where(ends <= window.end, window.end).astype("datetime64[ns]")


# ---------------------------------------------------------------------------------------------
# Breakdowns.


def group_key(units: pd.DataFrame, by: By, *, func: str, what: str) -> pd.Series:
    """The group of each unit: a column of ``units`` or a customer_id -> group mapping."""
    if isinstance(by, str):
        if by not in units.columns:
            columns = [c for c in units.columns if not c.startswith("_")]
            raise ConfigError(
                f"The 'by' parameter of {func} must name a column of the {what} "
                f"({', '.join(columns)}) or be a Series mapping customer_id to a group. "
                f"Got {by!r} instead."
            )
        key = units[by]
        name = by
    elif isinstance(by, pd.Series):
        ids = units["customer_id"] if "customer_id" in units.columns else units.index.to_series()
        key = pd.Series(ids.map(by).to_numpy(), index=units.index)
        name = by.name if isinstance(by.name, str) else "group"
    else:
        raise ConfigError(
            f"The 'by' parameter of {func} must be a column name or a Series mapping "
            f"customer_id to a group. Got {type(by).__name__} instead."
        )
    if isinstance(key.dtype, pd.CategoricalDtype):
        key = key.astype(object)
    return key.rename(name)


def rate_frame(
    successes: np.ndarray | pd.Series,
    n: np.ndarray | pd.Series,
    *,
    index: pd.Index,
    name: str,
    level: float,
) -> pd.DataFrame:
    """The tidy rate table: the rate (0-100), n, successes, Wilson interval and ``low_n``."""
    k = np.asarray(successes, dtype="float64")
    m = np.asarray(n, dtype="float64")
    low, high = wilson_interval(k, m, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(m > 0, 100 * k / np.where(m > 0, m, 1), np.nan)
    frame = pd.DataFrame(
        {
            name: rate,
            "n": m.astype("int64"),
            "successes": k.astype("int64"),
            "ci_low": low,
            "ci_high": high,
        },
        index=index,
    )
    frame["low_n"] = flag_low_n(frame["n"].to_numpy(), low, high)
    return frame


def flag_low_n(n: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """True where n < 30 or the interval's half-width exceeds 10 points (or is undefined)."""
    half = (np.asarray(high) - np.asarray(low)) / 2
    with np.errstate(invalid="ignore"):
        wide = ~(half <= MAX_HALF_WIDTH)
    return (np.asarray(n) < LOW_N) | wide


def rate_breakdown(
    units: Callable[[pd.Timestamp | None, pd.Timestamp | None], pd.DataFrame],
    *,
    window: Window,
    by: By,
    freq: str | None,
    name: str,
    level: float,
    func: str,
    what: str,
) -> pd.DataFrame:
    """Group a rate's units (one bool ``_hit`` per unit) by ``by`` and/or period of ``freq``.

    ``units(first_day, last_day)`` returns the units of one window (None, None: the whole one).
    """
    if freq is None:
        return _grouped(units(None, None), by=by, name=name, level=level, func=func, what=what)
    check_freq(freq, func=func)
    pieces = {}
    for first, last in periods(window, freq):
        pieces[last] = _grouped(
            units(first, last), by=by, name=name, level=level, func=func, what=what
        )
    if not pieces:
        return empty_rate_frame(name)
    frame = pd.concat(pieces, names=["period_end"])
    if by is None:
        frame.index = frame.index.droplevel(1)
        frame.index = pd.DatetimeIndex(frame.index, name="period_end")
    return frame


def _grouped(
    units: pd.DataFrame, *, by: By, name: str, level: float, func: str, what: str
) -> pd.DataFrame:
    hit = units["_hit"].to_numpy(dtype=bool)
    if by is None:
        return rate_frame([hit.sum()], [len(hit)], index=pd.Index(["all"]), name=name, level=level)
    key = group_key(units, by, func=func, what=what)
    counts = pd.DataFrame({"k": hit.astype("int64"), "g": key.to_numpy()})
    grouped = counts.groupby("g", sort=True, dropna=True)["k"].agg(["sum", "size"])
    grouped.index.name = key.name
    return rate_frame(grouped["sum"], grouped["size"], index=grouped.index, name=name, level=level)


def empty_rate_frame(name: str) -> pd.DataFrame:
    """A rate table with no rows (the columns and dtypes of a full one)."""
    return rate_frame([], [], index=pd.Index([]), name=name, level=0.95)


def rate_scalar(hit: np.ndarray) -> float:
    """100 * share of True; NaN for no units."""
    hit = np.asarray(hit, dtype=bool)
    return float(100 * hit.mean()) if len(hit) else float("nan")


def summary_units(
    summary: pd.DataFrame, hit: np.ndarray, mask: np.ndarray | None = None
) -> pd.DataFrame:
    """Units of a customer-level rate: the summary's columns, ``customer_id`` and ``_hit``."""
    units = summary if mask is None else summary.loc[mask]
    hit = hit if mask is None else hit[mask]
    out = units.assign(_hit=hit)
    out.insert(0, "customer_id", out.index.to_numpy())
    return out
