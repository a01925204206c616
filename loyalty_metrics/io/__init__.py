"""Readers: CSV, gzip CSV, Parquet or a DataFrame in; validated, canonical frames out.

Every reader maps the input's columns onto the canonical ones of :data:`schema.TABLES`,
parses each column by its kind, checks the table's rules on every row at once (vectorised)
and either raises one :class:`~loyalty_metrics.errors.DataValidationError` naming every
problem (``errors="raise"``) or keeps the good rows and records the rejected ones
(``errors="reject"``) in a :class:`ReadReport` (``read_report(df)``; or
:func:`read_table_result`, which returns the frame and its report side by side).

The modules: ``_options`` (the keywords), ``_raw_input`` (encoding, delimiter, CSV / gzip /
Parquet / DataFrame sources), ``_columns`` (header matching), ``_numbers``, ``_dates`` and
``_convert`` (ids, categories, booleans) parse columns, ``_validate`` applies the table's
rules and builds the result, ``_result`` holds the report, ``readers`` and ``folder`` are
the public entry points.

Reading is built on the pyarrow CSV engine: every column is read as text in one
multi-threaded pass, then converted with vectorised pyarrow/numpy kernels. A clean column
takes a single fast cast; only a column whose fast cast fails is parsed value by value
(vectorised regular expressions) to find the offending rows.

Examples
--------
>>> import io
>>> text = "customer_id;order_date;amount\\n c1 ;15/03/2024;12,50\\nc2;16/03/2024;1.234,56\\n"
>>> orders = read_orders(io.StringIO(text))
>>> orders
  customer_id order_date   amount
0          c1 2024-03-15    12.50
1          c2 2024-03-16  1234.56
>>> read_report(orders).settings["sep"], read_report(orders).settings["decimal"]
(';', ',')
"""

from ._options import READ_OPTIONS, Errors
from ._result import (
    REPORT_ATTR,
    DateWarning,
    ReadReport,
    ReadResult,
    read_report,
    rejected_rows,
)
from .folder import FOLDER_EXTENSIONS, find_table_files, read_folder
from .readers import (
    READERS,
    read_customers,
    read_events,
    read_orders,
    read_points,
    read_spend,
    read_surveys,
    read_table_result,
)

__all__ = [
    "FOLDER_EXTENSIONS",
    "READERS",
    "READ_OPTIONS",
    "REPORT_ATTR",
    "DateWarning",
    "Errors",
    "ReadReport",
    "ReadResult",
    "find_table_files",
    "read_customers",
    "read_events",
    "read_folder",
    "read_orders",
    "read_points",
    "read_report",
    "read_spend",
    "read_surveys",
    "read_table_result",
    "rejected_rows",
]
