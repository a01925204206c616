"""The cohort retention and repeat-rate-by-cohort sections."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._stats import wilson_interval
from ._blocks import (
    _chart,
    _column,
    _float,
    _index_labels,
    _interval_column,
    _stat,
    _table,
    _with_rate_interval,
)
from ._context import _PERIOD_NAMES, _Context, _period_key, _Skip


def _section_cohorts(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    from ..cohorts import cohort_cell_status, cohort_table

    orders = ctx.frames["orders"]
    window = {"start": ctx.start, "end": ctx.end}
    retention = cohort_table(orders, period=ctx.freq, values="retention", **window)
    if retention.empty:
        raise _Skip("has no cohorts (no purchases up to the end date).")
    assert retention.cohort_size is not None  # cohort_table sets it on every table it makes
    sizes = retention.cohort_size.to_numpy()
    status = cohort_cell_status(orders, period=ctx.freq, **window)
    matrix = retention.copy()
    matrix.columns = [str(c) for c in matrix.columns]
    labels = _index_labels(matrix.index)
    matrix = matrix.reset_index(drop=True)
    matrix.insert(0, "size", np.asarray(sizes, dtype="float64"))
    matrix.insert(0, "cohort", labels)
    period_cols = [c for c in matrix.columns if c not in ("cohort", "size")]
    columns = [_column("cohort", "Cohort"), _column("size", "Customers", "count")] + [
        _column(c, c, "percent") for c in period_cols
    ]
    tables = [
        _table(
            "retention",
            "Retention (% of the cohort active in the period)",
            matrix,
            columns,
            collapsed=True,
        )
    ]
    if status is not None:
        status_frame = status.copy()
        status_frame.columns = [str(c) for c in status_frame.columns]
        labels = _index_labels(status_frame.index)
        status_frame = status_frame.reset_index(drop=True)
        status_frame.insert(0, "cohort", labels)
        tables.append(
            _table(
                "status",
                "Cell status",
                status_frame,
                [_column("cohort", "Cohort")]
                + [_column(c, c) for c in status_frame.columns if c != "cohort"],
                hidden=True,
            )
        )
    word = _PERIOD_NAMES.get(_period_key(ctx.freq), "period")
    return {
        "stats": [
            _stat("cohorts", "Cohorts", len(matrix), "count"),
            _stat(
                "cohort_customers",
                "Customers in these cohorts",
                float(np.nansum(np.asarray(sizes, dtype="float64"))),
                "count",
            ),
        ],
        "tables": tables,
        "charts": [
            _chart(
                "heatmap",
                "cohort_heatmap",
                "Retention by cohort",
                table="retention",
                status="status" if status is not None else None,
                period=ctx.freq,
            )
        ],
        "notes": [
            f"Rows: customers by the {word} of their first purchase; columns: {word}s "
            f"since; cells: % of the cohort with a purchase in that {word}. Hatched cells "
            f"are the {word} that holds the end date (partial); blank ones are not observable "
            "yet."
        ],
    }


#: The repeat window of the "repeat rate by cohort" section.
REPEAT_WITHIN = "90D"


def _section_repeat_rate(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    from ..cohorts import repeat_rate_by_cohort

    by_cohort = repeat_rate_by_cohort(
        ctx.frames["orders"],
        within=REPEAT_WITHIN,
        period=ctx.freq,
        start=ctx.start,
        end=ctx.end,
        level=ctx.level,
    )
    if by_cohort.empty:
        raise _Skip("has no cohorts (no purchases up to the end date).")
    frame = by_cohort
    if isinstance(frame.index, pd.MultiIndex):
        frame = frame.droplevel(list(range(1, frame.index.nlevels)))
    frame = _with_rate_interval(frame, "repeaters", "n", ctx.level)
    frame.insert(0, "cohort", _index_labels(frame.index))
    frame = frame.reset_index(drop=True)
    shown = frame.loc[frame["n"] > 0]
    columns = [
        _column("cohort", "Cohort"),
        _column("repeat_rate", "Repeat rate", "percent"),
        _interval_column("percent", ctx.level),
        _column("repeaters", "Repeaters", "count"),
        _column("n", "Observable", "count"),
        _column("customers", "Cohort size", "count"),
        _column("low_n", "", "flag"),
    ]
    pooled_n = int(shown["n"].sum())
    pooled_k = int(shown["repeaters"].sum())
    low, high = wilson_interval(pooled_k, pooled_n, level=ctx.level)
    stats = [
        _stat(
            "repeat_within",
            f"Second purchase within {REPEAT_WITHIN}",
            100 * pooled_k / pooled_n if pooled_n else None,
            "percent",
            n=pooled_n,
            n_label="customers",
            ci_low=_float(low),
            ci_high=_float(high),
            definition=f"Of the customers whose first purchase is at least {REPEAT_WITHIN} "
            f"before the end date, the share whose second purchase came within "
            f"{REPEAT_WITHIN} of the first.",
        )
    ]
    return {
        "stats": stats,
        "tables": [
            _table("by_cohort", f"Repeat rate within {REPEAT_WITHIN} by cohort", shown, columns)
        ],
        "charts": [
            _chart(
                "repeat_rate",
                "bar_chart",
                f"Second purchase within {REPEAT_WITHIN}, by cohort",
                table="by_cohort",
                value="repeat_rate",
                label="cohort",
                xlabel=f"Customers with a second purchase within {REPEAT_WITHIN} (%)",
                suffix="%",
            )
        ],
        "notes": [
            f"Only customers whose {REPEAT_WITHIN} are observable by the end date count; "
            "cohorts with none are left out."
        ],
    }
