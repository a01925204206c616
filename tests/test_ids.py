"""Id codes: exactly pandas' factorize, on every path (numbered, Arrow dictionary, fallback)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics import _ids
from loyalty_metrics._ids import (
    count_distinct,
    factorize_ids,
    factorize_ids_with_uniques,
    first_rows,
    take_ids,
)


def _arrow_series(values: list, chunk: int = 3, large: bool = False) -> pd.Series:
    """Arrow-backed str Series split into chunks of ``chunk`` (chunk borders matter)."""
    chunks = [values[i : i + chunk] for i in range(0, len(values), chunk)] or [[]]
    kind = pa.large_string() if large else pa.string()
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks, type=kind)))


def _assert_exact(values: list, series: pd.Series) -> None:
    """Sorted codes equal pandas' exactly; unsorted codes make the same groups.

    The reference is worked out in plain Python (what pandas 3 gives): pandas 2.2's object
    factorize cuts strings at a NUL character ("a" == "a\\x00" there).
    """
    distinct = sorted({v for v in values if v is not None})
    rank = {v: code for code, v in enumerate(distinct)}
    expected_sorted = [rank.get(v, -1) for v in values]
    if not pd.__version__.startswith("2."):
        reference = pd.Series(values, dtype=object)
        assert pd.factorize(reference, sort=True)[0].tolist() == expected_sorted
    assert factorize_ids(series, sort=True).tolist() == expected_sorted
    codes = factorize_ids(series)
    present = codes >= 0
    assert (~present).tolist() == [v is None for v in values]
    relabelled = codes.copy()
    relabelled[present] = pd.factorize(codes[present])[0]
    first_seen = {v: code for code, v in enumerate(distinct_in_order(values))}
    assert relabelled.tolist() == [first_seen.get(v, -1) for v in values]
    rows = first_rows(codes)
    assert len(rows) == len(distinct)  # dense: 0..k-1
    for code, row in enumerate(rows):
        assert {values[i] for i in np.flatnonzero(codes == code)} == {values[row]}
    _assert_uniques(series)


def _assert_uniques(series: pd.Series) -> None:
    """The distinct ids the coding gives equal one row picked per code (the general path),
    same values, dtype and name; the codes are factorize_ids'."""
    for sort in (True, False):
        codes, uniques = factorize_ids_with_uniques(series, sort=sort)
        assert codes.tolist() == factorize_ids(series, sort=sort).tolist()
        expected = take_ids(series, first_rows(codes))
        pd.testing.assert_series_equal(uniques, expected, check_exact=True)


def distinct_in_order(values: list) -> list:
    """The present values in order of first appearance."""
    return [v for v in dict.fromkeys(values) if v is not None]


_numbered = st.builds(
    lambda prefix, number, pad: f"{prefix}{number:0{pad}d}",
    st.sampled_from(["C", "#", "CUST-", ""]),
    st.integers(0, 10**6),
    st.integers(1, 8),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=12), st.text(min_size=7, max_size=40)), max_size=40
    ),
    st.integers(1, 7),
    st.booleans(),
)
def test_any_text_is_coded_exactly(values: list, chunk: int, large: bool) -> None:
    # Missing values, empty strings and any unicode, across Arrow chunk borders.
    series = _arrow_series(values, chunk, large)
    _assert_exact(values, series)
    # the same ids in an object column (pandas 2.2's text dtype) go through Arrow too
    _assert_exact(values, pd.Series(values, dtype=object))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["C", "#", "CUST-", ""]),
    st.lists(st.integers(0, 10**7), min_size=1, max_size=40),
    st.sampled_from(["fixed", "plain", "mixed"]),
    st.lists(st.none(), max_size=3),
    st.integers(1, 7),
)
def test_numbered_ids_are_coded_exactly(
    prefix: str, numbers: list, width: str, nones: list, chunk: int
) -> None:
    # fixed: zero-padded to one width ("C0007"); plain: no leading zeros ("C7", "C12"), where
    # string order differs from number order; mixed: both, which is not one-to-one ("C07" and
    # "C7" are both 7) and must fall back.
    if width == "fixed":
        values = [f"{prefix}{n:08d}" for n in numbers]
    elif width == "plain":
        values = [f"{prefix}{n}" for n in numbers]
    else:
        values = [f"{prefix}{n:03d}" if i % 2 else f"{prefix}{n}" for i, n in enumerate(numbers)]
    values = values + nones
    series = _arrow_series(values, chunk)
    _assert_exact(values, series)
    # the fast path is taken whenever it is safe
    parsed = _ids._numbers(_ids._arrow_string_chunks(series), len(values))
    assert (parsed is not None) == (width != "mixed" or _one_to_one(values, prefix))


def _one_to_one(values: list, prefix: str) -> bool:
    """One width for all, or no leading zeros: then the number gives back the id."""
    digits = [v[len(prefix) :] for v in values if v is not None]
    return len({len(d) for d in digits}) == 1 or not any(
        d.startswith("0") and d != "0" for d in digits
    )


@pytest.mark.parametrize(
    "values",
    [
        ["C1", "C", "C2"],  # an id that is only the prefix
        ["C1", "D1"],  # two prefixes
        ["+5", "5"],
        ["-5", "5"],
        [" 5", "5"],
        ["1" * 19, "1"],  # too long for int64
        ["C١٢", "C12"],  # Arabic-Indic digits are not ASCII decimals
        ["é1", "é2", "é1"],  # non-ASCII prefix
        ["C1", "C100000000000000000"],  # sparse numbers: hashed by value, not a lookup table
        ["10", "9", "1", "100", "0"],  # string order is not number order
        ["a", "a\x00", "a\x00\x00", "", "\x00", "a"],  # trailing NULs are not padding
        ["x" * 29 + "a", "x" * 29 + "b", "x" * 29 + "a", "x" * 8, "x" * 16],  # words apart
        ["ü" * 5, "ü" * 4 + "u", "€uro", "€uro"],  # multi-byte characters across a word border
    ],
)
def test_awkward_ids(values: list) -> None:
    _assert_exact(values, _arrow_series(values))


def test_sliced_arrow_arrays_are_read_from_their_offset() -> None:
    # A slice of an Arrow array shares the parent's buffers: offsets start mid-buffer.
    values = ["skip", "me", "ab", "cd", None, "ab", "efghijklmnop"]
    array = pa.array(values, type=pa.string()).slice(2)
    series = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([array])))
    _assert_exact(values[2:], series)


def test_object_and_categorical_columns_use_pandas() -> None:
    values = ["b", "a", "b", None]
    for series in (pd.Series(values, dtype=object), pd.Series(values, dtype="category")):
        assert factorize_ids(series, sort=True).tolist() == [1, 0, 1, -1]


@pytest.mark.parametrize(
    "values",
    [
        ["b", 1, "b", None],  # not all text: pandas codes the objects as they are
        ["a", b"a", "a"],  # bytes are not str ("a" != b"a"), though Arrow would merge them
        [None, np.nan, None],  # nothing but missing values
        ["\ud800", "a", "\ud800"],  # a lone surrogate Arrow cannot encode
    ],
)
def test_object_columns_arrow_cannot_hold_exactly_use_pandas(values: list) -> None:
    series = pd.Series(values, dtype=object)
    assert _ids._arrow_string_chunks(series) is None
    expected = pd.factorize(series, sort=True)[0].tolist()
    assert factorize_ids(series, sort=True).tolist() == expected
    present = [v for v in values if not pd.isna(v)]
    assert count_distinct([series]) == len(set(present))


def test_object_text_columns_take_the_numbered_path() -> None:
    # pandas 2.2 reads ids as object: they are converted, then coded by number
    values = ["C10", "C9", None, "C10", np.nan]
    series = pd.Series(values, dtype=object)
    assert _ids._numbers(_ids._arrow_string_chunks(series), len(values)) is not None
    assert factorize_ids(series, sort=True).tolist() == [0, 1, -1, 0, -1]
    assert count_distinct([series, pd.Series(["C9", "C11"], dtype=object)]) == 3


def test_sorted_codes_follow_string_order_not_number_order() -> None:
    # "C10" < "C9" as text; the index of a summary is sorted as text.
    series = _arrow_series(["C9", "C10", "C1", "C9"])
    assert factorize_ids(series, sort=True).tolist() == [2, 1, 0, 2]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["C", ""]),
    st.lists(st.integers(0, 1000), min_size=1, max_size=60),
    st.booleans(),
    st.integers(1, 7),
)
def test_numbered_ids_in_a_dense_range_are_coded_exactly(
    prefix: str, numbers: list, fixed: bool, chunk: int
) -> None:
    # Numbers close together take the lookup table (span <= 2 * rows + 1024), where the
    # text order of unpadded numbers ("C10" before "C9") is set in the table itself.
    values = [f"{prefix}{n:05d}" if fixed else f"{prefix}{n}" for n in numbers]
    _assert_exact(values, _arrow_series(values, chunk))


def test_unpadded_numbers_sort_as_text() -> None:
    # 9, 10, 100, 11 -> text order "10" < "100" < "11" < "9": codes 3, 0, 1, 2
    series = _arrow_series(["9", "10", "100", "11", None, "9"])
    assert factorize_ids(series, sort=True).tolist() == [3, 0, 1, 2, -1, 3]
    assert _ids._string_rank(np.array([9, 10, 11, 100])).tolist() == [3, 0, 2, 1]


@settings(max_examples=200, deadline=None)
@given(
    st.sets(
        st.one_of(st.integers(0, 10**6), st.integers(0, 10**17 - 1), st.integers(0, 10**18 - 1)),
        min_size=1,
        max_size=80,
    )
)
def test_the_text_rank_of_numbers_is_the_order_of_their_digits(numbers: set) -> None:
    # ascending distinct numbers -> each one's place in the sorted texts (both the one-key
    # sort below 18 digits and the two-key sort of 18-digit numbers)
    distinct = np.array(sorted(numbers), dtype="int64")
    by_text = sorted(str(n) for n in distinct)
    expected = [by_text.index(str(n)) for n in distinct]
    assert _ids._string_rank(distinct).tolist() == expected


def test_the_text_rank_breaks_ties_of_padded_digits_by_length() -> None:
    # 7, 70, 700... pad to the same digits: the shorter text comes first, whatever order
    # the sort meets them in (tens of thousands of ties)
    distinct = np.array(sorted({d * 10**j for d in range(1, 5000) for j in range(8)}))
    by_text = {text: place for place, text in enumerate(sorted(str(n) for n in distinct))}
    expected = [by_text[str(n)] for n in distinct]
    assert _ids._string_rank(distinct).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), _numbered, st.text(max_size=4)), max_size=15), max_size=4
    ),
    st.booleans(),
)
def test_count_distinct(parts: list, large: bool) -> None:
    series = [_arrow_series(p, 2, large) for p in parts]
    expected = len({v for p in parts for v in p if v is not None})
    assert count_distinct(series) == expected
    assert count_distinct([pd.Series(p, dtype=object) for p in parts]) == expected


def test_count_distinct_mixes_string_and_large_string() -> None:
    parts = [_arrow_series(["C1", "C2"]), _arrow_series(["C2", "C3"], large=True)]
    assert count_distinct(parts) == 3


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", object, "category"])
def test_take_ids_keeps_the_dtype(dtype) -> None:
    values = pd.Series(["a", "b", None, "c"], dtype=dtype, index=[5, 6, 7, 8])
    taken = _ids.take_ids(values, np.array([3, 2, 0]))
    assert taken.dtype == values.dtype
    assert list(taken.index) == [0, 1, 2]
    assert taken.iloc[[0, 2]].tolist() == ["c", "a"] and pd.isna(taken.iloc[1])


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        (list(range(0, 3000, 3)) * 2, 1001),  # dense range: a bitmap (+ "C1")
        ([1, 10**15, 1, 10**12], 3),  # sparse: hashed
    ],
)
def test_count_distinct_numbered_ranges(numbers: list, expected: int) -> None:
    parts = [_arrow_series([f"C{n}" for n in numbers], 7), _arrow_series([None, "C1"])]
    assert count_distinct(parts) == expected


def test_uniques_hand_worked() -> None:
    # numbered with a common width: "C007" and "C012" written back with prefix and zeros
    codes, uniques = factorize_ids_with_uniques(_arrow_series(["C012", "C007", None, "C012"]))
    assert codes.tolist() == [1, 0, -1, 1] and uniques.tolist() == ["C007", "C012"]
    # unpadded numbers sorted as text; other text through the dictionary
    codes, uniques = factorize_ids_with_uniques(_arrow_series(["9", "10", "9"]), sort=True)
    assert codes.tolist() == [1, 0, 1] and uniques.tolist() == ["10", "9"]
    codes, uniques = factorize_ids_with_uniques(_arrow_series(["b", "a", "b"], large=True))
    assert uniques.iloc[codes].tolist() == ["b", "a", "b"] and uniques.name is None
