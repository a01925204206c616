"""Exact integer codes for identifier columns (customer and order ids).

Most exports number their ids: a fixed prefix and a decimal number (``C0012345``, ``#1001``,
``100234``). When every id of an Arrow-backed text column has the same prefix and the
number maps back to one string (one width for all, or no leading zeros), the ids are parsed
to int64 once and coded by value through a lookup table: no string hashing, and the codes
come out in the ids' sort order. ``benchmarks/bench_ids.py`` shows this beating
``pandas.factorize`` and ``pyarrow.compute.dictionary_encode`` on such ids.

Any other text goes to Arrow's hash kernels (``dictionary_encode``, ``unique``), which beat
or match what was hand-written here (a double 64-bit hash). Object columns holding only
strings (pandas 2.2's text dtype) are converted to Arrow first, which beats pandas' object
hash table and sort; anything else (categorical, numbers, mixed) goes to
:func:`pandas.factorize`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "count_distinct",
    "factorize_ids",
    "factorize_ids_with_uniques",
    "first_rows",
    "take_ids",
]

#: Longest number parsed (10**18 < 2**63, and a right-padded key still fits in int64).
_MAX_DIGITS = 18
_POWERS = 10 ** np.arange(_MAX_DIGITS + 1, dtype="int64")


def factorize_ids(values: pd.Series, *, sort: bool = False) -> np.ndarray:
    """Dense int64 codes of an id column: equal ids share a code, missing ids get -1.

    Parameters
    ----------
    values : pandas.Series
        The ids (any dtype; numbered text takes the fast path).
    sort : bool, default False
        Number the codes in the sorted order of the ids (as ``pd.factorize(sort=True)``);
        otherwise in no particular order.

    Returns
    -------
    numpy.ndarray
        int64 codes 0..k-1, one per row; take the distinct ids with
        ``values.iloc[first_rows(codes)]``.

    Examples
    --------
    >>> ids = pd.Series(["C10", "C9", "C10", None], dtype="str")
    >>> codes = factorize_ids(ids, sort=True)
    >>> codes.tolist(), ids.iloc[first_rows(codes)].tolist()
    ([0, 1, 0, -1], ['C10', 'C9'])
    """
    chunks = _arrow_string_chunks(values)
    if chunks is not None:
        numbered = _numbers(chunks, len(values))
        if numbered is not None:
            return _codes_by_number(*numbered[:2], sort=sort)[0]
        return _dictionary_codes(chunks, sort=sort)[0]
    return pd.factorize(values, sort=sort, use_na_sentinel=True)[0].astype("int64")


def factorize_ids_with_uniques(
    values: pd.Series, *, sort: bool = False
) -> tuple[np.ndarray, pd.Series]:
    """:func:`factorize_ids` and the distinct ids, ``uniques.iloc[code]`` being the id of
    ``code`` (as ``take_ids(values, first_rows(codes))``, the same values and dtype).

    On Arrow-backed text the distinct ids come from the coding itself (the distinct
    numbers written back with their prefix and width, or the hash's dictionary), instead of
    picking one row per code out of the whole column (a take across its chunks, which
    first joins them: 0.4 s for 2.6M of 10M ids).

    Examples
    --------
    >>> ids = pd.Series(["C10", "C9", "C10", None], dtype="str")
    >>> codes, uniques = factorize_ids_with_uniques(ids, sort=True)
    >>> codes.tolist(), uniques.tolist()
    ([0, 1, 0, -1], ['C10', 'C9'])
    """
    import pyarrow as pa

    array = getattr(values.array, "_pa_array", None)
    chunks = _arrow_string_chunks(values) if array is not None else None
    if array is None or chunks is None:  # object columns, categoricals...: one row per code
        codes = factorize_ids(values, sort=sort)
        return codes, take_ids(values, first_rows(codes))

    numbered = _numbers(chunks, len(values))
    if numbered is not None:
        numbers, fixed_width, prefix, digits = numbered
        codes, distinct = _codes_by_number(numbers, fixed_width, sort=sort)
        text = _numbers_as_text(distinct, prefix, digits if fixed_width else None)
    else:
        codes, text = _dictionary_codes(chunks, sort=sort)
    uniques = values.dtype.__from_arrow__(pa.chunked_array([text.cast(array.type)]))
    return codes, pd.Series(uniques, name=values.name, copy=False)


def first_rows(codes: np.ndarray) -> np.ndarray:
    """For each code, the position of a row holding it (any one: equal codes, equal ids).

    Examples
    --------
    >>> first_rows(np.array([1, 0, -1, 0])).tolist()[1]
    0
    """
    rows = np.zeros(int(codes.max(initial=-1)) + 1, dtype="int64")
    if len(codes) and codes.min() >= 0:
        rows[codes] = np.arange(len(codes))
    else:
        present = codes >= 0
        rows[codes[present]] = np.flatnonzero(present)
    return rows


def take_ids(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """``values.iloc[rows]`` with a fresh RangeIndex and the same dtype.

    Examples
    --------
    >>> take_ids(pd.Series(["a", "b", "c"], dtype="str"), np.array([2, 0])).tolist()
    ['c', 'a']
    """
    return pd.Series(values.array.take(rows), dtype=values.dtype, name=values.name, copy=False)


def count_distinct(parts: Sequence[pd.Series]) -> int:
    """Number of distinct non-missing ids over several columns of ids.

    Examples
    --------
    >>> count_distinct([pd.Series(["a", "b"], dtype="str"), pd.Series(["b", "c", None])])
    3
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return 0
    chunk_lists = [_arrow_string_chunks(p) for p in parts]
    if all(c is not None for c in chunk_lists):
        chunks = _same_type([c for chunk_list in chunk_lists for c in chunk_list])  # type: ignore[union-attr]  # None ruled out above
        size = sum(len(p) for p in parts)
        numbered = _numbers(chunks, size)
        if numbered is not None:
            return _count_numbers(numbered[0])
        return _count_text(chunks)
    return int(pd.concat([p.astype(object) for p in parts], ignore_index=True).nunique())


# ---------------------------------------------------------------------------------------------
# Numbered ids.


def _numbers(chunks: list, size: int) -> tuple[np.ndarray, bool, str, int] | None:
    """(numbers, fixed_width, prefix, digits) when every id is one prefix + a decimal
    number, else None; ``digits`` is the numbers' width when they share one.

    ``numbers`` is int64, -1 where the id is missing. The mapping id -> number must be
    one-to-one: either every number has the same width (leading zeros allowed: "007" and
    "012"), or none has a leading zero ("7" and "12"). Chunk by chunk, so no temporary the
    size of the column is ever held.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    sample = _first_present(chunks)
    prefix = _leading_non_digits(sample or "")
    if sample is None or not prefix.isascii() or len(prefix) == len(sample):
        return None
    # The widths first, from the offsets alone: a cheap way out for most other ids.
    low, high = _width_range(chunks)
    low, high = low - len(prefix), high - len(prefix)
    if low < 1 or high > _MAX_DIGITS:
        return None
    fixed_width = low == high
    numbers = np.empty(size, dtype="int64")
    pos = 0
    for chunk in chunks:
        if prefix and not pc.all(pc.starts_with(chunk, pattern=prefix), min_count=0).as_py():
            return None
        digits = pc.utf8_slice_codeunits(chunk, len(prefix)) if prefix else chunk
        if not pc.all(pc.ascii_is_decimal(digits), min_count=0).as_py():
            return None
        if not fixed_width:
            leading_zero = pc.and_(pc.starts_with(digits, pattern="0"), pc.not_equal(digits, "0"))
            if pc.any(leading_zero, min_count=0).as_py():
                return None
        numbers[pos : pos + len(chunk)] = pc.cast(digits, pa.int64()).fill_null(-1).to_numpy()
        pos += len(chunk)
    return numbers, fixed_width, prefix, low


def _codes_by_number(
    numbers: np.ndarray, fixed_width: bool, *, sort: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes of the numbers (-1 stays -1), in the ids' string order if ``sort``, and
    the distinct numbers in code order.

    ``numbers`` is the caller's scratch array: it is shifted in place and may be returned.
    """
    valid = numbers >= 0
    everywhere = bool(valid.all())
    present = numbers if everywhere else numbers[valid]
    if not len(present):
        return numbers, np.zeros(0, dtype="int64")
    low = int(present.min())
    span = int(present.max()) - low + 1
    if span <= 2 * len(present) + 1024:
        # A lookup table over the range: no hashing, and codes follow the numbers' order.
        present -= low
        seen = np.zeros(span, dtype=bool)
        seen[present] = True
        distinct = np.flatnonzero(seen) + low
        code_of = np.cumsum(seen, dtype="int64")
        del seen
        code_of -= 1
        rank = None
        if sort and not fixed_width:  # the text order, set in the table, not on the rows
            rank = code_of[distinct - low] = _string_rank(distinct)
        present = code_of[present]
        del code_of
    else:
        present, distinct = pd.factorize(present, sort=True)
        rank = None
        if sort and not fixed_width:
            rank = _string_rank(distinct)
            present = rank[present]
    if rank is not None:  # the distinct numbers in code order
        in_order = np.empty_like(distinct)
        in_order[rank] = distinct
        distinct = in_order
    if not everywhere:
        numbers[valid] = present
        return numbers, distinct
    return present, distinct


def _numbers_as_text(distinct: np.ndarray, prefix: str, digits: int | None) -> Any:
    """The ids of numbers as :func:`_numbers` read them: the prefix, then the number
    zero-padded to ``digits`` (None: unpadded)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(distinct, type=pa.int64()).cast(pa.string())
    if digits is not None:
        text = pc.utf8_lpad(text, width=digits, padding="0")
    if prefix:
        text = pc.binary_join_element_wise(prefix, text, "")
    return text


def _string_rank(distinct: np.ndarray) -> np.ndarray:
    """The place of each of the ascending ``distinct`` numbers in the order of their
    digits as text. Without a common width, "10" sorts before "9": order by the digits
    padded on the right, then by length ("1" before "10")."""
    widths = 1 + np.searchsorted(_POWERS[1:], distinct, side="right")  # digits of each
    longest = int(widths.max(initial=1))
    padded = distinct * _POWERS[longest - widths]
    rank = np.empty(len(distinct), dtype="int64")
    if longest <= 17:
        # one key, (padded, width) in order: below 10**17 * 32, and widths below 32; a sort
        # of one int64 key (numpy's SIMD sort) takes half the time of lexsort's two
        padded *= 32
        padded += widths
        rank[np.argsort(padded)] = np.arange(len(distinct))
    else:
        rank[np.lexsort((widths, padded))] = np.arange(len(distinct))
    return rank


def _count_numbers(numbers: np.ndarray) -> int:
    """Distinct count of the non-negative numbers (-1 is missing); reuses ``numbers``.

    A bitmap over a dense range, else a hash of the numbers.
    """
    if not (numbers >= 0).all():
        numbers = numbers[numbers >= 0]
    if not len(numbers):
        return 0
    low = int(numbers.min())
    span = int(numbers.max()) - low + 1
    if span > 2 * len(numbers) + 1024:
        return len(pd.unique(numbers))
    numbers -= low
    seen = np.zeros(span, dtype=bool)
    seen[numbers] = True
    return int(np.count_nonzero(seen))


def _leading_non_digits(text: str) -> str:
    for i, char in enumerate(text):
        if "0" <= char <= "9":
            return text[:i]
    return text


def _first_present(chunks: list) -> str | None:
    import pyarrow.compute as pc

    chunk = next((c for c in chunks if c.null_count < len(c)), None)
    return None if chunk is None else pc.drop_null(chunk)[0].as_py()


def _width_range(chunks: list) -> tuple[int, int]:
    """Shortest and longest byte length of the present strings."""
    low, high = np.iinfo(np.int64).max, -1
    for chunk in chunks:
        lengths = np.diff(_offsets(chunk))
        if chunk.null_count:
            lengths = lengths[np.asarray(chunk.is_valid(), dtype=bool)]
        if len(lengths):
            low, high = min(low, int(lengths.min())), max(high, int(lengths.max()))
    return low, high


# ---------------------------------------------------------------------------------------------
# Other text: Arrow's hash kernels.


def _dictionary_codes(chunks: list, *, sort: bool) -> tuple[np.ndarray, Any]:
    """Codes by ``pyarrow.compute.dictionary_encode`` (one dictionary across the chunks),
    renumbered in the sorted order of the distinct ids when ``sort``, and the distinct ids
    in code order (an Arrow array).

    Arrow sorts strings by their UTF-8 bytes, which is code point order: pandas' order.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not chunks:
        return np.empty(0, dtype="int64"), pa.array([], type=pa.string())
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, type=chunks[0].type))
    codes = np.empty(len(encoded), dtype="int64")
    pos = 0
    for chunk in encoded.chunks:
        codes[pos : pos + len(chunk)] = chunk.indices.fill_null(-1).to_numpy()
        pos += len(chunk)
    if not encoded.num_chunks:
        return codes, pa.array([], type=chunks[0].type)
    distinct = encoded.chunks[-1].dictionary  # every chunk shares the whole dictionary
    if sort:
        order = pc.array_sort_indices(distinct)
        rank = np.empty(len(order) + 1, dtype="int64")
        rank[order.to_numpy()] = np.arange(len(order))
        rank[-1] = -1  # missing ids keep -1
        codes = rank[codes]
        distinct = distinct.take(order)
    return codes, distinct


def _count_text(chunks: list) -> int:
    """Distinct non-missing strings, by ``pyarrow.compute.unique``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    distinct = pc.unique(pa.chunked_array(chunks, type=chunks[0].type))
    return len(distinct) - distinct.null_count


# ---------------------------------------------------------------------------------------------
# Arrow plumbing.


def _arrow_string_chunks(values: pd.Series) -> list | None:
    """The Arrow string chunks behind ``values``, or None when it is not text.

    An object column of Python strings (pandas 2.2's text dtype) is converted: Arrow's
    kernels on the copy beat pandas' object hash table and sort (``bench_ids.py``).
    """
    import pyarrow as pa

    array = getattr(values.array, "_pa_array", None)
    if array is None and values.dtype == object:
        try:
            array = pa.chunked_array([pa.array(values.to_numpy(), from_pandas=True)])
        except (pa.ArrowException, UnicodeError):  # not all text, or not encodable
            return None
    if array is None or not (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    ):
        return None
    return list(array.chunks)


def _same_type(chunks: list) -> list:
    """Chunks cast to one type (large_string when string and large_string mix)."""
    import pyarrow as pa

    if len({c.type for c in chunks}) <= 1:
        return chunks
    return [c.cast(pa.large_string()) for c in chunks]


def _offsets(chunk) -> np.ndarray:
    import pyarrow as pa

    offset_type = "int64" if pa.types.is_large_string(chunk.type) else "int32"
    offsets = np.frombuffer(chunk.buffers()[1], dtype=offset_type)
    return offsets[chunk.offset : chunk.offset + len(chunk) + 1]
