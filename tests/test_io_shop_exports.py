"""Reading shop exports as they come: usual column spellings, amount = quantity * unit_price,
one id normalisation on every input path (loyalty_metrics/io: _aliases, _columns, _convert)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics.errors import DataValidationError
from loyalty_metrics.io._aliases import ALIASES, squash

# UCI Online Retail's columns, written by hand (three invoices, one a cancellation, a guest).
UCI = pd.DataFrame(
    {
        "InvoiceNo": ["536365", "536365", "C536379", "536380"],
        "StockCode": ["85123A", "71053", "85123A", "22"],
        "Description": ["LANTERN", "MUG", "LANTERN", "BAG"],
        "Quantity": [6, 2, -6, 3],
        "InvoiceDate": [
            "2010-12-01 08:26",
            "2010-12-01 08:26",
            "2010-12-01 09:41",
            "2010-12-02 10:00",
        ],
        "UnitPrice": [2.55, 3.39, 2.55, 1.25],
        "CustomerID": [17850.0, 17850.0, 17850.0, np.nan],
        "Country": ["United Kingdom"] * 4,
    }
)


def test_uci_columns_are_recognised_and_amount_is_quantity_times_unit_price():
    orders = lm.read_orders(UCI, errors="reject")
    # 6 * 2.55 = 15.30; 2 * 3.39 = 6.78; -6 * 2.55 = -15.30 (the cancellation is negative)
    assert orders["amount"].round(2).tolist() == [15.30, 6.78, -15.30]
    assert orders["order_id"].tolist() == ["536365", "536365", "C536379"]
    assert orders["customer_id"].tolist() == ["17850"] * 3  # 17850.0 as a float column
    assert orders["product_id"].tolist() == ["85123A", "71053", "85123A"]
    settings = lm.read_report(orders).settings
    assert settings["amount"] == "quantity * unit_price"
    assert settings["auto_mapped"] == {
        "customer_id": "CustomerID",
        "order_date": "InvoiceDate",
        "order_id": "InvoiceNo",
        "product_id": "StockCode",
        "unit_price": "UnitPrice",
    }
    assert lm.read_report(orders).rejected["reason"].tolist() == ["customer_id: blank value"]


def test_same_figures_from_csv_dataframe_and_parquet(tmp_path):
    UCI.to_csv(tmp_path / "o.csv", index=False)  # CustomerID written as 17850.0
    UCI.to_parquet(tmp_path / "o.parquet")  # CustomerID a float column
    assert "17850.0" in (tmp_path / "o.csv").read_text()
    frames = [
        lm.read_orders(src, errors="reject")
        for src in (UCI, tmp_path / "o.csv", tmp_path / "o.parquet")
    ]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0], check_like=True)
    assert lm.kpis(frames[1])["customers"] == 1


def test_amount_wins_over_quantity_and_unit_price():
    raw = UCI.assign(Sales=[1.0, 2.0, 3.0, 4.0])  # "Sales" is a usual spelling of amount
    orders = lm.read_orders(raw, errors="reject")
    assert orders["amount"].tolist() == [1.0, 2.0, 3.0]
    assert "amount" not in lm.read_report(orders).settings


def test_a_blank_quantity_or_price_rejects_the_line():
    raw = UCI.assign(Quantity=[6, None, -6, 3], UnitPrice=[2.55, 3.39, None, 1.25])
    rejected = lm.read_report(lm.read_orders(raw, errors="reject")).rejected
    assert rejected[["line", "reason"]].values.tolist() == [
        [2, "quantity: blank value (needed for amount = quantity * unit_price)"],
        [3, "unit_price: blank value (needed for amount = quantity * unit_price)"],
        [4, "customer_id: blank value"],
    ]


def test_a_text_column_is_never_proposed_for_a_number():
    raw = pd.DataFrame({"Kunde": ["a"], "Datum": ["2024-01-05"], "Country": ["UK"]})
    with pytest.raises(DataValidationError) as err:
        lm.read_orders(raw, columns={"customer_id": "Kunde"})
    message = str(err.value)
    assert "'amount' -> no close match (or columns 'quantity' and 'unit_price'" in message
    assert "Country'" not in message.split("closest match", 1)[1]


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("Invoice Number", "order_id"),
        ("Order ID", "order_id"),
        ("Client ID", "customer_id"),
        ("Kundennummer", "customer_id"),
        ("Order Date", "order_date"),
        ("Qty", "quantity"),
        ("Unit Price", "unit_price"),
        ("Net Total", "amount"),
        ("SKU", "product_id"),
        ("Product Category", "category"),
    ],
)
def test_usual_spellings(header, canonical):
    assert squash(header) in ALIASES["orders"][canonical]


def test_the_best_spelling_wins_when_two_headers_match():
    # "Order Date" is a better order_date than "Date" (which could be anything)
    raw = pd.DataFrame(
        {"Date": ["2024-02-01"], "Order Date": ["2024-01-05"], "Client": ["a"], "Total": [5.0]}
    )
    orders = lm.read_orders(raw)
    assert orders["order_date"].tolist() == [pd.Timestamp("2024-01-05")]
    assert lm.read_report(orders).columns["order_date"] == "Order Date"


def test_ids_normalised_the_same_on_every_path(tmp_path):
    text = pd.DataFrame(
        {
            "customer_id": [" 17850.0 ", "17850", "0042", "A-1.0", "17850.00"],
            "order_date": ["2024-01-05"] * 5,
            "amount": [1.0] * 5,
        }
    )
    ids = lm.read_orders(text)["customer_id"].tolist()
    # whole numbers written as floats lose ".0"; leading zeros and other text stay as written
    assert ids == ["17850", "17850", "0042", "A-1.0", "17850"]
    floats = text.assign(customer_id=[17850.0, 17850.0, 42.0, np.nan, -3.0])
    floats.to_parquet(tmp_path / "f.parquet")
    for source in (floats, tmp_path / "f.parquet"):
        frame = lm.read_orders(source, errors="reject")
        assert frame["customer_id"].tolist() == ["17850", "17850", "42", "-3"]


@pytest.mark.parametrize("value", [2.0**63, 2.0**53, 12.5, -(2.0**60)])
def test_float_ids_that_are_not_exact_integers_are_refused(value, tmp_path):
    raw = pd.DataFrame(
        {"customer_id": [17850.0, value], "order_date": ["2024-01-05"] * 2, "amount": [1.0, 2.0]}
    )
    with pytest.raises(DataValidationError, match="store ids as text"):
        lm.read_orders(raw)
    raw.to_parquet(tmp_path / "f.parquet")
    kept = lm.read_orders(tmp_path / "f.parquet", errors="reject")
    assert kept["customer_id"].tolist() == ["17850"]  # never -9223372036854775808
    (reason,) = lm.read_report(kept).rejected["reason"]
    assert reason == "customer_id: float id not a whole number below 2**53: store ids as text"


def test_largest_exact_float_id_is_kept():
    raw = pd.DataFrame(
        {"customer_id": [2.0**53 - 1], "order_date": ["2024-01-05"], "amount": [1.0]}
    )
    assert lm.read_orders(raw)["customer_id"].tolist() == ["9007199254740991"]
