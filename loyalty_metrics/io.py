"""Readers: CSV, gzip CSV, Parquet or a DataFrame in; validated, canonical frames out.

Every reader maps the input's columns onto the canonical ones of :data:`schema.TABLES`,
parses each column by its kind, checks the table's rules on every row at once (vectorised)
and either raises one :class:`~loyalty_metrics.errors.DataValidationError` naming every
problem (``errors="raise"``) or keeps the good rows and records the rejected ones
(``errors="reject"``) in a :class:`ReadReport` stored on the returned frame.

Reading is built on the pyarrow CSV engine: every column is read as text in one
multi-threaded pass, then converted with vectorised pyarrow/numpy kernels. A clean column
takes a single fast cast; only a column whose fast cast fails is parsed value by value
(vectorised regular expressions) to find the offending rows.

Examples
--------
>>> import io
>>> text = "customer_id;order_date;amount\\n c1 ;15/03/2024;12,50\\nc2;16/03/2024;1.234,56\\n"
>>> orders = read_orders(io.StringIO(text))
>>> orders
  customer_id order_date   amount
0          c1 2024-03-15    12.50
1          c2 2024-03-16  1234.56
>>> read_report(orders).settings["sep"], read_report(orders).settings["decimal"]
(';', ',')
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import gzip
import io
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import ConfigError, DataValidationError
from .schema import TABLES, TableSchema

__all__ = [
    "FOLDER_EXTENSIONS",
    "READERS",
    "READ_OPTIONS",
    "REPORT_ATTR",
    "ReadReport",
    "find_table_files",
    "read_customers",
    "read_events",
    "read_folder",
    "read_orders",
    "read_report",
    "read_spend",
    "read_surveys",
    "rejected_rows",
]

#: Key of ``DataFrame.attrs`` under which a reader stores its :class:`ReadReport`.
REPORT_ATTR = "loyalty_metrics.read_report"

#: Reader keyword options that ``loyalty.toml`` may set per table.
READ_OPTIONS = ("columns", "sep", "decimal", "thousands", "encoding", "dayfirst", "date_format")

#: File name endings :func:`read_folder` looks for, in order of preference.
FOLDER_EXTENSIONS = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz", ".parquet", ".pq")

Errors = Literal["raise", "reject"]

_SAMPLE_BYTES = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_MAX_LINES_SHOWN = 10
# Text that means "no value" in number, date and boolean columns (lower-cased; the
# lower, upper and title case of each are recognised).
_NULL_TOKENS = ["", "na", "n/a", "nan", "null", "none", "#n/a", "nat"]
_NULL_VARIANTS = pa.array(
    sorted({v for t in _NULL_TOKENS for v in (t, t.upper(), t.title(), t.capitalize())} | {"NaN"})
)
_TRUE = ["true", "t", "yes", "y", "1", "1.0"]
_FALSE = ["false", "f", "no", "n", "0", "0.0"]
_NUMERIC_KINDS = ("money", "number", "duration", "nps_score", "csat_score")
_NS_PER_DAY = 86_400 * 10**9
# datetime64[ns] spans 1677-09-21 .. 2262-04-11; whole years inside it are accepted.
_MIN_YEAR, _MAX_YEAR = 1678, 2261

_TIME = (
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_ISO_RE = r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME
_DMY_RE = r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})" + _TIME


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReadReport:
    """What a reader read, kept and rejected; stored in ``df.attrs[REPORT_ATTR]``.

    Get it with :func:`read_report` (``lm.read_report(df)``); :func:`rejected_rows` is a
    shortcut for ``read_report(df).rejected``. ``rows_read == rows_kept + rows_rejected``
    always holds.

    Attributes
    ----------
    source : str
        The file as given, ``"<DataFrame>"`` or ``"<stream>"``.
    table : str
        Canonical table name (``"orders"``, ``"surveys"``...).
    rows_read, rows_kept, rows_rejected : int
        Data rows in the input, in the returned frame and rejected.
    rejected : pandas.DataFrame
        One row per rejected input row: ``line`` (1-based line in the file, the header
        being line 1; the 1-based row number for Parquet and DataFrame input), the raw
        values of the canonical columns read (text as in the file) and ``reason`` (every
        problem of the row, ``"column: reason"`` joined with ``"; "``).
    problems : pandas.DataFrame
        One row per offending cell: ``line``, ``column``, ``value``, ``reason``.
    columns : dict
        Canonical column -> the input's column it was read from.
    settings : dict
        How the input was read: ``format``, ``encoding``, ``sep``, ``decimal``,
        ``thousands``, ``dayfirst`` (per date column), ``date_format``, ``line_numbers``.

    Notes
    -----
    Equality is identity and copying returns the same object, so that pandas, which
    deep-copies and compares ``attrs`` when it derives or concatenates frames, never
    copies the rejected rows nor fails comparing them. A frame derived from a read frame
    (filtered, concatenated with a frame of the same read...) carries the report of the
    original read.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"customer_id": ["a", ""], "order_date": ["2024-01-05"] * 2,
    ...                     "amount": ["10", "x"]})
    >>> report = read_report(read_orders(raw, errors="reject"))
    >>> (report.rows_read, report.rows_kept, report.rows_rejected)
    (2, 1, 1)
    >>> report.rejected.loc[0, "reason"]
    'customer_id: blank value; amount: unparseable number'
    >>> print(report)
    <DataFrame> (orders): 2 rows read, 1 kept, 1 rejected
    """

    source: str
    table: str
    rows_read: int
    rows_kept: int
    rows_rejected: int
    rejected: pd.DataFrame = field(repr=False)
    problems: pd.DataFrame = field(repr=False)
    columns: dict[str, str] = field(default_factory=dict, repr=False)
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadReport:
        return self

    def __copy__(self) -> ReadReport:
        return self

    def __str__(self) -> str:
        rows = "row" if self.rows_read == 1 else "rows"
        return (
            f"{self.source} ({self.table}): {self.rows_read:,} {rows} read, "
            f"{self.rows_kept:,} kept, {self.rows_rejected:,} rejected"
        )


def read_report(df: pd.DataFrame) -> ReadReport:
    """The :class:`ReadReport` of a frame returned by a reader.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame returned by ``read_orders`` & co (or derived from one: pandas carries
        ``attrs`` along).

    Returns
    -------
    ReadReport
        Counts, rejected rows (``.rejected``), offending cells (``.problems``), the
        column mapping and the sniffed settings.

    Raises
    ------
    ValueError
        When ``df`` carries no report (not produced by a reader, or ``attrs`` dropped).

    Examples
    --------
    >>> import pandas as pd
    >>> df = read_spend(pd.DataFrame({"date": ["2024-01-31"], "amount": [100.0]}))
    >>> read_report(df).rows_kept
    1
    """
    report = df.attrs.get(REPORT_ATTR) if isinstance(df, pd.DataFrame) else None
    if not isinstance(report, ReadReport):
        raise ValueError(
            "this frame carries no read report: it was not returned by a loyalty_metrics "
            "reader (read_orders, read_surveys, ...) or its attrs were dropped"
        )
    return report


def rejected_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows a reader rejected (``read_report(df).rejected``).

    Parameters
    ----------
    df : pandas.DataFrame
        A frame returned by a reader with ``errors="reject"``.

    Returns
    -------
    pandas.DataFrame
        ``line``, the raw values of the canonical columns, ``reason``; empty when every
        row was kept.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"score": ["9", "11", "7"]})
    >>> rejected_rows(read_surveys(raw, errors="reject"))
       line score                       reason
    0     2    11  score: NPS score outside 0-10
    """
    return read_report(df).rejected


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    columns: Mapping[str, str] | None = None
    sep: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    encoding: str | None = None
    dayfirst: bool | None = None
    date_format: str | None = None
    errors: str = "raise"


def _param_error(func: str, name: str, allowed: str, value: Any) -> ConfigError:
    return ConfigError(
        f"The {name!r} parameter of {func} must be {allowed}. Got {value!r} instead."
    )


def _check_options(func: str, opts: _Options) -> _Options:
    if opts.errors not in ("raise", "reject"):
        raise _param_error(func, "errors", "one of {'raise', 'reject'}", opts.errors)
    if opts.sep is not None and not (isinstance(opts.sep, str) and len(opts.sep) == 1):
        raise _param_error(func, "sep", "a single character such as ',' ';' '\\t' '|'", opts.sep)
    if opts.sep in ('"', "\n", "\r"):
        raise _param_error(
            func, "sep", "a single character other than a quote or newline", opts.sep
        )
    if opts.decimal not in (None, ".", ","):
        raise _param_error(func, "decimal", "one of {'.', ','} or None", opts.decimal)
    if opts.thousands is not None and not (
        isinstance(opts.thousands, str) and len(opts.thousands) <= 1
    ):
        raise _param_error(
            func, "thousands", "a single character, '' (none) or None (auto)", opts.thousands
        )
    if opts.thousands and opts.thousands == (opts.decimal or "."):
        raise _param_error(func, "thousands", "different from the decimal mark", opts.thousands)
    if opts.encoding is not None:
        try:
            codecs.lookup(opts.encoding)
        except (LookupError, TypeError):
            raise _param_error(
                func,
                "encoding",
                "a known Python codec such as 'cp1250' or 'latin-1'",
                opts.encoding,
            ) from None
    if opts.dayfirst not in (None, True, False):
        raise _param_error(func, "dayfirst", "True, False or None", opts.dayfirst)
    if opts.date_format is not None and not (
        isinstance(opts.date_format, str) and "%" in opts.date_format
    ):
        raise _param_error(
            func, "date_format", "a strptime format such as '%d.%m.%Y'", opts.date_format
        )
    if opts.columns is not None and not (
        isinstance(opts.columns, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in opts.columns.items())
    ):
        raise _param_error(
            func, "columns", "a mapping of canonical name -> input column name", opts.columns
        )
    return opts


# --------------------------------------------------------------------------------------
# Column matching
# --------------------------------------------------------------------------------------


def _norm(name: Any) -> str:
    """Header normal form: case, surrounding space, BOM and ``-``/``.``/space runs ignored."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-.]+", "_", text)


def _closest(name: str, candidates: list[str]) -> str | None:
    by_norm = {_norm(c): c for c in candidates}
    target = _norm(name)
    # A header containing the name ("order_amount" for "amount") is the likeliest match.
    containing = [c for n, c in by_norm.items() if n and (target in n or n in target)]
    if containing:
        return containing[0]
    close = difflib.get_close_matches(target, list(by_norm), n=1, cutoff=0.5)
    return by_norm[close[0]] if close else None


def _quote_list(names: list[str]) -> str:
    return ", ".join(repr(str(n)) for n in names) if names else "none"


def _match_columns(
    schema: TableSchema, found: list[str], mapping: Mapping[str, str] | None, source: str
) -> dict[str, int]:
    """Canonical column -> position in ``found`` (only the columns present)."""
    mapping = dict(mapping or {})
    unknown = [k for k in mapping if k not in schema.columns]
    if unknown:
        hints = [
            f"{k!r} (closest: {close!r})"
            if (close := _closest(k, list(schema.columns)))
            else repr(k)
            for k in unknown
        ]
        raise ConfigError(
            f"columns= names {', '.join(hints)}, not a column of the {schema.name} table; "
            f"its columns are {_quote_list(list(schema.columns))}"
        )
    normed = [_norm(f) for f in found]
    matched: dict[str, int] = {}
    used: set[int] = set()
    for canonical, wanted in mapping.items():
        pos = [i for i, f in enumerate(found) if str(f) == wanted]
        if not pos:
            pos = [i for i, n in enumerate(normed) if n == _norm(wanted)]
        if not pos:
            close = _closest(wanted, [str(f) for f in found])
            raise DataValidationError(
                f"{source}: columns= maps {canonical!r} to {wanted!r}, which is not a column "
                f"of the input (columns found: {_quote_list(found)}; closest match: "
                f"{close!r})"
                if close
                else f"{source}: columns= maps {canonical!r} to {wanted!r}, which is not a "
                f"column of the input (columns found: {_quote_list(found)}; no close match)",
                source=source,
                table=schema.name,
            )
        matched[canonical] = pos[0]
        used.add(pos[0])
    for canonical in schema.columns:
        if canonical in matched:
            continue
        pos = [i for i, n in enumerate(normed) if n == canonical and i not in used]
        if pos:
            matched[canonical] = pos[0]
            used.add(pos[0])
    missing = [c for c in schema.required if c not in matched]
    if missing:
        free = [str(f) for i, f in enumerate(found) if i not in used]
        hints = []
        for name in missing:
            close = _closest(name, free)
            hints.append(f"{name!r} -> {close!r}" if close else f"{name!r} -> no close match")
        plural = "s" if len(missing) > 1 else ""
        if len(found) == 1 and any(d in str(found[0]) for d in _DELIMITERS):
            # one merged header: the delimiter is wrong
            raise DataValidationError(
                f"{source}: a single column {str(found[0])!r} was found: the delimiter seems "
                "wrong; pass sep= (for example sep=';' or sep='\\t')",
                source=source,
                table=schema.name,
            )
        example = ", ".join(f"{name!r}: {(_closest(name, free) or '...')!r}" for name in missing)
        raise DataValidationError(
            f"{source}: missing required column{plural} {_quote_list(missing)} "
            f"(columns found: {_quote_list(found)}; closest match{'es' if plural else ''}: "
            f"{'; '.join(hints)}); rename the column or pass columns={{{example}}}",
            source=source,
            table=schema.name,
        )
    return dict(sorted(matched.items(), key=lambda kv: list(schema.columns).index(kv[0])))


# --------------------------------------------------------------------------------------
# Raw input: every canonical column as an Arrow array, plus how to find its lines
# --------------------------------------------------------------------------------------


@dataclass
class _Raw:
    source: str
    arrays: dict[str, pa.ChunkedArray]
    columns: dict[str, str]
    n_rows: int
    settings: dict[str, Any]
    # file lines of the rows (and the malformed rows), computed only when a problem needs them
    locate: Callable[[], _Lines]
    n_malformed: int = 0
    csv_sep: str | None = None
    width: int = 0  # fields of the CSV header


@dataclass
class _Lines:
    rows: np.ndarray  # line (or row number) of each row of the arrays
    malformed: np.ndarray  # lines of rows skipped for a wrong number of fields
    malformed_fields: np.ndarray  # fields found on each of them
    exact: bool = True


def _structural(source: str, table: str, message: str) -> DataValidationError:
    return DataValidationError(f"{source}: {message}", source=source, table=table)


def _positional_lines(n: int, *, offset: int) -> Callable[[], _Lines]:
    def locate() -> _Lines:
        empty = np.empty(0, dtype=np.int64)
        return _Lines(np.arange(offset, n + offset, dtype=np.int64), empty, empty)

    return locate


def _raw_from_frame(df: pd.DataFrame, schema: TableSchema, opts: _Options) -> _Raw:
    source = "<DataFrame>"
    found = [str(c) for c in df.columns]
    matched = _match_columns(schema, found, opts.columns, source)
    arrays = {}
    for canonical, pos in matched.items():
        series = df.iloc[:, pos]
        try:
            arr = pa.chunked_array([pa.array(series, from_pandas=True)])
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            # mixed object columns (numbers and text...): compare them as text
            text = series.astype("str")
            arr = pa.chunked_array([pa.array(text, from_pandas=True)])
        if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
            # pandas' str columns arrive as large_string: use the type files are read as
            # (a column over 2 GB of text stays large)
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowCapacityError):
                arr = arr.cast(pa.string())
        arrays[canonical] = arr
    settings = {"format": "DataFrame", "line_numbers": "row number (first row = 1)"}
    return _Raw(
        source,
        arrays,
        {c: found[p] for c, p in matched.items()},
        len(df),
        settings,
        _positional_lines(len(df), offset=1),
    )


def _raw_from_parquet(
    path: Path | io.BytesIO, source: str, schema: TableSchema, opts: _Options
) -> _Raw:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _structural(source, schema.name, f"cannot read as Parquet ({exc})") from None
    found = list(file.schema_arrow.names)
    matched = _match_columns(schema, found, opts.columns, source)
    table = file.read(columns=[found[p] for p in matched.values()])
    arrays = {c: table.column(i) for i, c in enumerate(matched)}
    settings = {"format": "parquet", "line_numbers": "row number (first row = 1)"}
    return _Raw(
        source,
        arrays,
        {c: found[p] for c, p in matched.items()},
        table.num_rows,
        settings,
        _positional_lines(table.num_rows, offset=1),
    )


def _detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else cp1252/latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the sample's end is not evidence against UTF-8
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _sniff_sep(text: str, schema: TableSchema, mapping: Mapping[str, str] | None) -> str:
    """The delimiter among , ; tab | that gives a consistent table matching the schema."""
    lines = [line for line in text.splitlines() if line.strip()][:200]
    wanted = {_norm(v) for v in (mapping or {}).values()} | set(schema.required)
    best, best_score = ",", (-1.0, -1.0, -1.0, -1.0)
    for sep in _DELIMITERS:
        rows = list(csv.reader(lines, delimiter=sep))
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:] or rows
        consistent = float(np.mean([len(r) == width for r in body]))
        header_hits = float(sum(_norm(h) in wanted for h in rows[0]))
        score = (header_hits, consistent, float(width), -_DELIMITERS.index(sep))
        if score > best_score:
            best, best_score = sep, score
    return best


def _csv_bytes_head(source: Any, size: int) -> tuple[bytes, bool]:
    """The first ``size`` decompressed bytes and whether they are the whole input."""
    if isinstance(source, bytes):
        data = gzip.decompress(source) if source[:2] == b"\x1f\x8b" else source
        return data[:size], len(data) <= size
    with open(source, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(source, "rb") as fh:
        head = fh.read(size + 1)
    return head[:size], len(head) <= size


def _open_stream(source: Any) -> pa.NativeFile:
    if isinstance(source, bytes):
        stream = pa.BufferReader(source)
        return pa.CompressedInputStream(stream, "gzip") if source[:2] == b"\x1f\x8b" else stream
    with open(source, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return pa.input_stream(str(source), compression="gzip" if gz else None)


def _raw_from_csv(data: Any, source: str, schema: TableSchema, opts: _Options) -> _Raw:
    """Read a delimited text file (path or in-memory bytes) into string/dictionary arrays."""
    head, complete = _csv_bytes_head(data, _SAMPLE_BYTES)
    if not head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise _structural(source, schema.name, "empty file (no header and no rows)")
    if not complete:  # sniff whole lines only
        cut = head.rfind(b"\n")
        head = head[: cut + 1] if cut > 0 else head
    encoding = opts.encoding or _detect_encoding(head)
    text = head.decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    sep = opts.sep or _sniff_sep(text, schema, opts.columns)
    header = next(csv.reader([next(iter(text.splitlines()), "")], delimiter=sep), [])
    found = [h.strip() for h in header]
    matched = _match_columns(schema, found, opts.columns, source)
    names = [f"f{i}" for i in range(len(found))]
    dictionary = pa.dictionary(pa.int32(), pa.string())
    column_types = {
        names[p]: dictionary if schema.columns[c].kind in ("category", "bool") else pa.string()
        for c, p in matched.items()
    }
    malformed: list[tuple[int, int]] = []  # (line or -1 when unknown, fields found)

    def on_invalid(row: Any) -> str:
        malformed.append((-1 if row.number is None else row.number, row.actual_columns))
        return "skip"

    # Quoted values spanning lines cost the parser ~30%: allow them when the sample has a
    # quote, or when a read without them finds malformed rows (a quoted newline further on).
    multiline = '"' in text

    def read(enc: str, threads: bool = True) -> pa.Table:
        malformed.clear()
        arrow_enc = "utf8" if codecs.lookup(enc).name == "utf-8" else enc
        return pacsv.read_csv(
            _open_stream(data),
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1,
                encoding=arrow_enc,
                block_size=1 << 22,
                use_threads=threads,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=sep,
                quote_char='"',
                double_quote=True,
                newlines_in_values=multiline,
                ignore_empty_lines=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(column_types),
                column_types=column_types,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    try:
        try:
            table = read(encoding)
        except pa.ArrowInvalid as exc:
            # the sample was UTF-8 but a later byte is not: the file is cp1252 after all
            if opts.encoding is None and encoding == "utf-8" and "utf8" in str(exc).lower():
                encoding = "cp1252"
                table = read(encoding)
            else:
                raise
        if malformed and not multiline:
            multiline = True
            table = read(encoding)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        hint = "; pass encoding=" if "utf" in str(exc).lower() or "codec" in str(exc) else ""
        raise _structural(source, schema.name, f"cannot parse as CSV ({exc}){hint}") from None
    arrays = {c: table.column(names[p]) for c, p in matched.items()}
    settings = {
        "format": "csv.gz" if _is_gzip(data) else "csv",
        "encoding": encoding,
        "sep": sep,
        "line_numbers": "file line (header = line 1)",
    }
    n_rows = table.num_rows
    n_malformed = len(malformed)
    width = len(found)

    def locate() -> _Lines:
        lines = _csv_lines(data, encoding, sep, width, n_rows, n_malformed)
        if not lines.exact and n_malformed:
            # a single-threaded parse reports the line of each malformed row
            read(encoding, threads=False)
            where = np.array(malformed, dtype=np.int64).reshape(-1, 2)
            lines = _Lines(lines.rows, where[:, 0], where[:, 1], exact=False)
        return lines

    return _Raw(
        source,
        arrays,
        {c: found[p] for c, p in matched.items()},
        n_rows,
        settings,
        locate,
        n_malformed=n_malformed,
        csv_sep=sep,
        width=width,
    )


def _is_gzip(data: Any) -> bool:
    if isinstance(data, bytes):
        return data[:2] == b"\x1f\x8b"
    with open(data, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _csv_lines(
    data: Any, encoding: str, sep: str, width: int, n_rows: int, n_malformed: int
) -> _Lines:
    """File line of each row, from one vectorised pass over the bytes (RFC 4180 quoting).

    A newline ends a record when an even number of ``"`` precede it; blank records are
    skipped (as the parser does) and a record whose field count differs from the header's
    is a malformed row. When this does not agree with what the parser read (an encoding
    that is not ASCII-compatible, stray quotes), lines fall back to ``row + 2``.
    """
    empty = np.empty(0, dtype=np.int64)
    fallback = _Lines(np.arange(2, n_rows + 2, dtype=np.int64), empty, empty, exact=False)
    if '"\n'.encode(encoding, errors="replace") != b'"\n' or sep.encode(encoding) != sep.encode():
        return fallback
    if isinstance(data, bytes):
        stream: Any = io.BytesIO(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    elif _is_gzip(data):
        stream = gzip.open(data, "rb")  # noqa: SIM115 - closed by the with block below
    else:
        stream = open(data, "rb")  # noqa: SIM115 - closed by the with block below
    sep_byte = ord(sep)
    ends, fields, blanks = [], [], []
    quotes = newlines = 0  # counts so far
    pending = 0  # delimiters of the record continuing from the previous chunk
    last_end = -1  # global position of the previous record end
    last_byte = 10
    offset = 0
    with stream:
        while chunk := stream.read(1 << 24):
            buf = np.frombuffer(chunk, dtype=np.uint8)
            q = np.flatnonzero(buf == 34)
            nl = np.flatnonzero(buf == 10)
            dl = np.flatnonzero(buf == sep_byte)
            lines_here = newlines + 1 + np.arange(nl.size)
            if q.size or quotes % 2:
                # only separators outside quotes count: an even number of quotes before them
                is_end = (quotes + np.searchsorted(q, nl)) % 2 == 0
                end_pos, end_line = nl[is_end], lines_here[is_end]
                dl = dl[(quotes + np.searchsorted(q, dl)) % 2 == 0]
            else:
                end_pos, end_line = nl, lines_here
            # delimiters of each record: those between the previous end and its end
            cut = np.searchsorted(dl, end_pos)
            counts = np.diff(cut, prepend=0)
            if counts.size:
                counts[0] += pending
                pending = int(dl.size - cut[-1])
            else:
                pending += int(dl.size)
            previous = np.concatenate(([last_end - offset], end_pos[:-1]))
            length = end_pos - previous - 1
            before = np.where(end_pos > 0, buf[np.maximum(end_pos - 1, 0)], last_byte)
            blanks.append((length == 0) | ((length == 1) & (before == 13)))
            ends.append(end_line)
            fields.append(counts + 1)
            if end_pos.size:
                last_end = offset + int(end_pos[-1])
            quotes += q.size
            newlines += nl.size
            offset += buf.size
            last_byte = int(buf[-1]) if buf.size else last_byte
    end_lines = np.concatenate(ends) if ends else empty
    n_fields = np.concatenate(fields) if fields else empty
    blank = np.concatenate(blanks) if blanks else np.empty(0, dtype=bool)
    tail = offset - last_end - 1  # bytes after the last newline: a final unterminated record
    if tail > 0 and not (tail == 1 and last_byte == 13):
        end_lines = np.append(end_lines, newlines + 1)
        n_fields = np.append(n_fields, pending + 1)
        blank = np.append(blank, False)
    start_lines = np.concatenate(([1], end_lines[:-1] + 1)) if end_lines.size else empty
    start_lines, n_fields = start_lines[~blank], n_fields[~blank]
    start_lines, n_fields = start_lines[1:], n_fields[1:]  # the header
    good = n_fields == width
    if int(good.sum()) != n_rows or int((~good).sum()) != n_malformed:
        return fallback
    return _Lines(start_lines[good], start_lines[~good], n_fields[~good])


def _raw_input(source: Any, schema: TableSchema, opts: _Options) -> _Raw:
    if isinstance(source, pd.DataFrame):
        return _raw_from_frame(source, schema, opts)
    if hasattr(source, "read"):
        content = source.read()
        name = str(getattr(source, "name", "<stream>"))
        if isinstance(content, str):
            content = content.encode(opts.encoding or "utf-8")
        if content[:4] == b"PAR1":
            return _raw_from_parquet(io.BytesIO(content), name, schema, opts)
        return _raw_from_csv(content, name, schema, opts)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(
            f"source must be a file path, a file object or a pandas DataFrame, "
            f"not {type(source).__name__}"
        )
    path = Path(source)
    name = str(source)
    if not path.exists():
        raise FileNotFoundError(f"{name}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{name}: is a folder, not a file (use read_folder for folders)")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
        return _raw_from_parquet(path, name, schema, opts)
    return _raw_from_csv(path, name, schema, opts)


# --------------------------------------------------------------------------------------
# Column conversion (vectorised)
# --------------------------------------------------------------------------------------


def _np_bool(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An Arrow boolean array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _decoded(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary arrays decoded to their values."""
    return arr.cast(arr.type.value_type) if pa.types.is_dictionary(arr.type) else arr


def _as_text(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    arr = _decoded(arr)
    return arr if _is_text(arr.type) else arr.cast(pa.string())


def _null_token_mask(s: pa.ChunkedArray) -> np.ndarray:
    return _np_bool(pc.is_in(s, value_set=_NULL_VARIANTS)) | _np_bool(pc.is_null(s))


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


def _number_patterns(decimal: str, thousands: str | None) -> tuple[str, str | None, str]:
    d = re.escape(decimal)
    plain = rf"^[+-]?(\d+({d}\d*)?|{d}\d+)([eE][+-]?\d+)?$"
    if thousands == "":
        return plain, None, ""
    # auto: the other mark, space, no-break space or apostrophe (Swiss), in 3-digit groups
    seps = thousands if thousands is not None else ("," if decimal == "." else ".") + " \u00a0'"
    cls = "[" + "".join(re.escape(c) for c in seps) + "]"
    grouped = rf"^[+-]?\d{{1,3}}({cls}\d{{3}})+({d}\d*)?$"
    return plain, grouped, cls


def _parse_numbers(
    arr: pa.ChunkedArray, decimal: str, thousands: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values (NaN when blank or bad), bad mask, blank mask of a text column."""
    if thousands in (None, ""):
        # fast path: one Arrow cast of the whole column; any failure falls through
        fast = arr
        if decimal == ",":
            # "1.234" is a thousands-grouped number under a decimal comma: not for the cast
            has_point = pc.any(pc.match_substring(arr, ".")).as_py()
            fast = (
                None if has_point else _chunkwise(arr, lambda c: pc.replace_substring(c, ",", "."))
            )
        if fast is not None:
            values = _cast_numpy(fast, pa.float64(), np.nan)
            if values is not None:
                blank = np.isnan(values)  # null and the literal "nan"
                bad = np.isinf(values)
                return _without(values, bad), bad, blank
    s = pc.utf8_trim_whitespace(arr)
    blank = _null_token_mask(s)
    plain, grouped, cls = _number_patterns(decimal, thousands)
    valid = _np_bool(pc.match_substring_regex(s, plain))
    if grouped is not None:
        valid |= _np_bool(pc.match_substring_regex(s, grouped))
    valid &= ~blank
    norm = s
    if cls:
        norm = pc.replace_substring_regex(norm, cls, "")
    if decimal != ".":
        norm = pc.replace_substring(norm, decimal, ".")
    norm = pc.if_else(pa.array(valid), norm, pa.scalar(None, norm.type))
    values = np.asarray(norm.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    bad = (~valid & ~blank) | np.isinf(values)
    return _without(values, bad), bad, blank


def _without(values: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """``values`` with the ``bad`` ones set to NaN (a copy only when needed: Arrow's
    zero-copy arrays are read-only)."""
    if bad.any():
        values = values.copy()
        values[bad] = np.nan
    return values


def _decide_decimal(arrays: list[pa.ChunkedArray]) -> str:
    """``","`` when the numbers show more decimal-comma than decimal-point evidence.

    Evidence is a mark followed by 1-2 or 4+ digits (``12,50``, ``0.5``) or a mark after
    3-digit groups of the other one (``1.234,5``). ``1,234`` alone is no evidence: such
    files are read with a decimal point, the comma as a thousands separator.
    """
    # The first 100,000 values of each column usually decide; the rest only when they don't.
    head = [arr.slice(0, 100_000) for arr in arrays]
    if any(len(a) > 100_000 for a in arrays):
        decided = _decimal_evidence(head)
        if decided[0] != decided[1]:
            return "," if decided[0] > decided[1] else "."
    comma, point = _decimal_evidence(arrays)
    return "," if comma > point else "."


def _decimal_evidence(arrays: list[pa.ChunkedArray]) -> tuple[int, int]:
    """Counts of decimal-comma and decimal-point evidence (see :func:`_decide_decimal`)."""
    comma = point = 0
    for arr in arrays:
        s = pc.utf8_trim_whitespace(arr)
        comma += int(
            pc.sum(pc.match_substring_regex(s, r"^[+-]?[\d.]*,(\d{1,2}|\d{4,})$")).as_py() or 0
        )
        comma += int(
            pc.sum(pc.match_substring_regex(s, r"^[+-]?\d{1,3}(\.\d{3})+,\d*$")).as_py() or 0
        )
        point += int(
            pc.sum(pc.match_substring_regex(s, r"^[+-]?[\d,]*\.(\d{1,2}|\d{4,})$")).as_py() or 0
        )
        point += int(
            pc.sum(pc.match_substring_regex(s, r"^[+-]?\d{1,3}(,\d{3})+\.\d*$")).as_py() or 0
        )
    return comma, point


def _numeric(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A typed (non-text) column as float64, bad (non-finite/unconvertible) and blank masks."""
    arr = _decoded(arr)
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        values = np.asarray(
            arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        blank = np.isnan(values)
        bad = np.isinf(values)
        return _without(values, bad), bad, blank
    n = len(arr)
    blank = _np_bool(pc.is_null(arr))
    return np.full(n, np.nan), ~blank, blank


def _convert_numbers(
    raw: dict[str, pa.ChunkedArray],
    kinds: dict[str, str],
    opts: _Options,
    settings: dict[str, Any],
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Parse every numeric column with one decimal mark decided for the whole input."""
    text_cols = [c for c in kinds if _is_text(_decoded(raw[c]).type)]
    out = {c: _numeric(raw[c]) for c in kinds if c not in text_cols}
    decimal = opts.decimal
    if decimal is None and settings.get("sep") == ",":
        decimal = "."  # a decimal comma is only detected when the delimiter is not a comma
    if decimal is None:
        first = {c: _parse_numbers(_as_text(raw[c]), ".", "") for c in text_cols}
        if not any(bad.any() for _, bad, _ in first.values()):
            out.update(first)
            settings["decimal"] = "."
            settings["thousands"] = "auto" if opts.thousands is None else opts.thousands
            return out
        decimal = _decide_decimal([_as_text(raw[c]) for c in text_cols])
    settings["decimal"] = decimal
    settings["thousands"] = "auto" if opts.thousands is None else opts.thousands
    for c in text_cols:
        out[c] = _parse_numbers(_as_text(raw[c]), decimal, opts.thousands)
    return out


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
        parts = self.parts if self.parts is not None else _split_dates(self.s, self.blank)
        return _finish_dates(parts, dayfirst)


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
        tzp = pc.extract_regex(
            pc.fill_null(tz, ""), r"^(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})?$"
        )
        sign = np.where(_np_bool(pc.equal(pc.struct_field(tzp, "sign"), "-")), -1, 1)
        offset_min = sign * (_int_field(tzp, "h") * 60 + _int_field(tzp, "m"))
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
    """ISO text parsed by one Arrow cast (naive, or all with offsets -> UTC); None if not."""
    for target in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        ns = _cast_numpy(arr, target, np.iinfo(np.int64).min)
        if ns is not None:
            return ns.view("datetime64[ns]")
    return None


def _formatted_dates(
    arr: pa.ChunkedArray, date_format: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text dates in an explicit strptime format.

    Arrow's strptime rolls impossible dates over (31/02 -> 2 March), so each parsed date is
    formatted back and compared with its text (leading zeros and case ignored); formats with
    a UTC offset (``%z``) skip this check.
    """
    s = pc.utf8_trim_whitespace(arr)
    blank = _null_token_mask(s)
    parsed = pc.strptime(s, format=date_format, unit="ns", error_is_null=True)
    if "%z" not in date_format and "%Z" not in date_format:

        def canonical(text: pa.ChunkedArray) -> pa.ChunkedArray:
            return pc.replace_substring_regex(pc.utf8_lower(text), r"(^|\D)0+(\d)", r"\1\2")

        back = pc.strftime(parsed, format=date_format)
        parsed = pc.if_else(pc.equal(canonical(back), canonical(s)), parsed, None)
    ns = np.asarray(
        pc.fill_null(parsed.cast(pa.int64()), np.iinfo(np.int64).min).to_numpy(
            zero_copy_only=False
        )
    )
    bad = (ns == np.iinfo(np.int64).min) & ~blank
    return ns.view("datetime64[ns]"), bad, blank


def _chunkwise(arr: pa.ChunkedArray, fn: Callable[[pa.Array], pa.Array]) -> pa.ChunkedArray:
    """``fn`` applied chunk by chunk: the temporary copies stay one chunk large."""
    return pa.chunked_array([fn(c) for c in arr.chunks], type=arr.type)


def _cast_numpy(arr: pa.ChunkedArray, target: pa.DataType, fill: Any) -> np.ndarray | None:
    """Cast chunk by chunk into one numpy array (nulls as ``fill``); None if a value fails.

    Casting chunk by chunk keeps Arrow's temporary arrays one chunk large: the only
    full-size allocation is the numpy result.
    """
    timestamp = pa.types.is_timestamp(target)
    out = np.empty(len(arr), dtype=np.int64 if timestamp else np.float64)
    pos = 0
    for chunk in arr.chunks:
        try:
            cast = chunk.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if timestamp:
            cast = cast.view(pa.int64())
        out[pos : pos + len(cast)] = pc.fill_null(cast, fill).to_numpy(zero_copy_only=False)
        pos += len(cast)
    return out


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
    pending: dict[str, _DateParts] = {}
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
                    "month-first and no value has a day above 12; pass dayfirst=True or "
                    "dayfirst=False (or date_format=)",
                )
            dayfirst = next(iter(decided))
        if dates.has_dmy:
            settings.setdefault("dayfirst", {})[c] = dayfirst
        out[c] = dates.finish(dayfirst)
    if opts.date_format:
        settings["date_format"] = opts.date_format
    return out


def _convert_ids(arr: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Ids as trimmed text; integer-valued numbers without a trailing ``.0``."""
    arr = _decoded(arr)
    if pa.types.is_floating(arr.type):
        values = arr.cast(pa.float64())
        finite = pc.drop_null(values).to_numpy(zero_copy_only=False)
        if np.all(np.isfinite(finite) & (finite == np.round(finite))):
            arr = values.cast(pa.int64(), safe=False)
    if not _is_text(arr.type):
        arr = arr.cast(pa.string())
    trimmed = _chunkwise(arr, _trim_chunk)
    blank = _np_bool(pc.is_null(trimmed)) | _np_bool(pc.equal(trimmed, ""))
    if blank.any():
        trimmed = pc.if_else(pa.array(blank), pa.scalar(None, trimmed.type), trimmed)
    return trimmed, blank


def _trim_chunk(chunk: pa.Array) -> pa.Array:
    """Whitespace-trimmed text; the chunk itself (no copy kept) when nothing was trimmed."""
    trimmed = pc.utf8_trim_whitespace(chunk)
    same = pc.sum(pc.binary_length(trimmed)).as_py() == pc.sum(pc.binary_length(chunk)).as_py()
    return chunk if same else trimmed


def _categorical_of(arr: pa.ChunkedArray) -> pd.Categorical:
    arr = arr if pa.types.is_dictionary(arr.type) else _as_text(arr).dictionary_encode()
    cat = pd.Categorical(arr.to_pandas())
    return cat


def _convert_category(arr: pa.ChunkedArray) -> tuple[pd.Categorical, np.ndarray]:
    """Categorical with stripped, sorted categories; blank text is missing."""
    cat = _categorical_of(arr)
    if len(cat.categories) == 0:  # every value blank
        empty = pd.Categorical.from_codes(
            np.full(len(cat), -1), categories=pd.Index([], dtype="str")
        )
        return empty, np.ones(len(cat), dtype=bool)
    names = np.asarray(pd.Index(cat.categories).astype(str).str.strip(), dtype=object)
    uniq, inverse = np.unique(names, return_inverse=True)
    keep = uniq != ""
    codes = np.asarray(cat.codes)
    if keep.all() and len(uniq) == len(names) and (inverse == np.arange(len(names))).all():
        return cat, codes < 0  # already stripped, distinct and sorted
    # old code -> new code; the extra last entry maps the missing code -1 to -1
    remap = np.append(np.where(keep[inverse], np.cumsum(keep)[inverse] - 1, -1), -1)
    new_codes = remap[codes].astype(codes.dtype)
    result = pd.Categorical.from_codes(
        new_codes, categories=pd.Index(uniq[keep], dtype="str"), validate=False
    )
    return result, new_codes < 0


def _convert_bool(arr: pa.ChunkedArray) -> tuple[pd.arrays.BooleanArray, np.ndarray, np.ndarray]:
    if pa.types.is_boolean(arr.type):
        blank = _np_bool(pc.is_null(arr))
        values = _np_bool(arr)
        return pd.arrays.BooleanArray(values, blank), np.zeros(len(values), dtype=bool), blank
    cat = _categorical_of(arr if pa.types.is_dictionary(arr.type) else _as_text(arr))
    names = pd.Index(cat.categories).astype(str).str.strip().str.lower()
    is_true = np.asarray(names.isin(_TRUE))
    is_false = np.asarray(names.isin(_FALSE))
    is_blank = np.asarray(names.isin(_NULL_TOKENS))
    codes = np.asarray(cat.codes)
    c = np.maximum(codes, 0)
    blank = (codes < 0) | is_blank[c]
    values = (codes >= 0) & is_true[c]
    bad = (codes >= 0) & ~is_true[c] & ~is_false[c] & ~is_blank[c]
    return pd.arrays.BooleanArray(values, blank | bad), bad, blank


# --------------------------------------------------------------------------------------
# The read
# --------------------------------------------------------------------------------------


def _read(table: str, source: Any, opts: _Options, func: str) -> pd.DataFrame:
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
            if series.dtype != "str":
                series = series.astype("str")
            data[c] = series
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
) -> pd.DataFrame:
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
        frame.attrs[REPORT_ATTR] = report
        return frame

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
                    "value": values.astype("str").to_numpy(dtype=object),
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
    problem_frame = cells[["line", "column", "value", "reason"]].astype(
        {"line": np.int64, "column": "str", "value": "str", "reason": "str"}
    )
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
    kept.attrs = {REPORT_ATTR: report}
    return kept


def _rejected_frame(
    raw: _Raw, cells: pd.DataFrame, bad_pos: np.ndarray, lines: _Lines, schema_cols: list[str]
) -> pd.DataFrame:
    """One row per rejected input row: line, raw text values, reasons joined with '; '."""
    take = pa.array(bad_pos)
    data: dict[str, Any] = {"line": lines.rows[bad_pos]}
    for c in schema_cols:
        data[c] = (
            _as_text(raw.arrays[c]).take(take).to_pandas().astype("str").to_numpy(dtype=object)
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
    return rows.astype({"line": np.int64} | {c: "str" for c in [*schema_cols, "reason"]})


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


# --------------------------------------------------------------------------------------
# The public readers
# --------------------------------------------------------------------------------------

_COMMON_DOC = """
    Parameters
    ----------
    source : path, file object or pandas.DataFrame
        A CSV file (``,`` ``;`` tab or ``|`` delimited, optionally gzip-compressed) or a
        Parquet file, by path (``str`` or ``Path``) or as an open file object; or a frame
        (reported as ``"<DataFrame>"``, values already typed or text).
    columns : dict, optional
        Canonical name -> the input's column name, e.g. ``{{"amount": "Betrag"}}``.
        Unmapped canonical columns are found by name, ignoring case, surrounding space
        and ``-``/``.``/space versus ``_``. Other input columns are not read.
    sep : str, optional
        Field delimiter. Default: sniffed among ``,`` ``;`` tab ``|`` from the first 64 KB.
    decimal : {{".", ","}}, optional
        Decimal mark. Default: a point in comma-delimited files; otherwise decided from
        all the number columns (``12,50`` and ``1.234,5`` are decimal-comma evidence,
        ``12.50`` and ``1,234.5`` decimal-point evidence; with none, or a tie, a point).
    thousands : str, optional
        Thousands separator. Default (``None``): with a decimal point, ``,`` space or
        ``'``; with a decimal comma, ``.`` space or ``'`` — accepted only in 3-digit groups
        (``1.234.567,8``). ``""`` disables them.
    encoding : str, optional
        Any Python codec name, e.g. ``"cp1250"`` for Polish exports. Default: UTF-8 (with
        or without BOM) when the data decodes as UTF-8, else cp1252 (latin-1 for bytes
        cp1252 leaves undefined).
    dayfirst : bool, optional
        Order of day and month in non-ISO dates such as ``05/03/2024``. Default: decided
        per column from the whole column — day-first when some value's first field is
        above 12 and month-first when some second field is; when both occur the majority
        wins and the other values are rejected; when no value decides (every field <= 12)
        the order of the input's other date columns is used, and if none decides either a
        ``DataValidationError`` asks for ``dayfirst=``. ISO dates (``2024-03-05``, with an
        optional time and ``Z``/``+02:00`` offset) are always year-month-day.
    date_format : str, optional
        An explicit ``strptime`` format for every date column (``"%d.%m.%Y"``); disables
        the detection above.
    errors : {{"raise", "reject"}}, default "raise"
        ``"raise"``: any offending row raises one :class:`DataValidationError` naming the
        file, each column, the first 10 line numbers and the reason, with every offending
        cell in its ``.problems`` frame (``line``, ``column``, ``value``, ``reason``).
        ``"reject"``: keep the good rows; the rejected ones are in
        ``lm.rejected_rows(df)`` (= ``lm.read_report(df).rejected``): ``line``, the raw
        values as text and ``reason`` (every problem of the row, ``"column: reason"``
        joined with ``"; "``); ``lm.read_report(df)`` also gives ``rows_read``,
        ``rows_kept``, ``rows_rejected`` (always ``rows_read == rows_kept +
        rows_rejected``) and the sniffed settings. The report lives in
        ``df.attrs["loyalty_metrics.read_report"]``. Structural problems (file missing or
        unreadable, no header, no data rows, a required column missing, undecidable
        day/month order) raise in both modes.

    Returns
    -------
    pandas.DataFrame
        The canonical columns present, in canonical order, on a fresh ``RangeIndex``:
        ids as ``str`` (trimmed; an integer-valued numeric id loses its ``.0``), dates as
        ``datetime64[ns]`` (offsets converted to UTC, then naive), money and other numbers
        as ``float64``, scores as integer-valued ``float64``, categories as ``category``
        (trimmed, sorted), ``is_member`` as ``boolean``. Missing values are NaN/NaT/<NA>.

    Raises
    ------
    DataValidationError
        Offending rows (in ``"raise"`` mode) or a structural problem (both modes).
    FileNotFoundError
        ``source`` does not exist.
    ConfigError
        An option has an invalid value (also a ``ValueError``).

    Notes
    -----
    Line numbers are the file's own, the header being line 1, counting blank lines and
    the extra lines of quoted values that contain newlines (RFC 4180 quoting); with
    Parquet or a DataFrame they are 1-based row numbers. Rows with a wrong number of
    fields are rejected with their line. In number, date and boolean columns, blank
    cells and ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``#N/A`` mean "no value";
    ids and categories keep such text literally. ``inf`` is not a number.
"""


def _doc(
    summary: str, rules: str, example: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__doc__ = (
            f"{summary}\n\n{rules}\n{_COMMON_DOC}\n    Examples\n    --------\n{example}"
        )
        return func

    return apply


@_doc(
    "Read order lines (or orders) into the canonical orders frame.",
    """    Required columns ``customer_id`` (blank is an error), ``order_date``, ``amount``
    (net revenue, may be negative for returns); optional ``order_id``, ``category``,
    ``product_id``, ``quantity``, ``cost``, ``channel``.""",
    """    >>> import io
    >>> csv_text = "Customer ID,Order Date,Amount\\nc1,2024-03-15,12.5\\n,2024-03-16,x\\n"
    >>> orders = read_orders(io.StringIO(csv_text), errors="reject")
    >>> orders
      customer_id order_date  amount
    0          c1 2024-03-15    12.5
    >>> rejected_rows(orders).iloc[0].to_dict()
    {'line': 3, 'customer_id': nan, 'order_date': '2024-03-16', 'amount': 'x', 'reason': 'customer_id: blank value; amount: unparseable number'}
""",
)
def read_orders(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
) -> pd.DataFrame:
    opts = _Options(columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors)
    return _read("orders", source, opts, "read_orders")


@_doc(
    "Read survey responses (NPS and CSAT) into the canonical surveys frame.",
    """    Required column ``score`` (NPS, an integer 0-10; blank only on a row with a
    ``csat`` answer, a CSAT-only response); optional ``customer_id`` (blank = anonymous
    response, valid), ``response_date``, ``csat`` (an integer 1-5), ``segment``,
    ``comment``.""",
    """    >>> import pandas as pd
    >>> raw = pd.DataFrame({"customer_id": ["a", "", "b"], "score": ["10", "7", "11"]})
    >>> surveys = read_surveys(raw, errors="reject")
    >>> surveys
      customer_id  score
    0           a   10.0
    1         NaN    7.0
    >>> read_report(surveys).rejected[["line", "reason"]]
       line                         reason
    0     3  score: NPS score outside 0-10
""",
)
def read_surveys(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
) -> pd.DataFrame:
    opts = _Options(columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors)
    return _read("surveys", source, opts, "read_surveys")


@_doc(
    "Read engagement events into the canonical events frame.",
    """    Required columns ``customer_id`` (blank is an error), ``timestamp``,
    ``event_type``; optional ``duration`` (seconds, >= 0).""",
    """    >>> import pandas as pd
    >>> raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-03-05T10:00:00Z",
    ...                     "2024-03-05 12:30"], "event_type": ["login", "purchase"],
    ...                     "duration": ["30", "-5"]})
    >>> events = read_events(raw, errors="reject")
    >>> events
      customer_id           timestamp event_type  duration
    0           a 2024-03-05 10:00:00      login      30.0
    >>> rejected_rows(events)["reason"].tolist()
    ['duration: negative duration']
""",
)
def read_events(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
) -> pd.DataFrame:
    opts = _Options(columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors)
    return _read("events", source, opts, "read_events")


@_doc(
    "Read marketing and sales spend into the canonical spend frame.",
    """    Required columns ``date``, ``amount``; optional ``channel``.""",
    """    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Date": ["31/01/2024", "29/02/2024"], "Cost": ["1.500,00", "980,5"]})
    >>> read_spend(raw, columns={"amount": "Cost"})
            date  amount
    0 2024-01-31  1500.0
    1 2024-02-29   980.5
""",
)
def read_spend(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
) -> pd.DataFrame:
    opts = _Options(columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors)
    return _read("spend", source, opts, "read_spend")


@_doc(
    "Read the customer table into the canonical customers frame.",
    """    Required column ``customer_id`` (blank is an error); optional ``signup_date``,
    ``acquisition_channel``, ``is_member`` (true/false, yes/no, y/n, 1/0),
    ``member_since``, ``tier``, ``referred_by``.""",
    """    >>> import pandas as pd
    >>> raw = pd.DataFrame({"customer_id": ["a", "b"], "is_member": ["yes", "N"],
    ...                     "tier": [" gold", "silver "]})
    >>> customers = read_customers(raw)
    >>> customers
      customer_id  is_member    tier
    0           a       True    gold
    1           b      False  silver
    >>> customers.dtypes.astype(str).tolist()
    ['str', 'boolean', 'category']
""",
)
def read_customers(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
) -> pd.DataFrame:
    opts = _Options(columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors)
    return _read("customers", source, opts, "read_customers")


#: Table name -> its reader.
READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "orders": read_orders,
    "surveys": read_surveys,
    "events": read_events,
    "spend": read_spend,
    "customers": read_customers,
}


# --------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------


def _load_config(config: Any) -> tuple[dict[str, Any], Path | None]:
    if config is None:
        return {}, None
    if isinstance(config, Mapping):
        return dict(config), None
    from .config import load_config  # lazy: config is a sibling module

    path = Path(config)
    return dict(load_config(path)), path.parent


def find_table_files(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    files: Mapping[str, Any] | None = None,
    config: Any = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The input of each table and its reader options, as :func:`read_folder` resolves them.

    Parameters
    ----------
    data_dir, files, config
        As for :func:`read_folder`.

    Returns
    -------
    (dict, dict)
        Table -> path (or frame) found, and table -> reader keyword options from the
        config. Tables without an input are absent.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "Orders.CSV").write_text("customer_id,order_date,amount\\n")
    >>> paths, options = find_table_files(folder, config={"orders": {"sep": ","}})
    >>> paths["orders"].name, options["orders"]
    ('Orders.CSV', {'sep': ','})
    """
    if config is None and data_dir is not None and (Path(data_dir) / "loyalty.toml").is_file():
        config = Path(data_dir) / "loyalty.toml"
    cfg, cfg_dir = _load_config(config)
    files = dict(files or {})
    unknown = [k for k in files if k not in TABLES]
    if unknown:
        raise ConfigError(
            f"files= has unknown table(s) {_quote_list(unknown)}; tables are {_quote_list(list(TABLES))}"
        )
    # a relative [table] file: in the data folder, else next to the config file
    bases = [Path(b) for b in (data_dir, cfg_dir) if b is not None]
    if data_dir is not None and not Path(data_dir).is_dir():
        raise FileNotFoundError(f"{data_dir}: no such folder")
    listing = (
        sorted(p for p in Path(data_dir).iterdir() if p.is_file()) if data_dir is not None else []
    )
    found: dict[str, Any] = {}
    options: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        section = cfg.get(table) or {}
        if not isinstance(section, Mapping):
            raise ConfigError(f"[{table}] must be a table of options, got {section!r}")
        bad = [k for k in section if k not in (*READ_OPTIONS, "file")]
        if bad:
            raise ConfigError(
                f"[{table}] has unknown key(s) {_quote_list(bad)}; allowed: {_quote_list(['file', *READ_OPTIONS])}"
            )
        options[table] = {k: v for k, v in section.items() if k in READ_OPTIONS}
        if table in files:
            found[table] = files[table]
        elif "file" in section:
            path = Path(section["file"])
            if not path.is_absolute() and bases:
                candidates = [b / path for b in bases]
                path = next((c for c in candidates if c.exists()), candidates[0])
            found[table] = path
        else:
            names = [table + ext for ext in FOLDER_EXTENSIONS]
            hits = [p for p in listing if p.name.lower() in names]
            if len(hits) > 1:
                raise ConfigError(
                    f"{data_dir}: several {table} files ({_quote_list([p.name for p in hits])}); "
                    f"keep one, or name it in loyalty.toml ([{table}] file = ...) or files="
                )
            if hits:
                found[table] = hits[0]
    return found, {t: options[t] for t in found}


def read_folder(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    files: Mapping[str, Any] | None = None,
    config: Any = None,
    errors: Errors = "raise",
) -> dict[str, pd.DataFrame]:
    """Read every table found in a data folder (orders required).

    Parameters
    ----------
    data_dir : path, optional
        Folder holding ``orders``, ``surveys``, ``events``, ``spend``, ``customers`` files
        named ``<table>.csv``, ``.csv.gz``, ``.txt``, ``.tsv`` (optionally ``.gz``),
        ``.parquet`` or ``.pq`` (case-insensitive; two candidates for one table are an
        error).
    files : dict, optional
        Table -> path (or DataFrame); overrides everything else for that table.
    config : dict or path, optional
        A loaded ``loyalty.toml`` (as :func:`loyalty_metrics.load_config` returns) or its
        path; default ``data_dir/loyalty.toml`` when it exists. Each ``[table]`` may set
        ``file`` (relative: found in ``data_dir``, else next to the config file) and the reader
        options ``columns``, ``sep``, ``decimal``, ``thousands``, ``encoding``,
        ``dayfirst``, ``date_format``.
    errors : {"raise", "reject"}, default "raise"
        As for :func:`read_orders`; each frame's report is ``lm.read_report(frame)``.

    Returns
    -------
    dict
        Table name -> validated frame, for the tables found, in canonical table order.

    Raises
    ------
    FileNotFoundError
        No orders input (the message lists the names looked for), or a named file is
        missing.
    ConfigError
        Unknown table or option, or two candidate files for one table.
    DataValidationError
        As the readers.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "orders.csv").write_text("customer_id;order_date;amount\\nc1;2024-01-05;9,90\\n")
    >>> _ = (folder / "surveys.tsv").write_text("score\\tcsat\\n9\\t5\\n")
    >>> tables = read_folder(folder)
    >>> sorted(tables), tables["orders"]["amount"].tolist()
    (['orders', 'surveys'], [9.9])
    """
    if errors not in ("raise", "reject"):
        raise _param_error("read_folder", "errors", "one of {'raise', 'reject'}", errors)
    if data_dir is None and not files and config is None:
        raise ConfigError("read_folder needs a data_dir, files= or a config naming the files")
    found, options = find_table_files(data_dir, files=files, config=config)
    if "orders" not in found:
        where = f"in {data_dir}" if data_dir is not None else "in files= or the config"
        raise FileNotFoundError(
            f"no orders file {where} (looked for "
            f"{', '.join('orders' + ext for ext in FOLDER_EXTENSIONS)}); "
            "name it in loyalty.toml ([orders] file = ...) or pass files={'orders': ...}"
        )
    return {t: READERS[t](src, errors=errors, **options[t]) for t, src in found.items()}
