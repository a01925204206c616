"""The headline KPIs section: cards, comparison with an earlier period, trend, category mix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._stats import wilson_interval
from .._window import period_status
from ._blocks import (
    _POINT_UNITS,
    _chart,
    _column,
    _definition,
    _float,
    _period_frame,
    _stat,
    _table,
)
from ._catalogue import HEADLINE
from ._context import _Context


def _section_kpis(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    values, comparison, previous = ctx.headline()
    extras = _kpi_extras(ctx, values)
    stats = []
    for key, (label, unit, definition) in HEADLINE.items():
        if key not in values.index:
            continue
        value = _float(values.get(key))
        prev = _float(previous.get(key)) if previous is not None else None
        stat = _stat(
            key,
            label,
            value,
            unit,
            definition=_definition(ctx, key, definition),
            **extras.get(key, {}),
        )
        stat["previous"] = prev
        stat["change"], stat["change_kind"] = _change(value, prev, unit)
        stats.append(stat)
    in_memory = ctx.engine is None  # the line-level extras need the order lines
    stats.extend(_unit_stats(ctx) if in_memory else [])
    guests = _guest_stats(ctx, values) if in_memory else []
    if guests:
        for stat in stats:
            if stat["key"] == "revenue":
                stat["label"] = "Revenue, identified customers"
        stats.extend(guests)
    section: dict[str, Any] = {
        "stats": stats,
        "values": {k: _float(v) for k, v in values.items()},
        "comparison": comparison,
        "tables": [],
        "charts": [],
    }
    if ctx.engine is not None:
        section["notes"] = [
            f"Computed on the {ctx.engine.name} engine; units per purchase, revenue by "
            "category, guest revenue and the churn rate's interval are not computed there."
        ]
    categories = None if ctx.engine is not None else _category_mix(ctx)
    if categories is not None:
        section["tables"].append(categories)
    trend = _kpi_trend(ctx)
    if trend is not None:
        columns = [
            _column("period", "Period end", "date"),
            _column("status", "Status"),
        ] + [_column(k, HEADLINE[k][0], HEADLINE[k][1]) for k in HEADLINE if k in trend.columns]
        rows = _period_frame(trend)
        rows.insert(
            1, "status", period_status(trend.index, ctx.freq, start=ctx.start, end=ctx.end)
        )
        section["tables"].append(_table("trend", "KPIs by period", rows, columns, collapsed=True))
        keys = [
            k
            for k in (
                "revenue",
                "customers",
                "new_customers",
                "average_ticket",
                "repeat_purchase_rate",
                "nps",
                "csat",
                "churn_rate",
                "engagement_score",
            )
            if k in trend.columns and trend[k].notna().sum() >= 2  # one point is no trend
        ]
        if keys:
            section["charts"].append(
                _chart("kpi_trends", "kpi_trends", "Period over period", table="trend", keys=keys)
            )
    return section


def _unit_stats(ctx: _Context) -> list[dict[str, Any]]:
    """Units per purchase, when the order lines carry a quantity."""
    from ..metrics.purchase import average_units

    orders = ctx.frames["orders"]
    if "quantity" not in orders.columns or orders["quantity"].isna().all():
        return []
    card = _stat(
        "average_units",
        "Units per purchase",
        _float(average_units(orders, start=ctx.start, end=ctx.end)),
        "ratio",
        n=int(ctx.summary()["purchases"].sum()),
        n_label="purchases",
        definition="Net units (quantity) of the lines in the window / purchases.",
    )
    card.update(previous=None, change=None, change_kind=None)
    return [card]


def _guest_stats(ctx: _Context, values: pd.Series) -> list[dict[str, Any]]:
    """Guest-checkout revenue beside the identified customers' (when a lenient read set guest
    lines aside): "revenue" is the identified customers', the total adds the guests'."""
    from ..guests import guest_orders, guest_revenue

    try:
        guests = guest_orders(ctx.frames["orders"])
    except ValueError:  # a frame made in memory: no read report, no guest lines known
        return []
    if guests.empty:
        return []
    guest = guest_revenue(guests, start=ctx.start, end=ctx.end)
    identified = _float(values.get("revenue"))
    inside = ctx.window.contains(guests["order_date"])
    cards = [
        _stat(
            "guest_revenue",
            "Revenue, guest checkouts",
            guest,
            "money",
            n=int(inside.sum()),
            n_label="lines",
            definition="Net amount of the order lines without a customer id (guest "
            "checkouts), set aside by the reader and left out of every customer figure.",
        ),
        _stat(
            "total_revenue",
            "Revenue, total (identified customers + guests)",
            None if identified is None else identified + guest,
            "money",
            definition="Revenue of identified customers (the Revenue card) + guest revenue.",
        ),
    ]
    for card in cards:  # no comparison with the earlier period for these two
        card.update(previous=None, change=None, change_kind=None)
    return cards


#: Categories listed one by one in the category table; the rest share one "other" line.
TOP_CATEGORIES = 15


def _category_mix(ctx: _Context) -> dict[str, Any] | None:
    """Net revenue and buyers by product category in the window (context for upsell)."""
    from ..orders import order_kernel

    orders = ctx.frames["orders"]
    if "category" not in orders or orders["category"].isna().all():
        return None
    # On integer codes: grouping 10M lines by their text costs seconds, by codes a fraction.
    category, names = _category_codes(orders["category"])
    inside = ctx.window.contains(orders["order_date"]) & (category >= 0)
    values = orders["amount"].to_numpy(dtype="float64")
    if not inside.all():  # else no copies of 10M lines
        category, values = category[inside], values[inside]
    amount = pd.Series(values, copy=False)
    # Grouped by the codes as a categorical, whose codes pandas takes as they are (grouping
    # by the integers factorizes them: 0.7 s of 10M lines); the same sums, each group's
    # lines added in the same order.
    groups = pd.Categorical.from_codes(category, categories=np.arange(len(names)))
    revenue = amount.groupby(groups, sort=True, observed=True).sum()
    revenue.index = revenue.index.astype("int64")
    # The buyers: the order kernel (of every line, shared in a report) holds each line's
    # customer and category code (the same codes), so no coding of the customer ids here.
    line_customer, line_category = order_kernel(orders).line_categories(ctx.window)
    line_category = line_category.astype("int64")
    buyers = _distinct_per_group(line_category, line_customer, len(names))
    mix = pd.DataFrame(
        {"revenue": revenue.to_numpy(), "buyers": buyers[revenue.index.to_numpy()]},
        index=pd.Index(names[revenue.index.to_numpy()], dtype="str", name="category"),
    ).sort_index()
    mix["revenue_share"] = 100 * mix["revenue"] / mix["revenue"].sum()
    mix = mix.sort_values("revenue", ascending=False, kind="stable")
    title = "Revenue by category"
    if len(mix) > TOP_CATEGORIES:
        # thousands of product codes: the top ones and one line for the rest
        rest = mix.index[TOP_CATEGORIES:]
        in_rest = np.zeros(len(names), dtype=bool)  # a lookup: faster than np.isin
        in_rest[pd.Index(names).get_indexer(rest)] = True
        buyer = np.zeros(int(line_customer.max(initial=-1)) + 1, dtype=bool)
        buyer[line_customer[in_rest[line_category]]] = True
        other = pd.DataFrame(
            {
                "revenue": [amount[in_rest[category]].sum()],
                "buyers": [int(buyer.sum())],
                "revenue_share": [mix.loc[rest, "revenue_share"].sum()],
            },
            index=[f"other ({len(rest):,} categories)"],
        )
        mix = pd.concat([mix.head(TOP_CATEGORIES), other])
        title = f"Revenue by category (top {TOP_CATEGORIES} of {len(rest) + TOP_CATEGORIES:,})"
    return _table(
        "categories",
        title,
        mix.rename_axis("category").reset_index(),
        [
            _column("category", "Category"),
            _column("revenue", "Net revenue", "money"),
            _column("revenue_share", "Share", "percent"),
            _column("buyers", "Customers", "count"),
        ],
        collapsed=True,
    )


def _distinct_per_group(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
    """Distinct ``value`` codes per ``group`` code: a bitmap of the (group, value) pairs when
    it is small (one scatter), else the distinct pairs by hashing."""
    n_values = int(value.max(initial=-1)) + 1
    key = group * n_values + value
    if n_groups * n_values <= 1 << 26:  # up to 64 MB of flags
        seen = np.zeros(n_groups * n_values, dtype=bool)
        seen[key] = True
        return seen.reshape(n_groups, n_values).sum(axis=1)
    return np.bincount(pd.unique(key) // n_values, minlength=n_groups)


def _category_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """int64 codes of a category column (-1: blank) and the names (str) they stand for."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype("int64")
        names = values.cat.categories.astype("str").to_numpy()
    else:
        codes, uniques = pd.factorize(values)
        names = pd.Index(uniques).astype("str").to_numpy()
    return codes.astype("int64", copy=False), names


def _kpi_trend(ctx: _Context) -> pd.DataFrame | None:
    # Each row is its own period (monthly revenue, monthly customers...), not cumulative.
    if ctx.engine is not None:
        from ..engines import kpis_by_period as on_engine

        frame = on_engine(
            ctx.frames["orders"], **ctx.tables(), start=ctx.start, end=ctx.end, freq=ctx.freq,
            window="period", options=ctx.options, **ctx.on_engine(table_columns=True),
        )  # fmt: skip
    else:
        from ..snapshot import kpis_by_period

        frame = kpis_by_period(
            ctx.frames["orders"], *ctx.tables().values(), start=ctx.start, end=ctx.end, freq=ctx.freq,
            window="period", options=ctx.options,
        )  # fmt: skip
    if len(frame) < 2:
        return None
    return frame


def _kpi_extras(ctx: _Context, values: pd.Series) -> dict[str, dict[str, Any]]:
    """n and intervals of the headline figures that have them."""
    extras: dict[str, dict[str, Any]] = {}
    summary = ctx.summary()
    customers = len(summary)
    purchases = int(summary["purchases"].sum())
    extras["average_ticket"] = {"n": purchases, "n_label": "purchases"}
    extras["purchase_frequency"] = {"n": customers, "n_label": "customers"}
    extras["clv"] = {"n": customers, "n_label": "customers"}
    extras["upsell_ratio"] = {"n": customers, "n_label": "customers"}
    for key, successes in (
        ("repeat_purchase_rate", int((summary["purchases"] >= 2).sum())),
        ("upsell_share", int((summary["categories"] > 1).sum())),
    ):
        extras[key] = _rate_extra(values.get(key), successes, customers, "customers", ctx.level)
    if "responses" in values.index and not pd.isna(values.get("responses")):
        responses = _float(values["responses"])
        extras["nps"] = {
            "n": responses,
            "n_label": "responses",
            "ci_low": _float(values.get("nps_ci_low")),
            "ci_high": _float(values.get("nps_ci_high")),
        }
        extras["customer_loyalty_index"] = {"n": responses, "n_label": "responses"}
    if ctx.has("surveys") and "csat" in ctx.frames["surveys"]:
        answers = ctx.surveys_in_window()["csat"].dropna()
        extras["csat"] = _rate_extra(
            values.get("csat"), int((answers >= 4).sum()), len(answers), "CSAT answers", ctx.level
        )
    new = _float(values.get("new_customers"))
    if new is not None:
        extras["cac"] = {"n": new, "n_label": "new customers"}
        extras["ltv_cac_ratio"] = {"n": new, "n_label": "new customers"}
    extras.update(_churn_extras(ctx, values))
    return extras


def _churn_extras(ctx: _Context, values: pd.Series) -> dict[str, dict[str, Any]]:
    """n (the base period's customers) and Wilson intervals of churn and retention."""
    from ..metrics._common import parse_span
    from ..metrics.retention import churn_counts
    from ..orders import order_kernel

    value = _float(values.get("churn_rate"))
    if value is None or ctx.engine is not None:  # the base period's n needs the order kernel
        return {}
    span = parse_span(ctx.options.churn_period, name="churn_period", func="kpis")
    kernel = order_kernel(ctx.frames["orders"], end=ctx.end)
    n, churned = churn_counts(kernel, ctx.end, span)
    if n == 0 or abs(100 * churned / n - value) > 1e-9:
        return {}
    low, high = (float(x) for x in wilson_interval(churned, n, level=ctx.level))
    label = "customers in the base period"
    return {
        "churn_rate": {"n": float(n), "n_label": label, "ci_low": low, "ci_high": high},
        "retention_rate": {
            "n": float(n),
            "n_label": label,
            "ci_low": 100 - high,
            "ci_high": 100 - low,
        },
    }


def _rate_extra(value: Any, successes: int, n: int, n_label: str, level: float) -> dict[str, Any]:
    """n and Wilson interval of a rate, attached only when they reproduce the KPI's value."""
    extra: dict[str, Any] = {"n": n, "n_label": n_label}
    value = _float(value)
    if n > 0 and value is not None and abs(100 * successes / n - value) < 1e-6:
        low, high = wilson_interval(successes, n, level=level)
        extra["ci_low"], extra["ci_high"] = float(low), float(high)
    return extra


def _change(value: float | None, previous: float | None, unit: str) -> tuple[float | None, str]:
    if unit in _POINT_UNITS:
        kind = "points"
        if value is None or previous is None:
            return None, kind
        return value - previous, kind
    kind = "relative"
    if value is None or previous is None or previous == 0:
        return None, kind
    return 100 * (value - previous) / abs(previous), kind
