"""The public readers: ``read_orders``, ``read_surveys``, ``read_events``, ``read_spend``,
``read_customers``, ``read_points``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import pandas as pd

from ._options import Errors, _Options, _param_error
from ._result import ReadResult
from ._validate import _read

_COMMON_DOC = """
    Parameters
    ----------
    source : path, file object or pandas.DataFrame
        A CSV file (``,`` ``;`` tab or ``|`` delimited, optionally gzip-compressed), a
        Parquet file or an Excel workbook (``.xlsx``, ``.xls``, ``.xlsb``, ``.ods``), by path
        (``str`` or ``Path``) or as an open file object; or a frame (reported as
        ``"<DataFrame>"``, values already typed or text). Any other binary file is refused
        in one line.
    columns : dict, optional
        Canonical name -> the input's column name, e.g. ``{{"amount": "Betrag"}}``.
        Unmapped canonical columns are found by name, ignoring case, surrounding space
        and ``-``/``.``/space versus ``_``, then by their usual spellings in shop, ERP and
        POS exports (``InvoiceNo``, ``CustomerID``, ``Order Date``, ``Qty``, ``SKU``...;
        see ``loyalty_metrics.io._aliases``), reported in ``read_report(df).settings
        ["auto_mapped"]``. Other input columns are not read.
    sep : str, optional
        Field delimiter. Default: sniffed among ``,`` ``;`` tab ``|`` from the first 64 KB.
    decimal : {{".", ","}}, optional
        Decimal mark. Default: a point in comma-delimited files; otherwise decided from
        all the number columns (``12,50`` and ``1.234,5`` are decimal-comma evidence,
        ``12.50`` and ``1,234.5`` decimal-point evidence; with none, or a tie, a point).
    thousands : str, optional
        Thousands separator. Default (``None``): with a decimal point, ``,`` space or
        ``'``; with a decimal comma, ``.`` space or ``'`` — accepted only in 3-digit groups
        (``1.234.567,8``). ``""`` disables them.
    encoding : str, optional
        Any Python codec name, e.g. ``"cp1250"`` for Polish exports. Default: UTF-8 (with
        or without BOM) when the data decodes as UTF-8, else cp1252 (latin-1 for bytes
        cp1252 leaves undefined).
    dayfirst : bool, optional
        Order of day and month in non-ISO dates such as ``05/03/2024``. Default: decided
        per column from the whole column — day-first when some value's first field is
        above 12 and month-first when some second field is; when both occur the majority
        wins and the other values are rejected; when no value decides (every field <= 12)
        the order of the input's other date columns is used, and if none decides either a
        ``DataValidationError`` asks for ``dayfirst=``. ISO dates (``2024-03-05``, with an
        optional time and ``Z``/``+02:00`` offset) are always year-month-day. A UTC offset
        beyond +-14:00 is rejected. Two-digit years follow POSIX: 00-68 are 2000-2068,
        69-99 are 1969-1999 (recorded in the read report's ``settings["two_digit_years"]``).
        Dates outside 1900-01-01..2100-12-31 (what the computations handle) are rejected;
        dates after today, or more than two years after 90% of their column, are kept and
        listed in the read report's ``warnings``.
    date_format : str, optional
        An explicit ``strptime`` format for every date column (``"%d.%m.%Y"``); disables
        the detection above.
    sheet : str or int, optional
        The Excel sheet to read, by name or 0-based number; default the first.
    errors : {{"raise", "reject"}}, default "raise"
        ``"raise"``: any offending row raises one :class:`DataValidationError` naming the
        file, each column, the first 10 line numbers and the reason, with every offending
        cell in its ``.problems`` frame (``line``, ``column``, ``value``, ``reason``).
        ``"reject"``: keep the good rows; the rejected ones are in
        ``lm.rejected_rows(df)`` (= ``lm.read_report(df).rejected``): ``line``, the raw
        values as text and ``reason`` (every problem of the row, ``"column: reason"``
        joined with ``"; "``); ``lm.read_report(df)`` also gives ``rows_read``,
        ``rows_kept``, ``rows_rejected`` (always ``rows_read == rows_kept +
        rows_rejected``) and the sniffed settings (:func:`read_table_result` returns the
        frame and this report side by side). Structural problems (file missing or
        unreadable, no header, no data rows, a required column missing, undecidable
        day/month order) raise in both modes.

    Returns
    -------
    pandas.DataFrame
        The canonical columns present, in canonical order, on a fresh ``RangeIndex``:
        ids as ``str`` (trimmed; an integer-valued numeric id loses its ``.0``), dates as
        ``datetime64[ns]`` (offsets converted to UTC, then naive), money and other numbers
        as ``float64``, scores as integer-valued ``float64``, categories as ``category``
        (trimmed, sorted), ``is_member`` as ``boolean``. Missing values are NaN/NaT/<NA>.
        ``attrs`` hold only a one-line summary of the read (a ``str``, so ``to_parquet``,
        ``merge`` and ``concat`` work); :func:`read_report` gets the full report.

    Raises
    ------
    DataValidationError
        Offending rows (in ``"raise"`` mode) or a structural problem (both modes).
    FileNotFoundError
        ``source`` does not exist.
    ConfigError
        An option has an invalid value (also a ``ValueError``).

    Notes
    -----
    Line numbers are the file's own, the header being line 1, counting blank lines and
    the extra lines of quoted values that contain newlines (RFC 4180 quoting); with
    Parquet or a DataFrame they are 1-based row numbers. Rows with a wrong number of
    fields are rejected with their line, and so are quoted values spanning lines in any
    column but free text (``comment``, ``note``): the mark of a stray quote. In number, date and boolean columns, blank
    cells and ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``#N/A`` mean "no value";
    ids and categories keep such text literally. ``inf`` is not a number.
"""


def _doc(
    summary: str, rules: str, example: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__doc__ = (
            f"{summary}\n\n{rules}\n{_COMMON_DOC}\n    Examples\n    --------\n{example}"
        )
        return func

    return apply


@_doc(
    "Read order lines (or orders) into the canonical orders frame.",
    """    Required columns ``customer_id`` (blank is an error), ``order_date``, ``amount``
    (net revenue, may be negative for returns; without it, ``quantity`` and ``unit_price``
    give ``amount = quantity * unit_price`` and a blank one rejects the line); optional
    ``order_id``, ``category``, ``product_id``, ``quantity``, ``unit_price``, ``cost``,
    ``channel``, ``cancels`` (the order a cancellation line reverses).""",
    """    >>> import io
    >>> from loyalty_metrics import rejected_rows
    >>> csv_text = "Customer ID,Order Date,Amount\\nc1,2024-03-15,12.5\\n,2024-03-16,x\\n"
    >>> orders = read_orders(io.StringIO(csv_text), errors="reject")
    >>> orders
      customer_id order_date  amount
    0          c1 2024-03-15    12.5
    >>> rejected_rows(orders).iloc[0].to_dict()
    {'line': 3, 'customer_id': nan, 'order_date': '2024-03-16', 'amount': 'x', 'reason': 'customer_id: blank value; amount: unparseable number'}
""",
)
def read_orders(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    opts = _Options(
        columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors, sheet
    )
    return _read("orders", source, opts, "read_orders").frame


@_doc(
    "Read survey responses (NPS and CSAT) into the canonical surveys frame.",
    """    Required column ``score`` (NPS, an integer 0-10; blank only on a row with a
    ``csat`` answer, a CSAT-only response); optional ``customer_id`` (blank = anonymous
    response, valid), ``response_date``, ``csat`` (an integer 1-5), ``segment``,
    ``comment``.""",
    """    >>> import pandas as pd
    >>> from loyalty_metrics import read_report
    >>> raw = pd.DataFrame({"customer_id": ["a", "", "b"], "score": ["10", "7", "11"]})
    >>> surveys = read_surveys(raw, errors="reject")
    >>> surveys
      customer_id  score
    0           a   10.0
    1         NaN    7.0
    >>> read_report(surveys).rejected[["line", "reason"]]
       line                         reason
    0     3  score: NPS score outside 0-10
""",
)
def read_surveys(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    opts = _Options(
        columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors, sheet
    )
    return _read("surveys", source, opts, "read_surveys").frame


@_doc(
    "Read engagement events into the canonical events frame.",
    """    Required columns ``customer_id`` (blank is an error), ``timestamp``,
    ``event_type``; optional ``duration`` (seconds, >= 0).""",
    """    >>> import pandas as pd
    >>> from loyalty_metrics import rejected_rows
    >>> raw = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-03-05T10:00:00Z",
    ...                     "2024-03-05 12:30"], "event_type": ["login", "purchase"],
    ...                     "duration": ["30", "-5"]})
    >>> events = read_events(raw, errors="reject")
    >>> events
      customer_id           timestamp event_type  duration
    0           a 2024-03-05 10:00:00      login      30.0
    >>> rejected_rows(events)["reason"].tolist()
    ['duration: negative duration']
""",
)
def read_events(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    opts = _Options(
        columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors, sheet
    )
    return _read("events", source, opts, "read_events").frame


@_doc(
    "Read marketing and sales spend into the canonical spend frame.",
    """    Required columns ``date``, ``amount``; optional ``channel``.""",
    """    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Date": ["31/01/2024", "29/02/2024"], "Cost": ["1.500,00", "980,5"]})
    >>> read_spend(raw, columns={"amount": "Cost"})
            date  amount
    0 2024-01-31  1500.0
    1 2024-02-29   980.5
""",
)
def read_spend(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    opts = _Options(
        columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors, sheet
    )
    return _read("spend", source, opts, "read_spend").frame


@_doc(
    "Read the customer table into the canonical customers frame.",
    """    Required column ``customer_id`` (blank is an error); optional ``signup_date``,
    ``acquisition_channel``, ``is_member`` (true/false, yes/no, y/n, 1/0),
    ``member_since``, ``tier``, ``referred_by``.""",
    """    >>> import pandas as pd
    >>> raw = pd.DataFrame({"customer_id": ["a", "b"], "is_member": ["yes", "N"],
    ...                     "tier": [" gold", "silver "]})
    >>> customers = read_customers(raw)
    >>> customers
      customer_id  is_member    tier
    0           a       True    gold
    1           b      False  silver
    >>> customers.dtypes.astype(str).tolist()
    ['str', 'boolean', 'category']
""",
)
def read_customers(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    opts = _Options(
        columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors, sheet
    )
    return _read("customers", source, opts, "read_customers").frame


@_doc(
    "Read the loyalty-programme points ledger into the canonical points frame.",
    """    One row per movement. Required columns ``customer_id`` (blank is an error), ``date``,
    ``points`` (a number, signed), ``type``; optional ``order_id``, ``note``. ``type`` is
    one of ``earn``, ``redeem``, ``expire``, ``adjust`` in any case (read as lower case);
    another value is an error. The sign must match the type: ``earn`` >= 0, ``redeem`` and
    ``expire`` <= 0, ``adjust`` either; a row that breaks this is an error (or a reject)
    reported on ``points``.""",
    """    >>> import pandas as pd
    >>> from loyalty_metrics import rejected_rows
    >>> raw = pd.DataFrame({"customer_id": ["a", "a", "b"], "date": ["2024-03-05"] * 3,
    ...                     "points": ["120", "50", "-30"], "type": ["Earn", "REDEEM", "adjust"]})
    >>> points = read_points(raw, errors="reject")
    >>> points
      customer_id       date  points    type
    0           a 2024-03-05   120.0    earn
    1           b 2024-03-05   -30.0  adjust
    >>> rejected_rows(points)["reason"].tolist()
    ['points: redeem row with positive points (redeem <= 0)']
""",
)
def read_points(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
) -> pd.DataFrame:
    opts = _Options(columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors)
    return _read("points", source, opts, "read_points").frame


#: Table name -> its reader.
READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "orders": read_orders,
    "surveys": read_surveys,
    "events": read_events,
    "spend": read_spend,
    "customers": read_customers,
    "points": read_points,
}


def read_table_result(
    table: str,
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: Literal[".", ","] | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    errors: Errors = "raise",
    sheet: str | int | None = None,
) -> ReadResult:
    """Read one table and return its frame and read report side by side.

    The explicit form of ``read_orders(...)`` followed by ``read_report(df)``: the
    :class:`ReadResult` holds the report itself, so nothing depends on the frame's
    ``attrs`` surviving later pandas operations.

    Parameters
    ----------
    table : {"orders", "surveys", "events", "spend", "customers", "points"}
        Which reader's rules apply.
    source, columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors
        As for :func:`read_orders`.

    Returns
    -------
    ReadResult
        ``.frame`` (identical to what the table's reader returns), ``.report``, and the
        shortcuts ``.rejected``, ``.problems``, ``.rows_read``, ``.rows_kept``,
        ``.rows_rejected``.

    Raises
    ------
    ConfigError
        Unknown ``table`` or an invalid option.
    DataValidationError, FileNotFoundError
        As the readers.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"date": ["2024-01-31", "2024-02-30"], "amount": ["100", "80"]})
    >>> result = read_table_result("spend", raw, errors="reject")
    >>> result.frame
            date  amount
    0 2024-01-31   100.0
    >>> result.rejected[["line", "reason"]]
       line                    reason
    0     2  date: unparseable date
    >>> print(result)
    <DataFrame> (spend): 2 rows read, 1 kept, 1 rejected
    """
    if table not in READERS:
        raise _param_error("read_table_result", "table", f"one of {sorted(READERS)}", table)
    opts = _Options(
        columns, sep, decimal, thousands, encoding, dayfirst, date_format, errors, sheet
    )
    return _read(table, source, opts, "read_table_result")
