"""Display formatting and escaping shared by the renderers (never used inside computations)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from .._stats import round_half_away

__all__ = ["fmt", "fmt_change", "md_escape", "plain"]

#: Digits shown per unit; every value is rounded half away from zero for display only.
DIGITS = {
    "count": 0,
    "money": 2,
    "percent": 1,
    "points": 1,
    "ratio": 2,
    "score": 1,
    "days": 0,
    "months": 1,
    "number": 2,
}
MISSING = "–"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt(value: Any, unit: str | None = "number", *, currency: str | None = None) -> str:
    """Format one value for display: ``fmt(12.345, "percent") == "12.3%"``.

    Examples
    --------
    >>> fmt(12.25, "percent"), fmt(1234.5, "money", currency="EUR"), fmt(None, "count")
    ('12.3%', '1,234.50 EUR', '–')
    >>> fmt(2.5, "count"), fmt(-0.5, "count")
    ('3', '-1')
    """
    if _is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if unit in (None, "text", "date", "label") or not isinstance(value, int | float):
        return str(value)
    digits = DIGITS.get(unit, 2)
    number = round_half_away(float(value), digits)
    if number == 0:
        number = 0.0  # no "-0.0"
    text = f"{number:,.{digits}f}"
    if unit == "percent":
        return text + "%"
    if unit == "money" and currency:
        return f"{text} {currency}"
    if unit == "days":
        return f"{text} days"
    if unit == "months":
        return f"{text} months"
    return text


def fmt_change(change: Any, kind: str | None) -> str:
    """Format a change: ``"+2.5 pts"`` for points/percentages, ``"+4.0%"`` for relative ones.

    Examples
    --------
    >>> fmt_change(2.45, "points"), fmt_change(-12.5, "relative"), fmt_change(None, "points")
    ('+2.5 pts', '-12.5%', '–')
    """
    if _is_missing(change):
        return MISSING
    number = round_half_away(float(change), 1)
    if number == 0:
        return "±0" + (" pts" if kind == "points" else "%")
    sign = "+" if number > 0 else "-"
    return f"{sign}{abs(number):,.1f}" + (" pts" if kind == "points" else "%")


_MD_INLINE = re.compile(r"([\\`*_\[\]{}|~!])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+)([.)]?)(?=\s|$)")


def md_escape(text: Any) -> str:
    """Escape a data string for Markdown: nothing in it can become markup.

    Pipes, backticks, emphasis, brackets and backslashes are backslash-escaped; ``<``, ``>``
    and ``&`` become entities (so no HTML gets through); line-start markers (``#``, ``>``,
    ``-``, ``1.``) are escaped; newlines become spaces (a value never breaks a table row).

    Examples
    --------
    >>> md_escape("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> md_escape("| pipes |"), md_escape("# not a heading"), md_escape("a_b*c")
    ('\\\\| pipes \\\\|', '\\\\# not a heading', 'a\\\\_b\\\\*c')
    """
    if _is_missing(text):
        return MISSING
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    return _MD_LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker, dot = match.groups()
    if marker.isdigit():
        # "1. item" is a list item; "1\. item" is text ("\1" would show the backslash)
        return indent + marker + ("\\" + dot if dot else "")
    return indent + "\\" + marker


def plain(value: Any) -> Any:
    """Convert a value (possibly nested) to plain JSON-ready Python: NaN -> None, dates -> ISO.

    Examples
    --------
    >>> plain({"a": np.float64("nan"), "b": np.int64(3), "c": pd.Timestamp("2024-01-31")})
    {'a': None, 'b': 3, 'c': '2024-01-31'}
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, pd.Timedelta):
        return str(value)
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
