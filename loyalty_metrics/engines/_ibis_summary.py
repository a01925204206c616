"""``customer_summary(..., engine=...)``: the summary computed in the engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._window import DateLike, Window
from ..summary import SUMMARY_COLUMNS, CustomerSummary
from ._backend import load_table, resolve_engine
from ._ibis_kernel import orders_up_to, resolve_window, summary_table

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["count_lines", "customer_summary", "order_window", "purchases_by_customer"]

_DATES = ("first_purchase", "last_purchase", "first_purchase_ever")


def customer_summary(
    orders: Any,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    engine: Any = "duckdb",
    columns: Mapping[str, str] | None = None,
    keep: bool = False,
) -> pd.DataFrame | ir.Table:
    """:func:`loyalty_metrics.customer_summary` computed inside ``engine``.

    Returns the same :class:`~loyalty_metrics.CustomerSummary` (index, columns, dtypes, window) as the pandas engine, or with
    ``keep=True`` the summary as an Ibis table of the engine (with a ``customer_id`` column),
    left there for the next step. ``channel`` is the channel of the first purchase's lines;
    when lines of that same instant disagree, the one of the smallest ``order_id`` (the pandas
    engine takes the first in file order, which a SQL engine does not have).
    """
    eng = resolve_engine(engine)
    lines = load_table(eng, orders, "orders", columns)
    window = resolve_window(eng, lines, start, end)
    if window.empty:
        from ..summary import customer_summary as pandas_summary

        empty = pd.DataFrame(
            {
                "customer_id": pd.Series([], dtype="str"),
                "order_date": pd.Series([], dtype="datetime64[ns]"),
                "amount": pd.Series([], dtype="float64"),
            }
        )
        return pandas_summary(empty)
    table = summary_table(lines, window)
    if keep:
        return table
    frame = eng.backend.to_pyarrow(table).to_pandas()
    return _as_summary(frame, window, eng.execute(_unattributed(lines, table, window)))


def _unattributed(lines: ir.Table, summary: ir.Table, window: Any) -> ir.Scalar:
    """Net amount in the window of the customers without a purchase in it."""
    from ._ibis_kernel import _in_window

    inside = lines.filter(_in_window(lines.order_date, window))
    return inside.anti_join(summary, "customer_id").amount.sum()


def _as_summary(frame: pd.DataFrame, window: Any, unattributed: Any) -> pd.DataFrame:
    """The collected rows as the pandas engine's summary frame."""
    frame = frame.sort_values("customer_id", kind="stable")
    index = pd.Index(frame["customer_id"].to_numpy(dtype=object), dtype="str", name="customer_id")
    data: dict[str, Any] = {}
    for name in SUMMARY_COLUMNS:
        values = frame[name]
        if name in _DATES:
            data[name] = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
        elif name in ("purchases", "frequency"):
            data[name] = values.to_numpy(dtype="int64")
        else:
            data[name] = values.to_numpy(dtype="float64", na_value=np.nan)
    if "channel" in frame.columns:
        data["channel"] = pd.Categorical(frame["channel"].to_numpy(dtype=object))
    if "units" in frame.columns:
        data["units"] = frame["units"].to_numpy(dtype="float64", na_value=np.nan)
    summary = CustomerSummary(data, index=index)
    summary.window = window
    summary.unattributed_revenue = 0.0 if pd.isna(unattributed) else float(unattributed)
    return summary


def order_window(
    orders: Any,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    engine: Any = "duckdb",
    columns: Mapping[str, str] | None = None,
) -> Window:
    """The window :func:`customer_summary` would use: ``start``/``end``, else the first and
    last order dates (one small query)."""
    eng = resolve_engine(engine)
    return resolve_window(eng, load_table(eng, orders, "orders", columns), start, end)


def count_lines(
    orders: Any,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    engine: Any = "duckdb",
    columns: Mapping[str, str] | None = None,
) -> int:
    """The order lines dated ``start``..``end`` (inclusive days; either may be None)."""
    from .._window import ONE_DAY, to_day
    from ._ibis_kernel import _ts

    eng = resolve_engine(engine)
    lines = load_table(eng, orders, "orders", columns, only=("order_date",))
    start_day, end_day = to_day(start, name="start"), to_day(end, name="end")
    if start_day is not None:
        lines = lines.filter(lines.order_date >= _ts(start_day))
    if end_day is not None:
        lines = lines.filter(lines.order_date < _ts(end_day + ONE_DAY))
    return int(eng.execute(lines.count()))


def purchases_by_customer(
    orders: Any,
    *,
    end: pd.Timestamp,
    engine: Any = "duckdb",
    columns: Mapping[str, str] | None = None,
) -> pd.Series:
    """Purchases up to ``end`` of every customer with an order line on or before it (0 when
    all their orders are returns), indexed by ``customer_id`` (sorted): what the loyalty
    ladder reads of the orders. One row per customer comes back.
    """
    eng = resolve_engine(engine)
    lines = load_table(eng, orders, "orders", columns)
    lines = lines.filter(lines.customer_id.notnull())
    netted = orders_up_to(lines, end)
    table = netted.group_by("customer_id").aggregate(purchases=netted.purchase.cast("int64").sum())
    frame = eng.backend.to_pyarrow(table).to_pandas()
    index = pd.Index(frame["customer_id"].to_numpy(dtype=object), dtype="str", name="customer_id")
    return pd.Series(frame["purchases"].to_numpy(dtype="int64"), index=index).sort_index()
