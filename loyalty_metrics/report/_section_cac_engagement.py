"""The acquisition cost (CAC) and engagement sections."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._blocks import _centre, _chart, _column, _definition, _float, _histogram_table, _stat, _table
from ._catalogue import HEADLINE
from ._context import _Context


def _section_cac(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders", "spend")
    values = ctx.kpis()
    from ..metrics.value import cac

    by_channel = cac(
        ctx.frames["spend"],
        ctx.frames["orders"],
        by="channel",
        start=ctx.start,
        end=ctx.end,
        customers=ctx.frame("customers"),
    )
    stats = [
        _stat(
            "cac",
            "CAC",
            _float(values.get("cac")),
            "money",
            n=_float(values.get("new_customers")),
            n_label="new customers",
            definition=HEADLINE["cac"][2],
        ),
        _stat(
            "ltv_cac_ratio",
            "LTV:CAC",
            _float(values.get("ltv_cac_ratio")),
            "ratio",
            definition=HEADLINE["ltv_cac_ratio"][2],
        ),
    ]
    if not isinstance(by_channel, pd.DataFrame):
        return {"stats": stats, "tables": [], "charts": []}
    table = by_channel.copy()
    table.index = table.index.astype("str")
    table = table.rename_axis("channel").reset_index()
    clv = _float(values.get("clv"))
    if "ltv_cac_ratio" not in table and "cac" in table and clv is not None:
        table["ltv_cac_ratio"] = clv / table["cac"].replace(0, np.nan)
    columns = [_column("channel", "Channel")]
    for col, label, unit in (
        ("spend", "Spend", "money"),
        ("new_customers", "New customers", "count"),
        ("cac", "CAC", "money"),
        ("ltv_cac_ratio", "LTV:CAC", "ratio"),
    ):
        if col in table:
            columns.append(_column(col, label, unit))
    charts = []
    if "ltv_cac_ratio" in table:
        charts.append(
            _chart(
                "ltv_cac",
                "bar_chart",
                "LTV:CAC by channel",
                table="by_channel",
                value="ltv_cac_ratio",
                label="channel",
                xlabel="LTV:CAC",
                digits=2,
            )
        )
    return {
        "stats": stats,
        "tables": [_table("by_channel", "By acquisition channel", table, columns)],
        "charts": charts,
    }


def _section_engagement(ctx: _Context) -> dict[str, Any]:
    ctx.require("events")
    from ..metrics.engagement import engagement_scores

    options = ctx.options
    scores = engagement_scores(
        ctx.frames["events"],
        key_actions=options.key_actions,
        window=options.engagement_window,
        weights=options.engagement_weights,
        half_life=options.engagement_half_life,
        end=ctx.end,
        orders=ctx.frame("orders"),
        customers=ctx.frame("customers"),
    )
    score = scores["score"]
    components = [c for c in scores.columns if c != "score"]
    stats = [
        _stat(
            "engagement_score",
            "Engagement score (mean)",
            float(score.mean()),
            "score",
            n=len(score),
            n_label="known customers",
            definition=_definition(ctx, "engagement_score", HEADLINE["engagement_score"][2]),
        ),
        _stat(
            "active",
            "Active in the window",
            100 * float((score > 0).mean()),
            "percent",
            n=len(score),
            n_label="known customers",
        ),
    ]
    bands = pd.cut(
        score,
        bins=[-0.001, 0, 25, 50, 75, 100],
        labels=["0 (inactive)", "1–25", "26–50", "51–75", "76–100"],
    )
    table = bands.value_counts(sort=False).rename("customers").rename_axis("band").reset_index()
    table["band"] = table["band"].astype("str")
    table["share"] = 100 * table["customers"] / max(len(score), 1)
    comp = pd.DataFrame(
        {
            "component": components,
            "mean": [float(pd.to_numeric(scores[c], errors="coerce").mean()) for c in components],
        }
    )
    events = ctx.frames["events"]
    events = events.loc[ctx.window.contains(events["timestamp"])]
    key_actions = options.key_actions
    by_type = (
        events.assign(event_type=events["event_type"].astype("str"))
        .groupby("event_type", sort=True)
        .agg(events=("customer_id", "size"), customers=("customer_id", "nunique"))
        .sort_values("events", ascending=False, kind="stable")
        .rename_axis("event_type")
        .reset_index()
    )
    by_type["key_action"] = by_type["event_type"].isin(key_actions) if key_actions else True
    return {
        "stats": stats,
        "tables": [
            _table(
                "event_types",
                "Events in the window by type",
                by_type,
                [
                    _column("event_type", "Event type"),
                    _column("events", "Events", "count"),
                    _column("customers", "Customers", "count"),
                    _column("key_action", "Key action", "bool"),
                ],
                collapsed=True,
            ),
            _table(
                "bands",
                "Customers by score band",
                table,
                [
                    _column("band", "Score"),
                    _column("customers", "Customers", "count"),
                    _column("share", "Share", "percent"),
                ],
            ),
            _table(
                "components",
                "Mean of each component",
                comp,
                [_column("component", "Component"), _column("mean", "Mean", "number")],
                collapsed=True,
            ),
            _histogram_table(
                "histogram",
                "Engagement scores of active customers",
                score.loc[score > 0],
                bins=20,
                value_range=(0.0, 100.0),
                unit="score",
            ),
        ],
        "charts": [
            _chart(
                "distribution",
                "engagement_distribution",
                "Engagement scores",
                table="histogram",
                inactive=int((score <= 0).sum()),
                **_centre(score),
            )
        ],
    }
