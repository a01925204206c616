"""The read report: what a reader read, kept and rejected, and how to get it back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: Key of ``DataFrame.attrs`` under which a reader stores its :class:`ReadReport`.
REPORT_ATTR = "loyalty_metrics.read_report"


@dataclass(frozen=True, eq=False)
class ReadReport:
    """What a reader read, kept and rejected; stored in ``df.attrs[REPORT_ATTR]``.

    Get it with :func:`read_report` (``lm.read_report(df)``); :func:`rejected_rows` is a
    shortcut for ``read_report(df).rejected``. ``rows_read == rows_kept + rows_rejected``
    always holds.

    Attributes
    ----------
    source : str
        The file as given, ``"<DataFrame>"`` or ``"<stream>"``.
    table : str
        Canonical table name (``"orders"``, ``"surveys"``...).
    rows_read, rows_kept, rows_rejected : int
        Data rows in the input, in the returned frame and rejected.
    rejected : pandas.DataFrame
        One row per rejected input row: ``line`` (1-based line in the file, the header
        being line 1; the 1-based row number for Parquet and DataFrame input), the raw
        values of the canonical columns read (text as in the file) and ``reason`` (every
        problem of the row, ``"column: reason"`` joined with ``"; "``).
    problems : pandas.DataFrame
        One row per offending cell: ``line``, ``column``, ``value``, ``reason``.
    columns : dict
        Canonical column -> the input's column it was read from.
    settings : dict
        How the input was read: ``format``, ``encoding``, ``sep``, ``decimal``,
        ``thousands``, ``dayfirst`` (per date column), ``date_format``, ``line_numbers``.

    Notes
    -----
    Equality is identity and copying returns the same object, so that pandas, which
    deep-copies and compares ``attrs`` when it derives or concatenates frames, never
    copies the rejected rows nor fails comparing them. A frame derived from a read frame
    (filtered, concatenated with a frame of the same read...) carries the report of the
    original read.

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics import read_orders
    >>> raw = pd.DataFrame({"customer_id": ["a", ""], "order_date": ["2024-01-05"] * 2,
    ...                     "amount": ["10", "x"]})
    >>> report = read_report(read_orders(raw, errors="reject"))
    >>> (report.rows_read, report.rows_kept, report.rows_rejected)
    (2, 1, 1)
    >>> report.rejected.loc[0, "reason"]
    'customer_id: blank value; amount: unparseable number'
    >>> print(report)
    <DataFrame> (orders): 2 rows read, 1 kept, 1 rejected
    """

    source: str
    table: str
    rows_read: int
    rows_kept: int
    rows_rejected: int
    rejected: pd.DataFrame = field(repr=False)
    problems: pd.DataFrame = field(repr=False)
    columns: dict[str, str] = field(default_factory=dict, repr=False)
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadReport:
        return self

    def __copy__(self) -> ReadReport:
        return self

    def __str__(self) -> str:
        rows = "row" if self.rows_read == 1 else "rows"
        return (
            f"{self.source} ({self.table}): {self.rows_read:,} {rows} read, "
            f"{self.rows_kept:,} kept, {self.rows_rejected:,} rejected"
        )


def read_report(df: pd.DataFrame) -> ReadReport:
    """The :class:`ReadReport` of a frame returned by a reader.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame returned by ``read_orders`` & co (or derived from one: pandas carries
        ``attrs`` along).

    Returns
    -------
    ReadReport
        Counts, rejected rows (``.rejected``), offending cells (``.problems``), the
        column mapping and the sniffed settings.

    Raises
    ------
    ValueError
        When ``df`` carries no report (not produced by a reader, or ``attrs`` dropped).

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics import read_spend
    >>> df = read_spend(pd.DataFrame({"date": ["2024-01-31"], "amount": [100.0]}))
    >>> read_report(df).rows_kept
    1
    """
    report = df.attrs.get(REPORT_ATTR) if isinstance(df, pd.DataFrame) else None
    if not isinstance(report, ReadReport):
        raise ValueError(
            "this frame carries no read report: it was not returned by a loyalty_metrics "
            "reader (read_orders, read_surveys, ...) or its attrs were dropped"
        )
    return report


def rejected_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows a reader rejected (``read_report(df).rejected``).

    Parameters
    ----------
    df : pandas.DataFrame
        A frame returned by a reader with ``errors="reject"``.

    Returns
    -------
    pandas.DataFrame
        ``line``, the raw values of the canonical columns, ``reason``; empty when every
        row was kept.

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics import read_surveys
    >>> raw = pd.DataFrame({"score": ["9", "11", "7"]})
    >>> rejected_rows(read_surveys(raw, errors="reject"))
       line score                       reason
    0     2    11  score: NPS score outside 0-10
    """
    return read_report(df).rejected
