"""The member impact and referrals section: members vs non-members, and referral conversion."""

from __future__ import annotations

from typing import Any

from ._blocks import _POINT_UNITS, _chart, _column, _flag_low_n, _table, plain_level
from ._context import _Context, _Skip

_IMPACT_UNITS = {
    "customers": "count",
    "repeat_purchase_rate": "percent",
    "purchase_frequency": "ratio",
    "average_ticket": "money",
    "historic_clv": "money",
    "nps": "points",
    "purchases": "ratio",
    "revenue": "money",
}
_IMPACT_LABELS = {
    "customers": "Customers",
    "repeat_purchase_rate": "Repeat-purchase rate",
    "purchase_frequency": "Purchases per customer",
    "average_ticket": "Average ticket",
    "historic_clv": "Revenue per customer",
    "nps": "NPS",
    "purchases": "Purchases per customer per window",
    "revenue": "Revenue per customer per window",
}
_VIEW_TITLES = {
    "members_vs_non_members": "Members vs non-members",
    "before_after": "Members before and after joining",
    "difference_in_differences": "Difference in differences (members vs non-members)",
}


def _section_programs(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders", "customers")
    from ..programs import program_impact, referral_conversion

    customers = ctx.frames["customers"]
    tables: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    notes: list[str] = []
    has_members = any(
        c in customers and customers[c].notna().any() for c in ("is_member", "member_since")
    )
    if has_members:
        impact = program_impact(
            ctx.frames["orders"],
            customers,
            ctx.frame("surveys"),
            start=ctx.start,
            end=ctx.end,
            level=ctx.level,
        )
        for view, rows in impact.groupby("view", sort=False):
            frame = rows.copy()
            frame["unit"] = frame["metric"].map(_IMPACT_UNITS).fillna("number")
            frame["metric"] = frame["metric"].map(_IMPACT_LABELS).fillna(frame["metric"])
            frame["low_n"] = [
                _flag_low_n(n, lo, hi) if u in _POINT_UNITS else _flag_low_n(n)
                for n, lo, hi, u in zip(
                    frame["n"], frame["ci_low"], frame["ci_high"], frame["unit"], strict=True
                )
            ]
            causality = str(frame["causality"].iloc[0]) if "causality" in frame else ""
            tables.append(
                _table(
                    f"impact_{view}",
                    _VIEW_TITLES.get(str(view), str(view)),
                    frame,
                    [
                        _column("metric", "Figure"),
                        _column("group", "Group"),
                        _column("value", "Value", "row", unit_key="unit"),
                        _column(
                            "interval",
                            f"{plain_level(ctx.level)} interval",
                            "interval",
                            keys=["ci_low", "ci_high"],
                            of_key="unit",
                        ),
                        _column("n", "n", "count"),
                        _column("low_n", "", "flag"),
                    ],
                    note=causality or None,
                )
            )
        naive = impact.loc[
            (impact["view"] == "members_vs_non_members")
            & (impact["metric"] == "repeat_purchase_rate")
        ]
        if len(naive):
            tables.append(
                _table(
                    "impact_chart",
                    "Repeat rate by group",
                    naive,
                    [_column("group", "Group"), _column("value", "Repeat rate", "percent")],
                    hidden=True,
                )
            )
            charts.append(
                _chart(
                    "members",
                    "bar_chart",
                    "Repeat-purchase rate by membership",
                    table="impact_chart",
                    value="value",
                    label="group",
                    xlabel="Customers with 2+ purchases (%)",
                    suffix="%",
                )
            )
    else:
        notes.append("Programme impact needs is_member or member_since in the customers file.")
    if "referred_by" in customers and customers["referred_by"].notna().any():
        referrals = referral_conversion(
            customers,
            ctx.frames["orders"],
            start=ctx.start,
            end=ctx.end,
            level=ctx.level,
        )
        frame = referrals.rename_axis("group").reset_index()
        frame["group"] = frame["group"].astype("str")
        frame["low_n"] = [_flag_low_n(n) for n in frame["buyers"]]
        tables.append(
            _table(
                "referrals",
                "Referred vs organic customers",
                frame,
                [
                    _column("group", "Group"),
                    _column("customers", "Customers", "count"),
                    _column("buyers", "Buyers", "count"),
                    _column("purchased_share", "Purchased", "percent"),
                    _column(
                        "purchased_interval",
                        "interval",
                        "interval",
                        keys=["purchased_ci_low", "purchased_ci_high"],
                        of="percent",
                    ),
                    _column("repeat_purchase_rate", "Repeat rate", "percent"),
                    _column(
                        "repeat_interval",
                        "interval",
                        "interval",
                        keys=["repeat_ci_low", "repeat_ci_high"],
                        of="percent",
                    ),
                    _column("historic_clv", "Revenue per buyer", "money"),
                    _column(
                        "clv_interval",
                        "interval",
                        "interval",
                        keys=["clv_ci_low", "clv_ci_high"],
                        of="money",
                    ),
                    _column("low_n", "", "flag"),
                ],
            )
        )
    else:
        notes.append("Referral conversion needs referred_by in the customers file.")
    if not tables:
        raise _Skip("needs is_member, member_since or referred_by in the customers file.")
    return {"stats": [], "tables": tables, "charts": charts, "notes": notes}
