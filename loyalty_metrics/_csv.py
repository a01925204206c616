"""The one CSV writer behind every CSV the tool writes, with spreadsheet formulas neutralised.

A text cell, index label or header that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is written with a leading single quote (``'=cmd()``), so a spreadsheet shows
it as text instead of running it (OWASP's advice on CSV injection). Numbers and dates are not
text: ``-3.5`` in a numeric column stays a number.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_START", "neutralise", "to_csv"]

#: Spreadsheet formula triggers (OWASP CSV injection): = + - @ tab CR.
FORMULA_START = r"[=+\-@\t\r]"


def neutralise(text: pd.Series) -> pd.Series:
    """Prefix the strings of ``text`` that a spreadsheet would run as a formula with ``'``.

    Values that are not strings (numbers, None, timestamps) are kept as they are.

    Examples
    --------
    >>> neutralise(pd.Series(["=1+1", "safe", None, -2])).tolist()
    ["'=1+1", 'safe', None, -2]
    """
    risky = text.str.match(FORMULA_START).fillna(False).to_numpy(dtype=bool)
    if not risky.any():
        return text
    out = text.astype(object)
    out[risky] = "'" + text[risky].astype(str)
    return out


def _neutralise_labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        levels = [_neutralise_labels(level) for level in index.levels]
        return index.set_levels(levels)
    if _is_text(index.dtype):
        return pd.Index(neutralise(pd.Series(index, dtype=object)), name=index.name)
    return index


def _is_text(dtype: Any) -> bool:
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def to_csv(frame: pd.DataFrame, *, index: bool = True, **options: Any) -> str:
    """``frame.to_csv(...)`` with every text cell, index label and header neutralised.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to write; it is not modified.
    index : bool, default True
        Write the index as the first column(s).
    **options
        Passed to :meth:`pandas.DataFrame.to_csv` (``float_format``, ``date_format``, ...).
        Lines end with ``\\n``.

    Returns
    -------
    str
        The CSV text.

    Examples
    --------
    >>> frame = pd.DataFrame({"note": ["=HYPERLINK()", "ok"], "delta": [-3.5, 1.0]})
    >>> print(to_csv(frame, index=False), end="")
    note,delta
    '=HYPERLINK(),-3.5
    ok,1.0
    """
    out = frame.copy(deep=False)
    has_cr = False
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if _is_text(column.dtype):
            column = neutralise(column.astype(object))
            out.isetitem(position, column)
            has_cr = has_cr or _holds_cr(column)
    out.columns = _neutralise_labels(out.columns)
    has_cr = has_cr or _holds_cr(pd.Series(out.columns.to_flat_index(), dtype=object))
    if index:
        out.index = _neutralise_labels(out.index)
        has_cr = has_cr or _holds_cr(pd.Series(out.index.to_flat_index(), dtype=object))
    if not has_cr:
        return out.to_csv(index=index, lineterminator="\n", **options)
    # Python's csv module quotes a cell only for the characters of the line terminator: with
    # "\n" a bare CR stays unquoted and splits the row in most readers. Write with "\r\n" (every
    # cell holding CR or LF is quoted), then end the records (the CRLFs outside quotes) with "\n".
    text = out.to_csv(index=index, lineterminator="\r\n", **options)
    return _RECORD_END.sub(lambda m: m.group(1) or "\n", text)


# A quoted cell (doubled quotes inside are two adjacent matches) or a record-ending CRLF.
_RECORD_END = re.compile(r'("[^"]*")|\r\n')


def _holds_cr(values: pd.Series) -> bool:
    return bool(values.astype(str).str.contains("\r", regex=False).any())
