"""Date columns: ISO, day-first / month-first, fixed layouts and explicit formats, vectorised.

Which parser reads what, and why (``benchmarks/bench_read_parsers.py``; 1M values, best of
3, the same run on a shared 2-core machine; the stock kernels were handed the format):

- ISO dates and timestamps: one Arrow cast (stock). 0.02 s against 0.24 s for
  ``pandas.to_datetime(format=)`` and 1.5 s for ``pyarrow.compute.strptime`` with the
  roll-over check it needs. With UTC offsets, the cast plus one regex match for offsets
  beyond +-14:00, which no stock kernel rejects: 0.12 s against 0.26 s and 2.2 s.
- ``dd/mm/yyyy`` in fixed width (``/ . -``; :func:`_fixed_layout`): the fields are cut at
  fixed positions and rebuilt as ISO text for the same cast. Hand-written because it wins:
  0.28-0.39 s against 1.1-1.5 s (pandas) and 1.2-1.5 s (strptime + check), and because no
  stock kernel tells day-first from month-first: the order comes from the fields above 12.
- Anything else (unpadded days, a mix of ISO and d/m/y, times, offsets, invalid values):
  regular expressions and civil-date arithmetic (:func:`_split_dates`, :func:`_compose_ns`,
  :func:`_days_from_civil`). Kept because a stock kernel takes one format per column and
  cannot decide the day/month order, and because it is still faster: 0.94 s against 1.33 s
  (strptime + check) and 1.54 s (pandas) on unpadded d/m/y with 5% blank or invalid
  values; it needs more memory (+254 MB against +105 MB at 1M values).
- An explicit ``date_format``: ``pandas.to_datetime(format=...)`` (stock), which rejects
  31/02 row by row. Arrow's ``strptime`` rolls impossible dates over, and its formatted-back
  check was slower (1.5 s against 0.24 s on ISO dates, level on slashed and dotted ones,
  pandas 1.16x slower on the mixed shape) and wrong for ``%S`` and ``%z`` formats.

Every path reports failures row by row and applies the same rules: impossible dates are
rejected (never rolled over), two-digit years follow :data:`TWO_DIGIT_YEARS`, offsets
beyond +-14:00 are rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow_text import _as_text, _cast_numpy, _decoded, _np_bool, _null_token_mask
from ._options import _Options
from ._raw_input import _structural

_NS_PER_DAY = 86_400 * 10**9
# datetime64[ns] spans 1677-09-21 .. 2262-04-11: years inside it are parsed; the reader then
# rejects dates outside schema.DATE_RANGE, the range the computations handle.
_MIN_YEAR, _MAX_YEAR = 1678, 2261
#: UTC offsets in use run from -12:00 to +14:00; anything beyond +-14:00 is a typo that
#: would shift the time by days.
_MAX_OFFSET_MINUTES = 14 * 60
#: Two-digit years, as POSIX strptime reads them: 00-68 are 2000-2068, 69-99 are 1969-1999.
TWO_DIGIT_YEARS = "00-68 -> 2000-2068, 69-99 -> 1969-1999 (POSIX)"
#: A trailing UTC offset beyond +-14:00 (hours 15-99; 14 with minutes) or with minutes above 59.
_BAD_OFFSET_RE = r"[+-](?:(?:1[5-9]|[2-9]\d):?(?:\d{2})?|14:?(?:0[1-9]|[1-5]\d)|\d{2}:?[6-9]\d)$"
_TZ_RE = r"(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})?$"

_TIME = (
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_ISO_RE = r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME
_DMY_RE = r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})" + _TIME


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 1, 12) - 1]
    return days + ((m == 2) & leap)


def _int_field(parts: pa.ChunkedArray, name: str, pad: int = 0) -> np.ndarray:
    f = pc.struct_field(parts, name)
    if pad:
        f = pc.utf8_rpad(f, width=pad, padding="0")
    f = pc.if_else(pc.equal(f, ""), "0", f)
    return np.asarray(pc.fill_null(f.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))


@dataclass
class _DateParts:
    """A text date column split by regular expressions, before the day/month order is known."""

    s: pa.ChunkedArray
    blank: np.ndarray
    iso: pa.ChunkedArray
    iso_ok: np.ndarray
    dmy: pa.ChunkedArray
    dmy_ok: np.ndarray
    a: np.ndarray
    b: np.ndarray
    first_over_12: int
    second_over_12: int
    example: str | None


def _split_dates(s: pa.ChunkedArray, blank: np.ndarray) -> _DateParts:
    """Split trimmed text dates with regular expressions (any mix of ISO and d/m/y)."""
    iso = pc.extract_regex(s, _ISO_RE)
    iso_ok = _np_bool(pc.is_valid(iso)) & ~blank
    dmy = pc.extract_regex(s, _DMY_RE)
    dmy_ok = _np_bool(pc.is_valid(dmy)) & ~blank & ~iso_ok
    a = _int_field(dmy, "a")
    b = _int_field(dmy, "b")
    first = int((dmy_ok & (a > 12)).sum())
    second = int((dmy_ok & (b > 12)).sum())
    example = None
    if dmy_ok.any():
        example = str(s.take(pa.array(np.flatnonzero(dmy_ok)[:1]))[0].as_py())
    return _DateParts(s, blank, iso, iso_ok, dmy, dmy_ok, a, b, first, second, example)


@dataclass
class _TextDates:
    """A text date column before its day/month order is known.

    Fixed-width ``dd/mm/yyyy[ hh:mm[:ss]]`` columns (any of ``/ . -``) take a fast path:
    the fields are cut at fixed positions and rebuilt as ISO text for one Arrow cast. Any
    other column, or a fixed-width one with an invalid date, is split by regular
    expressions (:func:`_split_dates`).
    """

    s: pa.ChunkedArray  # trimmed, "no value" tokens nulled
    blank: np.ndarray
    first_over_12: int = 0
    second_over_12: int = 0
    has_dmy: bool = False
    example: str | None = None
    fixed: dict[str, Any] | None = None
    parts: _DateParts | None = None

    def order(self, dayfirst: bool | None) -> bool | None:
        """True day-first, False month-first, None undecidable (no field above 12)."""
        if dayfirst is not None:
            return dayfirst
        if not self.has_dmy:
            return True  # no d/m/y values: the order does not matter
        if self.first_over_12 or self.second_over_12:
            # the majority wins; values contradicting it are rejected as unparseable
            return self.first_over_12 >= self.second_over_12
        return None

    def finish(self, dayfirst: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.fixed is not None:
            ns = _finish_fixed(self.fixed, dayfirst)
            if ns is not None:
                return ns, np.zeros(len(ns), dtype=bool), self.blank
            self.fixed = None
        if self.parts is None:
            self.parts = _split_dates(self.s, self.blank)
        return _finish_dates(self.parts, dayfirst)

    def two_digit_years(self) -> bool:
        """Whether some value has a two-digit year (read by :data:`TWO_DIGIT_YEARS`)."""
        if self.fixed is not None:
            return bool(self.fixed["short_year"])
        if self.parts is None or not self.parts.dmy_ok.any():
            return False
        short = pc.equal(pc.utf8_length(pc.struct_field(self.parts.dmy, "y")), 2)
        return bool((self.parts.dmy_ok & _np_bool(short)).any())


def _text_dates(arr: pa.ChunkedArray) -> _TextDates:
    s = pc.utf8_trim_whitespace(arr)
    blank = _null_token_mask(s)
    if blank.any():
        s = pc.if_else(pa.array(blank), pa.scalar(None, s.type), s)
    dates = _TextDates(s, blank)
    if blank.all():
        return dates
    dates.example = str(s[int(np.argmin(blank))].as_py())
    dates.fixed = _fixed_layout(s, dates.example)
    if dates.fixed is not None:
        a, b = dates.fixed["a"], dates.fixed["b"]
        dates.has_dmy = True
        dates.first_over_12, dates.second_over_12 = int((a > 12).sum()), int((b > 12).sum())
        return dates
    parts = dates.parts = _split_dates(s, blank)
    dates.has_dmy = bool(parts.dmy_ok.any())
    dates.first_over_12, dates.second_over_12 = parts.first_over_12, parts.second_over_12
    if dates.has_dmy:
        dates.example = parts.example
    return dates


_FIXED_RE = re.compile(r"(\d\d)([./-])(\d\d)\2(\d\d|\d{4})([T ]\d\d:\d\d(?::\d\d)?)?")


def _fixed_layout(s: pa.ChunkedArray, example: str) -> dict[str, Any] | None:
    """The fields of a column whose every value is ``dd/mm/yyyy`` shaped like ``example``."""
    m = _FIXED_RE.fullmatch(example)
    lengths = pc.min_max(pc.utf8_length(s)).as_py()
    if m is None or lengths["min"] != lengths["max"] or lengths["min"] != len(example):
        return None
    sep, ylen = m[2], len(m[4])

    def cut(start: int, stop: int) -> pa.ChunkedArray:
        return pc.utf8_slice_codeunits(s, start, stop)

    for pos in (2, 5):
        if not pc.all(pc.equal(cut(pos, pos + 1), sep)).as_py():
            return None
    fields = {"a_text": cut(0, 2), "b_text": cut(3, 5), "y_text": cut(6, 6 + ylen)}
    try:
        ints = {k[0]: fields[k].cast(pa.int16()) for k in ("a_text", "b_text", "y_text")}
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # not digits everywhere
    for k, v in ints.items():
        fields[k] = np.asarray(pc.fill_null(v, 0).to_numpy(zero_copy_only=False))
    fields["time"] = cut(6 + ylen, len(example)) if m[5] else None
    fields["short_year"] = ylen == 2
    return fields


def _finish_fixed(f: dict[str, Any], dayfirst: bool) -> np.ndarray | None:
    """Rebuild fixed-width d/m/y text as ISO text and cast it; None when a date is invalid."""
    day, month = (f["a_text"], f["b_text"]) if dayfirst else (f["b_text"], f["a_text"])
    year = f["y_text"]
    if f["short_year"]:
        # two-digit years: 00-68 -> 2000s, 69-99 -> 1900s (the POSIX strptime rule)
        century = pa.array(np.where(f["y"] < 69, "20", "19"))
        year = pc.binary_join_element_wise(century, year, "")
    iso = pc.binary_join_element_wise(year, month, day, "-")
    if f["time"] is not None:
        iso = pc.binary_join_element_wise(iso, f["time"], "")
    return _fast_dates(iso)


def _compose_ns(
    parts: pa.ChunkedArray, ok: np.ndarray, y: np.ndarray, m: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    zero = np.zeros(len(ok), dtype=np.int64)
    hh = mm = ss = frac = offset_min = zero
    if pc.any(pc.not_equal(pc.struct_field(parts, "H"), "")).as_py():  # some have a time
        hh, mm, ss = (_int_field(parts, k) for k in ("H", "M", "S"))
        frac = _int_field(parts, "f", pad=9)
    tz = pc.struct_field(parts, "tz")
    if pc.any(pc.not_equal(tz, "")).as_py():  # some have a UTC offset
        tzp = pc.extract_regex(pc.fill_null(tz, ""), "^" + _TZ_RE)
        sign = np.where(_np_bool(pc.equal(pc.struct_field(tzp, "sign"), "-")), -1, 1)
        tz_minutes = _int_field(tzp, "m")
        offset_min = sign * (_int_field(tzp, "h") * 60 + tz_minutes)
        ok = ok & (tz_minutes < 60) & (np.abs(offset_min) <= _MAX_OFFSET_MINUTES)
    ok = (
        ok
        & (y >= _MIN_YEAR)
        & (y <= _MAX_YEAR)
        & (m >= 1)
        & (m <= 12)
        & (d >= 1)
        & (d <= _days_in_month(y, m))
        & (hh < 24)
        & (mm < 60)
        & (ss < 60)
    )
    days = _days_from_civil(np.where(ok, y, 1970), np.where(ok, m, 1), np.where(ok, d, 1))
    seconds = ((days * 24 + hh) * 60 + mm - offset_min) * 60 + ss
    ns = seconds * 10**9 + frac
    return np.where(ok, ns, np.iinfo(np.int64).min), ok


def _finish_dates(parts: _DateParts, dayfirst: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ns = np.full(len(parts.blank), np.iinfo(np.int64).min, dtype=np.int64)
    ok = np.zeros(len(parts.blank), dtype=bool)
    if parts.iso_ok.any():
        y, m, d = (_int_field(parts.iso, k) for k in ("y", "m", "d"))
        v, good = _compose_ns(parts.iso, parts.iso_ok, y, m, d)
        ns = np.where(good, v, ns)
        ok |= good
    if parts.dmy_ok.any():
        y = _int_field(parts.dmy, "y")
        short = _np_bool(pc.equal(pc.utf8_length(pc.struct_field(parts.dmy, "y")), 2))
        # two-digit years: 00-68 -> 2000s, 69-99 -> 1900s (the POSIX strptime rule)
        y = np.where(short, np.where(y < 69, 2000 + y, 1900 + y), y)
        day, month = (parts.a, parts.b) if dayfirst else (parts.b, parts.a)
        v, good = _compose_ns(parts.dmy, parts.dmy_ok, y, month, day)
        ns = np.where(good, v, ns)
        ok |= good
    bad = ~ok & ~parts.blank
    return ns.view("datetime64[ns]"), bad, parts.blank


def _timestamps(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A typed timestamp/date column as naive UTC datetime64[ns]."""
    t = arr.type
    blank = _np_bool(pc.is_null(arr))
    if pa.types.is_timestamp(t):
        per_unit = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[t.unit]
        v = np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))
    elif pa.types.is_date32(t):
        per_unit = _NS_PER_DAY
        v = np.asarray(
            pc.fill_null(arr.cast(pa.int32()), 0).to_numpy(zero_copy_only=False)
        ).astype(np.int64)
    else:  # date64: milliseconds
        per_unit = 10**6
        v = np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))
    limit = np.iinfo(np.int64).max // per_unit - 1
    bad = ~blank & (np.abs(v) > limit)
    ns = np.where(bad | blank, np.iinfo(np.int64).min, v * per_unit)
    return ns.view("datetime64[ns]"), bad, blank


def _fast_dates(arr: pa.ChunkedArray) -> np.ndarray | None:
    """ISO text parsed by one Arrow cast (naive, or all with offsets -> UTC); None if not.

    Arrow takes any offset (``+99:99``): a column with one beyond +-14:00 goes the slow
    way, which rejects those values.
    """
    for target in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        ns = _cast_numpy(arr, target, np.iinfo(np.int64).min)
        if ns is not None:
            if target.tz is not None and not _offsets_in_range(arr):
                return None
            return ns.view("datetime64[ns]")
    return None


def _offsets_in_range(arr: pa.ChunkedArray) -> bool:
    # one match of the bad offsets: 6x less time at 10M values than extracting and
    # converting hours and minutes (benchmarks/bench_read_parsers.py, iso_offset)
    return not pc.any(pc.match_substring_regex(arr, _BAD_OFFSET_RE)).as_py()


def _formatted_dates(
    arr: pa.ChunkedArray, date_format: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text dates in an explicit strptime format, by ``pandas.to_datetime(format=...)``.

    pandas rejects impossible dates (31/02) row by row, where Arrow's ``strptime`` rolls
    them over to 2 March and needed each date formatted back and compared with its text
    (see the module docstring for the figures). Offsets beyond +-14:00 (``%z``) are rejected as everywhere else; dates a
    nanosecond timestamp cannot hold are unparseable, as on the other paths.
    """
    s = pc.utf8_trim_whitespace(arr)
    blank = _null_token_mask(s)
    with_zone = "%z" in date_format or "%Z" in date_format
    parsed = pd.to_datetime(
        pd.Series(s.to_pandas(), copy=False), format=date_format, errors="coerce", utc=with_zone
    )
    if with_zone:
        parsed = parsed.dt.tz_localize(None)
    values = parsed.to_numpy()  # pandas picks the unit: microseconds unless given finer
    low, high = (
        np.datetime64(t).astype(values.dtype) for t in (pd.Timestamp.min, pd.Timestamp.max)
    )
    ok = ~np.isnat(values) & (values >= low) & (values <= high)
    if with_zone:
        ok &= ~_np_bool(pc.match_substring_regex(s, _BAD_OFFSET_RE))
    ns = np.where(ok, values, np.datetime64("NaT")).astype("datetime64[ns]")
    return ns, ~ok & ~blank, blank


def _convert_dates(
    raw: dict[str, pa.ChunkedArray],
    names: list[str],
    opts: _Options,
    settings: dict[str, Any],
    source: str,
    table: str,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    order: dict[str, bool | None] = {}
    pending: dict[str, _TextDates] = {}
    for c in names:
        arr = _decoded(raw[c])
        if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
            out[c] = _timestamps(arr)
            continue
        arr = _as_text(arr)
        if opts.date_format:
            out[c] = _formatted_dates(arr, opts.date_format)
            continue
        fast = _fast_dates(arr)
        if fast is not None:
            out[c] = (fast, np.zeros(len(fast), dtype=bool), np.isnat(fast))
            continue
        pending[c] = _text_dates(arr)
        order[c] = pending[c].order(opts.dayfirst)
    decided = {v for c, v in order.items() if v is not None and pending[c].has_dmy}
    for c, dates in pending.items():
        dayfirst = order[c]
        if dayfirst is None:
            # an ambiguous column follows the other date columns of the same input
            if len(decided) != 1:
                raise _structural(
                    source,
                    table,
                    f"column {c!r}: dates such as {dates.example!r} could be day-first or "
                    f"month-first and no value has a day above 12; set dayfirst = true (or "
                    f'false, or date_format = "%d.%m.%Y") under [{table}] in loyalty.toml '
                    "(dayfirst= in Python)",
                )
            dayfirst = next(iter(decided))
        if dates.has_dmy:
            settings.setdefault("dayfirst", {})[c] = dayfirst
        out[c] = dates.finish(dayfirst)
        if dates.two_digit_years():
            settings.setdefault("two_digit_years", {})[c] = TWO_DIGIT_YEARS
    if opts.date_format:
        settings["date_format"] = opts.date_format
    return out
