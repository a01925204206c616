"""The read report and the read result: what a reader read, kept and rejected.

A reader returns a plain DataFrame. Its report travels in ``df.attrs[REPORT_ATTR]`` as a
:class:`_ReportKey`: a ``str`` (a one-line summary of the read, so ``attrs`` stay JSON-able
and ``to_parquet``, ``merge`` and ``concat`` work) that also holds the :class:`ReadReport`,
so frames pandas derives from the read frame (filtered, copied, concatenated with itself)
keep the report for as long as any of them lives. :func:`read_table_result` returns the
frame and its report side by side as a :class:`ReadResult`, with no ``attrs`` involved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: Key of ``DataFrame.attrs`` under which a reader stores its read summary (a ``str``).
REPORT_ATTR = "loyalty_metrics.read_report"


class DateWarning(str):
    """One of :attr:`ReadReport.warnings`: its message (a ``str``) and what it is about.

    ``column`` (canonical name), ``kind`` (``"after_today"`` or ``"far_after"``: more than
    two years after 90% of the column) and ``two_digit_years`` (the column's years were written
    with two digits, so the reader chose the century by its documented rule).

    Examples
    --------
    >>> w = DateWarning("orders.csv: column 'order_date': ...", column="order_date",
    ...                 kind="after_today", two_digit_years=True)
    >>> "order_date" in w, w.kind, w.two_digit_years
    (True, 'after_today', True)
    """

    column: str
    kind: str
    two_digit_years: bool

    def __new__(
        cls, message: str, *, column: str = "", kind: str = "", two_digit_years: bool = False
    ) -> DateWarning:
        # defaults: pickle rebuilds the str from the message, then restores the attributes
        self = super().__new__(cls, message)
        self.column, self.kind, self.two_digit_years = column, kind, two_digit_years
        return self


@dataclass(frozen=True, eq=False)
class ReadReport:
    """What a reader read, kept and rejected.

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
        ``thousands``, ``dayfirst`` and ``two_digit_years`` (per date column, the rule
        used), ``date_format``, ``line_numbers``.
    warnings : tuple of DateWarning
        Values kept but worth a look: dates after today, or far after the rest of their
        column (a two-digit year read in the wrong century); each a ``str`` (its message)
        that also says its column and kind (:class:`DateWarning`). The CLI prints them
        (``--strict`` stops on a date after today read from a two-digit year), the report
        lists them in its data-quality section.

    Notes
    -----
    Equality is identity and copying returns the same object. A frame derived from a read
    frame (filtered, copied, concatenated with a frame of the same read...) carries the
    report of the original read; a frame written to a file and read back carries only the
    one-line summary (see :data:`REPORT_ATTR`).

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
    warnings: tuple[str, ...] = field(default=(), repr=False)

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


class _ReportKey(str):
    """``df.attrs[REPORT_ATTR]``: a one-line summary of the read that also holds its report.

    pandas sees a plain string (JSON-able: ``to_parquet`` writes the text, ``concat``
    compares it, and each read's text is unique); deep copies, which pandas makes when it
    derives a frame, return the same object, so derived frames share the report.
    """

    report: ReadReport

    def __new__(cls, report: ReadReport) -> _ReportKey:
        # a random tag keeps the text unique across processes too (frames may be pickled)
        key = super().__new__(cls, f"read {uuid.uuid4().hex[:12]}: {report}")
        key.report = report
        return key

    def __deepcopy__(self, memo: dict[int, Any]) -> _ReportKey:
        return self

    def __copy__(self) -> _ReportKey:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild_key, (str(self), self.report)


def _rebuild_key(text: str, report: ReadReport) -> _ReportKey:
    """Unpickle a key: the same text and report (a fresh key would get a new tag)."""
    key = str.__new__(_ReportKey, text)
    key.report = report
    return key


def _attach(frame: pd.DataFrame, report: ReadReport) -> pd.DataFrame:
    """``frame`` with ``report`` in its attrs (replacing any attrs it had)."""
    frame.attrs = {REPORT_ATTR: _ReportKey(report)}
    return frame


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
        When ``df`` carries no report (not produced by a reader, ``attrs`` dropped, or
        written to a file and read back: only the one-line summary survives that).

    See Also
    --------
    read_table_result : the frame and its report side by side, without ``attrs``.

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics import read_spend
    >>> df = read_spend(pd.DataFrame({"date": ["2024-01-31"], "amount": [100.0]}))
    >>> read_report(df).rows_kept
    1
    """
    key = df.attrs.get(REPORT_ATTR) if isinstance(df, pd.DataFrame) else None
    report = getattr(key, "report", None)
    if not isinstance(report, ReadReport):
        summary = f" (only its summary: {key!r})" if isinstance(key, str) else ""
        raise ValueError(
            f"this frame carries no read report{summary}: it was not returned by a "
            "loyalty_metrics reader (read_orders, read_surveys, ...), its attrs were dropped "
            "or it was read back from a file; use read_table_result to keep the report "
            "beside the frame"
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


@dataclass(frozen=True, eq=False)
class ReadResult:
    """A reader's frame and its :class:`ReadReport`, side by side (no ``attrs`` needed).

    Returned by :func:`read_table_result`; :meth:`from_frame` builds one from a frame a
    reader returned.

    Attributes
    ----------
    frame : pandas.DataFrame
        The validated frame, exactly as ``read_orders`` & co return it.
    report : ReadReport
        What was read, kept and rejected; ``rejected``, ``problems``, ``rows_read``,
        ``rows_kept`` and ``rows_rejected`` are shortcuts to it.

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics import read_surveys
    >>> result = ReadResult.from_frame(
    ...     read_surveys(pd.DataFrame({"score": ["9", "11"]}), errors="reject")
    ... )
    >>> result.rows_read, result.rows_kept, result.rejected["reason"].tolist()
    (2, 1, ['score: NPS score outside 0-10'])
    """

    frame: pd.DataFrame
    report: ReadReport

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> ReadResult:
        """The result of the read ``df`` came from (:func:`read_report` raises as there)."""
        return cls(df, read_report(df))

    @property
    def rejected(self) -> pd.DataFrame:
        """One row per rejected input row (see :attr:`ReadReport.rejected`)."""
        return self.report.rejected

    @property
    def problems(self) -> pd.DataFrame:
        """One row per offending cell (see :attr:`ReadReport.problems`)."""
        return self.report.problems

    @property
    def rows_read(self) -> int:
        return self.report.rows_read

    @property
    def rows_kept(self) -> int:
        return self.report.rows_kept

    @property
    def rows_rejected(self) -> int:
        return self.report.rows_rejected

    def __str__(self) -> str:
        return str(self.report)
