"""Excel workbooks and other binary inputs (loyalty_metrics/io/_raw_input.py)."""

from __future__ import annotations

import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics.errors import ConfigError, DataValidationError

ORDERS = pd.DataFrame(
    {
        "InvoiceNo": ["536365", "536366", "536367"],
        "CustomerID": [17850, 17850, 13047],
        "InvoiceDate": pd.to_datetime(
            ["2010-12-01 08:26", "2010-12-02 09:00", "2010-12-03 00:00"]
        ),
        "Quantity": [6, 2, 1],
        "UnitPrice": [2.55, 3.39, 10.0],
    }
)


@pytest.fixture
def workbook(tmp_path):
    path = tmp_path / "orders.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"note": ["read me first"]}).to_excel(writer, sheet_name="Info", index=False)
        ORDERS.to_excel(writer, sheet_name="Orders", index=False)
    return path


def test_first_sheet_by_default_and_sheet_to_choose(workbook):
    with pytest.raises(DataValidationError, match="missing required columns"):
        lm.read_orders(workbook)  # the first sheet is "Info"
    orders = lm.read_orders(workbook, sheet="Orders")
    # 6 * 2.55 = 15.3; 2 * 3.39 = 6.78; 1 * 10 = 10
    assert orders["amount"].round(2).tolist() == [15.3, 6.78, 10.0]
    assert orders["customer_id"].tolist() == ["17850", "17850", "13047"]
    assert orders["order_date"].tolist() == list(ORDERS["InvoiceDate"])
    assert lm.read_orders(workbook, sheet=1).equals(orders)
    report = lm.read_report(orders)
    assert (report.settings["format"], report.settings["sheet"]) == ("excel", "Orders")


def test_bad_cells_are_named_by_sheet_row(workbook, tmp_path):
    bad = ORDERS.astype({"UnitPrice": object})
    bad.loc[1, "UnitPrice"] = "n/a?"
    path = tmp_path / "bad.xlsx"
    bad.to_excel(path, index=False)
    with pytest.raises(DataValidationError) as err:
        lm.read_orders(path)
    assert "unit_price" in str(err.value) and "row 3" in str(err.value)  # header = row 1


def test_unknown_sheet_lists_the_sheets(workbook):
    with pytest.raises(
        DataValidationError, match=r"no sheet 'Sales'; the workbook has sheets 'Info', 'Orders'"
    ):
        lm.read_orders(workbook, sheet="Sales")
    with pytest.raises(ConfigError, match="sheet"):
        lm.read_orders(workbook, sheet=-1)


def test_folder_and_config_pick_the_sheet(workbook, tmp_path):
    (tmp_path / "loyalty.toml").write_text('[orders]\nsheet = "Orders"\n')
    tables = lm.read_folder(tmp_path)
    assert len(tables["orders"]) == 3


def test_unknown_binary_formats_get_one_line(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    with pytest.raises(DataValidationError) as err:
        lm.read_orders(path)
    message = str(err.value)
    assert message == (
        f"{path}: not a CSV text file: a binary file; give CSV, Excel (.xlsx, .xls) or Parquet"
    )
    zipped = tmp_path / "orders.zip.csv"
    zipped.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip archive
    with pytest.raises(DataValidationError, match="a zip archive .unzip it first."):
        lm.read_orders(zipped)


def test_an_xlsx_saved_under_a_csv_name_is_read_as_excel(tmp_path):
    path = tmp_path / "orders.csv"
    ORDERS.to_excel(path.with_suffix(".xlsx"), index=False)
    path.write_bytes(path.with_suffix(".xlsx").read_bytes())
    assert len(lm.read_orders(path)) == 3
