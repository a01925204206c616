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
