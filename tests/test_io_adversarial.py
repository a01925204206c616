"""The readers' adversarial suite (issue 13): nothing lost, nothing silently changed.

One section per class of bad input an adversarial run found; each has a fixture (the input
that showed it) and, where the class has a shape, a hypothesis property over its variants.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loyalty_metrics as lm
from loyalty_metrics.errors import DataValidationError
from loyalty_metrics.io._dates import TWO_DIGIT_YEARS
from loyalty_metrics.schema import DATE_RANGE

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


# ---------------------------------------------------------------------------------------------
# Stray and unclosed quotes: records reconcile with physical lines. A quoted value spanning
# lines in a column that cannot hold one is a rejected row (an error with errors="raise"); a
# quote never closed is an error.

STRAY_QUOTE = (
    "customer_id,order_date,amount,category\n"
    "a,2024-01-01,10,tv\n"
    'b,2024-01-02,3,"12 inch tv\n'
    "c,2024-01-03,100,radio\n"
    "d,2024-01-04,200,radio\n"
    'e,2024-01-05,1000,hi-fi"\n'
    "f,2024-01-06,10,z\n"
)


def test_a_stray_quote_swallowing_lines_is_rejected_not_read_as_one_row():
    # Found by the adversarial run: validate said Valid and revenue was 23.00, not 1,323.00.
    with pytest.raises(DataValidationError, match="line 3: a quoted value spans several lines"):
        lm.read_orders(io.StringIO(STRAY_QUOTE))
    orders = lm.read_orders(io.StringIO(STRAY_QUOTE), errors="reject")
    report = lm.read_report(orders)
    assert orders["customer_id"].tolist() == ["a", "f"]
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (3, 2, 1)
    rejected = report.rejected.iloc[0]
    assert rejected["line"] == 3 and "d,2024-01-04,200,radio" in rejected["category"]


def test_an_unclosed_quote_at_the_end_is_an_error_in_both_modes():
    text = 'customer_id,order_date,amount,category\na,2024-01-01,10,tv\nb,2024-01-02,3,"tv\n'
    text += "c,2024-01-03,100,radio\n"
    for errors in ("raise", "reject"):
        with pytest.raises(DataValidationError, match="line 3: a quoted value is never closed"):
            lm.read_orders(io.StringIO(text), errors=errors)
    # also in free text, where a closed multi-line value is valid
    surveys = 'score,comment\n9,"one\ntwo"\n7,"never closed\n3,lost\n'
    with pytest.raises(DataValidationError, match="line 4: a quoted value is never closed"):
        lm.read_surveys(io.StringIO(surveys), errors="reject")
    assert lm.read_surveys(io.StringIO('score,comment\n9,"one\ntwo"\n'))["comment"][0] == (
        "one\ntwo"
    )


@pytest.mark.parametrize(
    ("reader", "header", "row"),
    [
        (lm.read_orders, "customer_id,order_date,amount,category", 'b,2024-01-02,3,"12 inch\ntv"'),
        (lm.read_orders, "customer_id,order_date,amount,channel", 'b,2024-01-02,3,"we\nb"'),
        (lm.read_surveys, "score,segment", '7,"smb\r\nretail"'),
        (lm.read_spend, "date,amount,channel", '2024-01-02,3,"search\nads"'),
        (lm.read_customers, "customer_id,tier", 'b,"gold\nplus"'),
    ],
)  # fmt: skip
def test_a_category_spanning_lines_is_a_rejected_line_whatever_the_table(reader, header, row):
    # A label cannot hold a line break: even a closed quote over two lines is the mark of a
    # stray quote (issue 13), counted as a rejected line, an error in strict mode.
    first = header.split(",")
    good = ",".join({"score": "9", "amount": "1", "order_date": "2024-01-01", "date": "2024-01-01"}.get(c, "a") for c in first)  # fmt: skip
    text = f"{header}\n{good}\n{row}\n{good}\n"
    with pytest.raises(DataValidationError, match="line 3: a quoted value spans several lines"):
        reader(io.StringIO(text))
    frame = reader(io.StringIO(text), errors="reject")
    report = lm.read_report(frame)
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (3, 2, 1)
    assert report.rejected["line"].tolist() == [3]


def test_free_text_may_span_lines():
    surveys = 'score,comment\n9,"one\ntwo"\n7,fine\n'
    assert lm.read_surveys(io.StringIO(surveys))["comment"].tolist() == ["one\ntwo", "fine"]
    points = 'customer_id,date,points,type,note\na,2024-01-01,5,earn,"first\r\nvisit"\n'
    assert lm.read_points(io.StringIO(points))["note"].tolist() == ["first\r\nvisit"]


_safe_text = (
    st.text(alphabet="abcxyz 0123456789-", min_size=1, max_size=8).map(str.strip).filter(bool)
)
_rows = st.lists(
    st.tuples(_safe_text, st.dates(min_value=pd.Timestamp("2020-01-01").date(),
                                   max_value=pd.Timestamp("2024-12-31").date()),
              st.integers(-500, 5000), _safe_text),
    min_size=2, max_size=12,
)  # fmt: skip


def _csv_of(rows) -> list[str]:
    return [f"c{i}-{r[0]},{r[1].isoformat()},{r[2]},{r[3]}" for i, r in enumerate(rows)]


@given(rows=_rows, data=st.data())
@settings(max_examples=60, deadline=None)
def test_stray_quotes_never_lose_lines_silently(rows, data):
    lines = _csv_of(rows)
    first = data.draw(st.integers(0, len(lines) - 1))
    last = data.draw(st.integers(first, len(lines) - 1))
    closed = data.draw(st.booleans())  # a second stray quote closes the first one

    def at_field_start(line: str, after: int = -1) -> tuple[str, int]:
        starts = [i for i in [0] + [i + 1 for i, ch in enumerate(line) if ch == ","] if i > after]
        cut = data.draw(st.sampled_from(starts))
        return line[:cut] + '"' + line[cut:], cut

    lines[first], opened = at_field_start(lines[first])
    if first == last and "," not in lines[first][opened:]:
        closed = False  # no later field to close it in: a value quoted to the line end is valid
    if closed:
        lines[last], _ = at_field_start(lines[last], after=opened if first == last else -1)
    text = "customer_id,order_date,amount,category\n" + "\n".join(lines) + "\n"
    with pytest.raises(DataValidationError):
        lm.read_orders(io.StringIO(text))
    if not closed and first < len(lines) - 1:
        with pytest.raises(DataValidationError, match="never closed"):
            lm.read_orders(io.StringIO(text), errors="reject")
        return
    try:
        orders = lm.read_orders(io.StringIO(text), errors="reject")
    except DataValidationError as err:  # the closing quote ended the file's last value
        assert "never closed" in str(err)
        return
    report = lm.read_report(orders)
    assert report.rows_read == report.rows_kept + report.rows_rejected
    untouched = {f"c{i}-{r[0]}" for i, r in enumerate(rows) if not first <= i <= last}
    assert set(orders["customer_id"]) <= untouched | {f"c{first}-{rows[first][0]}"}
    assert untouched <= set(orders["customer_id"])  # every other line is read as it was


@given(rows=_rows, quoted=st.lists(st.booleans(), min_size=4, max_size=4))
@settings(max_examples=60, deadline=None)
def test_properly_quoted_values_round_trip(rows, quoted):
    # Quoting is not a problem in itself: RFC 4180 quotes (doubled inside) read back exactly.
    def cell(value: str, k: int) -> str:
        return '"' + value.replace('"', '""') + '"' if quoted[k] else value

    body = "".join(
        ",".join(cell(v, k) for k, v in enumerate(line.split(",")[:3] + [f'{r[3]} "x"'])) + "\n"
        for line, r in zip(_csv_of(rows), rows, strict=True)
    )
    if not quoted[3]:  # an unquoted cell cannot hold a quote in RFC 4180
        body = body.replace(' "x"', "")
    orders = lm.read_orders(io.StringIO("customer_id,order_date,amount,category\n" + body))
    assert len(orders) == len(rows)
    assert orders["amount"].tolist() == [float(r[2]) for r in rows]


# ---------------------------------------------------------------------------------------------
# Encodings: rows decoded correctly are never decoded again another way. A file that holds
# UTF-8 text and bytes that are not UTF-8 is refused naming the line and the byte.

_accented = st.text(alphabet="abcxyz0123éüëöñ", min_size=1, max_size=6)  # no cp1252 pair is UTF-8


@given(ids=st.lists(_accented, min_size=2, max_size=8, unique=True), data=st.data(),
       filler=st.sampled_from([0, 5000]))  # fmt: skip
@settings(max_examples=40, deadline=None)
def test_a_late_non_utf8_byte_never_re_decodes_earlier_rows(ids, data, filler):
    split = data.draw(st.integers(1, len(ids) - 1))
    padding = "".join(f"p{i},2024-01-01,1\n" for i in range(filler))  # past the 64 KB sample
    head = "customer_id,order_date,amount\n" + "".join(f"{i},2024-01-02,2\n" for i in ids[:split])
    tail = "".join(f"{i},2024-01-03,3\n" for i in ids[split:])
    raw = (head + padding).encode("utf-8") + tail.encode("cp1252")
    utf8_text = any(ord(ch) > 127 for i in ids[:split] for ch in i)
    cp1252_text = any(ord(ch) > 127 for i in ids[split:] for ch in i)
    if utf8_text and cp1252_text:
        first_bad = (
            2
            + split
            + filler
            + next(k for k, i in enumerate(ids[split:]) if any(ord(ch) > 127 for ch in i))
        )
        with pytest.raises(DataValidationError, match=f"line {first_bad}: byte 0x.. is not UTF-8"):
            lm.read_orders(io.BytesIO(raw), errors="reject")
        return
    orders = lm.read_orders(io.BytesIO(raw))
    read = [i for i in orders["customer_id"] if not i.startswith("p")]
    assert read == ids  # every id exactly as written, whichever encoding was chosen


def test_cafe_before_64_kb_and_a_cp1252_byte_after():
    # Found by the adversarial run: every earlier "café" came out as "cafÃ©".
    filler = "".join(f"c{i},2024-01-01,1.00\n" for i in range(5000))
    raw = ("customer_id,order_date,amount\ncafé,2024-01-01,1\n" + filler).encode()
    raw += "Zoë,2024-01-02,2.00\n".encode("cp1252")
    with pytest.raises(DataValidationError, match="line 5003: byte 0xEB is not UTF-8, yet line 2"):
        lm.read_orders(io.BytesIO(raw))


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_asks_for_encoding(codec):
    raw = "customer_id,order_date,amount\na,2024-01-01,1\n".encode(codec)
    with pytest.raises(DataValidationError, match=f"UTF-16 without a byte-order mark.*{codec}"):
        lm.read_orders(io.BytesIO(raw))
    assert lm.read_orders(io.BytesIO(raw), encoding=codec)["customer_id"].tolist() == ["a"]
    with_bom = "\ufeffcustomer_id,order_date,amount\na,2024-01-01,1\n".encode(codec)
    assert lm.read_orders(io.BytesIO(with_bom))["customer_id"].tolist() == ["a"]


# ---------------------------------------------------------------------------------------------
# Dates: UTC offsets beyond +-14:00 rejected; dates kept only inside schema.DATE_RANGE; the
# two-digit-year rule recorded and dates after today (or far after the rest) warned about.


def _events(stamps: list[str]) -> str:
    return "customer_id,timestamp,event_type\n" + "".join(
        f"c{i},{s},login\n" for i, s in enumerate(stamps)
    )


@given(sign=st.sampled_from("+-"), hours=st.integers(0, 99), minutes=st.integers(0, 99),
       colon=st.booleans(), others=st.integers(0, 3))  # fmt: skip
@settings(max_examples=80, deadline=None)
def test_utc_offsets_beyond_14_hours_are_rejected(sign, hours, minutes, colon, others):
    offset = f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
    # valid offsets beside it too: the fast path (one Arrow cast) must not take it either
    stamps = ["2024-03-05T10:00:00+01:00"] * others + [f"2024-03-05T10:00:00{offset}"]
    events = lm.read_events(io.StringIO(_events(stamps)), errors="reject")
    valid = minutes < 60 and hours * 60 + minutes <= 14 * 60
    assert len(events) == others + valid
    if valid:
        shift = pd.Timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
        assert events["timestamp"].iloc[-1] == pd.Timestamp("2024-03-05 10:00") - shift
    else:
        rejected = lm.rejected_rows(events)
        assert rejected["line"].tolist() == [others + 2]
        assert rejected["reason"].tolist() == ["timestamp: UTC offset beyond +-14:00"]


@given(year=st.integers(1000, 9999), iso=st.booleans())
@settings(max_examples=60, deadline=None)
def test_dates_are_kept_only_inside_the_range_the_computations_handle(year, iso):
    text = f"{year}-06-15" if iso else f"15/06/{year}"
    orders = lm.read_orders(
        io.StringIO(f"customer_id,order_date,amount\na,2024-01-05,1\nb,{text},2\n"),
        errors="reject",
    )
    low, high = (int(d[:4]) for d in DATE_RANGE)
    assert (len(orders) == 2) is (low <= year <= high)
    if not low <= year <= high:
        assert lm.rejected_rows(orders)["reason"].tolist() == [
            "order_date: date outside 1900-01-01..2100-12-31"
        ]


@given(yy=st.integers(0, 99), fixed_width=st.booleans())
@settings(max_examples=60, deadline=None)
def test_two_digit_years_follow_the_documented_rule_and_are_recorded(yy, fixed_width):
    month = "01" if fixed_width else "1"  # 17/1/68 is not fixed-width: the regular-expression path
    rows = "".join(f"c{i},17/{month}/{yy:02d},1\n" for i in range(3))
    orders = lm.read_orders(io.StringIO("customer_id,order_date,amount\n" + rows))
    expected = 2000 + yy if yy <= 68 else 1900 + yy  # TWO_DIGIT_YEARS
    assert orders["order_date"].dt.year.unique().tolist() == [expected]
    report = lm.read_report(orders)
    assert report.settings["two_digit_years"] == {"order_date": TWO_DIGIT_YEARS}
    after_today = pd.Timestamp(f"{expected}-01-17") > pd.Timestamp.now()
    assert any("after today" in w for w in report.warnings) is after_today
    if after_today:
        assert "two-digit years are read 00-68 -> 2000-2068" in report.warnings[0]


def test_one_two_digit_year_in_the_wrong_century_is_warned_about_in_cli_and_report(tmp_path):
    # Found by the adversarial run: 17/01/68 became 2068 and moved the as-of date 40 years.
    from click.testing import CliRunner

    from loyalty_metrics.cli import cli

    rows = "".join(f"c{i},1{i % 9}/01/24,1\n" for i in range(20)) + "z,17/01/68,5\n"
    (tmp_path / "orders.csv").write_text("customer_id,order_date,amount\n" + rows)
    result = CliRunner().invoke(cli, ["kpis", str(tmp_path), "--strict"])
    assert "Warning: " in result.stderr and "line 22: '17/01/68' read as 2068-01-17" in (
        result.stderr
    )
    out = tmp_path / "report.json"
    CliRunner().invoke(cli, ["report", str(tmp_path), "-o", str(out)])
    assert "'17/01/68' read as 2068-01-17" in out.read_text()


def test_a_date_far_after_the_rest_of_its_column_is_warned_about():
    rows = "".join(f"c{i},2010-01-{i + 1:02d},1\n" for i in range(20)) + "z,2019-05-01,5\n"
    orders = lm.read_orders(io.StringIO("customer_id,order_date,amount\n" + rows))
    (warning,) = lm.read_report(orders).warnings
    # 21 dates: the lower 90% quantile is the 19th smallest (0.9 x 20 = 18), 2010-01-19
    assert "1 date more than 2 years after 90% of the column (up to 2010-01-19)" in warning
    assert "line 22: '2019-05-01'" in warning


def test_the_spread_of_the_dates_is_found_again_when_another_rule_leaves_some_out(
    monkeypatch: pytest.MonkeyPatch,
):
    # The dates' thread finds the spread of the dates their own checks keep; a rule of
    # another column leaving dates out (here: the first ten rows) makes it count again.
    from loyalty_metrics.io import _validate

    derive = _validate._derive

    def derive_and_leave_out(table, raw, columns, blanks, problems):
        derive(table, raw, columns, blanks, problems)
        problems.add("order_date", "left out by another rule", np.arange(raw.n_rows) < 10)

    rows = "".join(f"c{i},2010-01-{i + 1:02d},1\n" for i in range(20)) + "z,2019-05-01,5\n"
    text = "customer_id,order_date,amount\n" + rows
    (warning,) = lm.read_report(lm.read_orders(io.StringIO(text))).warnings
    assert "(up to 2010-01-19)" in warning
    monkeypatch.setattr(_validate, "_derive", derive_and_leave_out)
    orders = lm.read_orders(io.StringIO(text), errors="reject")
    (warning,) = lm.read_report(orders).warnings
    # 11 dates kept: the lower 90% quantile is the 10th smallest (0.9 x 10 = 9), 2010-01-20
    assert "1 date more than 2 years after 90% of the column (up to 2010-01-20)" in warning


# ---------------------------------------------------------------------------------------------
# Sources: FIFOs and process substitution read once; I/O errors name the file (the CLI exits
# 3); blank lines before the header; lists in a Parquet column.

ORDERS = "customer_id,order_date,amount\na,2024-01-05,10\nb,2024-02-01,5\n"


def test_a_fifo_is_read_once(tmp_path):
    import os
    import threading

    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(ORDERS))
    writer.start()
    orders = lm.read_orders(fifo, errors="reject")  # a second open would block forever
    writer.join(5)
    assert orders["customer_id"].tolist() == ["a", "b"]


def test_process_substitution_is_read_once(tmp_path):
    import subprocess
    import sys

    script = (
        "import subprocess, sys\n"
        "import loyalty_metrics as lm\n"
        "p = subprocess.Popen(['cat', sys.argv[1]], stdout=subprocess.PIPE)\n"
        "print(len(lm.read_orders(f'/dev/fd/{p.stdout.fileno()}')))\n"
    )
    (tmp_path / "orders.csv").write_text(ORDERS)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "orders.csv")],
                         capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert out.stdout.strip() == "2"


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "not gzip"])
def test_gzip_damage_is_an_io_error_naming_the_file(tmp_path, damage):
    import gzip

    from click.testing import CliRunner

    from loyalty_metrics.cli import cli

    rows = "".join(f"c{i},2024-01-01,1\n" for i in range(20000))
    data = gzip.compress(("customer_id,order_date,amount\n" + rows).encode())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "corrupt":
        middle = len(data) // 2
        data = data[:middle] + b"x" * 50 + data[middle + 50 :]
    else:
        data = b"\x1f\x8b" + b"garbage" * 10
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(data)
    with pytest.raises(OSError) as info:
        lm.read_orders(path)
    assert info.value.filename == str(path)
    result = CliRunner().invoke(cli, ["kpis", "--orders", str(path)])
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: {path}: ") and result.stderr.count("\n") == 1


def test_a_symlink_loop_is_named_as_such(tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    with pytest.raises(OSError, match="symlink loop"):
        lm.read_orders(tmp_path / "a.csv")


@given(blank=st.lists(st.sampled_from(["", " ", "\t", "\r"]), max_size=4),
       bad_row=st.booleans())  # fmt: skip
@settings(max_examples=30, deadline=None)
def test_blank_lines_before_the_header_are_skipped_and_counted(blank, bad_row):
    text = "".join(b + "\n" for b in blank) + ORDERS + ("c,2024-03-01,x\n" if bad_row else "")
    orders = lm.read_orders(io.StringIO(text), errors="reject")
    assert orders["customer_id"].tolist() == ["a", "b"]
    if bad_row:  # header on line len(blank) + 1, then a, b, c
        assert lm.rejected_rows(orders)["line"].tolist() == [len(blank) + 4]


def test_a_parquet_list_column_is_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"customer_id": ["a"], "order_date": ["2024-01-01"], "amount": [[1.0, 2.0]]})
    pq.write_table(table, tmp_path / "orders.parquet")
    with pytest.raises(DataValidationError, match="column 'amount' holds list<.*several per row"):
        lm.read_orders(tmp_path / "orders.parquet")


def test_a_closed_multi_line_value_after_the_sample_is_read():
    # the first read (no quote in the sample) sees it as a malformed row; the second must not
    # take that for an unclosed quote
    filler = "".join(f"{i % 11},ok\n" for i in range(20000))
    text = "score,comment\n" + filler + '9,"' + "x" * 100 + "\nmore" * 3 + '"\n7,y\n'
    surveys = lm.read_surveys(io.StringIO(text))
    assert len(surveys) == 20002 and surveys["comment"].iloc[-2].count("\n") == 3


@pytest.mark.parametrize("header", ["score,comment", '"score","comment"'])
def test_a_quoted_header_alone_reads_like_a_plain_one(header):
    # A quoted header holds no value: the sample's rows decide whether values may span lines,
    # and a multi-line value after the sample (and a stray quote) are found all the same.
    filler = "".join(f"{i % 11},ok\n" for i in range(20000))
    text = filler + '9,"two\nlines"\n7,y\n'
    plain = lm.read_surveys(io.StringIO("score,comment\n" + text), errors="reject")
    quoted = lm.read_surveys(io.StringIO(header + "\n" + text), errors="reject")
    pd.testing.assert_frame_equal(quoted, plain)
    assert len(quoted) == 20002 and quoted["comment"].iloc[-2] == "two\nlines"
    # a quote opened after the sample and never closed would swallow the last lines
    with pytest.raises(DataValidationError, match="line 20002: a quoted value is never closed"):
        lm.read_surveys(io.StringIO(header + "\n" + filler + '8,"stray\n6,z\n'), errors="reject")


def test_a_value_longer_than_a_parse_block_is_read():
    # Found by the adversarial run: one field over 4 MB refused the whole file ("straddling
    # object straddles two block boundaries").
    comment = "x" * (5 << 20)
    text = 'score,comment\n9,"quoted"\n' + "".join(f"{i % 11},ok\n" for i in range(1000))
    text += f'7,"{comment}"\n12,too high\n'
    surveys = lm.read_surveys(io.StringIO(text), errors="reject")
    assert len(surveys) == 1002 and surveys["comment"].iloc[-1] == comment
    assert lm.rejected_rows(surveys)["line"].tolist() == [1004]  # header, 1 + 1000 + 1 rows


def test_a_read_error_names_the_file_and_exits_3(tmp_path, monkeypatch):
    import errno

    from click.testing import CliRunner

    from loyalty_metrics.cli import cli
    from loyalty_metrics.io import _raw_input

    def failing_disk(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")  # as os.read raises it: no file name

    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    monkeypatch.setattr(_raw_input, "_raw_from_csv", failing_disk)
    with pytest.raises(OSError) as info:
        lm.read_orders(path)
    assert info.value.filename == str(path) and info.value.errno == errno.EIO
    result = CliRunner().invoke(cli, ["kpis", "--orders", str(path)])
    assert result.exit_code == 3
    assert result.stderr == f"Error: {path}: input/output error\n"


def test_date_warnings_say_their_column_kind_and_whether_the_century_was_guessed():
    import pickle

    from loyalty_metrics.io import DateWarning

    rows = "".join(f"c{i},1{i % 9}/01/24,1\n" for i in range(20)) + "z,17/01/68,5\n"
    orders = lm.read_orders(io.StringIO("customer_id,order_date,amount\n" + rows))
    (warning,) = lm.read_report(orders).warnings
    assert isinstance(warning, DateWarning) and isinstance(warning, str)
    assert (warning.column, warning.kind, warning.two_digit_years) == (
        "order_date",
        "after_today",
        True,
    )
    copy = pickle.loads(pickle.dumps(warning))
    assert (copy, copy.kind, copy.two_digit_years) == (warning, "after_today", True)
    iso = "".join(f"c{i},2010-01-{i + 1:02d},1\n" for i in range(20)) + "z,2019-05-01,5\n"
    (far,) = lm.read_report(
        lm.read_orders(io.StringIO("customer_id,order_date,amount\n" + iso))
    ).warnings
    assert (far.kind, far.two_digit_years) == ("far_after", False)


def test_the_readers_hints_are_written_as_loyalty_toml_lines():
    # issue 14: hints in the user's terms (a loyalty.toml line), Python's spelling second
    text = "customer_id,Amount,amount,order_date\na,1,2,2024-01-01\n"
    with pytest.raises(DataValidationError) as info:
        lm.read_orders(io.StringIO(text))
    assert 'columns = { amount = "Amount" } under [orders] in loyalty.toml' in str(info.value)
    future = "customer_id,order_date,amount\na,01/02/23,1\nb,17/01/68,2\n"
    warning = lm.read_report(lm.read_orders(io.StringIO(future))).warnings[0]
    assert 'date_format = "%d/%m/%Y", under its table in loyalty.toml' in warning
