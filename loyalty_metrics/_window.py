"""The observation window (DESIGN section 3), shared by every time-dependent function.

``start`` and ``end`` are inclusive calendar dates: a row at 18:00 on ``end`` is inside.
Internally the window is ``start <= t < end + 1 day``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

DateLike: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp | np.datetime64

ONE_DAY = pd.Timedelta(days=1)
DAYS_PER_YEAR = 365.25
# Whole years a nanosecond timestamp holds (1677-09-21 .. 2262-04-11); readers and CLI options
# keep to the narrower schema.DATE_RANGE.
_HELD = ("1678-01-01", "2261-12-31")
_FIRST_HELD, _LAST_HELD = (pd.Timestamp(day) for day in _HELD)
#: The longest window: differences of two timestamps must stay under pandas.Timedelta's
#: 292 years, look-backs included.
MAX_WINDOW_YEARS = 250


def to_day(value: DateLike | None, *, name: str = "date") -> pd.Timestamp | None:
    """Parse ``value`` into a midnight :class:`pandas.Timestamp` (``None`` stays ``None``).

    A date no nanosecond timestamp holds (before 1678 or after 2261) is refused like a
    value that is not a date.

    Examples
    --------
    >>> to_day("2024-03-05 18:00")
    Timestamp('2024-03-05 00:00:00')
    >>> to_day(None) is None
    True
    >>> to_day("9999-12-31", name="end")
    Traceback (most recent call last):
    ...
    ValueError: The 'end' parameter must be a date from 1678-01-01 to 2261-12-31; got '9999-12-31'.
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"The {name!r} parameter must be a date; got {value!r}.") from exc
    if ts is pd.NaT:
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    if not _FIRST_HELD <= ts < _LAST_HELD + ONE_DAY:
        raise ValueError(
            f"The {name!r} parameter must be a date from {_HELD[0]} to {_HELD[1]}; got {value!r}."
        )
    return ts.normalize().as_unit("ns")


@dataclass(frozen=True)
class Window:
    """An inclusive window of calendar days; ``start``/``end`` are NaT when there is no data."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def end_exclusive(self) -> pd.Timestamp:
        """The first instant after the window."""
        return self.end + ONE_DAY

    @property
    def years(self) -> float:
        """Length in years: ``((end - start).days + 1) / 365.25``; NaN for an empty window."""
        if pd.isna(self.start) or pd.isna(self.end):
            return float("nan")
        return ((self.end - self.start).days + 1) / DAYS_PER_YEAR

    @property
    def empty(self) -> bool:
        """True when there was no data to set the window from."""
        return bool(pd.isna(self.start) or pd.isna(self.end))

    def contains(self, dates: pd.Series | np.ndarray) -> np.ndarray:
        """Boolean mask of ``dates`` inside the window (NaT is outside)."""
        values = _datetimes(dates)
        if self.empty:
            return np.zeros(len(values), dtype=bool)
        return (values >= self.start.to_datetime64()) & (
            values < self.end_exclusive.to_datetime64()
        )

    def up_to_end(self, dates: pd.Series | np.ndarray) -> np.ndarray:
        """Boolean mask of ``dates`` on or before ``end`` (look-backs ignore ``start``)."""
        values = _datetimes(dates)
        if self.empty:
            return np.zeros(len(values), dtype=bool)
        return values < self.end_exclusive.to_datetime64()


def _datetimes(dates: pd.Series | np.ndarray) -> np.ndarray:
    # Series.to_numpy, not np.asarray: asarray probes attributes that fall through to a
    # lookup in the index, which hashes a customer index of millions of strings.
    if isinstance(dates, pd.Series | pd.Index):
        return dates.to_numpy(dtype="datetime64[ns]")
    return np.asarray(dates, dtype="datetime64[ns]")


def resolve_window(
    dates: pd.Series, start: DateLike | None = None, end: DateLike | None = None
) -> Window:
    """The window for ``dates``: ``end`` defaults to the last date, ``start`` to the first.

    Only dates on or before ``end`` are looked at, so a default ``start`` never depends on
    data after ``end``.

    Examples
    --------
    >>> d = pd.Series(pd.to_datetime(["2024-01-03 10:00", "2024-02-01 00:00", "2024-03-09 18:00"]))
    >>> w = resolve_window(d)
    >>> (str(w.start.date()), str(w.end.date()), round(w.years, 4))
    ('2024-01-03', '2024-03-09', 0.1834)
    >>> resolve_window(d, end="2024-02-15").end
    Timestamp('2024-02-15 00:00:00')
    """
    start_day = to_day(start, name="start")
    end_day = to_day(end, name="end")
    values = pd.to_datetime(pd.Series(dates), errors="coerce")
    if end_day is None:
        last = values.max()
        end_day = pd.NaT if pd.isna(last) else last.normalize()
    if start_day is None:
        if pd.isna(end_day):
            start_day = pd.NaT
        else:
            first = values[values < end_day + ONE_DAY].min()
            start_day = end_day if pd.isna(first) else first.normalize()
    return checked_window(start_day, end_day)


def checked_window(start_day: pd.Timestamp, end_day: pd.Timestamp) -> Window:
    """The window ``start_day..end_day`` (days or NaT), refused when it is upside down or
    longer than ``MAX_WINDOW_YEARS``.

    Examples
    --------
    >>> checked_window(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31")).years > 0
    True
    """
    if not pd.isna(start_day) and not pd.isna(end_day):
        if start_day > end_day:
            raise ValueError(f"start ({start_day.date()}) is after end ({end_day.date()}).")
        if end_day.year - start_day.year > MAX_WINDOW_YEARS:
            raise ValueError(
                f"The window {start_day.date()} to {end_day.date()} spans more than "
                f"{MAX_WINDOW_YEARS} years; give a later start."
            )
    return Window(start=start_day, end=end_day)


def period_status(
    ends: pd.DatetimeIndex | Sequence[DateLike],
    freq: str,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> list[str]:
    """``"complete"`` or ``"partial"`` for each period, given by a day inside it (its end).

    A period is partial when the window ``start``..``end`` does not hold all of its calendar
    days: the period holding ``end`` (a 9-day final month), or the one holding a ``start``
    that is not its first day. A partial period's figures are not comparable with the others'
    (a revenue "collapse" in a 9-day month): reports, tables and exports mark them.

    Examples
    --------
    >>> ends = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-09"])
    >>> period_status(ends, "M", start="2024-01-01", end="2024-03-09")
    ['complete', 'complete', 'partial']
    >>> period_status(ends, "M", start="2024-01-15", end="2024-03-31")
    ['partial', 'complete', 'complete']
    """
    periods = pd.DatetimeIndex(pd.to_datetime(list(ends))).to_period(freq)
    first_day, last_day = to_day(start, name="start"), to_day(end, name="end")
    out = []
    for period in periods:
        partial = (last_day is not None and period.end_time.normalize() > last_day) or (
            first_day is not None and period.start_time.normalize() < first_day
        )
        out.append("partial" if partial else "complete")
    return out
