"""The read: convert every column, check the table's rules, keep or reject rows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataValidationError
from ..schema import (
    AMOUNT_LIMIT,
    DATE_RANGE,
    DERIVED,
    POINT_TYPES,
    SCORE_SCALES,
    TABLES,
    TableSchema,
)
from ._arrow_text import _as_text, _decoded, _is_text, _np_bool, _pandas_text
from ._columns import _norm
from ._convert import _convert_bool, _convert_category, _convert_ids
from ._dates import _convert_dates
from ._numbers import _convert_numbers
from ._options import _check_options, _Options
from ._raw_input import _Lines, _Raw, _raw_input, _structural
from ._result import DateWarning, ReadReport, ReadResult, _attach

_MAX_LINES_SHOWN = 10
_FIRST, _AFTER = (np.datetime64(d, "ns") for d in DATE_RANGE)
_AFTER += np.timedelta64(1, "D")
_OUTSIDE_RANGE = f"date outside {DATE_RANGE[0]}..{DATE_RANGE[1]}"
_BEYOND_LIMIT = f"amount beyond +-{AMOUNT_LIMIT:g}"
_BAD_OFFSET = "UTC offset beyond +-14:00"
#: A date this long after 90% of its column's dates is flagged (a year read in the wrong
#: century, a typo).
_FAR_AFTER = np.timedelta64(2 * 366, "D")
_SPANS_LINES = (
    "a quoted value spans several lines (a stray quote took the lines after it into this row)"
)
_NUMERIC_KINDS = ("money", "number", "duration", "nps_score", "csat_score")


class _Problems:
    """Offending cells, collected column by column: (column, reason, row mask)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, np.ndarray]] = []

    def add(self, column: str, reason: str, mask: np.ndarray) -> None:
        if mask.any():
            self.items.append((column, reason, mask))

    def mask(self, column: str, n: int) -> np.ndarray:
        """Rows with any problem in ``column``."""
        out = np.zeros(n, dtype=bool)
        for c, _, m in self.items:
            if c == column:
                out |= m
        return out


def _read(table: str, source: Any, opts: _Options, func: str) -> ReadResult:
    _check_options(func, opts)
    schema = TABLES[table]
    raw = _raw_input(source, schema, opts)
    rows_read = raw.n_rows + raw.n_malformed
    if rows_read == 0:
        raise _structural(raw.source, table, "no data rows (the input has a header only)")
    kinds = {c: schema.columns[c].kind for c in raw.arrays}
    settings = raw.settings
    problems = _Problems()
    columns: dict[str, Any] = {}
    blanks: dict[str, np.ndarray] = {}

    # The ids, the costliest columns to convert, and the dates need nothing else: two more
    # threads convert them while this one parses the numbers (Arrow's kernels release the
    # GIL); their problems are recorded in column order below, as they always were, and the
    # dates' settings (their own dict: this thread records the numbers' meanwhile) land in
    # the read report where they always did. The dates' thread also finds their faults and
    # the spread of the kept dates (for the warnings at the end).
    pool = ThreadPoolExecutor(max_workers=2)
    dates = [c for c, k in kinds.items() if k == "date"]
    date_settings: dict[str, Any] = {}
    by_date = pool.submit(_dates_ahead, raw, dates, opts, date_settings, table)
    ids = {c: pool.submit(_convert_ids, raw.arrays[c]) for c, k in kinds.items() if k == "id"}
    pool.shutdown(wait=False)  # the threads end once the columns are converted
    numeric = {c: k for c, k in kinds.items() if k in _NUMERIC_KINDS}
    for c, (values, bad, blank) in _convert_numbers(raw.arrays, numeric, opts, settings).items():
        kind = numeric[c]
        problems.add(c, "unparseable number", bad)
        ok = ~bad & ~blank
        if kind == "duration":
            problems.add(c, "negative duration", ok & (values < 0))
        elif kind == "money":
            beyond = (values > AMOUNT_LIMIT) | (values < -AMOUNT_LIMIT)  # no abs() copy
            problems.add(c, _BEYOND_LIMIT, ok & beyond)
        elif kind in SCORE_SCALES:
            low, high, label = SCORE_SCALES[kind]
            fractional = ok & (values != np.round(values))
            problems.add(c, f"{label} not an integer", fractional)
            problems.add(
                c,
                f"{label} outside {low}-{high}",
                ok & ~fractional & ((values < low) | (values > high)),
            )
        columns[c] = values
        blanks[c] = blank
    _derive(table, raw, columns, blanks, problems)
    mapped = opts.columns or {}
    auto = {c: h for c, h in raw.columns.items() if _norm(h) != c and c not in mapped}
    if auto:
        settings["auto_mapped"] = auto
    converted_dates = by_date.result()
    settings.update(date_settings)
    for c, ahead in converted_dates.items():
        problems.add(c, "unparseable date", ahead.bad & ~ahead.offset & ~ahead.year)
        problems.add(c, _BAD_OFFSET, ahead.offset)
        problems.add(c, _OUTSIDE_RANGE, ahead.outside)
        columns[c] = ahead.values
        blanks[c] = ahead.blank
    for c, kind in kinds.items():
        if kind == "id":
            columns[c], blanks[c], bad = ids[c].result()
            problems.add(c, "float id not a whole number below 2**53: store ids as text", bad)
        elif kind == "category":
            columns[c], blanks[c] = _convert_category(raw.arrays[c])
        elif kind == "bool":
            columns[c], bad, blanks[c] = _convert_bool(raw.arrays[c])
            problems.add(c, "not a boolean (expected true/false, yes/no, 1/0)", bad)
        elif kind == "text":
            text = _as_text(raw.arrays[c])
            columns[c], blanks[c] = text, _np_bool(pc.is_null(text))
    if raw.multiline:
        for c, kind in kinds.items():
            problems.add(c, _SPANS_LINES, _swallowed_lines(kind, raw.arrays[c]))
    for c in kinds:
        col = schema.columns[c]
        if table == "surveys" and c == "score":
            # a blank score is a CSAT-only response when the row has a csat answer
            answered = np.zeros(raw.n_rows, dtype=bool)
            if "csat" in blanks:
                answered = ~blanks["csat"] & ~problems.mask("csat", raw.n_rows)
            problems.add(c, "blank score and no csat answer", blanks[c] & ~answered)
        elif not col.nullable:
            problems.add(c, "blank value", blanks[c])
    if table == "points":
        columns["type"] = _point_rules(columns, blanks, problems)
    settings.setdefault("thousands", opts.thousands if opts.thousands is not None else "auto")
    frame = _frame(schema, columns, raw.n_rows)
    warnings = _date_warnings(raw, converted_dates, problems)
    del converted_dates
    result = _finish(frame, raw, table, problems, rows_read, opts.errors, warnings)
    del raw, columns, blanks
    # Arrow's allocator keeps freed pages for reuse; hand the parse buffers back to the OS so
    # the next step (the customer summary) starts from what the frame really holds.
    pa.default_memory_pool().release_unused()
    return result


def _derive(
    table: str,
    raw: _Raw,
    columns: dict[str, Any],
    blanks: dict[str, np.ndarray],
    problems: _Problems,
) -> None:
    """Compute a required column the input lacks from its sources (amount = quantity *
    unit_price); a blank source is then a problem of the row, like a blank amount."""
    for target, sources in DERIVED.get(table, {}).items():
        if target in raw.arrays or not all(s in columns for s in sources):
            continue
        formula = " * ".join(sources)
        for source in sources:
            problems.add(source, f"blank value (needed for {target} = {formula})", blanks[source])
        columns[target] = np.prod([columns[s] for s in sources], axis=0)
        raw.settings[target] = formula


def _point_rules(
    columns: dict[str, Any], blanks: dict[str, np.ndarray], problems: _Problems
) -> pd.Categorical:
    """The ledger's ``type`` in lower case, checked, and the sign of ``points`` it demands."""
    kinds = columns["type"]
    names = pd.Index(kinds.categories).str.lower()
    uniq, inverse = np.unique(np.asarray(names, dtype=object), return_inverse=True)
    codes = np.asarray(kinds.codes)
    lowered = pd.Categorical.from_codes(
        np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1),
        categories=pd.Index(uniq, dtype="str"),
    )
    known = ", ".join(POINT_TYPES)
    problems.add(
        "type",
        f"unknown type (expected {known})",
        ~blanks["type"] & ~np.isin(np.asarray(lowered, dtype=object), list(POINT_TYPES)),
    )
    points = columns["points"]
    usable = ~blanks["points"] & ~problems.mask("points", len(points))
    for name, sign in POINT_TYPES.items():
        rows = usable & (np.asarray(lowered == name))
        if sign > 0:
            problems.add(
                "points", f"{name} row with negative points ({name} >= 0)", rows & (points < 0)
            )
        elif sign < 0:
            problems.add(
                "points",
                f"{name} row with positive points ({name} <= 0)",
                rows & (points > 0),
            )
    return lowered


def _date_faults(values: pa.ChunkedArray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Among the unparseable dates: a UTC offset beyond +-14:00; a year no timestamp holds.

    Only the bad rows are looked at again, so a clean column costs nothing.
    """
    offset = np.zeros(len(bad), dtype=bool)
    year = np.zeros(len(bad), dtype=bool)
    if not bad.any() or not _is_text(_decoded(values).type):
        return offset, year
    pos = np.flatnonzero(bad)
    text = pc.utf8_trim_whitespace(_as_text(values).take(pa.array(pos)))
    # an offset after a time (a date's "-15" is its day, not an offset)
    parts = pc.extract_regex(
        text, r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*[+-](?P<h>\d{2}):?(?P<m>\d{2})?$"
    )
    hours = pc.fill_null(pc.struct_field(parts, "h"), "0").cast(pa.int64()).to_numpy()
    minutes_text = pc.if_else(pc.equal(pc.struct_field(parts, "m"), ""), "0",
                              pc.struct_field(parts, "m"))  # fmt: skip
    minutes = pc.fill_null(minutes_text, "0").cast(pa.int64()).to_numpy()
    offset[pos] = _np_bool(pc.is_valid(parts)) & (
        (hours * 60 + minutes > 14 * 60) | (minutes >= 60)
    )
    # a four-digit year beyond what a timestamp holds (1650, 9999): outside the range
    years = pc.extract_regex(text, r"(?:^|\D)(?P<y>\d{4})(?:\D|$)")
    y = pc.fill_null(pc.struct_field(years, "y"), "2000").cast(pa.int64()).to_numpy()
    first, last = (int(d[:4]) for d in DATE_RANGE)
    year[pos] = _np_bool(pc.is_valid(years)) & ((y < first) | (y > last)) & ~offset[pos]
    return offset, year


@dataclass
class _Dates:
    """A converted date column (:func:`_dates_ahead`): its values, unparseable and blank
    rows, the faults among the unparseable ones and the rows outside the range; ``spread``:
    the latest and the 90% (lower) quantile of the dates kept when only these are left out
    (``kept``), None when none is."""

    values: np.ndarray
    bad: np.ndarray
    blank: np.ndarray
    offset: np.ndarray
    year: np.ndarray
    outside: np.ndarray
    kept: np.ndarray
    spread: tuple[np.datetime64, np.datetime64] | None


def _dates_ahead(
    raw: _Raw, names: list[str], opts: _Options, settings: dict[str, Any], table: str
) -> dict[str, _Dates]:
    """The date columns converted, with what their problems and warnings need (on a thread
    of its own: none of it depends on the other columns)."""
    out = {}
    for c, (values, bad, blank) in _convert_dates(
        raw.arrays, names, opts, settings, raw.source, table
    ).items():
        offset, year = _date_faults(raw.arrays[c], bad)
        outside = year | (~bad & ~blank & ((values < _FIRST) | (values >= _AFTER)))
        kept = ~np.isnat(values) & ~(bad | blank | offset | outside)
        out[c] = _Dates(values, bad, blank, offset, year, outside, kept, _spread(values, kept))
    return out


def _spread(values: np.ndarray, kept: np.ndarray) -> tuple[np.datetime64, np.datetime64] | None:
    """The latest and the 90% (lower) quantile of the ``kept`` dates; None when none is."""
    if not kept.any():
        return None
    # a copy (a plain one when every date counts): the quantile reorders it in place
    dates = (values.copy() if kept.all() else values[kept]).view(np.int64)
    latest = dates.max().view("M8[ns]")
    usual = np.quantile(dates, 0.9, method="lower", overwrite_input=True).view("M8[ns]")
    return latest, usual


def _date_warnings(raw: _Raw, dates: dict[str, _Dates], problems: _Problems) -> tuple[str, ...]:
    """Kept dates worth a look: after today, or far after the rest of their column.

    The dates kept are those with no problem in their column; when another rule than the
    dates' own left some out, their spread is computed again.
    """
    today = np.datetime64(pd.Timestamp.now().normalize().to_datetime64(), "ns")
    warnings = []
    for c, ahead in dates.items():
        values = ahead.values
        ok = ~np.isnat(values) & ~problems.mask(c, len(values))
        spread = ahead.spread if np.array_equal(ok, ahead.kept) else _spread(values, ok)
        if spread is None:
            continue
        latest, usual = spread
        # the masks only when some date is late enough (one max, not two full comparisons)
        none = np.zeros(len(values), dtype=bool)
        tomorrow = today + np.timedelta64(1, "D")
        future = ok & (values > tomorrow) if latest > tomorrow else none
        beyond = usual + _FAR_AFTER
        far = ok & ~future & (values > beyond) if latest > beyond else none
        for mask, kind, what in (
            (future, "after_today", f"after today ({str(today)[:10]})"),
            (
                far,
                "far_after",
                f"more than 2 years after 90% of the column (up to {str(usual)[:10]})",
            ),
        ):
            if mask.any():
                warnings.append(_date_warning(raw, c, values, mask, kind, what))
    return tuple(warnings)


def _date_warning(
    raw: _Raw, c: str, values: np.ndarray, mask: np.ndarray, kind: str, what: str
) -> DateWarning:
    pos = int(np.flatnonzero(mask)[0])
    line = int(raw.locate().rows[pos])
    noun = "line" if raw.csv_sep is not None else "row"
    text = _as_text(raw.arrays[c])[pos].as_py()
    n = int(mask.sum())
    message = (
        f"{raw.source}: column {c!r}: {n:,} date{'s' if n > 1 else ''} {what}, e.g. {noun} "
        f"{line}: {text!r} read as {str(values[pos])[:10]}"
    )
    rule = raw.settings.get("two_digit_years", {}).get(c)
    if rule:
        message += (
            f" (two-digit years are read {rule}; to read them otherwise set the file's layout, "
            'e.g. date_format = "%d/%m/%Y", under its table in loyalty.toml; date_format= in '
            "Python)"
        )
    return DateWarning(message, column=c, kind=kind, two_digit_years=bool(rule))


def _swallowed_lines(kind: str, values: pa.ChunkedArray) -> np.ndarray:
    """Rows where a quoted value spans lines in a column that cannot hold a line break.

    Ids, dates, numbers, booleans and categories (labels) cannot: a line break there is a
    stray quote that took the following lines into the value (issue 13: records reconcile
    with physical lines). Only free text (a survey comment, a ledger note) may hold one.
    """
    if kind == "text" or not _any_line_break(values):
        return np.zeros(len(values), dtype=bool)
    return _np_bool(pc.match_substring_regex(_as_text(values), "[\r\n]"))


def _any_line_break(values: pa.ChunkedArray) -> bool:
    """Whether a CR or LF occurs in the column's text: one scan of its data buffers."""
    for chunk in values.chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary
        data = chunk.buffers()[-1] if chunk.type in (pa.string(), pa.large_string()) else None
        if data is None:
            continue
        raw = np.frombuffer(data, dtype=np.uint8)
        if (raw == 10).any() or (raw == 13).any():
            return True
    return False


def _frame(schema: TableSchema, columns: dict[str, Any], n: int) -> pd.DataFrame:
    data = {}
    for c in schema.columns:
        if c not in columns:
            continue
        v = columns[c]
        if isinstance(v, pa.ChunkedArray):
            series = v.to_pandas()
            data[c] = series if series.dtype == "str" else _pandas_text(series)
        else:
            data[c] = pd.Series(v, copy=False)
    return pd.DataFrame(data, copy=False)


def _rows_text(lines: np.ndarray, csv_input: bool) -> str:
    noun = "line" if csv_input else "row"
    shown = ", ".join(str(x) for x in lines[:_MAX_LINES_SHOWN])
    more = f" (+{len(lines) - _MAX_LINES_SHOWN} more)" if len(lines) > _MAX_LINES_SHOWN else ""
    return f"{noun}{'s' if len(lines) > 1 else ''} {shown}{more}"


def _finish(
    frame: pd.DataFrame,
    raw: _Raw,
    table: str,
    problems: _Problems,
    rows_read: int,
    errors: str,
    warnings: tuple[str, ...] = (),
) -> ReadResult:
    schema_cols = list(raw.arrays)
    empty_problems = pd.DataFrame(
        {
            "line": pd.Series(dtype=np.int64),
            "column": pd.Series(dtype="str"),
            "value": pd.Series(dtype="str"),
            "reason": pd.Series(dtype="str"),
        }
    )
    if not problems.items and not raw.n_malformed:
        rejected = pd.DataFrame(
            {"line": pd.Series(dtype=np.int64)}
            | {c: pd.Series(dtype="str") for c in schema_cols}
            | {"reason": pd.Series(dtype="str")}
        )
        report = ReadReport(
            raw.source,
            table,
            rows_read,
            rows_read,
            0,
            rejected,
            empty_problems,
            dict(raw.columns),
            raw.settings,
            warnings,
        )
        return ReadResult(_attach(frame, report), report)

    lines = raw.locate()
    if not lines.exact:
        raw.settings["line_numbers"] = (
            "approximate (data row number + 1: blank lines and multi-line values not counted)"
        )
    csv_input = raw.csv_sep is not None
    order = {c: i for i, c in enumerate(schema_cols)}
    parts = []
    for column, reason, mask in problems.items:
        pos = np.flatnonzero(mask)
        values = _as_text(raw.arrays[column]).take(pa.array(pos)).to_pandas()
        parts.append(
            pd.DataFrame(
                {
                    "line": lines.rows[pos],
                    "column": column,
                    "value": _pandas_text(values).to_numpy(dtype=object),
                    "reason": reason,
                    "_pos": pos,
                    "_order": order[column],
                }
            )
        )
    if raw.n_malformed:
        found = pd.Series(lines.malformed_fields, dtype="int64").astype("str")
        reasons = (f"wrong number of fields (expected {raw.width}, found " + found + ")").to_numpy(
            dtype=object
        )
        parts.append(
            pd.DataFrame(
                {
                    "line": lines.malformed,
                    "column": "",
                    "value": "",
                    "reason": reasons,
                    "_pos": -1,
                    "_order": -1,
                }
            )
        )
    cells = pd.concat(parts, ignore_index=True).sort_values(["line", "_order"], kind="stable")
    cells = cells.reset_index(drop=True)
    problem_frame = cells[["line", "column", "value", "reason"]].astype({"line": np.int64})
    for c in ("column", "value", "reason"):
        problem_frame[c] = _pandas_text(problem_frame[c])
    if errors == "raise":
        raise DataValidationError(
            _message(raw, table, cells, csv_input),
            source=raw.source,
            table=table,
            problems=problem_frame,
        )

    bad_pos = np.unique(cells.loc[cells["_pos"] >= 0, "_pos"].to_numpy(dtype=np.int64))
    keep = np.ones(raw.n_rows, dtype=bool)
    keep[bad_pos] = False
    kept = frame.loc[keep].reset_index(drop=True)
    for c in kept.columns:
        if isinstance(kept[c].dtype, pd.CategoricalDtype):
            # categories seen only on rejected rows are not categories of the data
            kept[c] = kept[c].cat.remove_unused_categories()
    rejected = _rejected_frame(raw, cells, bad_pos, lines, schema_cols)
    report = ReadReport(
        raw.source,
        table,
        rows_read,
        len(kept),
        rows_read - len(kept),
        rejected,
        problem_frame,
        dict(raw.columns),
        raw.settings,
        warnings,
    )
    return ReadResult(_attach(kept, report), report)


def _rejected_frame(
    raw: _Raw, cells: pd.DataFrame, bad_pos: np.ndarray, lines: _Lines, schema_cols: list[str]
) -> pd.DataFrame:
    """One row per rejected input row: line, raw text values, reasons joined with '; '."""
    take = pa.array(bad_pos)
    data: dict[str, Any] = {"line": lines.rows[bad_pos]}
    for c in schema_cols:
        data[c] = _pandas_text(_as_text(raw.arrays[c]).take(take).to_pandas()).to_numpy(
            dtype=object
        )
    rows = pd.DataFrame(data)
    # Join each row's reasons in column order. Cells are sorted by line then column, so
    # a row's cells are adjacent; the loop runs over the k-th problem of every row at once
    # (k < number of columns), never over rows.
    located = cells[cells["_pos"] >= 0]
    idx = np.searchsorted(bad_pos, located["_pos"].to_numpy(dtype=np.int64))
    labels = (located["column"] + ": " + located["reason"]).to_numpy(dtype=object)
    first = np.r_[True, idx[1:] != idx[:-1]]
    group_start = np.flatnonzero(first)[np.cumsum(first) - 1]
    rank = np.arange(len(idx)) - group_start
    reason = np.full(len(bad_pos), "", dtype=object)
    for k in range(int(rank.max()) + 1 if len(rank) else 0):
        sel = rank == k
        joiner = "" if k == 0 else "; "
        reason[idx[sel]] = reason[idx[sel]] + joiner + labels[sel]
    rows["reason"] = reason
    malformed = cells[cells["_pos"] < 0]
    if len(malformed):
        extra = pd.DataFrame(
            {"line": malformed["line"].to_numpy()}
            | {c: np.full(len(malformed), np.nan, dtype=object) for c in schema_cols}
            | {"reason": malformed["reason"].to_numpy(dtype=object)}
        )
        rows = pd.concat([rows, extra], ignore_index=True)
    rows = rows.sort_values("line", kind="stable").reset_index(drop=True)
    rows = rows.astype({"line": np.int64})
    for c in [*schema_cols, "reason"]:
        rows[c] = _pandas_text(rows[c])
    return rows


def _message(raw: _Raw, table: str, cells: pd.DataFrame, csv_input: bool) -> str:
    groups = []
    for (column, reason), g in cells.groupby(["column", "reason"], sort=False):
        lines = np.unique(g["line"].to_numpy())
        where = _rows_text(lines, csv_input)
        if column:
            mapped = raw.columns.get(column)
            label = f"column {column!r}" + (
                f" (input column {mapped!r})" if mapped and mapped != column else ""
            )
            examples = [
                v
                for v in pd.unique(g["value"])
                if isinstance(v, str) and v.strip() not in ("", "nan")
            ][:3]
            ex = f" (e.g. {', '.join(repr(v) for v in examples)})" if examples else ""
            groups.append((int(lines[0]), f"{label}: {where}: {reason}{ex}"))
        else:
            groups.append((int(lines[0]), f"{where}: {reason}"))
    groups.sort(key=lambda g: g[0])
    n_rows = cells.loc[cells["_pos"] >= 0, "_pos"].nunique() + int((cells["_pos"] < 0).sum())
    first = f"{raw.source}: {groups[0][1]}"
    if len(groups) > 1:
        first += f" (and {len(groups) - 1} more problem{'s' if len(groups) > 2 else ''} below)"
    body = [f"  {text}" for _, text in groups[1:]]
    tail = (
        f"{n_rows:,} row{'s' if n_rows != 1 else ''} of the {table} input would be rejected; "
        "err.problems lists every offending cell; pass errors='reject' to keep the good rows "
        "(lm.rejected_rows(df) then returns the others)."
    )
    return "\n".join([first, *body, tail])
