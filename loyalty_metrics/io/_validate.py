"""The read: convert every column, check the table's rules, keep or reject rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataValidationError
from ..schema import TABLES, TableSchema
from ._arrow_text import _as_text, _np_bool, _pandas_text
from ._convert import _convert_bool, _convert_category, _convert_ids
from ._dates import _convert_dates
from ._numbers import _convert_numbers
from ._options import _check_options, _Options
from ._raw_input import _Lines, _Raw, _raw_input, _structural
from ._result import ReadReport, ReadResult, _attach

_MAX_LINES_SHOWN = 10
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

    numeric = {c: k for c, k in kinds.items() if k in _NUMERIC_KINDS}
    for c, (values, bad, blank) in _convert_numbers(raw.arrays, numeric, opts, settings).items():
        kind = numeric[c]
        problems.add(c, "unparseable number", bad)
        ok = ~bad & ~blank
        if kind == "duration":
            problems.add(c, "negative duration", ok & (values < 0))
        elif kind in ("nps_score", "csat_score"):
            low, high, label = (0, 10, "NPS score") if kind == "nps_score" else (1, 5, "CSAT")
            fractional = ok & (values != np.round(values))
            problems.add(c, f"{label} not an integer", fractional)
            problems.add(
                c,
                f"{label} outside {low}-{high}",
                ok & ~fractional & ((values < low) | (values > high)),
            )
        columns[c] = values
        blanks[c] = blank
    dates = [c for c, k in kinds.items() if k == "date"]
    for c, (values, bad, blank) in _convert_dates(
        raw.arrays, dates, opts, settings, raw.source, table
    ).items():
        problems.add(c, "unparseable date", bad)
        columns[c] = values
        blanks[c] = blank
    for c, kind in kinds.items():
        if kind == "id":
            columns[c], blanks[c] = _convert_ids(raw.arrays[c])
        elif kind == "category":
            columns[c], blanks[c] = _convert_category(raw.arrays[c])
        elif kind == "bool":
            columns[c], bad, blanks[c] = _convert_bool(raw.arrays[c])
            problems.add(c, "not a boolean (expected true/false, yes/no, 1/0)", bad)
        elif kind == "text":
            text = _as_text(raw.arrays[c])
            columns[c], blanks[c] = text, _np_bool(pc.is_null(text))
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
    settings.setdefault("thousands", opts.thousands if opts.thousands is not None else "auto")
    frame = _frame(schema, columns, raw.n_rows)
    result = _finish(frame, raw, table, problems, rows_read, opts.errors)
    del raw, columns, blanks
    # Arrow's allocator keeps freed pages for reuse; hand the parse buffers back to the OS so
    # the next step (the customer summary) starts from what the frame really holds.
    pa.default_memory_pool().release_unused()
    return result


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
