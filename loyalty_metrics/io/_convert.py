"""Id, category and boolean columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow_text import _NULL_TOKENS, _as_text, _chunkwise, _decoded, _is_text, _np_bool

_TRUE = ["true", "t", "yes", "y", "1", "1.0"]
_FALSE = ["false", "f", "no", "n", "0", "0.0"]


#: Floats hold every integer exactly only below 2**53; beyond, 17850.0-style ids collide.
_EXACT_FLOAT_LIMIT = 2.0**53
#: Text of a whole number written as a float: "17850.0" (spreadsheets, pandas with blanks).
_FLOAT_WHOLE = r"^([+-]?[0-9]+)\.0+$"


def _convert_ids(arr: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray]:
    """Ids as trimmed text, one normalisation on every input path (DESIGN §2).

    Surrounding whitespace is stripped and a whole number written as a float (``17850.0``,
    text or a float column) becomes ``17850``. A float id that is not a whole number below
    2**53 cannot be told apart from its neighbours (``2**63`` and ``2**63 + 1`` are one
    float): it is ``bad`` (third array), never cast silently. Returns text, blank and bad.
    """
    arr = _decoded(arr)
    bad = np.zeros(len(arr), dtype=bool)
    if pa.types.is_floating(arr.type):
        values = arr.cast(pa.float64())
        floats = values.to_numpy(zero_copy_only=False)  # nulls are NaN
        with np.errstate(invalid="ignore"):
            exact = (np.abs(floats) < _EXACT_FLOAT_LIMIT) & (floats == np.round(floats))
        bad = ~np.isnan(floats) & ~exact
        whole = pc.if_else(pa.array(exact), values, pa.scalar(None, pa.float64()))
        arr = whole.cast(pa.int64())
    if not _is_text(arr.type):
        arr = arr.cast(pa.string())
    trimmed = _chunkwise(arr, _trim_chunk)
    if pc.any(pc.match_substring(trimmed, ".")).as_py():
        trimmed = _chunkwise(trimmed, _whole_number_chunk)
    blank = _np_bool(pc.is_null(trimmed)) | _np_bool(pc.equal(trimmed, ""))
    blank &= ~bad
    if blank.any():
        trimmed = pc.if_else(pa.array(blank), pa.scalar(None, trimmed.type), trimmed)
    return trimmed, blank, bad


def _whole_number_chunk(chunk: pa.Array) -> pa.Array:
    """``17850.0`` -> ``17850``; other text unchanged."""
    return pc.replace_substring_regex(chunk, pattern=_FLOAT_WHOLE, replacement=r"\1")


def _trim_chunk(chunk: pa.Array) -> pa.Array:
    """Whitespace-trimmed text; the chunk itself (no copy kept) when nothing was trimmed."""
    if _printable_edges(chunk):
        return chunk  # no value can start or end with whitespace: nothing to trim
    trimmed = pc.utf8_trim_whitespace(chunk)
    same = pc.sum(pc.binary_length(trimmed)).as_py() == pc.sum(pc.binary_length(chunk)).as_py()
    return chunk if same else trimmed


def _printable_edges(chunk: pa.Array) -> bool:
    """Whether every non-empty value of a string chunk starts and ends with a printable ASCII
    character (``!`` to ``~``), so that no whitespace surrounds it.

    Two byte gathers over the offsets, against a trim of every value (the copy of the
    text and two length sums: 0.3 s for three id columns of 10M lines). Any other edge
    (a space, a control or a non-ASCII byte) answers False and the values get trimmed.
    """
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return False
    offset_type = "int64" if pa.types.is_large_string(chunk.type) else "int32"
    offsets: np.ndarray = np.frombuffer(chunk.buffers()[1], dtype=offset_type)
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    data = chunk.buffers()[2]
    if data is None or len(offsets) < 2:
        return True  # every value is empty or null
    text = np.frombuffer(data, dtype=np.uint8)
    starts, stops = offsets[:-1], offsets[1:]
    filled = stops > starts
    if not filled.all():
        starts, stops = starts[filled], stops[filled]
    first, last = text[starts], text[stops - 1]
    return bool(((first >= 0x21) & (first <= 0x7E) & (last >= 0x21) & (last <= 0x7E)).all())


def _categorical_of(arr: pa.ChunkedArray) -> pd.Categorical:
    arr = arr if pa.types.is_dictionary(arr.type) else _as_text(arr).dictionary_encode()
    cat = pd.Categorical(arr.to_pandas())
    return cat


def _convert_category(arr: pa.ChunkedArray) -> tuple[pd.Categorical, np.ndarray]:
    """Categorical with stripped, sorted categories; blank text is missing.

    The labels are the distinct values of the chunks' dictionaries (a handful per chunk):
    they are stripped and sorted once, and each chunk's indices go through a small table
    straight to their final code (one pass over the rows, no unified dictionary first).
    """
    arr = arr if pa.types.is_dictionary(arr.type) else _as_text(arr).dictionary_encode()
    value_type = arr.type.value_type
    if not _is_text(value_type):  # a DataFrame's categorical of numbers...: kept as they are
        return _category_by_pandas(arr)
    chunks = [c for c in arr.chunks if len(c)]
    labels = pc.drop_null(
        pc.unique(pa.chunked_array([c.dictionary for c in chunks], type=value_type))
    )
    names = np.asarray(pd.Index(labels.to_pandas()).astype(str).str.strip(), dtype=object)
    uniq, inverse = np.unique(names, return_inverse=True)
    keep = uniq != ""
    # label -> final code (-1: blank once stripped); the extra last entry is for "no label"
    label_code = np.append(np.where(keep[inverse], np.cumsum(keep)[inverse] - 1, -1), -1)
    categories = pd.Index(uniq[keep], dtype="str")
    codes = np.empty(len(arr), dtype=_code_dtype(len(categories)))
    pos = 0
    for chunk in arr.chunks:
        # a chunk's dictionary entry -> code; the extra last entry is for missing values
        label = np.asarray(pc.index_in(chunk.dictionary, value_set=labels).fill_null(-1))
        table = np.append(label_code[label], -1).astype(codes.dtype)
        indices = chunk.indices.fill_null(len(table) - 1).to_numpy(zero_copy_only=False)
        codes[pos : pos + len(chunk)] = table[indices]
        pos += len(chunk)
    result = pd.Categorical.from_codes(codes, categories=categories, validate=False)
    return result, codes < 0


def _category_by_pandas(arr: pa.ChunkedArray) -> tuple[pd.Categorical, np.ndarray]:
    """:func:`_convert_category` through ``pandas.Categorical``, for labels of any type."""
    cat = _categorical_of(arr)
    if len(cat.categories) == 0:  # every value blank
        empty = pd.Categorical.from_codes(
            np.full(len(cat), -1), categories=pd.Index([], dtype="str")
        )
        return empty, np.ones(len(cat), dtype=bool)
    labels = pd.Index(cat.categories).astype(str)
    names = np.asarray(labels.str.strip(), dtype=object)
    uniq, inverse = np.unique(names, return_inverse=True)
    keep = uniq != ""
    codes = np.asarray(cat.codes)
    if (
        keep.all()
        and len(uniq) == len(names)
        and (inverse == np.arange(len(names))).all()
        and (names == np.asarray(labels, dtype=object)).all()
    ):
        return cat, codes < 0  # already stripped, distinct and sorted
    # old code -> new code; the extra last entry maps the missing code -1 to -1
    remap = np.append(np.where(keep[inverse], np.cumsum(keep)[inverse] - 1, -1), -1)
    new_codes = remap[codes].astype(codes.dtype)
    result = pd.Categorical.from_codes(
        new_codes, categories=pd.Index(uniq[keep], dtype="str"), validate=False
    )
    return result, new_codes < 0


def _code_dtype(n_categories: int) -> np.dtype:
    """The codes' dtype pandas gives a categorical of ``n_categories`` (the smallest)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


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
