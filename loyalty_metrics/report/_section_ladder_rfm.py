"""The loyalty ladder and RFM segment sections."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._blocks import _chart, _column, _stat, _table
from ._context import _Context

_STAGES = ("lead", "buyer", "repeat", "advocate")


def _section_ladder(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    from ..segments import LADDER_STAGES, ladder_transitions, loyalty_ladder

    ladder = loyalty_ladder(
        ctx.frames["orders"],
        ctx.frame("surveys"),
        ctx.frame("customers"),
        end=ctx.end,
        **ctx.on_engine(),
    )
    stage_codes = ladder["stage"].cat.codes.to_numpy()
    counts = pd.Series(np.bincount(stage_codes, minlength=len(LADDER_STAGES)), index=_STAGES)
    total = int(counts.sum())
    funnel = pd.DataFrame({"stage": counts.index, "customers": counts.to_numpy()})
    funnel["share"] = 100 * funnel["customers"] / total if total else np.nan
    # Conversion from the stage above (the funnel's step rate).
    reached = funnel["customers"][::-1].cumsum()[::-1].to_numpy()
    funnel["reached"] = reached
    above = np.concatenate([[np.nan], reached[:-1]]).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        # NaN for the top rung and below an empty rung (0 / 0 is undefined, not 0)
        funnel["step_rate"] = np.where(above > 0, 100 * reached / above, np.nan)
    tables = [
        _table(
            "funnel",
            "Customers by stage",
            funnel,
            [
                _column("stage", "Stage"),
                _column("customers", "Customers", "count"),
                _column("share", "Share", "percent"),
                _column("reached", "At this stage or beyond", "count"),
                _column("step_rate", "Of the stage above", "percent"),
            ],
        )
    ]
    comparison = ctx.comparison()
    if comparison is not None:
        moves = ladder_transitions(
            ctx.frames["orders"],
            ctx.frame("surveys"),
            ctx.frame("customers"),
            start=comparison["end"],
            end=ctx.end,
            **ctx.on_engine(),
        )
        moves = _transitions_frame(moves["customers"])
        tables.append(
            _table(
                "transitions",
                f"Moves between stages from {comparison['end'].date()} to {ctx.end.date()}",
                moves,
                [_column("from", "From stage")]
                + [_column(c, f"→ {c}", "count") for c in moves.columns if c != "from"],
            )
        )
    return {
        "stats": [_stat("known", "Known customers", total, "count")],
        "tables": tables,
        "charts": [_chart("funnel", "ladder_funnel", "Loyalty ladder", table="funnel")],
    }


def _transitions_frame(moves: pd.DataFrame) -> pd.DataFrame:
    """Transitions as a from x to matrix of counts (accepts long or wide shapes)."""
    if {"from", "to"} <= set(moves.columns) or {"from_stage", "to_stage"} <= set(moves.columns):
        src = "from" if "from" in moves else "from_stage"
        dst = "to" if "to" in moves else "to_stage"
        count = next((c for c in ("customers", "count", "n") if c in moves), None)
        wide = moves.pivot_table(
            index=src, columns=dst, values=count, aggfunc="sum", fill_value=0, observed=False
        )
    else:
        wide = moves
    order = [s for s in ("new", "none", *_STAGES) if s in wide.index or s in wide.columns]
    extra_rows = [s for s in wide.index if s not in order]
    extra_cols = [s for s in wide.columns if s not in order]
    wide = wide.reindex(
        index=[s for s in order if s in wide.index] + extra_rows,
        columns=[s for s in order if s in wide.columns] + extra_cols,
    )
    wide.index = wide.index.astype("str")
    wide.columns = [str(c) for c in wide.columns]
    return wide.rename_axis("from").reset_index()


def _section_rfm(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    # rfm_segments takes the customer summary: no second pass over the order lines.
    from ..segments import rfm_segments

    rfm = rfm_segments(ctx.summary())
    # grouped by the categorical itself (its text for millions of customers costs seconds)
    grouped = rfm[["segment", "revenue"]].groupby("segment", sort=False, observed=True)
    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["revenue"].sum(),
            "revenue_per_customer": grouped["revenue"].mean(),
        }
    )
    table.index = pd.Index(table.index.astype("str"), name="segment")
    table["share"] = 100 * table["customers"] / table["customers"].sum()
    table["revenue_share"] = 100 * table["revenue"] / table["revenue"].sum()
    table = table.sort_values(["revenue", "customers"], ascending=False, kind="stable")
    table = table.rename_axis("segment").reset_index()
    return {
        "stats": [],
        "tables": [
            _table(
                "segments",
                "Segments",
                table,
                [
                    _column("segment", "Segment"),
                    _column("customers", "Customers", "count"),
                    _column("share", "Share of customers", "percent"),
                    _column("revenue", "Revenue", "money"),
                    _column("revenue_share", "Share of revenue", "percent"),
                    _column("revenue_per_customer", "Revenue per customer", "money"),
                ],
            )
        ],
        "charts": [
            _chart(
                "segments",
                "bar_chart",
                "Customers by segment",
                table="segments",
                value="customers",
                label="segment",
                xlabel="Customers",
                digits=0,
            )
        ],
    }
