"""The readers' adversarial suite (issue 13): nothing lost, nothing silently changed.

One section per class of bad input an adversarial run found; each has a fixture (the input
that showed it) and, where the class has a shape, a hypothesis property over its variants.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loyalty_metrics as lm
from loyalty_metrics.errors import DataValidationError

# ---------------------------------------------------------------------------------------------
# Two columns that normalise to the same canonical name are refused, naming both, unless
# columns= picks one.


def _spellings(canonical: str) -> st.SearchStrategy[str]:
    """Headers a reader takes for ``canonical``: any case, surrounding space, - . or space."""
    words = canonical.split("_")
    return st.builds(
        lambda cases, seps, left, right: left
        + "".join(
            (w.upper() if c == 1 else w.capitalize() if c == 2 else w) + s
            for w, c, s in zip(words, cases, [*seps, ""], strict=True)
        )
        + right,
        st.lists(st.integers(0, 2), min_size=len(words), max_size=len(words)),
        st.lists(st.sampled_from(["_", " ", "-", "."]), min_size=len(words) - 1,
                 max_size=len(words) - 1),
        st.sampled_from(["", " "]),
        st.sampled_from(["", " "]),
    )  # fmt: skip


@pytest.mark.parametrize(
    "header",
    ["customer_id,order_date,amount,amount", "customer_id,order_date,Amount, amount ",
     "Customer ID,Customer_ID,order_date,amount"],
)  # fmt: skip
def test_duplicate_canonical_columns_are_refused_naming_both(header):
    with pytest.raises(DataValidationError, match="would all be read as") as info:
        lm.read_orders(io.StringIO(header + "\na,2024-01-01,1,2\n"), errors="reject")
    names = [h.strip() for h in header.split(",")]
    duplicated = [n for n in names if sum(m.lower().replace(" ", "_") == n.lower().replace(
        " ", "_") for m in names) > 1]  # fmt: skip
    for name in duplicated:
        assert repr(name) in str(info.value)


@given(column=st.sampled_from(["customer_id", "order_date", "amount", "order_id", "category"]),
       data=st.data())  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_any_two_spellings_of_one_column_are_refused_unless_columns_picks_one(column, data):
    first = data.draw(_spellings(column))
    second = data.draw(_spellings(column))
    values = {"customer_id": "c1", "order_date": "2024-01-05", "amount": "7",
              "order_id": "o1", "category": "tv"}  # fmt: skip
    others = [c for c in ("customer_id", "order_date", "amount") if c != column]
    header = [*others, first, second]
    row = [values[c] for c in others] + [values[column], "other"]
    text = ",".join(header) + "\n" + ",".join(row) + "\n"
    with pytest.raises(DataValidationError, match="would all be read as"):
        lm.read_orders(io.StringIO(text))
    if first.strip() != second.strip():  # distinguishable: columns= picks one
        kept = lm.read_orders(io.StringIO(text), columns={column: second}, errors="reject")
        assert lm.read_report(kept).rows_kept + lm.read_report(kept).rows_rejected == 1
        assert lm.read_report(kept).columns[column] == second.strip()


def test_a_dataframe_with_a_repeated_column_label_is_refused():
    df = pd.DataFrame([["a", "2024-01-01", 1, 2]],
                      columns=["customer_id", "order_date", "amount", "amount"])  # fmt: skip
    with pytest.raises(DataValidationError, match="'amount', 'amount' would all be read as"):
        lm.read_orders(df)
