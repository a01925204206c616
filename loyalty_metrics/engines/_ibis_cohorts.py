"""``cohort_table(..., engine=...)``: cohort cells counted in the engine, laid out here.

The engine returns one row per (cohort, period) cell that has customers or revenue, and the
cohort sizes: O(cohorts x periods). The grid, the status of each cell (complete / partial /
unreachable), the rates and the "All cohorts" row are made here exactly as in
``cohorts.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import caveats
from .._window import DateLike, Window
from ._backend import load_table, resolve_engine
from ._ibis_kernel import _ts, netted_orders, resolve_window

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ..cohorts import CohortFrame, CohortTable

__all__ = ["cohort_status", "cohort_table"]

_ATTR = "loyalty_metrics.cohorts"


def _days(values: pd.Series) -> np.ndarray:
    """Day numbers since 1970-01-01 of timestamps."""
    stamps = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
    return stamps.astype("datetime64[D]").astype("int64")


def _cells(orders: ir.Table, window: Window, period: str, values: str, mode: str) -> ir.Table:
    """The engine's query: the cell counts or sums, and the cohort sizes (rows whose ``at``
    is NULL), in one result; ``orders``: the lines netted up to the window's end."""
    import ibis

    from ..cohorts import _period_first_day

    bought = orders.filter(orders.purchase)
    cohort = bought.group_by("customer_id").aggregate(
        cohort=bought.order_date.min().truncate(period)
    )
    first_code = _first_code(window.start, period)
    first_shown = pd.Timestamp(_period_first_day(np.array([first_code]), period)[0], unit="D")
    shown = cohort.filter(cohort.cohort >= _ts(first_shown))
    sizes = shown.group_by("cohort").aggregate(size=shown.count())
    if values in ("customers", "retention") and mode == "on":
        active = bought.select("customer_id", at=bought.order_date.truncate(period)).distinct()
        joined = active.inner_join(shown, "customer_id")
        cells = joined.group_by(["cohort", "at"]).aggregate(value=joined.count())
    elif values in ("customers", "retention"):
        last = bought.group_by("customer_id").aggregate(
            at=bought.order_date.max().truncate(period)
        )
        joined = last.inner_join(shown, "customer_id")
        cells = joined.group_by(["cohort", "at"]).aggregate(value=joined.count())
    else:
        dated = orders.select("customer_id", "amount", at=orders.order_date.truncate(period))
        joined = dated.inner_join(shown, "customer_id")
        joined = joined.filter(joined.at >= joined.cohort)  # returns before the first purchase
        cells = joined.group_by(["cohort", "at"]).aggregate(value=joined.amount.sum())
    sizes = sizes.select("cohort", at=ibis.null(cells.at.type()), value=sizes.size.cast("float64"))
    return cells.mutate(value=cells.value.cast("float64")).union(sizes, distinct=False)


def _first_code(day: pd.Timestamp, period: str) -> int:
    from ..cohorts import _period_codes

    return int(_period_codes(np.array([day.value // 86_400_000_000_000]), period)[0])


def cohort_table(
    orders: Any,
    *,
    period: str = "M",
    values: str = "retention",
    mode: str = "on",
    include_all: bool = False,
    start: DateLike | None = None,
    end: DateLike | None = None,
    engine: Any = "duckdb",
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """:func:`loyalty_metrics.cohort_table` computed inside ``engine`` (the same
    :class:`~loyalty_metrics.CohortTable`)."""
    from ..cohorts import (
        CohortTable,
        _append_row,
        _check_cohort_args,
        _end_period,
        _period_codes,
        _period_index,
    )

    _check_cohort_args("cohort_table", period, values, mode)
    eng = resolve_engine(engine)
    lines = load_table(
        eng, orders, "orders", columns, only=("customer_id", "order_id", "order_date", "amount")
    )
    window = resolve_window(eng, lines, start, end)
    sizes = pd.DataFrame({"cohort": pd.Series([], dtype="datetime64[ns]"), "size": []})
    cells = pd.DataFrame({"cohort": sizes["cohort"], "at": sizes["cohort"], "value": []})
    if not window.empty:
        with netted_orders(eng, lines, window.end) as orders:
            query = _cells(orders, window, period, values, mode)
            result = eng.backend.to_pyarrow(query).to_pandas()
            first = eng.execute(orders.order_date.min())
        if not pd.isna(first):  # the pandas engine's caveat
            caveats.emit(caveats.cohort_caveats(first, window.start), stacklevel=4)
        is_size = result["at"].isna()
        sizes = result.loc[is_size, ["cohort", "value"]].rename(columns={"value": "size"})
        cells = result.loc[~is_size]
    sizes = sizes.assign(code=_period_codes(_days(sizes["cohort"]), period)).sort_values("code")
    cohorts = sizes["code"].to_numpy(dtype="int64")
    size = sizes["size"].to_numpy(dtype="int64")
    n_rows = len(cohorts)
    end_code = _end_period(window, period) if n_rows else 0
    n_cols = int(end_code - cohorts[0]) + 1 if n_rows else 0
    absolute = cohorts[:, None] + np.arange(n_cols)[None, :]
    status = np.where(absolute < end_code, 0, np.where(absolute == end_code, 1, 2))
    table = np.zeros((n_rows, n_cols), dtype="float64")
    if len(cells):
        row = np.searchsorted(cohorts, _period_codes(_days(cells["cohort"]), period))
        since = _period_codes(_days(cells["at"]), period) - cohorts[row]
        np.add.at(table, (row, since), cells["value"].to_numpy(dtype="float64"))
    if mode == "on_or_after":  # active in k or later <=> last active period >= k
        table = np.cumsum(table[:, ::-1], axis=1)[:, ::-1]
    sizes_col = size.astype("float64")[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        if values == "retention":
            table = 100.0 * table / sizes_col
        elif values == "cumulative_revenue_per_customer":
            table = np.cumsum(table, axis=1) / sizes_col
    table[status == 2] = np.nan
    frame = pd.DataFrame(
        table,
        index=_period_index(cohorts, period),
        columns=pd.RangeIndex(n_cols, name="periods_since"),
    )
    if include_all:
        complete = status == 0
        weights = np.where(complete, sizes_col, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            average = (np.where(complete, table, 0.0) * weights).sum(axis=0) / weights.sum(axis=0)
        frame = _append_row(frame, average)
    table_out = CohortTable(frame)
    table_out.cohort_period, table_out.cohort_values, table_out.cohort_mode = period, values, mode
    table_out.window = window
    table_out.cohort_size = pd.Series(
        size.astype("int64"), index=_period_index(cohorts, period), name="cohort_size"
    )
    table_out.attrs[_ATTR] = {  # as the pandas engine's: plain values, JSON-safe
        "period": period,
        "values": values,
        "mode": mode,
        "start": None if window.empty else str(window.start.date()),
        "end": None if window.empty else str(window.end.date()),
        "cohort_size": [int(s) for s in size],
    }
    return table_out


def cohort_status(table: CohortTable) -> CohortFrame:
    """:func:`loyalty_metrics.cohort_cell_status` of a cohort table (without
    ``include_all``), from its grid and end date alone: no second pass over the orders."""
    from ..cohorts import CELL_STATUSES, CohortFrame, _end_period, _period_codes

    period, window = table.cohort_period, table.window
    if period is None or window is None:
        raise ValueError(
            "cohort_status needs a table made by cohort_table (not a merge or concat)."
        )
    first_days = table.index.start_time.to_numpy(dtype="datetime64[D]").astype("int64")
    codes = _period_codes(first_days, period)
    end_code = _end_period(window, period) if len(codes) else 0
    absolute = codes[:, None] + np.arange(table.shape[1])[None, :]
    status = np.where(absolute < end_code, 0, np.where(absolute == end_code, 1, 2))
    labels = np.asarray(CELL_STATUSES, dtype=object)[status]
    return CohortFrame(labels, index=table.index, columns=table.columns).astype("str")
