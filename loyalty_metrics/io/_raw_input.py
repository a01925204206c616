"""Raw input: every canonical column as an Arrow array, plus how to find its lines.

Sniffs encoding and delimiter, and reads CSV (optionally gzip), Parquet, Excel (``.xlsx``,
``.xls``, ``.xlsb``, ``.ods`` through python-calamine) or a DataFrame."""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import gzip
import io
import os
import re
import stat
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DataValidationError
from ..schema import TableSchema
from ._arrow_text import _pandas_text
from ._columns import _match_columns, _norm
from ._options import _DELIMITERS, _Options

_SAMPLE_BYTES = 64 * 1024
#: Spreadsheet files: zip-based (xlsx, xlsm, ods) and OLE2 (xls) by magic bytes, or suffix.
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


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
    multiline: bool = False  # quoted values may span lines (the parser allowed it)


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
            arr = _chunked(pa.array(series, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            # mixed object columns (numbers and text...): compare them as text
            arr = _chunked(pa.array(_pandas_text(series), from_pandas=True))
        if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
            # pandas' str columns arrive as large_string: use the type files are read as
            # (a column over 2 GB of text stays large)
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowCapacityError):
                arr = arr.cast(pa.string())
        arrays[canonical] = arr
    _refuse_nested(arrays, {c: found[p] for c, p in matched.items()}, source, schema.name)
    settings = {"format": "DataFrame", "line_numbers": "row number (first row = 1)"}
    return _Raw(
        source,
        arrays,
        {c: found[p] for c, p in matched.items()},
        len(df),
        settings,
        _positional_lines(len(df), offset=1),
    )


def _chunked(arr: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """As a chunked array, without a copy. pandas' Arrow-backed ``str`` columns already come
    chunked, and wrapping one again (``pa.chunked_array([chunked])``) walks it value by value
    in Python: 3 s per million rows, what made a DataFrame read 13x slower than its CSV."""
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


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
    _refuse_nested(arrays, {c: found[p] for c, p in matched.items()}, source, schema.name)
    settings = {"format": "parquet", "line_numbers": "row number (first row = 1)"}
    return _Raw(
        source,
        arrays,
        {c: found[p] for c, p in matched.items()},
        table.num_rows,
        settings,
        _positional_lines(table.num_rows, offset=1),
    )


def _refuse_nested(
    arrays: Mapping[str, pa.ChunkedArray], names: Mapping[str, str], source: str, table: str
) -> None:
    """A column of lists, structs or maps holds several values per row: say so plainly."""
    for canonical, arr in arrays.items():
        if pa.types.is_nested(arr.type):
            raise _structural(
                source,
                table,
                f"column {names[canonical]!r} holds {arr.type} values, several per row; "
                f"{canonical!r} needs one value per row (flatten or explode it first)",
            )


def _detect_encoding(sample: bytes, source: str, name: str) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else cp1252/latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.count(0) * 4 >= len(sample):  # text has no NUL bytes; UTF-16 every other one
        guess = "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
        raise _structural(
            source,
            name,
            "the file looks like UTF-16 without a byte-order mark (every other byte is 0); "
            f"pass encoding={guess!r}",
        )
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


# A valid UTF-8 sequence of 2-4 bytes; with the second pattern, also a byte >= 0x80 that is
# not part of one (group 2).
_UTF8_SEQUENCE = (
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_UTF8 = re.compile(_UTF8_SEQUENCE)
_UTF8_OR_STRAY = re.compile(rb"(" + _UTF8_SEQUENCE + rb")|([\x80-\xff])")


def _refuse_mixed_encodings(data: Any, source: str, name: str) -> None:
    """Raise when the input holds UTF-8 text and bytes that are not UTF-8.

    Such a file is read with one encoding for all of its rows: cp1252 would turn every
    ``café`` of the UTF-8 rows into ``cafÃ©`` (and accented ids would stop joining), UTF-8
    cannot read the others. Decoding it as cp1252 is only safe when no UTF-8 text exists.
    """
    utf8_line = stray_line = stray_byte = None
    lines = 1
    for buf in _whole_line_chunks(data):
        if utf8_line is None and (found := _UTF8.search(buf)):
            utf8_line = lines + buf.count(b"\n", 0, found.start())
        if stray_line is None:
            for match in _UTF8_OR_STRAY.finditer(buf):
                if match.group(2):
                    stray_line = lines + buf.count(b"\n", 0, match.start())
                    stray_byte = match.group(2)[0]
                    break
        if utf8_line is not None and stray_line is not None:
            raise _structural(
                source,
                name,
                f"line {stray_line}: byte 0x{stray_byte:02X} is not UTF-8, yet line "
                f"{utf8_line} holds UTF-8 text: the file mixes encodings, and reading it as "
                f"one would change the other rows; fix line {stray_line} (or pass encoding= "
                "when the whole file is in one encoding)",
            )
        lines += buf.count(b"\n")


def _whole_line_chunks(data: Any) -> Any:
    """The (decompressed) input in blocks of about 16 MB that end at a line end."""
    carry = b""
    for chunk in _chunks(data):
        buf = carry + chunk
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            carry = buf
            continue
        carry = buf[cut:]
        yield buf[:cut]
    if carry:
        yield carry


def _chunks(data: Any) -> Any:
    """The (decompressed) input in blocks of 16 MB."""
    if isinstance(data, bytes):
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        for start in range(0, len(data), 1 << 24):
            yield data[start : start + (1 << 24)]
        return
    with _open_stream(data) as stream:
        while chunk := stream.read(1 << 24):
            yield chunk


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


def _raw_from_excel(data: Any, source: str, schema: TableSchema, opts: _Options) -> _Raw:
    """One sheet of a workbook (the first unless ``sheet=``), its header on the first row."""
    try:
        book = pd.ExcelFile(data, engine="calamine")
    except ImportError:  # pragma: no cover - python-calamine is a dependency
        raise _structural(
            source, schema.name, "reading Excel needs python-calamine: pip install python-calamine"
        ) from None
    except Exception as exc:  # calamine's own error types
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise _structural(
            source, schema.name, f"cannot read as a spreadsheet ({reason})"
        ) from None
    names = list(book.sheet_names)
    sheet = 0 if opts.sheet is None else opts.sheet
    if (isinstance(sheet, str) and sheet not in names) or (
        isinstance(sheet, int) and not 0 <= sheet < len(names)
    ):
        raise _structural(
            source,
            schema.name,
            f"no sheet {sheet!r}; the workbook has {_quote_names(names)} (set sheet = "
            f'"{names[0] if names else ""}" under [{schema.name}] in loyalty.toml)',
        )
    frame = pd.read_excel(book, sheet_name=sheet)
    name = names[sheet] if isinstance(sheet, int) else sheet
    raw = _raw_from_frame(frame, schema, opts)
    raw.source = source
    raw.settings = {
        "format": "excel",
        "sheet": name,
        "line_numbers": "sheet row number (header = row 1; blank rows not counted)",
    }
    raw.locate = _positional_lines(len(frame), offset=2)
    return raw


def _quote_names(names: list[str]) -> str:
    return "sheets " + ", ".join(repr(n) for n in names) if names else "no sheets"


def _refuse_binary(head: bytes, source: str, schema: TableSchema, opts: _Options) -> None:
    """A one-line error for a binary file read as CSV (a NUL byte in its first 4 KB)."""
    wide = (
        head.startswith(_WIDE_BOMS)
        or "16" in (opts.encoding or "")
        or "32" in (opts.encoding or "")
    )
    sample = head[:4096]
    if wide or b"\x00" not in sample or _looks_utf16(sample):
        return  # (UTF-16 without a BOM gets its own message from the encoding check)
    what = "a zip archive (unzip it first)" if head[:2] == b"PK" else "a binary file"
    raise _structural(
        source,
        schema.name,
        f"not a CSV text file: {what}; give CSV, Excel (.xlsx, .xls) or Parquet",
    )


def _looks_utf16(sample: bytes) -> bool:
    """UTF-16 text without a BOM: its NUL bytes all sit at even or all at odd positions."""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return (even == 0) != (odd == 0) and max(even, odd) >= len(sample) // 4


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


def _csv_type(kind: str) -> pa.DataType:
    """The Arrow type a column of ``kind`` is parsed as.

    Labels are dictionary-encoded. Ids and free text go into the frame as they are, so they
    are read as ``large_string``, the type behind pandas' ``str``: read as ``string``,
    pandas would cast them (a second offsets array per column, 0.5 s at 10M lines).
    Dates and numbers are parsed, so their text stays ``string`` (offsets half the size).
    """
    if kind in ("category", "bool"):
        return pa.dictionary(pa.int32(), pa.string())
    return pa.large_string() if kind in ("id", "text") else pa.string()


def _raw_from_csv(data: Any, source: str, schema: TableSchema, opts: _Options) -> _Raw:
    """Read a delimited text file (path or in-memory bytes) into string/dictionary arrays."""
    head, complete = _csv_bytes_head(data, _SAMPLE_BYTES)
    _refuse_binary(head, source, schema, opts)
    if not head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise _structural(source, schema.name, "empty file (no header and no rows)")
    if not complete:  # sniff whole lines only
        cut = head.rfind(b"\n")
        head = head[: cut + 1] if cut > 0 else head
    encoding = opts.encoding or _detect_encoding(head, source, schema.name)
    if opts.encoding is None and encoding == "cp1252":
        _refuse_mixed_encodings(data, source, schema.name)
    text = head.decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    sep = opts.sep or _sniff_sep(text, schema, opts.columns)
    # blank lines before the header are skipped (the parser's skip_rows counts them too)
    lines = text.splitlines()
    blank_lead = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    header_line = lines[blank_lead] if blank_lead < len(lines) else ""
    header = next(csv.reader([header_line], delimiter=sep), [])
    found = [h.strip() for h in header]
    matched = _match_columns(schema, found, opts.columns, source)
    names = [f"f{i}" for i in range(len(found))]
    column_types = {names[p]: _csv_type(schema.columns[c].kind) for c, p in matched.items()}
    malformed: list[tuple[int, int]] = []  # (line or -1 when unknown, fields found)
    last_malformed: list[str] = []  # the text of the last one, if it spans lines

    def on_invalid(row: Any) -> str:
        malformed.append((-1 if row.number is None else row.number, row.actual_columns))
        if "\n" in row.text or "\r" in row.text:
            last_malformed[:] = [row.text]
        return "skip"

    # Quoted values spanning lines cost the parser ~30% (3x on 10M lines): allow them when
    # the sample's rows have a quote (a quoted header alone holds no value), or when a read
    # without them finds malformed rows (a quoted newline further on).
    multiline = '"' in "\n".join(lines[blank_lead + 1 :])

    # Parse blocks of 4 MB; a value longer than a block (a 9 MB comment) needs bigger ones.
    block_size = 1 << 22

    def read(enc: str, threads: bool = True) -> pa.Table:
        malformed.clear()
        last_malformed.clear()
        arrow_enc = "utf8" if codecs.lookup(enc).name == "utf-8" else enc
        return pacsv.read_csv(
            _open_stream(data),
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1 + blank_lead,
                encoding=arrow_enc,
                block_size=block_size,
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

    def read_growing(enc: str) -> pa.Table:
        nonlocal block_size
        while True:
            try:
                return read(enc)
            except pa.ArrowInvalid as exc:
                if "straddl" not in str(exc) or block_size >= 1 << 30:
                    raise
                block_size *= 8

    try:
        try:
            table = read_growing(encoding)
        except pa.ArrowInvalid as exc:
            # the sample was UTF-8 but a later byte is not: the file is cp1252 after all,
            # unless it holds UTF-8 text too (re-decoding that would change those rows)
            if opts.encoding is None and encoding == "utf-8" and "utf8" in str(exc).lower():
                _refuse_mixed_encodings(data, source, schema.name)
                encoding = "cp1252"
                table = read_growing(encoding)
            else:
                raise
        if malformed and not multiline:
            multiline = True
            table = read_growing(encoding)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        hint = (
            f'; set encoding = "cp1250" (the file\'s codec) under [{schema.name}] in '
            "loyalty.toml (encoding= in Python)"
            if "utf" in str(exc).lower() or "codec" in str(exc)
            else ""
        )
        raise _structural(source, schema.name, f"cannot parse as CSV ({exc}){hint}") from None
    # Also without multi-line parsing: the parser still joins a quoted line break inside a
    # block, so a quote opened after the sample and never closed swallows the rest silently.
    _check_last_quote_closed(table, last_malformed, data, encoding, source, schema.name)
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
        lines = _csv_lines(data, encoding, sep, width, n_rows, n_malformed, blank_lead)
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
        multiline=multiline,
    )


def _check_last_quote_closed(
    table: pa.Table,
    last_malformed: list[str],
    data: Any,
    encoding: str,
    source: str,
    name: str,
) -> None:
    """Refuse an input whose last quoted value is never closed.

    The parser then reads every line after the quote into that one value and says nothing:
    the lines are lost. It shows as a last record holding a line break that runs to the end
    of the file: a value of the last row (a closed one is followed by its closing quote), or
    the text of a record with the wrong number of fields that ends inside quotes.
    """
    last = [table.column(i)[-1].as_py() for i in range(table.num_columns)] if len(table) else []
    # as written in the file: a quote inside a quoted value is doubled
    spanning = [
        v.replace('"', '""') for v in last if isinstance(v, str) and ("\n" in v or "\r" in v)
    ]
    spanning += [t for t in last_malformed if _ends_inside_quotes(t)]
    if not spanning:
        return
    longest = max(len(v.encode(encoding, errors="replace")) for v in spanning)
    tail, newlines = _tail_and_newlines(data, 2 * longest + 64)
    end = tail.decode(encoding, errors="replace").rstrip("\r\n")
    for written in spanning:
        if end.endswith(written.rstrip("\r\n")):
            lines = newlines + (not tail.endswith(b"\n"))  # a last line without a newline
            line = lines - written.rstrip("\r\n").count("\n")
            raise _structural(
                source,
                name,
                f"line {line}: a quoted value is never closed, so every line after it would be "
                'read into that one value; close the quote ("") or remove the stray one',
            )


def _ends_inside_quotes(text: str) -> bool:
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _tail_and_newlines(data: Any, size: int) -> tuple[bytes, int]:
    """The last ``size`` bytes of the (decompressed) input and its number of newlines."""
    tail, newlines = b"", 0
    for chunk in _chunks(data):
        newlines += chunk.count(b"\n")
        tail = (tail + chunk)[-size:]
    return tail, newlines


def _is_gzip(data: Any) -> bool:
    if isinstance(data, bytes):
        return data[:2] == b"\x1f\x8b"
    with open(data, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _csv_lines(
    data: Any, encoding: str, sep: str, width: int, n_rows: int, n_malformed: int, lead: int = 0
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
    after_lead = start_lines > lead  # the (blank) lines before the header
    start_lines, n_fields = start_lines[after_lead], n_fields[after_lead]
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
        try:
            return _raw_from_bytes(content, name, schema, opts)
        except (OSError, EOFError, zlib.error) as exc:
            raise _io_error(name, exc) from None
    if not isinstance(source, str | os.PathLike):
        raise TypeError(
            f"source must be a file path, a file object or a pandas DataFrame, "
            f"not {type(source).__name__}"
        )
    path = Path(source)
    name = str(source)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such file") from None
    except OSError as exc:
        raise _io_error(name, exc) from None  # a symlink loop, a permission...
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{name}: is a folder, not a file (use read_folder for folders)")
    try:
        if not stat.S_ISREG(mode):
            # a FIFO or a process substitution (/dev/fd/63) can be read only once
            with open(path, "rb") as fh:
                return _raw_from_bytes(fh.read(), name, schema, opts)
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
            return _raw_from_parquet(path, name, schema, opts)
        if path.suffix.lower() in _SPREADSHEET_SUFFIXES or (
            magic in _SPREADSHEET_MAGIC and path.suffix.lower() == ".csv"
        ):
            return _raw_from_excel(path, name, schema, opts)  # also an .xlsx saved as .csv
        return _raw_from_csv(path, name, schema, opts)
    except (OSError, EOFError, zlib.error) as exc:
        raise _io_error(name, exc) from None


def _raw_from_bytes(content: bytes, name: str, schema: TableSchema, opts: _Options) -> _Raw:
    if content[:4] == b"PAR1":
        return _raw_from_parquet(io.BytesIO(content), name, schema, opts)
    if content[:4] in _SPREADSHEET_MAGIC:
        return _raw_from_excel(io.BytesIO(content), name, schema, opts)
    return _raw_from_csv(content, name, schema, opts)


def _io_error(name: str, exc: BaseException) -> OSError:
    """An I/O failure as an OSError naming the file (the CLI prints it first, exit 3)."""
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        reason = "too many levels of symbolic links (a symlink loop)"
    elif isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:  # gzip's EOFError / BadGzipFile, zlib.error, Arrow's decompression errors
        reason = f"cannot read: {exc}"
    code = exc.errno if isinstance(exc, OSError) and exc.errno else errno.EIO
    return OSError(code, reason, name)
