"""Checks at the public entry points, for frames that did not come from a reader.

A frame returned by a reader carries its read report (``df.attrs[REPORT_ATTR]``): it was
validated there and is trusted as is, at the cost of one dictionary lookup. Any other frame
(built in memory, read with pandas) or a plain list of scores is checked here against the
readers' rules, with the readers' messages, instead of failing later with a KeyError or
returning a number computed from impossible values (``nps([11, -1])``, revenue ``inf``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import DataValidationError
from .schema import AMOUNT_LIMIT, DATE_RANGE, SCORE_SCALES, TABLES

__all__ = ["validate_orders", "validate_surveys"]

_REPORT_ATTR = "loyalty_metrics.read_report"  # = io.REPORT_ATTR (io imports this package)
_FIRST, _AFTER = pd.Timestamp(DATE_RANGE[0]), pd.Timestamp(DATE_RANGE[1]) + pd.Timedelta(days=1)


def _prefix(func: str | None) -> str:
    return f"{func}: " if func else ""


def _validated(frame: Any) -> bool:
    return isinstance(frame, pd.DataFrame) and _REPORT_ATTR in frame.attrs


def _fail(
    func: str | None, table: str, column: str, mask: np.ndarray, reason: str, values: Any
) -> None:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r + 1) for r in rows[:10])
    more = f" (+{len(rows) - 10} more)" if len(rows) > 10 else ""
    found = pd.Series(np.asarray(values, dtype=object)[rows]).dropna().unique()[:3]
    examples = f" (e.g. {', '.join(repr(v) for v in found)})" if len(found) else ""
    raise DataValidationError(
        f"{_prefix(func)}{table}: column {column!r}: row{'s' if len(rows) > 1 else ''} {shown}{more}: "
        f"{reason}{examples}; read the data with lm.read_{table}() to set such rows aside",
        source="<DataFrame>",
        table=table,
    )


def _check_columns(frame: pd.DataFrame, table: str, func: str | None) -> None:
    missing = [c for c in TABLES[table].required if c not in frame.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in frame.columns) or "none"
        names = ", ".join(repr(c) for c in missing)
        raise DataValidationError(
            f"{_prefix(func)}{table}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{names} (columns found: {found}); rename the column or read the data with "
            f"lm.read_{table}(df, columns=...)",
            source="<DataFrame>",
            table=table,
        )


def _check_dates(frame: pd.DataFrame, column: str, table: str, func: str | None) -> None:
    values = frame[column]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        raise DataValidationError(
            f"{_prefix(func)}{table}: column {column!r} holds timezone-aware dates ({values.dtype}); "
            f"the readers store naive UTC: use df[{column!r}].dt.tz_convert(None)",
            source="<DataFrame>",
            table=table,
        )
    if not pd.api.types.is_datetime64_dtype(values.dtype):
        raise DataValidationError(
            f"{_prefix(func)}{table}: column {column!r} holds {values.dtype} values, not dates; "
            f"read the data with lm.read_{table}(df) (or convert with pd.to_datetime)",
            source="<DataFrame>",
            table=table,
        )
    present = values.notna().to_numpy()
    outside = present & ((values < _FIRST) | (values >= _AFTER)).to_numpy()
    if outside.any():
        reason = f"date outside {DATE_RANGE[0]}..{DATE_RANGE[1]}"
        _fail(func, table, column, outside, reason, values)


def validate_orders(orders: pd.DataFrame, *, func: str | None = None) -> None:
    """Raise :class:`DataValidationError` when ``orders`` breaks the orders contract.

    Frames from :func:`~loyalty_metrics.read_orders` pass at once.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", None], "amount": [1.0, 2.0],
    ...                     "order_date": pd.to_datetime(["2024-01-05", "2024-01-06"])})
    >>> validate_orders(raw, func="customer_summary")
    Traceback (most recent call last):
    ...
    loyalty_metrics.errors.DataValidationError: customer_summary: orders: column 'customer_id': row 2: blank value; read the data with lm.read_orders() to set such rows aside
    """
    if _validated(orders):
        return
    _check_columns(orders, "orders", func)
    blank = orders["customer_id"].isna().to_numpy()
    if blank.any():
        _fail(func, "orders", "customer_id", blank, "blank value", orders["customer_id"])
    _check_dates(orders, "order_date", "orders", func)
    if orders["order_date"].isna().any():
        mask = orders["order_date"].isna().to_numpy()
        _fail(func, "orders", "order_date", mask, "blank value", orders["order_date"])
    amounts = pd.to_numeric(orders["amount"], errors="coerce").to_numpy(dtype="float64")
    unparseable = np.isnan(amounts) | np.isinf(amounts)
    if unparseable.any():
        _fail(func, "orders", "amount", unparseable, "unparseable number", orders["amount"])
    beyond = np.abs(amounts) > AMOUNT_LIMIT
    if beyond.any():
        reason = f"amount beyond +-{AMOUNT_LIMIT:g}"
        _fail(func, "orders", "amount", beyond, reason, orders["amount"])


def validate_surveys(surveys: pd.DataFrame, *, func: str | None) -> None:
    """Raise :class:`DataValidationError` when scores break their scale (integers, 0-10 / 1-5).

    Frames from :func:`~loyalty_metrics.read_surveys` pass at once.

    Examples
    --------
    >>> validate_surveys(pd.DataFrame({"score": [11.0, -1.0]}), func="nps")
    Traceback (most recent call last):
    ...
    loyalty_metrics.errors.DataValidationError: nps: surveys: column 'score': rows 1, 2: NPS score outside 0-10 (e.g. 11.0, -1.0); read the data with lm.read_surveys() to set such rows aside
    """
    if _validated(surveys):
        return
    for column, kind in (("score", "nps_score"), ("csat", "csat_score")):
        if column not in surveys.columns:
            continue
        low, high, label = SCORE_SCALES[kind]
        raw = surveys[column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
        unparseable = raw.notna().to_numpy() & np.isnan(values)
        if unparseable.any():
            _fail(func, "surveys", column, unparseable, "unparseable number", raw)
        present = ~np.isnan(values)
        fractional = present & (values != np.round(values))
        if fractional.any():
            _fail(func, "surveys", column, fractional, f"{label} not an integer", raw)
        outside = present & ((values < low) | (values > high))
        if outside.any():
            _fail(func, "surveys", column, outside, f"{label} outside {low}-{high}", raw)
