"""The readers' fast paths give what their general paths give (hand-worked cases and
hypothesis properties): categories coded through each chunk's dictionary, ids trimmed only
when an edge byte could be whitespace, ids and text read as ``large_string``."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

import loyalty_metrics as lm
from loyalty_metrics.io._convert import (
    _category_by_pandas,
    _convert_category,
    _printable_edges,
    _trim_chunk,
)
from loyalty_metrics.io._raw_input import _csv_type


def _chunks(values: list, size: int, *, encode: bool) -> pa.ChunkedArray:
    """``values`` in chunks of ``size``; each chunk dictionary-encoded on its own (as the CSV
    reader does: every block has its own dictionary)."""
    parts = [values[i : i + size] for i in range(0, len(values), size)]
    arrays = [pa.array(p, type=pa.string()) for p in parts]
    if encode:
        arrays = [a.dictionary_encode() for a in arrays]
        return pa.chunked_array(arrays, type=pa.dictionary(pa.int32(), pa.string()))
    return pa.chunked_array(arrays, type=pa.string())


def _assert_same_category(fast: tuple, general: tuple) -> None:
    cat, blank = fast
    expected, expected_blank = general
    assert list(cat.categories) == list(expected.categories)
    assert cat.categories.dtype == expected.categories.dtype
    assert cat.codes.dtype == expected.codes.dtype
    assert cat.codes.tolist() == expected.codes.tolist()
    assert blank.tolist() == expected_blank.tolist()


def test_categories_hand_worked() -> None:
    # chunk 1 dictionary ["Toys ", "Books"], chunk 2 ["books", " Toys", " "]: stripped and
    # sorted, the labels are Books, Toys, books (upper case first); " " is blank
    arr = _chunks(["Toys ", "Books", None, "books", " Toys", " "], 3, encode=True)
    cat, blank = _convert_category(arr)
    assert list(cat.categories) == ["Books", "Toys", "books"]
    assert cat.codes.tolist() == [1, 0, -1, 2, 1, -1]
    assert blank.tolist() == [False, False, True, False, False, True]


_label = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "a", "a ", " a", "B", "b", "\u00a0b", "é", "Home & Kitchen"]),
    st.text(max_size=5),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_label, max_size=40), st.integers(1, 9), st.booleans())
def test_categories_equal_the_pandas_path(values: list, size: int, encode: bool) -> None:
    arr = _chunks(values, size, encode=encode)
    _assert_same_category(_convert_category(arr), _category_by_pandas(arr))


def test_categories_beyond_int8_codes() -> None:
    values = [f"k{i:03d}" for i in range(300)] * 2
    arr = _chunks(values, 250, encode=True)
    cat, _ = _convert_category(arr)
    assert cat.codes.dtype == np.int16 and len(cat.categories) == 300
    _assert_same_category((cat, _), _category_by_pandas(arr))


def test_printable_edges_hand_worked() -> None:
    assert _printable_edges(pa.array(["C1", "x-2", None, ""]))
    assert _printable_edges(pa.array(["a", "b"], type=pa.large_string()))
    for edged in (" C1", "C1 ", "C1\t", "\u00a0C1", "C1\u3000", "éa"):
        assert not _printable_edges(pa.array(["ok", edged]))
    # a slice sees only its own values
    assert _printable_edges(pa.array([" x", "ok"]).slice(1))


_id_text = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from([" 17850", "17850 ", "\t7", "7\u00a0", "\u2003C1", "C1", "", " "]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_id_text, max_size=30), st.integers(0, 5), st.booleans())
def test_trim_equals_arrows_trim(values: list, start: int, large: bool) -> None:
    chunk = pa.array(values, type=pa.large_string() if large else pa.string())
    chunk = chunk.slice(min(start, len(chunk)))
    expected = pc.utf8_trim_whitespace(chunk)
    assert _trim_chunk(chunk).to_pylist() == expected.to_pylist()
    if _printable_edges(chunk):
        assert expected.equals(chunk)  # nothing to trim indeed


def test_ids_and_text_are_read_as_large_string() -> None:
    assert _csv_type("id") == pa.large_string() and _csv_type("text") == pa.large_string()
    assert _csv_type("date") == pa.string() and _csv_type("money") == pa.string()
    assert pa.types.is_dictionary(_csv_type("category"))
    text = "customer_id,order_date,amount,order_id\n C1 ,2024-01-05,10,7.0\nC2,2024-01-06,5,\n"
    df = lm.read_orders(io.StringIO(text))
    assert df["customer_id"].tolist() == ["C1", "C2"]
    assert df["order_id"].tolist()[0] == "7" and pd.isna(df["order_id"].tolist()[1])
    assert df["customer_id"].dtype == "str"


def test_categories_are_stripped_when_stripping_keeps_their_order() -> None:
    # "Books " and "Toys" stay distinct and in order once stripped: they were kept with
    # their space before (the shortcut for already clean labels checked order, not text)
    text = (
        "customer_id,order_date,amount,category\nc1,2024-01-05,10,Books \nc2,2024-01-06,5,Toys\n"
    )
    df = lm.read_orders(io.StringIO(text))
    assert df["category"].tolist() == ["Books", "Toys"]
    assert list(df["category"].cat.categories) == ["Books", "Toys"]
    frame = pd.DataFrame({"customer_id": ["c1"], "order_date": ["2024-01-05"], "amount": [1.0],
                          "channel": pd.Categorical([" web"])})  # fmt: skip
    assert lm.read_orders(frame)["channel"].tolist() == ["web"]
