"""Arrow helpers shared by the column converters: text views, null tokens, chunked casts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Text that means "no value" in number, date and boolean columns (lower-cased; the
# lower, upper and title case of each are recognised).
_NULL_TOKENS = ["", "na", "n/a", "nan", "null", "none", "#n/a", "nat"]
_NULL_VARIANTS = pa.array(
    sorted({v for t in _NULL_TOKENS for v in (t, t.upper(), t.title(), t.capitalize())} | {"NaN"})
)


def _np_bool(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An Arrow boolean array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _pandas_text(series: pd.Series) -> pd.Series:
    """``series.astype("str")`` with missing values kept missing.

    pandas 3's ``str`` keeps them; on pandas 2.2 ``str`` is object and turns None into the
    text "None" (a blank ``referred_by`` would count as a referral).
    """
    text = series.astype("str")
    if text.dtype == object:
        text[series.isna().to_numpy()] = np.nan  # np.nan itself, as pandas 3 stores it
    return text


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
