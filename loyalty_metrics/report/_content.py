"""The report's content, built once as plain data; every renderer works from it.

Each section is made by a small function of a :class:`_Context`. A section whose inputs are
absent (no surveys file, no spend...) or whose library function is not available raises
:class:`_Skip` with a one-line note; the report then lists the note instead of the section.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._stats import wilson_interval
from .._window import ONE_DAY, DateLike, Window, resolve_window
from ..errors import ModelFitError
from ._format import plain

__all__ = ["HEADLINE", "SECTION_TITLES", "build_report"]

#: Report schema version (bumped when the JSON shape changes).
SCHEMA_VERSION = 1

#: Below this many units a figure is flagged "low n"...
LOW_N = 30
#: ...and also when its interval's half-width exceeds this many points.
MAX_HALF_WIDTH = 10.0

SECTION_TITLES: dict[str, str] = {
    "kpis": "Headline KPIs",
    "nps": "Net Promoter Score",
    "cohorts": "Cohort retention",
    "repeat_rate": "Repeat rate by cohort",
    "ladder": "Loyalty ladder",
    "rfm": "RFM segments",
    "clv": "Customer lifetime value",
    "cac": "Acquisition cost by channel",
    "engagement": "Engagement",
    "programs": "Loyalty programme and referrals",
    "data_quality": "Data quality",
}

#: Headline KPIs: key -> (label, unit, definition). Units drive display formatting.
HEADLINE: dict[str, tuple[str, str, str]] = {
    "customers": (
        "Customers",
        "count",
        "Customers with at least one purchase (an order with net amount >= 0) in the window.",
    ),
    "new_customers": (
        "New customers",
        "count",
        "Customers whose first purchase ever falls in the window.",
    ),
    "purchases": ("Purchases", "count", "Orders with net amount >= 0 in the window."),
    "revenue": (
        "Revenue",
        "money",
        "Net revenue: the sum of all order amounts in the window, returns included.",
    ),
    "average_ticket": (
        "Average ticket",
        "money",
        "Net revenue / number of purchases (orders, not lines).",
    ),
    "purchase_frequency": (
        "Purchase frequency",
        "ratio",
        "Purchases / customers in the window.",
    ),
    "repeat_purchase_rate": (
        "Repeat-purchase rate",
        "percent",
        "100 × customers with 2 or more purchases / customers.",
    ),
    "upsell_ratio": (
        "Upsell ratio",
        "ratio",
        "Customers who bought more than one category / customers who bought exactly one.",
    ),
    "upsell_share": (
        "Upsell share",
        "percent",
        "100 × customers who bought more than one category / customers.",
    ),
    "nps": (
        "NPS",
        "points",
        "100 × (promoters − detractors) / responses; promoters answer 9–10, passives 7–8, "
        "detractors 0–6. In points, −100 to 100.",
    ),
    "csat": ("CSAT", "percent", "Share of CSAT answers that are 4 or 5 on the 1–5 scale."),
    "customer_loyalty_index": (
        "Customer Loyalty Index",
        "points",
        "Weighted mean of NPS (−100..100), repeat-purchase rate (%) and upsell share (%).",
    ),
    "churn_rate": (
        "Churn rate",
        "percent",
        "Of the customers who purchased in (end − 2P, end − P], the share with no purchase in "
        "(end − P, end].",
    ),
    "retention_rate": ("Retention rate", "percent", "100 − churn rate."),
    "clv": (
        "CLV (simple)",
        "money",
        "Average ticket × purchases per customer per year × lifespan in years × margin.",
    ),
    "cac": (
        "CAC",
        "money",
        "Marketing and sales spend dated in the window / new customers.",
    ),
    "ltv_cac_ratio": ("LTV:CAC", "ratio", "Simple CLV / CAC."),
    "engagement_score": (
        "Engagement score",
        "score",
        "Mean over known customers of the percentile-based engagement score (0–100) over the "
        "engagement window before the end date; customers without events score 0.",
    ),
}

# KPIs whose change is a difference in points (the rest change relatively, in %).
_POINT_UNITS = ("percent", "points", "score")

_PERIOD_OFFSETS = {
    "W": pd.DateOffset(weeks=1),
    "M": pd.DateOffset(months=1),
    "Q": pd.DateOffset(months=3),
    "Y": pd.DateOffset(years=1),
}
_PERIOD_NAMES = {"W": "week", "M": "month", "Q": "quarter", "Y": "year"}


class _Skip(Exception):
    """A section cannot be shown; the message is the one-line note the report prints."""


# ---------------------------------------------------------------------------------------------
# Calling the library without knowing every option each function takes.


def _lib(name: str, module: str = "") -> Callable[..., Any]:
    """``loyalty_metrics[.module].name``, or :class:`_Skip` when this version lacks it."""
    path = "loyalty_metrics" + (f".{module}" if module else "")
    try:
        mod = importlib.import_module(path)
        return getattr(mod, name)
    except ModuleNotFoundError as exc:
        if exc.name and path.startswith(exc.name) or (exc.name or "").startswith(path):
            raise _Skip(f"needs {path}.{name}, which this version does not have.") from None
        raise
    except AttributeError:
        raise _Skip(f"needs {path}.{name}, which this version does not have.") from None


def _accepts(func: Callable[..., Any]) -> tuple[set[str], bool]:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return set(), True
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return set(params), var_kw


def _call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func`` with the keyword arguments it takes (None values are left out)."""
    names, var_kw = _accepts(func)
    kept = {k: v for k, v in kwargs.items() if v is not None and (var_kw or k in names)}
    return func(*args, **kept)


# ---------------------------------------------------------------------------------------------
# The context every section reads.


@dataclass
class _Context:
    frames: dict[str, pd.DataFrame]
    window: Window
    config: dict[str, dict[str, Any]]
    freq: str
    level: float = 0.95
    cache: dict[str, Any] = field(default_factory=dict)

    # -- inputs ---------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        frame = self.frames.get(name)
        return frame is not None and len(frame) > 0

    def require(self, *names: str) -> None:
        missing = [n for n in names if not self.has(n)]
        if missing:
            files = " or ".join(f"{n} file" for n in missing)
            raise _Skip(
                f"needs {' and '.join(names)} data; there is no {files} (or it has no rows)."
            )

    def frame(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name) if self.has(name) else None

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.config.get("metrics", {}))

    @property
    def currency(self) -> str | None:
        return self.metrics.get("currency")

    @property
    def start(self) -> pd.Timestamp:
        return self.window.start

    @property
    def end(self) -> pd.Timestamp:
        return self.window.end

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    # -- shared computations ----------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        self.require("orders")
        from ..summary import customer_summary

        return self.cached(
            "summary",
            lambda: customer_summary(self.frames["orders"], start=self.start, end=self.end),
        )

    def kpi_kwargs(self) -> dict[str, Any]:
        options = self.metrics
        options.pop("currency", None)
        return {
            "surveys": self.frame("surveys"),
            "events": self.frame("events"),
            "spend": self.frame("spend"),
            "customers": self.frame("customers"),
            **options,
        }

    def kpis(
        self, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.Series:
        start = self.start if start is None else start
        end = self.end if end is None else end
        kpis = _lib("kpis")
        key = f"kpis:{start}:{end}"
        return self.cached(
            key,
            lambda: _call(kpis, self.frames["orders"], start=start, end=end, **self.kpi_kwargs()),
        )

    def comparison(self) -> dict[str, Any] | None:
        """The period the headline KPIs are compared with (see the module notes)."""
        return self.cached("comparison", self._comparison)

    def _comparison(self) -> dict[str, Any] | None:
        if self.window.empty or not self.has("orders"):
            return None
        dates = self.frames["orders"]["order_date"]
        length = self.end - self.start
        prev_end = self.start - ONE_DAY
        prev_start = prev_end - length
        has_prior = bool(((dates >= prev_start) & (dates < self.start)).any())
        if has_prior:
            return {
                "kind": "previous_window",
                "start": prev_start,
                "end": prev_end,
                "label": f"vs {prev_start.date()} to {prev_end.date()} (the same length before)",
            }
        offset = _PERIOD_OFFSETS.get(_period_key(self.freq), pd.DateOffset(months=1))
        as_of = self.end - offset
        if as_of < self.start:
            return None
        word = _PERIOD_NAMES.get(_period_key(self.freq), "period")
        return {
            "kind": "as_of",
            "start": self.start,
            "end": as_of,
            "label": f"vs as of {as_of.date()} (one {word} earlier, same start)",
        }

    def surveys_in_window(self) -> pd.DataFrame:
        self.require("surveys")
        surveys = self.frames["surveys"]
        if "response_date" not in surveys or surveys["response_date"].isna().all():
            return surveys
        return surveys.loc[self.window.contains(surveys["response_date"])]


def _period_key(freq: str) -> str:
    return str(freq).upper().lstrip("0123456789")[:1]


# ---------------------------------------------------------------------------------------------
# Building blocks of sections.


def _flag_low_n(n: Any, low: Any = None, high: Any = None) -> bool:
    """The "low n" rule: fewer than 30 units, or an interval half-width above 10 points."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return False
    if float(n) < LOW_N:
        return True
    if low is not None and high is not None:
        try:
            half = (float(high) - float(low)) / 2
        except (TypeError, ValueError):
            return False
        return bool(not math.isnan(half) and half > MAX_HALF_WIDTH)
    return False


def _stat(
    key: str,
    label: str,
    value: Any,
    unit: str,
    *,
    n: Any = None,
    n_label: str | None = None,
    ci_low: Any = None,
    ci_high: Any = None,
    definition: str | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "value": value,
        "unit": unit,
        "n": n,
        "n_label": n_label,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "low_n": _flag_low_n(n, ci_low, ci_high) if n is not None else False,
        "definition": definition,
    }


def _column(key: str, label: str, unit: str = "text", **extra: Any) -> dict[str, Any]:
    return {"key": key, "label": label, "unit": unit, **extra}


def _interval_column(unit: str, level: float) -> dict[str, Any]:
    return _column(
        "interval",
        f"{plain_level(level)} interval",
        "interval",
        keys=["ci_low", "ci_high"],
        of=unit,
    )


def plain_level(level: float) -> str:
    return f"{level * 100:g}%"


def _table(
    id: str,
    title: str,
    frame: pd.DataFrame,
    columns: Sequence[dict[str, Any]],
    *,
    collapsed: bool = False,
    hidden: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    """A table as plain rows of the listed columns' keys (all columns when ``hidden``).

    ``collapsed`` tables are shown folded in HTML; ``hidden`` ones hold chart data only.
    """
    keys: list[str] = []
    for col in columns:
        for key in [*col.get("keys", [col["key"]]), col.get("unit_key"), col.get("of_key")]:
            if key is not None and key not in keys:
                keys.append(key)
    frame = frame.reset_index() if frame.index.name in keys else frame
    if hidden:
        keys += [str(c) for c in frame.columns if str(c) not in keys]
    present = [k for k in keys if k in frame.columns]
    records = frame[present].to_dict(orient="records")
    return {
        "id": id,
        "title": title,
        "columns": list(columns),
        "rows": records,
        "collapsed": collapsed,
        "hidden": hidden,
        "note": note,
    }


def _chart(id: str, kind: str, title: str, **params: Any) -> dict[str, Any]:
    return {"id": id, "kind": kind, "title": title, **params}


def _with_rate_interval(
    frame: pd.DataFrame, successes: str, n: str, level: float, rate: str | None = None
) -> pd.DataFrame:
    """Add Wilson ``ci_low``/``ci_high`` (and ``low_n``) for a rate when they are missing."""
    frame = frame.copy()
    if not {"ci_low", "ci_high"} <= set(frame.columns):
        low, high = wilson_interval(
            frame[successes].to_numpy(dtype="float64"),
            frame[n].to_numpy(dtype="float64"),
            level=level,
        )
        frame["ci_low"], frame["ci_high"] = low, high
    if "low_n" not in frame.columns:
        frame["low_n"] = [
            _flag_low_n(k, lo, hi)
            for k, lo, hi in zip(frame[n], frame["ci_low"], frame["ci_high"], strict=True)
        ]
    return frame


def _index_labels(index: pd.Index) -> list[str]:
    if isinstance(index, pd.PeriodIndex):
        return [str(p) for p in index]
    if isinstance(index, pd.DatetimeIndex):
        return [d.strftime("%Y-%m-%d") for d in index]
    return [str(v) for v in index]


def _period_frame(frame: pd.DataFrame, name: str = "period") -> pd.DataFrame:
    """Move a time index into a ``period`` column of ISO labels (period end dates)."""
    out = frame.copy()
    out.insert(0, name, _index_labels(out.index))
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Sections.


def _section_kpis(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    values = ctx.kpis()
    comparison = ctx.comparison()
    previous = ctx.kpis(start=comparison["start"], end=comparison["end"]) if comparison else None
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
    section = {
        "stats": stats,
        "values": {k: _float(v) for k, v in values.items()},
        "comparison": comparison,
        "tables": [],
        "charts": [],
    }
    categories = _category_mix(ctx)
    if categories is not None:
        section["tables"].append(categories)
    trend = _kpi_trend(ctx)
    if trend is not None:
        columns = [_column("period", "Period end", "date")] + [
            _column(k, HEADLINE[k][0], HEADLINE[k][1]) for k in HEADLINE if k in trend.columns
        ]
        section["tables"].append(
            _table("trend", "KPIs by period", _period_frame(trend), columns, collapsed=True)
        )
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
            if k in trend.columns and trend[k].notna().any()
        ]
        section["charts"].append(
            _chart("kpi_trends", "kpi_trends", "Period over period", table="trend", keys=keys)
        )
    return section


def _category_mix(ctx: _Context) -> dict[str, Any] | None:
    """Net revenue and buyers by product category in the window (context for upsell)."""
    orders = ctx.frames["orders"]
    if "category" not in orders or orders["category"].isna().all():
        return None
    lines = orders.loc[
        ctx.window.contains(orders["order_date"]), ["category", "customer_id", "amount"]
    ]
    lines = lines.assign(category=lines["category"].astype("str"))
    mix = lines.groupby("category", sort=True).agg(
        revenue=("amount", "sum"), buyers=("customer_id", "nunique")
    )
    mix["revenue_share"] = 100 * mix["revenue"] / mix["revenue"].sum()
    mix = mix.sort_values("revenue", ascending=False, kind="stable")
    return _table(
        "categories",
        "Revenue by category",
        mix.rename_axis("category").reset_index(),
        [
            _column("category", "Category"),
            _column("revenue", "Net revenue", "money"),
            _column("revenue_share", "Share", "percent"),
            _column("buyers", "Customers", "count"),
        ],
        collapsed=True,
    )


def _kpi_trend(ctx: _Context) -> pd.DataFrame | None:
    try:
        by_period = _lib("kpis_by_period")
    except _Skip:
        return None
    # Each row is its own period (monthly revenue, monthly customers...), not cumulative.
    frame = _call(
        by_period,
        ctx.frames["orders"],
        start=ctx.start,
        end=ctx.end,
        freq=ctx.freq,
        window="period",
        **ctx.kpi_kwargs(),
    )
    if frame is None or len(frame) < 2:
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
    value = _float(values.get("churn_rate"))
    if value is None:
        return {}
    try:
        churn_rate = _lib("churn_rate")
    except _Skip:
        return {}
    orders = ctx.frames["orders"]
    # One group holding every customer: the breakdown carries n and the interval.
    everyone = pd.Series("all", index=pd.Index(orders["customer_id"].dropna().unique()))
    frame = _call(
        churn_rate,
        orders,
        period=ctx.metrics.get("churn_period"),
        by=everyone,
        end=ctx.end,
        level=ctx.level,
    )
    if len(frame) != 1 or abs(float(frame["churn_rate"].iloc[0]) - value) > 1e-9:
        return {}
    row = frame.iloc[0]
    n, low, high = float(row["n"]), float(row["ci_low"]), float(row["ci_high"])
    label = "customers in the base period"
    return {
        "churn_rate": {"n": n, "n_label": label, "ci_low": low, "ci_high": high},
        "retention_rate": {"n": n, "n_label": label, "ci_low": 100 - high, "ci_high": 100 - low},
    }


def _rate_extra(value: Any, successes: int, n: int, n_label: str, level: float) -> dict[str, Any]:
    """n and Wilson interval of a rate, attached only when they reproduce the KPI's value."""
    extra: dict[str, Any] = {"n": n, "n_label": n_label}
    value = _float(value)
    if n > 0 and value is not None and abs(100 * successes / n - value) < 1e-6:
        low, high = wilson_interval(successes, n, level=level)
        extra["ci_low"], extra["ci_high"] = float(low), float(high)
    return extra


def _definition(ctx: _Context, key: str, text: str) -> str:
    metrics = ctx.metrics
    if key in ("churn_rate", "retention_rate"):
        return text + f" P = {metrics.get('churn_period', '365D')}."
    if key == "clv":
        margin = metrics.get("margin", 1.0)
        lifespan = metrics.get("lifespan_years")
        life = (
            f"lifespan {lifespan:g} years"
            if lifespan
            else "lifespan = 1 / annual churn rate, capped at "
            f"{metrics.get('max_lifespan_years', 5):g} years"
        )
        return text + f" Margin {margin:g}; {life}."
    if key == "engagement_score":
        return text + f" Window {metrics.get('engagement_window', '90D')}."
    return text


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


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


# -- NPS --------------------------------------------------------------------------------------


def _section_nps(ctx: _Context) -> dict[str, Any]:
    ctx.require("surveys")
    surveys = ctx.surveys_in_window()
    scores = surveys["score"].dropna()
    if scores.empty:
        raise _Skip("needs NPS answers (the surveys in the window have no scores).")
    breakdown = _lib("nps_breakdown")
    method = ctx.metrics.get("nps_method")
    options = {"method": method, "level": ctx.level, "start": ctx.start, "end": ctx.end}
    overall = _call(breakdown, surveys, **options)
    row = overall.iloc[0]
    n = _float(row["responses"])
    stats = [
        _stat(
            "nps",
            "NPS",
            _float(row["nps"]),
            "points",
            n=n,
            n_label="responses",
            ci_low=_float(row["ci_low"]),
            ci_high=_float(row["ci_high"]),
            definition=HEADLINE["nps"][2],
        ),
    ]
    for group in ("promoters", "passives", "detractors"):
        count = _float(row[group])
        share = _float(row.get(f"{group}_share", None))
        if share is None and n:
            share = 100 * count / n
        low, high = wilson_interval(count, n, level=ctx.level) if n else (None, None)
        stats.append(
            _stat(
                group,
                group.capitalize(),
                share,
                "percent",
                n=n,
                n_label="responses",
                ci_low=_float(low),
                ci_high=_float(high),
            )
        )
    section: dict[str, Any] = {"stats": stats, "tables": [], "charts": []}

    counts = scores.round().astype("int64").value_counts().reindex(range(11), fill_value=0)
    distribution = pd.DataFrame({"score": range(11), "responses": counts.to_numpy()})
    distribution["share"] = 100 * distribution["responses"] / max(len(scores), 1)
    section["tables"].append(
        _table(
            "distribution",
            "Answers 0–10",
            distribution,
            [
                _column("score", "Score", "count"),
                _column("responses", "Responses", "count"),
                _column("share", "Share", "percent"),
            ],
            collapsed=True,
        )
    )
    section["charts"].append(
        _chart(
            "nps_distribution", "nps_distribution", "Distribution of answers", table="distribution"
        )
    )

    if "response_date" in surveys and surveys["response_date"].notna().any():
        trend = _call(breakdown, surveys, freq=ctx.freq, **options)
        if len(trend) >= 2:
            trend = _period_frame(trend)
            section["tables"].append(
                _table(
                    "trend",
                    "NPS by period",
                    trend,
                    [
                        _column("period", "Period end", "date"),
                        _column("nps", "NPS", "points"),
                        _interval_column("points", ctx.level),
                        _column("responses", "Responses", "count"),
                        _column("low_n", "", "flag"),
                    ],
                    collapsed=True,
                )
            )
            section["charts"].append(
                _chart("nps_trend", "nps_trend", "NPS by period", table="trend")
            )
    if "segment" in surveys and surveys["segment"].notna().any():
        by_segment = _call(breakdown, surveys, by="segment", **options)
        by_segment.index = by_segment.index.astype("str")
        by_segment = by_segment.rename_axis("segment").reset_index()
        section["tables"].append(
            _table(
                "by_segment",
                "NPS by segment",
                by_segment,
                [
                    _column("segment", "Segment"),
                    _column("nps", "NPS", "points"),
                    _interval_column("points", ctx.level),
                    _column("responses", "Responses", "count"),
                    _column("low_n", "", "flag"),
                ],
            )
        )
    comments = _recent_comments(surveys)
    if comments is not None:
        section["tables"].append(comments)
    if "csat" in surveys and surveys["csat"].notna().any():
        answers = surveys["csat"].dropna()
        k, n_csat = int((answers >= 4).sum()), len(answers)
        low, high = wilson_interval(k, n_csat, level=ctx.level)
        stats.append(
            _stat(
                "csat",
                "CSAT",
                100 * k / n_csat,
                "percent",
                n=n_csat,
                n_label="CSAT answers",
                ci_low=float(low),
                ci_high=float(high),
                definition=HEADLINE["csat"][2],
            )
        )
    return section


#: How many of the latest comments the NPS section quotes.
COMMENTS_SHOWN = 10


def _recent_comments(surveys: pd.DataFrame) -> dict[str, Any] | None:
    """The latest survey comments with their score (what customers say, in their words)."""
    if "comment" not in surveys:
        return None
    rows = surveys.loc[surveys["comment"].notna() & (surveys["comment"].astype("str") != "")]
    if rows.empty:
        return None
    if "response_date" in rows:
        rows = rows.sort_values("response_date", ascending=False, kind="stable")
    else:
        rows = rows.iloc[::-1]
    rows = rows.head(COMMENTS_SHOWN)
    keep = [
        c for c in ("response_date", "customer_id", "score", "segment", "comment") if c in rows
    ]
    frame = rows[keep].copy()
    for column in ("customer_id", "segment", "comment"):
        if column in frame:
            frame[column] = frame[column].astype("object").where(frame[column].notna(), None)
            frame[column] = [None if v is None else str(v) for v in frame[column]]
    columns = [
        _column(c, label, unit)
        for c, label, unit in (
            ("response_date", "Date", "date"),
            ("customer_id", "Customer", "text"),
            ("score", "Score", "count"),
            ("segment", "Segment", "text"),
            ("comment", "Comment", "text"),
        )
        if c in frame
    ]
    return _table("comments", f"Latest {len(frame)} comments", frame, columns, collapsed=True)


# -- cohorts ----------------------------------------------------------------------------------


def _section_cohorts(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    cohort_table = _lib("cohort_table")
    orders = ctx.frames["orders"]
    window = {"period": ctx.freq, "start": ctx.start, "end": ctx.end}
    retention = _call(cohort_table, orders, values="retention", **window)
    if retention.empty:
        raise _Skip("has no cohorts (no purchases up to the end date).")
    sizes = retention.attrs.get("loyalty_metrics.cohorts", {}).get("cohort_size")
    if sizes is None:
        sizes = _call(cohort_table, orders, values="customers", **window).iloc[:, 0].to_numpy()
    try:
        status = _call(_lib("cohort_cell_status"), orders, **window)
    except _Skip:
        status = None
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
    by_cohort = _call(
        _lib("repeat_rate_by_cohort"),
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


# -- ladder, RFM --------------------------------------------------------------------------------

_STAGES = ("lead", "buyer", "repeat", "advocate")


def _stages_of(ladder: Any) -> pd.Series:
    if isinstance(ladder, pd.DataFrame):
        return ladder["stage"] if "stage" in ladder else ladder.iloc[:, 0]
    return ladder


def _section_ladder(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    loyalty_ladder = _lib("loyalty_ladder")
    kwargs = {"surveys": ctx.frame("surveys"), "customers": ctx.frame("customers"), "end": ctx.end}
    stages = _stages_of(_call(loyalty_ladder, ctx.frames["orders"], **kwargs)).astype("str")
    counts = stages.value_counts().reindex(list(_STAGES), fill_value=0)
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
    try:
        transitions_fn = _lib("ladder_transitions")
    except _Skip:
        transitions_fn = None
    if transitions_fn is not None and comparison is not None:
        moves = _call(
            transitions_fn,
            ctx.frames["orders"],
            start=comparison["end"],
            end=ctx.end,
            surveys=ctx.frame("surveys"),
            customers=ctx.frame("customers"),
        )
        if isinstance(moves.columns, pd.MultiIndex):
            moves = moves["customers"]
        moves = _transitions_frame(moves)
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
    rfm = _lib("rfm_segments")(ctx.summary())
    segment = rfm["segment"].astype("str")
    revenue = rfm["revenue"]
    grouped = pd.DataFrame({"segment": segment, "revenue": revenue}).groupby(
        "segment", sort=False, observed=True
    )
    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["revenue"].sum(),
            "revenue_per_customer": grouped["revenue"].mean(),
        }
    )
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


# -- CLV --------------------------------------------------------------------------------------


def _section_clv(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    values = ctx.kpis()
    metrics = ctx.metrics
    stats = [
        _stat(
            "clv",
            "CLV (simple)",
            _float(values.get("clv")),
            "money",
            n=len(ctx.summary()),
            n_label="customers",
            definition=_definition(ctx, "clv", HEADLINE["clv"][2]),
        )
    ]
    tables: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    historic = ctx.summary()["revenue"]
    stats.append(
        _stat(
            "historic_mean",
            "Historic value per customer (mean)",
            float(historic.mean()),
            "money",
            n=len(historic),
            n_label="customers",
            definition="Net revenue per customer in the window.",
        )
    )
    tables.append(
        _table(
            "historic_distribution",
            "Historic value per customer",
            _distribution_table(historic),
            _distribution_columns(),
            collapsed=True,
        )
    )
    tables.append(_histogram_table("historic_histogram", "Historic value per customer", historic))
    summary = ctx.summary()
    top = summary.sort_values(["revenue", "purchases"], ascending=False, kind="stable").head(10)
    top = top[["revenue", "purchases", "first_purchase", "last_purchase"]].copy()
    top = top.rename_axis("customer_id").reset_index()
    top["customer_id"] = top["customer_id"].astype("str")
    tables.append(
        _table(
            "historic_top",
            "Top 10 customers by historic value",
            top,
            [
                _column("customer_id", "Customer"),
                _column("revenue", "Net revenue", "money"),
                _column("purchases", "Purchases", "count"),
                _column("first_purchase", "First purchase", "date"),
                _column("last_purchase", "Latest purchase", "date"),
            ],
            collapsed=True,
        )
    )
    charts.append(
        _chart(
            "historic",
            "clv_distribution",
            "Historic value per customer",
            table="historic_histogram",
            label="Historic value",
            **_centre(historic),
        )
    )
    predictive = _predictive_clv(ctx, metrics)
    notes = []
    if predictive is None:
        notes.append(ctx.cache["predictive_note"])
    else:
        stats.extend(predictive["stats"])
        tables.extend(predictive["tables"])
        charts.extend(predictive["charts"])
        notes.extend(predictive["notes"])
    return {"stats": stats, "tables": tables, "charts": charts, "notes": notes}


def _centre(values: pd.Series) -> dict[str, Any]:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return {
        "mean": float(values.mean()) if len(values) else None,
        "median": float(values.median()) if len(values) else None,
        "n": len(values),
    }


def _histogram_table(
    id: str,
    title: str,
    values: pd.Series,
    *,
    bins: int = 30,
    clip_quantile: float = 0.99,
    value_range: tuple[float, float] | None = None,
    unit: str = "money",
) -> dict[str, Any]:
    """Histogram bins of a per-customer value (the report never carries per-customer rows).

    Values above the ``clip_quantile`` are counted in the last bin, so a long tail does not
    squash the rest; ``open_right`` marks that bin.
    """
    data = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype="float64")
    if value_range is None:
        low = float(data.min()) if data.size else 0.0
        high = float(np.quantile(data, clip_quantile)) if data.size else 1.0
    else:
        low, high = value_range
    high = high if high > low else low + 1.0
    counts, edges = np.histogram(np.clip(data, low, high), bins=bins, range=(low, high))
    frame = pd.DataFrame({"left": edges[:-1], "right": edges[1:], "customers": counts})
    frame["open_right"] = False
    clipped = int((data > high).sum())
    if clipped:
        frame.loc[frame.index[-1], "open_right"] = True
    return _table(
        id,
        title,
        frame,
        [
            _column("left", "From", unit),
            _column("right", "To", unit),
            _column("customers", "Customers", "count"),
        ],
        collapsed=True,
        hidden=True,
    )


def _distribution_columns() -> list[dict[str, Any]]:
    return [_column("statistic", "Statistic"), _column("value", "Value", "money")]


def _distribution_table(values: pd.Series) -> pd.DataFrame:
    values = pd.to_numeric(values, errors="coerce").dropna()
    quantiles = values.quantile([0.1, 0.25, 0.5, 0.75, 0.9])
    return pd.DataFrame(
        {
            "statistic": ["mean", "p10", "p25", "median", "p75", "p90"],
            "value": [values.mean(), *quantiles.to_numpy()],
        }
    )


#: Months ahead the predictive CLV counts purchases over.
CLV_HORIZON_MONTHS = 12
#: The predictive models need at least this many repeat customers to fit.
MIN_REPEATERS = 30


def _predictive_clv(ctx: _Context, metrics: dict[str, Any]) -> dict[str, Any] | None:
    """BG/NBD + Gamma-Gamma CLV when the models fit; else None and a note in the cache."""
    import warnings

    try:
        bg_model = _lib("BetaGeoModel", "models")
        gg_model = _lib("GammaGammaModel", "models")
        breakdown = _lib("clv_breakdown", "models")
    except _Skip as skip:
        ctx.cache["predictive_note"] = f"Predictive CLV not shown: it {skip}"
        return None
    summary = ctx.summary()
    repeaters = int((summary["frequency"] > 0).sum())
    if repeaters < MIN_REPEATERS:
        ctx.cache["predictive_note"] = (
            f"Predictive CLV not shown: {repeaters} repeat customers; the models need at "
            f"least {MIN_REPEATERS}."
        )
        return None
    rate = metrics.get("annual_discount_rate")
    margin = metrics.get("margin")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            purchases = bg_model(time_unit="W").fit(summary)
            spend = gg_model().fit(summary)
            frame = _call(
                breakdown,
                purchases,
                spend,
                summary,
                horizon_months=CLV_HORIZON_MONTHS,
                annual_discount_rate=rate,
                margin=margin,
            )
        except ModelFitError as exc:
            ctx.cache["predictive_note"] = (
                f"Predictive CLV not shown: the models did not fit ({_first_line(exc)})."
            )
            return None
    # The models' own assumption checks (e.g. spend correlated with frequency) are worth a
    # line in the report: the figure stands, with its caveat.
    cautions = sorted(
        {_first_line(w.message) for w in caught if issubclass(w.category, UserWarning)}
    )
    predicted = frame["clv"]
    stats = [
        _stat(
            "predictive_mean",
            f"Predictive CLV, next {CLV_HORIZON_MONTHS} months (mean)",
            float(predicted.mean()),
            "money",
            n=len(predicted),
            n_label="customers",
            definition="BG/NBD expected purchases × Gamma-Gamma expected spend per purchase "
            f"× margin, over the next {CLV_HORIZON_MONTHS} months, discounted monthly at the "
            "annual discount rate.",
        ),
        _stat(
            "predictive_total",
            f"Predictive value, next {CLV_HORIZON_MONTHS} months (total)",
            float(predicted.sum()),
            "money",
            n=len(predicted),
            n_label="customers",
        ),
        _stat(
            "p_alive",
            "Customers still active (mean P(alive))",
            100 * float(frame["p_alive"].mean()),
            "percent",
            n=len(predicted),
            n_label="customers",
            definition="The BG/NBD probability that a customer has not dropped out, "
            "averaged over customers.",
        ),
    ]
    top = frame.sort_values(["clv", "p_alive"], ascending=False, kind="stable").head(10)
    top = top.rename_axis("customer_id").reset_index()
    top["customer_id"] = top["customer_id"].astype("str")
    top["historic"] = summary["revenue"].reindex(top["customer_id"]).to_numpy()
    top_columns = [
        _column("customer_id", "Customer"),
        _column("clv", "Predictive CLV", "money"),
        _column("expected_purchases", "Expected purchases", "ratio"),
        _column("expected_average_value", "Expected spend per purchase", "money"),
        _column("p_alive", "P(alive)", "ratio"),
        _column("historic", "Historic value", "money"),
    ]
    out: dict[str, Any] = {
        "stats": stats,
        "tables": [
            _table("predictive_top", "Top 10 customers by predictive CLV", top, top_columns),
            _table(
                "predictive_distribution",
                "Predictive CLV",
                _distribution_table(predicted),
                _distribution_columns(),
                collapsed=True,
            ),
            _histogram_table("predictive_histogram", "Predictive CLV", predicted),
        ],
        "charts": [
            _chart(
                "predictive",
                "clv_distribution",
                "Predictive CLV",
                table="predictive_histogram",
                label="Predictive CLV",
                **_centre(predicted),
            )
        ],
        "notes": [f"Model caution: {c}" for c in cautions],
    }
    calibration = _calibration(ctx)
    if calibration is not None:
        out["tables"].append(calibration)
        out["charts"].append(
            _chart(
                "calibration",
                "calibration_vs_holdout",
                "Calibration vs holdout",
                table="calibration",
            )
        )
    return out


def _first_line(message: object) -> str:
    text = str(message).strip()
    return text.splitlines()[0] if text else type(message).__name__


def _calibration(ctx: _Context) -> dict[str, Any] | None:
    """The BG/NBD check: fit before a holdout, compare predicted and actual purchases in it.

    The holdout is the last 6 months of the window (a third of it when shorter).
    """
    import warnings

    try:
        split_fn = _lib("calibration_holdout", "models")
        evaluate = _lib("evaluate", "models")
        bg_model = _lib("BetaGeoModel", "models")
    except _Skip:
        return None
    if ctx.window.empty:
        return None
    days = (ctx.end - ctx.start).days + 1
    holdout_days = min(183, days // 3)
    if holdout_days < 28:
        return None
    calibration_end = ctx.end - pd.Timedelta(days=holdout_days)
    split = split_fn(
        ctx.frames["orders"],
        calibration_end=calibration_end,
        holdout_end=ctx.end,
        start=ctx.start,
        time_unit="W",
    )
    if int((split["frequency"] > 0).sum()) < MIN_REPEATERS:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            model = bg_model(time_unit="W").fit(split)
        except ModelFitError:
            return None
    result = evaluate(model, split)
    table = result.by_frequency.rename_axis("frequency").reset_index()
    table["frequency"] = table["frequency"].astype("str")
    metrics = result.metrics
    note = (
        f"Fitted up to {calibration_end.date()}, checked on the {holdout_days} days after: "
        f"{_fmt_number(metrics['actual_total'])} purchase days happened, the model expected "
        f"{_fmt_number(metrics['predicted_total'])}."
    )
    return _table(
        "calibration",
        "Holdout purchases: actual vs model",
        table,
        [
            _column("frequency", "Repeat purchases before the holdout"),
            _column("customers", "Customers", "count"),
            _column("actual", "Actual (mean)", "ratio"),
            _column("predicted", "Model (mean)", "ratio"),
        ],
        collapsed=True,
        note=note,
    )


def _fmt_number(value: float) -> str:
    from ._format import fmt

    return fmt(value, "count")


# -- CAC, engagement, programmes ----------------------------------------------------------------


def _section_cac(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders", "spend")
    values = ctx.kpis()
    by_channel = _call(
        _lib("cac"),
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
    metrics = ctx.metrics
    scores = _call(
        _lib("engagement_scores"),
        ctx.frames["events"],
        key_actions=metrics.get("key_actions"),
        window=metrics.get("engagement_window"),
        weights=metrics.get("engagement_weights"),
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
    key_actions = metrics.get("key_actions")
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
    customers = ctx.frames["customers"]
    tables: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    notes: list[str] = []
    has_members = any(
        c in customers and customers[c].notna().any() for c in ("is_member", "member_since")
    )
    if has_members:
        impact = _call(
            _lib("program_impact"),
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
        referrals = _call(
            _lib("referral_conversion"),
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


# -- data quality -------------------------------------------------------------------------------


def _section_data_quality(ctx: _Context, read_reports: Sequence[Any] | None) -> dict[str, Any]:
    reports = list(read_reports or [])
    if not reports:
        reports = _reports_from_frames(ctx.frames)
    if not reports:
        raise _Skip("needs the read reports of the input files.")
    files = []
    reasons = []
    for report in reports:
        source = _source_name(getattr(report, "source", None))
        table = getattr(report, "table", None)
        files.append(
            {
                "table": table,
                "source": source,
                "rows_read": getattr(report, "rows_read", None),
                "rows_kept": getattr(report, "rows_kept", None),
                "rows_rejected": getattr(report, "rows_rejected", None),
            }
        )
        rejected = getattr(report, "rejected", None)
        if isinstance(rejected, pd.DataFrame) and len(rejected) and "reason" in rejected:
            lines = rejected["line"] if "line" in rejected else pd.Series(np.nan, rejected.index)
            grouped = pd.DataFrame({"reason": rejected["reason"].astype("str"), "line": lines})
            for reason, group in grouped.groupby("reason", sort=True):
                first = group["line"].dropna().astype("int64").sort_values().head(5).tolist()
                reasons.append(
                    {
                        "table": table,
                        "source": source,
                        "reason": reason,
                        "rows": len(group),
                        "lines": ", ".join(map(str, first)),
                    }
                )
    files.sort(key=lambda r: (str(r["table"]), str(r["source"])))
    reasons.sort(key=lambda r: (str(r["table"]), -r["rows"], r["reason"]))
    read = sum(r["rows_read"] or 0 for r in files)
    rejected_total = sum(r["rows_rejected"] or 0 for r in files)
    stats = [
        _stat("rows_read", "Rows read", read, "count"),
        _stat("rows_rejected", "Rows rejected", rejected_total, "count"),
    ]
    tables = [
        _table(
            "files",
            "Rows per file",
            pd.DataFrame(files),
            [
                _column("table", "Table"),
                _column("source", "File"),
                _column("rows_read", "Read", "count"),
                _column("rows_kept", "Kept", "count"),
                _column("rows_rejected", "Rejected", "count"),
            ],
        )
    ]
    if reasons:
        tables.append(
            _table(
                "reasons",
                "Rejected rows by reason",
                pd.DataFrame(reasons),
                [
                    _column("table", "Table"),
                    _column("source", "File"),
                    _column("reason", "Reason"),
                    _column("rows", "Rows", "count"),
                    _column("lines", "First lines"),
                ],
            )
        )
    return {"stats": stats, "tables": tables, "charts": []}


def _reports_from_frames(frames: Mapping[str, pd.DataFrame]) -> list[Any]:
    try:
        read_report = _lib("read_report")
    except _Skip:
        return []
    reports = []
    for frame in frames.values():
        try:
            reports.append(read_report(frame))
        except (KeyError, ValueError, TypeError):
            # Frames made in memory carry no read report: say what we know.
            return []
    return reports


def _source_name(source: Any) -> str | None:
    if source is None:
        return None
    text = str(source)
    # Only the file name: the report may travel, the reader's folders need not.
    return text.replace("\\", "/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------
# Definitions footer.


def _definitions(ctx: _Context, comparison: dict[str, Any] | None) -> list[dict[str, str]]:
    metrics = ctx.metrics
    level = plain_level(ctx.level)
    window = (
        f"{ctx.start.date()} to {ctx.end.date()} inclusive "
        f"({(ctx.end - ctx.start).days + 1} days); as_of = {ctx.end.date()}. Nothing after "
        "as_of is used; look-backs (churn, engagement, cohorts, new customers) reach back from "
        "as_of over all data."
        if not ctx.window.empty
        else "no data"
    )
    method = metrics.get("nps_method", "adjusted-wald")
    nps = (
        f"{level} adjusted-Wald interval (Rocks 2016): n' = n + 3, p' = (P + 0.75)/n', "
        "d' = (D + 0.75)/n', clipped to −100..100; the point estimate is the classic NPS."
        if method == "adjusted-wald"
        else f"{level} Wald (trinomial) interval around the classic NPS, clipped to −100..100."
    )
    margin = metrics.get("margin", 1.0)
    margin_text = (
        "margin = 1: CLV is in net revenue (no costs deducted)."
        if margin == 1.0
        else f"margin = {margin:g}: CLV is {margin * 100:g}% of net revenue (gross margin basis)."
    )
    rate = metrics.get("annual_discount_rate")
    discount = (
        f"annual discount rate {rate * 100:g}%, converted to the model's period "
        "((1 + r)^(1/periods per year) − 1); simple CLV is not discounted."
        if rate is not None
        else "predictive CLV uses the models' default annual discount rate, converted to the "
        "model's period; simple CLV is not discounted."
    )
    weights = metrics.get("cli_weights")
    weights_text = (
        "weights " + ", ".join(f"{k} {v:g}" for k, v in weights.items())
        if weights
        else "equal weights"
    )
    scale = metrics.get("cli_nps_scale", "points")
    cli = f"mean of NPS, repeat-purchase rate and upsell share ({weights_text}); NPS " + (
        "on its own −100..100 scale." if scale == "points" else "rescaled to 0..100."
    )
    rows = [
        ("Window", window),
        ("Comparison", comparison["label"] if comparison else "none (no earlier data)."),
        (
            "Churn",
            f"of the customers who purchased in (as_of − 2P, as_of − P], the share with no "
            f"purchase in (as_of − P, as_of]; P = {metrics.get('churn_period', '365D')}.",
        ),
        (
            "Purchase",
            "an order (lines sharing order_id) whose net amount is ≥ 0; negative orders "
            "are returns: they lower revenue but are not purchases.",
        ),
        ("Discount rate", discount),
        ("Margin basis", margin_text),
        ("NPS interval", nps),
        ("Customer Loyalty Index", cli),
        (
            "Low n",
            f"a figure is flagged when n < {LOW_N} or its interval's half-width exceeds "
            f"{MAX_HALF_WIDTH:g} points.",
        ),
        ("Rounding", "numbers are rounded for display only, half away from zero (12.5 → 13)."),
    ]
    if ctx.currency:
        rows.append(("Currency", f"money in {ctx.currency}."))
    return [{"term": term, "text": text} for term, text in rows]


# ---------------------------------------------------------------------------------------------
# The entry point.

_SECTIONS: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "kpis": _section_kpis,
    "nps": _section_nps,
    "cohorts": _section_cohorts,
    "repeat_rate": _section_repeat_rate,
    "ladder": _section_ladder,
    "rfm": _section_rfm,
    "clv": _section_clv,
    "cac": _section_cac,
    "engagement": _section_engagement,
    "programs": _section_programs,
}


def build_report(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    generated_at: DateLike | None = None,
    read_reports: Sequence[Any] | None = None,
    freq: Literal["W", "M", "Q", "Y"] = "M",
    level: float = 0.95,
    strict: bool = False,
) -> dict[str, Any]:
    """The report's content as plain data (dicts, lists, str, int, float, bool, None).

    Parameters
    ----------
    frames : mapping
        Validated tables by name (``orders``, ``surveys``, ``events``, ``spend``,
        ``customers``), as :func:`loyalty_metrics.read_folder` returns; missing ones are fine.
    start, end : date-like, optional
        The window (DESIGN section 3); default the first and last order date.
    config : mapping, optional
        A loaded ``loyalty.toml`` (:func:`loyalty_metrics.load_config`): ``[metrics]`` options
        and ``[report] title``.
    generated_at : date-like, optional
        Stamped on the report as given (never read from the clock here, so that the same
        inputs give the same report).
    read_reports : sequence of ReadReport, optional
        For the data-quality section; default :func:`loyalty_metrics.read_report` of each frame.
    freq : {"W", "M", "Q", "Y"}
        The period of trends and cohorts.
    level : float
        Confidence level of every interval.
    strict : bool
        Raise when a section fails instead of replacing it with a note (tests, ``--debug``).

    Returns
    -------
    dict
        ``title``, ``generated_at``, ``window`` (start, end, as_of, days), ``inputs`` (rows per
        table), ``sections`` (a list in display order; each has ``id``, ``title``, ``shown``
        and either its ``stats``/``tables``/``charts`` or a one-line ``note``),
        ``definitions`` and ``schema_version``. NaN is None.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-02-11"]),
    ...     "amount": [10.0, 20.0, 5.0]})
    >>> report = build_report({"orders": orders}, generated_at="2024-03-01")
    >>> report["window"]["as_of"], [s["id"] for s in report["sections"] if not s["shown"]][:2]
    ('2024-02-11', ['nps', 'cac'])
    """
    if freq not in ("W", "M", "Q", "Y"):
        raise ValueError(
            f"The 'freq' parameter of build_report must be one of {{'W', 'M', 'Q', 'Y'}}. "
            f"Got {freq!r} instead."
        )
    frames = {name: frame for name, frame in frames.items() if frame is not None}
    config = {k: dict(v) for k, v in (config or {}).items()}
    window = _report_window(frames, start, end)
    ctx = _Context(frames=frames, window=window, config=config, freq=freq, level=level)

    sections = []
    for section_id, make in _SECTIONS.items():
        sections.append(_run(section_id, lambda make=make: make(ctx), strict))
    sections.append(_run("data_quality", lambda: _section_data_quality(ctx, read_reports), strict))
    # Shown sections first in their order, then the notes of the others (same order).
    sections = [s for s in sections if s["shown"]] + [s for s in sections if not s["shown"]]

    comparison = ctx.comparison() if ctx.has("orders") else None
    title = config.get("report", {}).get("title") or "Customer loyalty report"
    content = {
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "generated_at": (
            None
            if generated_at is None
            else pd.Timestamp(generated_at).isoformat(timespec="seconds")
        ),
        "currency": ctx.currency,
        "level": level,
        "freq": freq,
        "window": {
            "start": window.start,
            "end": window.end,
            "as_of": window.end,
            "days": None if window.empty else (window.end - window.start).days + 1,
        },
        "comparison": comparison,
        "inputs": {name: len(frame) for name, frame in sorted(frames.items())},
        "sections": sections,
        "definitions": _definitions(ctx, comparison),
    }
    return plain(content)


def _report_window(
    frames: Mapping[str, pd.DataFrame], start: DateLike | None, end: DateLike | None
) -> Window:
    """The window from the orders' dates, else from the first table that has dates."""
    for table, column in (
        ("orders", "order_date"),
        ("surveys", "response_date"),
        ("events", "timestamp"),
        ("spend", "date"),
    ):
        frame = frames.get(table)
        if frame is not None and column in frame and frame[column].notna().any():
            return resolve_window(frame[column], start, end)
    return resolve_window(pd.Series([], dtype="datetime64[ns]"), start, end)


def _run(section_id: str, make: Callable[[], dict[str, Any]], strict: bool) -> dict[str, Any]:
    head = {"id": section_id, "title": SECTION_TITLES[section_id]}
    try:
        body = make()
    except _Skip as skip:
        return {**head, "shown": False, "note": f"{head['title']}: not shown, {skip}"}
    except ModelFitError as exc:
        if strict:
            raise
        return {**head, "shown": False, "note": f"{head['title']}: not shown, {exc}"}
    except Exception as exc:
        if strict:
            raise
        # A failure in one section must not cost the whole Monday report: say what happened.
        message = str(exc).splitlines()[0] if str(exc) else ""
        return {
            **head,
            "shown": False,
            "note": f"{head['title']}: not shown, it failed ({type(exc).__name__}: {message}). "
            "Run with --debug for details.",
        }
    for key in ("stats", "tables", "charts", "notes"):
        body.setdefault(key, [])
    return {**head, "shown": True, "note": None, **body}
