"""Tests of loyalty_metrics.io: formats, dtypes, validation, reject mode, folders."""

from __future__ import annotations

import copy
import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loyalty_metrics as lm
from loyalty_metrics.errors import ConfigError, DataValidationError
from loyalty_metrics.io import REPORT_ATTR, ReadReport, find_table_files

DATA = Path(__file__).parent / "data" / "io"

# The three order lines every format-variant fixture describes.
EXPECTED_ORDERS = pd.DataFrame(
    {
        "customer_id": pd.Series(["c1", "c2", "c3"], dtype="str"),
        "order_date": pd.to_datetime(["2024-01-15", "2024-02-29", "2024-03-31"]).astype(
            "datetime64[ns]"
        ),
        "amount": [12.5, 1234.56, -3.0],
        "order_id": pd.Series(["O1", "O2", "O3"], dtype="str"),
        "category": pd.Categorical(
            ["books", "toys", "books"], categories=pd.Index(["books", "toys"], dtype="str")
        ),
    }
)
GERMAN_COLUMNS = {
    "order_id": "Bestellung",
    "customer_id": "Kunde",
    "order_date": "Datum",
    "amount": "Betrag",
    "category": "Warengruppe",
}


def _csv(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


# --------------------------------------------------------------------------------------
# Format variants: the parsed values, not just "no exception"
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "sep", "decimal"),
    [
        ("orders_comma.csv", {}, ",", "."),
        ("orders_semicolon_decimal_comma.csv", {}, ";", ","),
        ("orders_tab.tsv", {}, "\t", "."),
        ("orders_pipe.txt", {}, "|", "."),
        ("orders_crlf.csv", {}, ",", "."),
        ("orders_dayfirst.csv", {}, ",", "."),
        ("orders_monthfirst.csv", {}, ",", "."),
        ("orders_thousands_eu.csv", {}, ";", ","),
        ("orders_thousands_us.csv", {}, ",", "."),
        ("orders_whitespace.csv", {}, ",", "."),
        ("orders_mapping.csv", {"columns": GERMAN_COLUMNS}, ";", ","),
        ("orders.csv.gz", {}, ",", "."),
    ],
)
def test_format_variants_parse_to_the_same_values(name, kwargs, sep, decimal):
    orders = lm.read_orders(DATA / name, **kwargs)
    pd.testing.assert_frame_equal(orders, EXPECTED_ORDERS)
    report = lm.read_report(orders)
    assert report.settings["sep"] == sep
    assert report.settings["decimal"] == decimal
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (3, 3, 0)
    assert report.source == str(DATA / name)


def test_parquet_typed_columns():
    orders = lm.read_orders(DATA / "orders.parquet")
    pd.testing.assert_frame_equal(orders, EXPECTED_ORDERS)
    assert lm.read_report(orders).settings["format"] == "parquet"


def test_gzip_detected_by_content_not_name(tmp_path):
    path = tmp_path / "orders.dat"
    path.write_bytes(gzip.compress((DATA / "orders_comma.csv").read_bytes()))
    orders = lm.read_orders(path)
    pd.testing.assert_frame_equal(orders, EXPECTED_ORDERS)
    assert lm.read_report(orders).settings["format"] == "csv.gz"


def test_file_objects_text_and_bytes():
    text = (DATA / "orders_semicolon_decimal_comma.csv").read_text()
    pd.testing.assert_frame_equal(lm.read_orders(io.StringIO(text)), EXPECTED_ORDERS)
    with open(DATA / "orders_comma.csv", "rb") as fh:
        orders = lm.read_orders(fh)
    pd.testing.assert_frame_equal(orders, EXPECTED_ORDERS)
    assert lm.read_report(orders).source.endswith("orders_comma.csv")


def test_utf8_bom_and_accents():
    orders = lm.read_orders(DATA / "orders_bom.csv")
    assert orders.columns.tolist() == ["customer_id", "order_date", "amount", "category"]
    assert orders["customer_id"].tolist() == ["Zoë", "José"]
    assert orders["category"].tolist() == ["café", "thé"]
    assert lm.read_report(orders).settings["encoding"] == "utf-8"


def test_cp1252_fallback_with_accented_names():
    orders = lm.read_orders(DATA / "orders_cp1252.csv")
    assert orders["customer_id"].tolist() == ["José Müller", "Zoë"]
    assert orders["category"].tolist() == ["Café & Thé", "Électroménager €"]
    assert orders["amount"].tolist() == [12.5, 1234.56]
    assert orders["order_date"].tolist() == [
        pd.Timestamp("2024-01-15"),
        pd.Timestamp("2024-02-29"),
    ]
    assert lm.read_report(orders).settings["encoding"] == "cp1252"


def test_cp1252_byte_after_a_utf8_looking_sample():
    # the first 64 KB are plain ASCII: only the full read finds the cp1252 byte
    filler = "".join(f"c{i},2024-01-01,1.00\n" for i in range(5000))
    data = ("customer_id,order_date,amount\n" + filler + "Zoë,2024-01-02,2.00\n").encode("cp1252")
    assert len(data) > 64 * 1024
    orders = lm.read_orders(io.BytesIO(data))
    assert orders["customer_id"].iloc[-1] == "Zoë"
    assert len(orders) == 5001
    assert lm.read_report(orders).settings["encoding"] == "cp1252"


def test_encoding_parameter_cp1250_polish():
    surveys = lm.read_surveys(DATA / "surveys_cp1250.csv", encoding="cp1250")
    assert surveys["comment"].tolist() == [
        "Świetna obsługa, dziękuję",
        "Za długo czekałem na przesyłkę",
    ]
    assert surveys["score"].tolist() == [10.0, 6.0]
    # without it, the bytes are read as cp1252 and the Polish letters come out wrong
    guessed = lm.read_surveys(DATA / "surveys_cp1250.csv")
    assert guessed["comment"].iloc[0] != "Świetna obsługa, dziękuję"


def test_whitespace_around_headers_and_ids_is_stripped():
    orders = lm.read_orders(DATA / "orders_whitespace.csv")
    assert orders["customer_id"].tolist() == ["c1", "c2", "c3"]  # "  c1 ", "c2\t", " c3"
    assert lm.read_report(orders).columns["order_id"] == "Order ID"


def test_column_mapping_recorded_in_report():
    orders = lm.read_orders(DATA / "orders_mapping.csv", columns=GERMAN_COLUMNS)
    assert lm.read_report(orders).columns == GERMAN_COLUMNS


# --------------------------------------------------------------------------------------
# Other tables and dtypes
# --------------------------------------------------------------------------------------


def test_surveys_anonymous_and_csat_only_rows_are_valid():
    surveys = lm.read_surveys(DATA / "surveys.csv")
    # row 2: blank id = anonymous; row 3: blank score with csat 4 = CSAT-only response
    assert surveys["customer_id"].isna().tolist() == [False, True, False, False]
    np.testing.assert_array_equal(surveys["score"], [9.0, 3.0, np.nan, 10.0])
    np.testing.assert_array_equal(surveys["csat"], [5.0, np.nan, 4.0, np.nan])
    assert surveys["segment"].dtype == "category"
    assert surveys["segment"].isna().tolist() == [False, False, False, True]
    assert surveys["response_date"].dtype == "datetime64[ns]"


def test_events_timestamps_with_offsets_become_naive_utc():
    events = lm.read_events(DATA / "events.csv")
    assert events["timestamp"].tolist() == [
        pd.Timestamp("2024-01-20 10:15:00"),  # 10:15Z
        pd.Timestamp("2024-01-20 10:15:00"),  # 12:15+02:00
        pd.Timestamp("2024-01-21 08:00:05.250"),
    ]
    assert events["timestamp"].dtype == "datetime64[ns]"
    np.testing.assert_array_equal(events["duration"], [30.0, np.nan, 12.5])
    assert events["event_type"].cat.categories.tolist() == ["login", "purchase"]


def test_spend_values():
    spend = lm.read_spend(DATA / "spend.csv")
    assert spend.columns.tolist() == ["date", "amount", "channel"]
    assert spend["amount"].tolist() == [1500.0, 980.5, 1620.25]
    assert spend["channel"].tolist() == ["search", "social", "search"]


def test_customers_dtypes_and_booleans():
    customers = lm.read_customers(DATA / "customers.csv")
    assert customers.dtypes.astype(str).tolist() == [
        "str",
        "datetime64[ns]",
        "category",
        "boolean",
        "datetime64[ns]",
        "category",
        "str",
    ]
    assert customers["is_member"].tolist() == [True, False, True]  # yes, no, TRUE
    assert customers["member_since"].isna().tolist() == [False, True, False]
    assert customers["referred_by"].tolist()[1:] == ["c1", "c1"]
    assert pd.isna(customers["referred_by"].iloc[0])


def test_customers_bad_boolean_is_rejected():
    raw = pd.DataFrame({"customer_id": ["a", "b", "c"], "is_member": ["y", "maybe", ""]})
    customers = lm.read_customers(raw, errors="reject")
    assert customers["is_member"].tolist() == [True, pd.NA]
    assert lm.rejected_rows(customers)["reason"].tolist() == [
        "is_member: not a boolean (expected true/false, yes/no, 1/0)"
    ]


def test_dataframe_source_typed_and_text_values():
    raw = pd.DataFrame(
        {
            "customer_id": [101.0, 102.0],  # integer-valued floats: ids without ".0"
            "order_date": pd.to_datetime(["2024-01-05 10:00", "2024-01-06 00:00"]).tz_localize(
                "Europe/Paris"
            ),
            "amount": ["1,5", "2,25"],  # text with a decimal comma
            "channel": ["web ", "store"],
        }
    )
    orders = lm.read_orders(raw)
    assert orders["customer_id"].tolist() == ["101", "102"]
    assert orders["order_date"].tolist() == [
        pd.Timestamp("2024-01-05 09:00"),  # 10:00 CET = 09:00 UTC
        pd.Timestamp("2024-01-05 23:00"),
    ]
    assert orders["amount"].tolist() == [1.5, 2.25]
    assert orders["channel"].tolist() == ["web", "store"]
    assert lm.read_report(orders).source == "<DataFrame>"


def test_dataframe_integer_amounts_and_dates_as_date_objects():
    raw = pd.DataFrame(
        {
            "customer_id": ["a"],
            "order_date": [pd.Timestamp("2024-03-01").date()],
            "amount": [7],
        }
    )
    orders = lm.read_orders(raw)
    assert orders["amount"].dtype == "float64"
    assert orders["order_date"].tolist() == [pd.Timestamp("2024-03-01")]


# --------------------------------------------------------------------------------------
# Dates and numbers
# --------------------------------------------------------------------------------------


def _one_column(values, **kwargs):
    text = "customer_id,order_date,amount\n" + "".join(f"c,{v},1\n" for v in values)
    return lm.read_orders(_csv(text), **kwargs)["order_date"].tolist()


def test_dayfirst_decided_by_a_value_above_12():
    # 13/02 can only be day-first, so 05/03 is 5 March
    assert _one_column(["05/03/2024", "13/02/2024"]) == [
        pd.Timestamp("2024-03-05"),
        pd.Timestamp("2024-02-13"),
    ]


def test_monthfirst_decided_by_a_second_field_above_12():
    assert _one_column(["05/03/2024", "02/13/2024"]) == [
        pd.Timestamp("2024-05-03"),
        pd.Timestamp("2024-02-13"),
    ]


def test_ambiguous_dates_follow_dayfirst_parameter():
    assert _one_column(["05/03/2024"], dayfirst=True) == [pd.Timestamp("2024-03-05")]
    assert _one_column(["05/03/2024"], dayfirst=False) == [pd.Timestamp("2024-05-03")]


def test_ambiguous_column_follows_the_other_date_column():
    text = "customer_id,signup_date,member_since\nc1,05/03/2024,25/03/2024\nc2,06/03/2024,01/04/2024\n"
    customers = lm.read_customers(_csv(text))
    assert customers["signup_date"].tolist() == [
        pd.Timestamp("2024-03-05"),
        pd.Timestamp("2024-03-06"),
    ]
    assert lm.read_report(customers).settings["dayfirst"] == {
        "signup_date": True,
        "member_since": True,
    }


def test_the_read_settings_keep_their_order_though_the_dates_convert_on_another_thread():
    # the dates are converted beside the numbers; what they decide still comes last
    text = 'Client,order_date,amount\nc1,13/01/24,"1,5"\nc2,05/02/24,2\n'
    settings = lm.read_report(lm.read_orders(_csv(text), decimal=",")).settings
    assert list(settings)[-5:] == [
        "decimal", "thousands", "auto_mapped", "dayfirst", "two_digit_years"
    ]  # fmt: skip
    assert settings["dayfirst"] == {"order_date": True}


def test_majority_order_wins_and_contradicting_dates_are_rejected():
    text = "customer_id,order_date,amount\n" + "c,13/01/2024,1\n" * 3 + "c,01/13/2024,1\n"
    orders = lm.read_orders(_csv(text), errors="reject")
    assert len(orders) == 3
    assert lm.rejected_rows(orders)[["line", "order_date"]].values.tolist() == [[5, "01/13/2024"]]


def test_two_digit_years_times_and_separators():
    assert _one_column(["31.12.99", "01.02.24 14:30", "15-01-2024 08:05:09"]) == [
        pd.Timestamp("1999-12-31"),
        pd.Timestamp("2024-02-01 14:30"),
        pd.Timestamp("2024-01-15 08:05:09"),
    ]


def test_iso_variants_in_one_column():
    assert _one_column(
        ["2024-01-05", " 2024-1-6 ", "2024-01-07T23:00:00-01:00", "2024/01/08"]
    ) == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-06"),
        pd.Timestamp("2024-01-08 00:00"),  # 23:00 at UTC-1
        pd.Timestamp("2024-01-08"),
    ]


def test_date_format_parameter():
    assert _one_column(["2024|03|05"], date_format="%Y|%m|%d") == [pd.Timestamp("2024-03-05")]
    with pytest.raises(DataValidationError, match="unparseable date"):
        _one_column(["2024-03-05"], date_format="%d.%m.%Y")
    # strptime alone would roll 31.02 over to 2 March: such dates are rejected
    with pytest.raises(
        DataValidationError, match=r"line 3: unparseable date \(e.g. '31.02.2024'\)"
    ):
        _one_column(["5.1.2024", "31.02.2024"], date_format="%d.%m.%Y")
    assert (
        _one_column(["05 Jan 2024", "5 JAN 2024"], date_format="%d %b %Y")
        == [pd.Timestamp("2024-01-05")] * 2
    )


def test_date_format_with_seconds():
    # Arrow's strptime + strftime check rejected every value of a format with %S
    assert _one_column(["05.03.2024 10:20:30"], date_format="%d.%m.%Y %H:%M:%S") == [
        pd.Timestamp("2024-03-05 10:20:30")
    ]


def test_date_format_with_utc_offset_checks_dates_and_offsets():
    fmt = "%Y-%m-%dT%H:%M:%S%z"
    # 12:00 at +02:00 is 10:00 UTC; 23:30 at -05:00 is 04:30 UTC the next day
    assert _one_column(
        ["2024-03-05T12:00:00+02:00", "2024-03-05T23:30:00-0500", "2024-03-05T10:00:00Z"],
        date_format=fmt,
    ) == [
        pd.Timestamp("2024-03-05 10:00"),
        pd.Timestamp("2024-03-06 04:30"),
        pd.Timestamp("2024-03-05 10:00"),
    ]
    # 31 February is not rolled over to 2 March, with an offset as without one
    with pytest.raises(
        DataValidationError,
        match=r"line 3: unparseable date \(e.g. '2024-02-31T10:00:00\+01:00'\)",
    ):
        _one_column(["2024-03-05T10:00:00Z", "2024-02-31T10:00:00+01:00"], date_format=fmt)
    df = lm.read_orders(
        _csv(
            "customer_id,order_date,amount\nc,2024-03-05T10:00:00+15:00,1\nc,2024-03-05T10:00:00Z,1\n"
        ),
        date_format=fmt,
        errors="reject",
    )
    assert df["order_date"].tolist() == [pd.Timestamp("2024-03-05 10:00")]
    assert len(lm.rejected_rows(df)) == 1


def test_fixed_width_day_first_with_an_impossible_date():
    # the fast fixed-width path fails on 31/02 and the regex path names the bad line
    text = "customer_id,order_date,amount\nc,13/01/2024,1\nc,31/02/2024,1\nc,01/02/24,1\n"
    orders = lm.read_orders(_csv(text), errors="reject")
    # the regex path also reads the two-digit year of line 4
    assert orders["order_date"].tolist() == [
        pd.Timestamp("2024-01-13"),
        pd.Timestamp("2024-02-01"),
    ]
    assert lm.rejected_rows(orders)["line"].tolist() == [3]
    short = lm.read_orders(_csv("customer_id,order_date,amount\nc,13/01/24,1\nc,01/02/99,1\n"))
    assert short["order_date"].tolist() == [pd.Timestamp("2024-01-13"), pd.Timestamp("1999-02-01")]


@pytest.mark.parametrize(
    ("values", "kwargs", "expected"),
    [
        (["1.234,56", "12,5"], {}, [1234.56, 12.5]),
        (["1,234.56", "12.5"], {}, [1234.56, 12.5]),
        (["1 234,56", "7,1"], {}, [1234.56, 7.1]),
        (["1'234.50", "0.5"], {}, [1234.5, 0.5]),
        (["1.234.567,8", "-0,5"], {}, [1234567.8, -0.5]),
        (["1,5", "2"], {"decimal": ","}, [1.5, 2.0]),
        (["1.234", "5.678"], {"decimal": ","}, [1234.0, 5678.0]),  # the grouping is read
        (["1.234", "5.678"], {}, [1.234, 5.678]),  # no evidence: decimal point (documented)
        (["1e3", "+2", ".5"], {}, [1000.0, 2.0, 0.5]),
        (["NA", "3"], {"thousands": ""}, [np.nan, 3.0]),
    ],
)
def test_number_formats(values, kwargs, expected):
    raw = pd.DataFrame({"customer_id": "c", "score": values})
    if "NA" in values:
        got = lm.read_surveys(raw.assign(csat="3"), **kwargs)["score"].tolist()
        np.testing.assert_array_equal(got, expected)
        return
    raw = pd.DataFrame({"customer_id": "c", "order_date": "2024-01-01", "amount": values})
    assert lm.read_orders(raw, **kwargs)["amount"].tolist() == expected


def test_decimal_comma_in_a_comma_delimited_file_needs_decimal():
    text = 'customer_id,order_date,amount\na,2024-01-01,"1,5"\n'
    with pytest.raises(DataValidationError, match=r"line 2: unparseable number \(e.g. '1,5'\)"):
        lm.read_orders(_csv(text))
    assert lm.read_orders(_csv(text), decimal=",")["amount"].tolist() == [1.5]


def test_wrong_sep_names_the_merged_header():
    with pytest.raises(
        DataValidationError, match="a single column 'customer_id;order_date;amount'"
    ):
        lm.read_orders(_csv("customer_id;order_date;amount\na;2024-01-01;1\n"), sep=",")


def test_categories_are_stripped_merged_and_sorted():
    raw = pd.DataFrame(
        {
            "customer_id": "c",
            "order_date": "2024-01-01",
            "amount": 1.0,
            "channel": ["web", "app", " web ", "", None],
        }
    )
    channel = lm.read_orders(raw)["channel"]
    assert channel.cat.categories.tolist() == ["app", "web"]
    assert channel.tolist()[:3] == ["web", "app", "web"]
    assert channel.isna().tolist() == [False, False, False, True, True]


def test_all_blank_optional_columns():
    text = "customer_id,order_date,amount,category,cost\na,2024-01-01,1,,\nb,2024-01-02,2, ,NA\n"
    orders = lm.read_orders(_csv(text))
    assert orders["category"].isna().all() and orders["category"].dtype == "category"
    assert orders["cost"].isna().all() and orders["cost"].dtype == "float64"


def test_grouping_must_be_in_threes():
    raw = pd.DataFrame(
        {"customer_id": "c", "order_date": "2024-01-01", "amount": ["1,23.5", "1.5"]}
    )
    with pytest.raises(DataValidationError, match=r"row 1: unparseable number \(e.g. '1,23.5'\)"):
        lm.read_orders(raw)


# --------------------------------------------------------------------------------------
# One fixture per error: the message names file, column, lines, reason
# --------------------------------------------------------------------------------------


def _raises(reader, name, **kwargs) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        reader(DATA / name, **kwargs)
    return info.value


def test_missing_required_column_lists_columns_and_closest_match():
    err = _raises(lm.read_orders, "err_missing_column.csv")
    first = str(err).splitlines()[0]
    assert first.startswith(f"{DATA / 'err_missing_column.csv'}: missing required column 'amount'")
    assert "columns found: 'customer_id', 'order_date', 'amount_eur'" in first
    assert "closest match: 'amount' -> 'amount_eur'" in first
    # the fix as a loyalty.toml line (the CLI's users), then the Python spelling
    assert 'map it under [orders.columns] in loyalty.toml (amount = "amount_eur")' in first
    assert err.table == "orders"
    # it is structural: reject mode raises too
    with pytest.raises(DataValidationError, match="missing required column"):
        lm.read_orders(DATA / "err_missing_column.csv", errors="reject")


def test_missing_column_without_close_match():
    raw = pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "zzz": [1]})
    with pytest.raises(DataValidationError, match="'amount' -> no close match"):
        lm.read_orders(raw)


def test_mapping_to_an_absent_column():
    with pytest.raises(DataValidationError, match="maps 'amount' to 'Totals'.*no close match"):
        lm.read_orders(DATA / "orders_comma.csv", columns={"amount": "Totals"})
    with pytest.raises(ConfigError, match="'amout' \\(closest: 'amount'\\)"):
        lm.read_orders(DATA / "orders_comma.csv", columns={"amout": "amount"})


@pytest.mark.parametrize(
    ("reader", "name", "first_line"),
    [
        (
            lm.read_orders,
            "err_bad_date.csv",
            "column 'order_date': lines 3, 4: unparseable date (e.g. '2024-02-30', 'yesterday')",
        ),
        (
            lm.read_orders,
            "err_bad_number.csv",
            "column 'amount': lines 3, 4, 5: unparseable number (e.g. '12.5.0', '€ twelve', 'inf')",
        ),
        (
            lm.read_surveys,
            "err_nps_range.csv",
            "column 'score': lines 3, 4: NPS score outside 0-10 (e.g. '11', '-1')",
        ),
        (
            lm.read_surveys,
            "err_nps_integer.csv",
            "column 'score': line 3: NPS score not an integer (e.g. '7.5')",
        ),
        (
            lm.read_events,
            "err_negative_duration.csv",
            "column 'duration': line 3: negative duration (e.g. '-5')",
        ),
        (lm.read_orders, "err_blank_id.csv", "column 'customer_id': lines 3, 4: blank value"),
        (
            lm.read_orders,
            "err_wrong_fields.csv",
            "line 3: wrong number of fields (expected 3, found 2)",
        ),
    ],
)
def test_error_fixture_messages(reader, name, first_line):
    err = _raises(reader, name)
    lines = str(err).splitlines()
    assert lines[0].startswith(f"{DATA / name}: {first_line}")
    assert "errors='reject'" in lines[-1]
    assert err.source == str(DATA / name)
    assert err.problems.columns.tolist() == ["line", "column", "value", "reason"]


def test_csat_errors_and_csat_only_rows():
    err = _raises(lm.read_surveys, "err_csat.csv")
    text = str(err)
    # line 3: blank score with csat 6 (invalid, so no valid csat answer either)
    assert text.splitlines()[0].endswith(
        "column 'score': line 3: blank score and no csat answer (and 2 more problems below)"
    )
    assert "  column 'csat': lines 3, 4: CSAT outside 1-5 (e.g. '6', '0')" in text
    assert "  column 'csat': line 5: CSAT not an integer (e.g. '4.5')" in text
    assert err.problems[["line", "column", "reason"]].values.tolist() == [
        [3, "score", "blank score and no csat answer"],
        [3, "csat", "CSAT outside 1-5"],
        [4, "csat", "CSAT outside 1-5"],
        [5, "csat", "CSAT not an integer"],
    ]
    # line 6: blank score, csat 1 is a valid CSAT-only response
    surveys = lm.read_surveys(DATA / "err_csat.csv", errors="reject")
    assert surveys["customer_id"].tolist() == ["c1", "c5"]


def test_empty_and_header_only_files_raise_in_both_modes():
    for errors in ("raise", "reject"):
        with pytest.raises(DataValidationError, match=r"err_empty.csv: empty file"):
            lm.read_orders(DATA / "err_empty.csv", errors=errors)
        with pytest.raises(DataValidationError, match=r"err_header_only.csv: no data rows"):
            lm.read_orders(DATA / "err_header_only.csv", errors=errors)


def test_ambiguous_dates_ask_for_dayfirst():
    err = _raises(lm.read_orders, "err_ambiguous_dates.csv")
    assert (
        "column 'order_date': dates such as '05/03/2024' could be day-first or month-first"
        in str(err)
    )
    assert "set dayfirst = true (or false" in str(err) and "under [orders] in loyalty.toml" in str(
        err
    )
    orders = lm.read_orders(DATA / "err_ambiguous_dates.csv", dayfirst=True)
    assert orders["order_date"].tolist() == [
        pd.Timestamp("2024-03-05"),
        pd.Timestamp("2024-04-06"),
    ]


def test_message_shows_first_ten_lines_and_problems_has_all():
    err = _raises(lm.read_orders, "err_many_lines.csv")
    assert (
        str(err)
        .splitlines()[0]
        .endswith(
            "column 'amount': lines 3, 5, 7, 9, 11, 13, 15, 17, 19, 21 (+5 more): "
            "unparseable number (e.g. 'x')"
        )
    )
    assert err.problems["line"].tolist() == list(range(3, 32, 2))  # even ids on odd lines
    assert "15 rows of the orders input would be rejected" in str(err)


def test_every_problem_collected_in_one_pass():
    text = "customer_id,order_date,amount\n,2024-01-01,x\nc2,bad,1\nc3,2024-01-03,2\n"
    with pytest.raises(DataValidationError) as info:
        lm.read_orders(_csv(text))
    problems = info.value.problems
    assert problems[["line", "column", "reason"]].values.tolist() == [
        [2, "customer_id", "blank value"],
        [2, "amount", "unparseable number"],
        [3, "order_date", "unparseable date"],
    ]
    assert problems["value"].isna().tolist() == [True, False, False]  # a blank cell
    assert problems["value"].tolist()[1:] == ["x", "bad"]


def test_missing_file_and_folder_given_as_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv: no such file"):
        lm.read_orders(tmp_path / "nope.csv")
    with pytest.raises(IsADirectoryError, match="read_folder"):
        lm.read_orders(tmp_path)
    with pytest.raises(TypeError, match="not int"):
        lm.read_orders(3)


def test_unreadable_parquet(tmp_path):
    path = tmp_path / "orders.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataValidationError, match="cannot read as Parquet"):
        lm.read_orders(path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"errors": "ignore"},
            "The 'errors' parameter of read_orders must be one of {'raise', 'reject'}. "
            "Got 'ignore' instead.",
        ),
        ({"sep": ";;"}, "The 'sep' parameter of read_orders must be a single character"),
        ({"decimal": ";"}, "The 'decimal' parameter of read_orders must be one of {'.', ','}"),
        ({"encoding": "klingon"}, "The 'encoding' parameter of read_orders must be a known"),
        ({"dayfirst": "yes"}, "The 'dayfirst' parameter of read_orders must be True, False"),
        ({"date_format": "dd.mm.yyyy"}, "The 'date_format' parameter of read_orders must be"),
        ({"thousands": "."}, "The 'thousands' parameter of read_orders must be different"),
    ],
)
def test_parameter_errors(kwargs, message):
    with pytest.raises(ConfigError) as info:
        lm.read_orders(DATA / "orders_comma.csv", **kwargs)
    assert str(info.value).startswith(message)


# --------------------------------------------------------------------------------------
# Reject mode
# --------------------------------------------------------------------------------------


def test_reject_mode_counts_reasons_and_raw_values():
    orders = lm.read_orders(DATA / "err_wrong_fields.csv", errors="reject")
    report = lm.read_report(orders)
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (4, 2, 2)
    assert orders["customer_id"].tolist() == ["c1", "c4"]
    rejected = report.rejected
    assert rejected.columns.tolist() == ["line", "customer_id", "order_date", "amount", "reason"]
    assert rejected["line"].tolist() == [3, 4]
    assert rejected["reason"].tolist() == [
        "wrong number of fields (expected 3, found 2)",
        "wrong number of fields (expected 3, found 4)",
    ]


def test_reject_mode_keeps_raw_text_and_joins_reasons():
    text = "customer_id;order_date;amount\n;2024-01-01;12,5x\nc2;2024-01-02;1.234,5\n"
    orders = lm.read_orders(_csv(text), errors="reject")
    assert orders["amount"].tolist() == [1234.5]
    rejected = lm.rejected_rows(orders)
    assert rejected.iloc[0].to_dict() == {
        "line": 2,
        "customer_id": np.nan,
        "order_date": "2024-01-01",
        "amount": "12,5x",  # the text as in the file
        "reason": "customer_id: blank value; amount: unparseable number",
    }


def test_reject_mode_with_every_row_rejected():
    orders = lm.read_surveys(DATA / "err_nps_range.csv", errors="reject")
    report = lm.read_report(orders)
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (4, 2, 2)
    raw = pd.DataFrame({"score": ["11", "12"]})
    empty = lm.read_surveys(raw, errors="reject")
    assert len(empty) == 0
    assert empty.columns.tolist() == ["score"]
    assert lm.read_report(empty).rows_rejected == 2


def test_quoted_newline_after_the_sniffed_sample():
    filler = "".join(f"c{i},2024-01-01,1.00,x\n" for i in range(5000))
    text = "customer_id,order_date,amount,category\n" + filler
    text += 'c,2024-01-02,2.00,"a\nb"\nd,2024-01-03,x,y\n'
    orders = lm.read_orders(_csv(text), errors="reject")
    assert len(orders) == 5001
    assert orders["category"].iloc[-1] == "a\nb"
    # header 1, 5000 rows on lines 2-5001, the quoted value on 5002-5003, then line 5004
    assert lm.rejected_rows(orders)["line"].tolist() == [5004]


def test_line_numbers_in_gzip_and_crlf_files(tmp_path):
    text = "customer_id,order_date,amount\r\nc1,2024-01-01,1\r\n\r\nc2,2024-01-02,x\r\n"
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataValidationError, match=r"orders.csv.gz: column 'amount': line 4:"):
        lm.read_orders(path)


def test_line_numbers_count_blank_lines_and_multiline_values():
    orders = lm.read_orders(DATA / "orders_multiline.csv", errors="reject")
    # header 1, c1 2, blank 3, c2 4-5, c3 6-8, blanks 9-10, c4 11, c5 12
    # (a category cannot span lines, issue 13: c2's and c3's quoted categories are rejected)
    spans = "category: a quoted value spans several lines (a stray quote took the lines after it into this row)"  # fmt: skip
    assert lm.rejected_rows(orders)[["line", "reason"]].values.tolist() == [
        [4, f"amount: unparseable number; {spans}"],
        [6, spans],
        [11, "order_date: unparseable date"],
    ]
    assert orders["category"].tolist() == ["books", "toys"]
    assert lm.read_report(orders).settings["line_numbers"].startswith("file line")


def test_dataframe_rows_are_numbered_from_one():
    raw = pd.DataFrame(
        {"customer_id": ["a", "b"], "order_date": ["2024-01-01", "x"], "amount": [1, 2]}
    )
    with pytest.raises(DataValidationError, match="<DataFrame>: column 'order_date': row 2:"):
        lm.read_orders(raw)


def test_no_rejects_gives_empty_frames_with_columns():
    report = lm.read_report(lm.read_orders(DATA / "orders_comma.csv"))
    assert report.rejected.columns.tolist() == [
        "line",
        "customer_id",
        "order_date",
        "amount",
        "order_id",
        "category",
        "reason",
    ]
    assert len(report.rejected) == 0
    assert report.problems.columns.tolist() == ["line", "column", "value", "reason"]
    assert str(report).endswith("(orders): 3 rows read, 3 kept, 0 rejected")


# --------------------------------------------------------------------------------------
# The report survives pandas
# --------------------------------------------------------------------------------------


def test_report_survives_pandas_operations():
    orders = lm.read_orders(DATA / "orders_comma.csv")
    report = lm.read_report(orders)
    assert isinstance(report, ReadReport)
    assert isinstance(orders.attrs[REPORT_ATTR], str)  # JSON-able; holds the report
    assert lm.read_report(orders[orders["amount"] > 0]) is report
    assert lm.read_report(copy.deepcopy(orders)) is report
    assert lm.read_report(orders.copy()) is report
    other = lm.read_orders(DATA / "orders_tab.tsv")
    both = pd.concat([orders, other])  # different reports: attrs dropped, no error
    assert len(both) == 6
    same = pd.concat([orders, orders])
    assert lm.read_report(same) is report
    assert report == report and report != lm.read_report(other)
    with pytest.raises(ValueError, match="carries no read report"):
        lm.read_report(pd.DataFrame())
    with pytest.raises(AttributeError):
        report.rows_read = 5  # frozen


# --------------------------------------------------------------------------------------
# Property: corrupting cells rejects exactly those rows and changes no other row
# --------------------------------------------------------------------------------------

_BAD = {
    "customer_id": ["", "   "],
    "order_date": ["2024-02-30", "tomorrow", "2024-13-01", "N/A", "31/02/2024"],
    "amount": ["12x", "1.2.3", "inf", "--1"],
    "quantity": ["two", "1/2"],
}
_COLS = ["order_id", "customer_id", "order_date", "amount", "quantity", "category"]


def _row_fields(i: int, multiline: bool, decimal: str, date_format: str) -> dict[str, str]:
    amount = f"{(i * 1.25 - 5):.2f}".replace(".", decimal)
    return {
        "order_id": f"O{i // 2}",
        "customer_id": f"c{i % 7}",
        "order_date": (pd.Timestamp("2024-01-13") + pd.Timedelta(days=i)).strftime(date_format),
        "amount": amount,
        "quantity": str(i % 3 + 1),
        "category": '"gift\nbox"' if multiline else ("books" if i % 2 else "toys"),
    }


@settings(max_examples=40, deadline=None)
@given(
    sep=st.sampled_from([",", ";", "\t", "|"]),
    date_format=st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y %H:%M"]),
    n=st.integers(min_value=3, max_value=25),
    data=st.data(),
)
def test_corrupted_cells_are_rejected_and_good_rows_unchanged(sep, date_format, n, data):
    decimal = "," if sep == ";" else "."
    options = {} if date_format.startswith("%Y") else {"dayfirst": True}
    multiline = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    blank_after = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    corrupt = data.draw(st.sets(st.integers(0, n - 1), max_size=n - 1))
    changes = {
        i: data.draw(
            st.sampled_from([(c, v) for c, vs in _BAD.items() for v in vs] + [("<extra>", "x")])
        )
        for i in sorted(corrupt)
    }
    clean_lines, dirty_lines, first_line = [sep.join(_COLS)], [sep.join(_COLS)], []
    line = 2
    for i in range(n):
        fields = _row_fields(i, multiline[i], decimal, date_format)
        clean = sep.join(fields[c] for c in _COLS)
        dirty = clean
        if i in changes:
            column, value = changes[i]
            if column == "<extra>":
                dirty = clean + sep + value  # one field too many
            else:
                dirty = sep.join(value if c == column else fields[c] for c in _COLS)
        first_line.append(line)
        line += 1 + clean.count("\n")
        clean_lines.append(clean)
        dirty_lines.append(dirty)
        if blank_after[i]:
            clean_lines.append("")
            dirty_lines.append("")
            line += 1
    # A category spanning lines is a rejected row (issue 13), in the clean file too.
    spans = {i for i in range(n) if multiline[i]}
    clean_frame = lm.read_orders(_csv("\n".join(clean_lines) + "\n"), errors="reject", **options)
    assert lm.read_report(clean_frame).rejected["line"].tolist() == [first_line[i] for i in sorted(spans)]  # fmt: skip
    dirty_frame = lm.read_orders(_csv("\n".join(dirty_lines) + "\n"), errors="reject", **options)
    report = lm.read_report(dirty_frame)

    assert report.rows_read == n == report.rows_kept + report.rows_rejected
    assert report.rejected["line"].tolist() == [first_line[i] for i in sorted({*changes, *spans})]
    good = [i for i in range(n) if i not in changes and i not in spans]
    clean_kept = [i for i in range(n) if i not in spans]  # the clean frame's rows
    expected = clean_frame.iloc[[clean_kept.index(i) for i in good]].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        dirty_frame.astype({"category": "str"}), expected.astype({"category": "str"})
    )


# --------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------


def _folder(tmp_path: Path, **files: str) -> Path:
    for name, fixture in files.items():
        (tmp_path / name).write_bytes((DATA / fixture).read_bytes())
    return tmp_path


def test_read_folder_finds_tables_by_name_and_extension(tmp_path):
    folder = _folder(
        tmp_path,
        **{
            "orders.csv.gz": "orders.csv.gz",
            "Surveys.CSV": "surveys.csv",
            "events.txt": "events.csv",
            "spend.parquet": "orders.parquet",  # wrong content: not read unless asked
            "customers.tsv": "customers.csv",
            "notes.csv": "orders_comma.csv",
        },
    )
    (folder / "spend.parquet").unlink()
    tables = lm.read_folder(folder)
    assert list(tables) == ["orders", "surveys", "events", "customers"]
    pd.testing.assert_frame_equal(tables["orders"], EXPECTED_ORDERS)
    assert len(tables["surveys"]) == 4
    assert tables["customers"]["is_member"].tolist() == [True, False, True]


def test_read_folder_config_options_and_file(tmp_path):
    folder = _folder(tmp_path, **{"export.csv": "orders_mapping.csv"})
    config = {"orders": {"file": "export.csv", "columns": GERMAN_COLUMNS, "sep": ";"}}
    tables = lm.read_folder(folder, config=config)
    pd.testing.assert_frame_equal(tables["orders"], EXPECTED_ORDERS)
    assert lm.read_report(tables["orders"]).columns == GERMAN_COLUMNS


_TOML = """
[orders]
file = "export.csv"
sep = ";"
dayfirst = true

[orders.columns]
order_id = "Bestellung"
customer_id = "Kunde"
order_date = "Datum"
amount = "Betrag"
category = "Warengruppe"

[metrics]
currency = "EUR"
"""


def test_read_folder_uses_loyalty_toml_in_the_folder(tmp_path):
    folder = _folder(tmp_path, **{"export.csv": "orders_mapping.csv"})
    (folder / "loyalty.toml").write_text(_TOML)
    tables = lm.read_folder(folder)
    pd.testing.assert_frame_equal(tables["orders"], EXPECTED_ORDERS)


def test_read_folder_config_path_resolves_files_next_to_it(tmp_path):
    folder = _folder(tmp_path, **{"export.csv": "orders_mapping.csv"})
    (folder / "settings.toml").write_text(_TOML)
    tables = lm.read_folder(config=folder / "settings.toml")
    pd.testing.assert_frame_equal(tables["orders"], EXPECTED_ORDERS)


def test_read_folder_files_override_everything(tmp_path):
    folder = _folder(tmp_path, **{"orders.csv": "err_bad_date.csv"})
    tables = lm.read_folder(
        folder,
        files={"orders": DATA / "orders_pipe.txt", "surveys": DATA / "surveys_cp1250.csv"},
        config={"surveys": {"encoding": "cp1250"}},
    )
    pd.testing.assert_frame_equal(tables["orders"], EXPECTED_ORDERS)
    assert tables["surveys"]["comment"].iloc[0] == "Świetna obsługa, dziękuję"
    files_only = lm.read_folder(files={"orders": DATA / "orders_tab.tsv"})
    assert list(files_only) == ["orders"]


def test_read_folder_reject_mode(tmp_path):
    folder = _folder(tmp_path, **{"orders.csv": "err_bad_date.csv"})
    with pytest.raises(DataValidationError, match="orders.csv: column 'order_date': lines 3, 4"):
        lm.read_folder(folder)
    orders = lm.read_folder(folder, errors="reject")["orders"]
    assert lm.read_report(orders).rows_rejected == 2


def test_read_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no orders file in .* \(looked for orders.csv"):
        lm.read_folder(_folder(tmp_path, **{"surveys.csv": "surveys.csv"}))
    _folder(tmp_path, **{"orders.csv": "orders_comma.csv", "orders.tsv": "orders_tab.tsv"})
    with pytest.raises(ConfigError, match="several orders files \\('orders.csv', 'orders.tsv'\\)"):
        lm.read_folder(tmp_path)
    with pytest.raises(ConfigError, match="files= has unknown table\\(s\\) 'order'"):
        lm.read_folder(files={"order": DATA / "orders_comma.csv"})
    with pytest.raises(ConfigError, match="\\[orders\\] has unknown key\\(s\\) 'delimiter'"):
        lm.read_folder(
            files={"orders": DATA / "orders_comma.csv"}, config={"orders": {"delimiter": ","}}
        )
    with pytest.raises(ConfigError, match="The 'errors' parameter of read_folder"):
        lm.read_folder(tmp_path, errors="skip")
    with pytest.raises(ConfigError, match="needs a data_dir"):
        lm.read_folder()
    with pytest.raises(FileNotFoundError, match="no such folder"):
        lm.read_folder(tmp_path / "missing")


def test_find_table_files_reports_options(tmp_path):
    folder = _folder(tmp_path, **{"orders.csv": "orders_comma.csv", "spend.csv": "spend.csv"})
    paths, options = find_table_files(folder, config={"spend": {"decimal": ","}})
    assert {t: p.name for t, p in paths.items()} == {"orders": "orders.csv", "spend": "spend.csv"}
    assert options == {"orders": {}, "spend": {"decimal": ","}}
