"""The loyalty programme section: the points ledger, tiers and whether the programme pays."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._blocks import _chart, _column, _float, _period_frame, _stat, _table, plain_level
from ._context import _Context

# key -> (label, unit, definition); the definitions are DESIGN's (section 4).
_POINTS_STATS: dict[str, tuple[str, str, str]] = {
    "points_issued": ("Points issued", "count", "Sum of earn points dated in the window."),
    "points_redeemed": ("Points redeemed", "count", "Minus the sum of redeem points."),
    "points_expired": ("Points expired", "count", "Minus the sum of expire points."),
    "points_outstanding": (
        "Points outstanding",
        "count",
        "Every ledger point dated on or before the end date, all types.",
    ),
    "points_liability": (
        "Points liability",
        "money",
        "Outstanding × point value × (1 − breakage rate / 100).",
    ),
    "redemption_rate": ("Redemption rate", "percent", "100 × redeemed / issued points."),
    "breakage_rate": (
        "Breakage rate",
        "percent",
        "100 × expired / (expired + redeemed): the share of points that left unredeemed.",
    ),
    "members": ("Members", "count", "is_member true and member_since on or before the end."),
    "active_members": ("Active members", "count", "Members who earned or redeemed."),
    "member_activity_rate": ("Member activity", "percent", "100 × active members / members."),
    "redeemer_share": ("Redeemers", "percent", "100 × members who redeemed / members."),
    "member_share": ("Member share", "percent", "100 × customers who are members / customers."),
}


def _section_points(ctx: _Context) -> dict[str, Any]:
    ctx.require("points")
    from ..points import points_flow, points_kpis, points_rates

    points = ctx.frames["points"]
    customers, orders = ctx.frame("customers"), ctx.frame("orders")
    point_value = ctx.options.point_value
    window = {"start": ctx.start, "end": ctx.end}
    values = points_kpis(points, customers, orders, point_value=point_value, **window)
    rates = points_rates(points, customers, orders, level=ctx.level, **window)
    rates = rates.set_index("metric")
    stats = []
    for key, (label, unit, definition) in _POINTS_STATS.items():
        extra: dict[str, Any] = {}
        if key in rates.index:
            row = rates.loc[key]
            n_label = "customers" if key in ("redemption_rate", "breakage_rate") else "members"
            n_label = "buyers" if key == "member_share" else n_label
            extra = {"n": int(row["n"]), "n_label": n_label, "ci_low": _float(row["ci_low"]),
                     "ci_high": _float(row["ci_high"])}  # fmt: skip
        if key == "points_liability":
            definition += f" Point value {point_value:g}."
        stats.append(_stat(key, label, _float(values[key]), unit, definition=definition, **extra))
    flow = points_flow(points, freq=ctx.freq, **window)
    tables = [
        _table(
            "flow",
            "Points per period",
            _period_frame(flow),
            [
                _column("period", "Period end", "date"),
                *(_column(c, c.replace("_", " ").capitalize(), "count") for c in flow.columns),
            ],
            collapsed=True,
        )
    ]
    charts = [_chart("flow", "points_flow", "Points issued, redeemed and expired", table="flow")]
    notes = [
        "Redemption and breakage intervals are a bootstrap over customers (points are not "
        "independent trials); the member rates' intervals are Wilson's."
    ]
    if customers is not None and "tier" in customers and customers["tier"].notna().any():
        by_tier = points_rates(points, customers, by="tier", level=ctx.level, **window)
        by_tier = by_tier.loc[by_tier["metric"] == "redemption_rate"]
        by_tier = by_tier.assign(tier=by_tier["tier"].astype("str"))
        tables.append(_rates_table(by_tier, ctx.level))
    tables += _tier_tables(ctx, charts, notes)
    roi = _roi(ctx, point_value)
    if roi is not None:
        stats.append(roi)
    else:
        notes.append(
            "Programme ROI needs orders and is_member or member_since in the customers file."
        )
    values_plain = {k: _float(v) for k, v in values.items()}
    return {"stats": stats, "values": values_plain, "tables": tables, "charts": charts,
            "notes": notes}  # fmt: skip


def _rates_table(frame: pd.DataFrame, level: float) -> dict[str, Any]:
    return _table(
        "redemption_by_tier",
        "Redemption rate by customers-file tier",
        frame,
        [
            _column("tier", "Tier"),
            _column("value", "Redemption rate", "percent"),
            _column(
                "interval",
                f"{plain_level(level)} interval",
                "interval",
                keys=["ci_low", "ci_high"],
                of="percent",
            ),  # fmt: skip
            _column("numerator", "Redeemed", "count"),
            _column("denominator", "Issued", "count"),
            _column("n", "Customers", "count"),
            _column("low_n", "", "flag"),
        ],
    )


def _tier_tables(ctx: _Context, charts: list[dict[str, Any]], notes: list[str]) -> list[dict]:
    thresholds = ctx.options.tier_thresholds
    if not thresholds or not ctx.has("orders"):
        notes.append(
            "Tier distribution and migration need [metrics] tier_thresholds in loyalty.toml "
            "(tiers on trailing net revenue)."
        )
        return []
    from ..tiers import tier_distribution, tier_migration

    orders = ctx.frames["orders"]
    lookback = ctx.options.tier_lookback
    options = {"lookback": lookback}
    distribution = tier_distribution(
        orders, thresholds, freq=ctx.freq, start=ctx.start, end=ctx.end, **options
    )
    # Moves over the last year of the window (or the whole window when it is shorter).
    since = max(ctx.start, ctx.end - pd.DateOffset(years=1))
    moves = tier_migration(orders, thresholds, since, ctx.end, **options)
    tiers = list(distribution.columns)
    migration = moves.reset_index().rename(columns={"from": "tier_at_start"})
    migration["tier_at_start"] = migration["tier_at_start"].astype("str")
    charts.append(_chart("tiers", "tier_distribution", "Customers per tier", table="tiers"))
    charts.append(
        _chart(
            "migration",
            "tier_migration",
            f"Tier moves, {since.date()} to {ctx.end.date()}",
            table="migration",
        )
    )
    return [
        _table(
            "tiers",
            f"Customers per tier (net revenue over the trailing {lookback})",
            _period_frame(distribution),
            [_column("period", "Period end", "date"), *(_column(t, t, "count") for t in tiers)],
            collapsed=True,
        ),
        _table(
            "migration",
            f"Tier migration, {since.date()} to {ctx.end.date()} (rows: tier at the start, "
            "columns: tier at the end)",
            migration,
            [_column("tier_at_start", "From"), *(_column(t, t, "count") for t in tiers)],
        ),
    ]


#: The causal label shown next to the ROI figure, by program_roi's basis (CAUSALITY, shortened).
ROI_LABELS: dict[str, str] = {
    "difference_in_differences": (
        "difference in differences: closest to causal, assumes parallel trends"
    ),
    "before_after": "before vs after joining: weakly causal, no control for trends",
    "members_vs_non_members": "members vs non-members: not causal, members select themselves",
}


def _roi(ctx: _Context, point_value: float) -> dict[str, Any] | None:
    customers = ctx.frame("customers")
    has_members = customers is not None and any(
        c in customers and customers[c].notna().any() for c in ("is_member", "member_since")
    )
    if not has_members or not ctx.has("orders"):
        return None
    from ..economics import program_roi

    options = ctx.options
    roi = program_roi(
        ctx.frames["orders"],
        customers,
        ctx.frame("points"),
        ctx.frame("spend"),
        point_value=point_value,
        cost_channel=options.cost_channel,
        margin=options.margin,
        level=ctx.level,
        start=ctx.start,
        end=ctx.end,
    )
    definition = (
        f"Incremental margin of members / programme cost (1 breaks even). Basis: "
        f"{str(roi['basis']).replace('_', ' ')}, {roi['causality']}. Incremental margin "
        f"{_money(roi['incremental_margin'])}; cost {_money(roi['programme_cost'])} "
        f"(redemptions {_money(roi['redemption_cost'])}, "
        f"'{options.cost_channel}' spend {_money(roi['channel_cost'])})."
    )
    return _stat(
        "program_roi",
        "Programme ROI",
        _float(roi["roi"]),
        "ratio",
        n=int(roi["n"]) if pd.notna(roi["n"]) else None,
        n_label="members",
        ci_low=_float(roi["roi_ci_low"]),
        ci_high=_float(roi["roi_ci_high"]),
        definition=definition,
        caveat=ROI_LABELS[str(roi["basis"])],
    )


def _money(value: Any) -> str:
    number = _float(value)
    return "n/a" if number is None else f"{number:,.2f}"
