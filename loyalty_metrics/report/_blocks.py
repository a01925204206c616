"""Building blocks of sections: stats, tables, charts, intervals, distributions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._stats import wilson_interval
from ._context import _Context

#: Below this many units a figure is flagged "low n"...
LOW_N = 30
#: ...and also when its interval's half-width exceeds this many points.
MAX_HALF_WIDTH = 10.0


# KPIs whose change is a difference in points (the rest change relatively, in %).
_POINT_UNITS = ("percent", "points", "score")


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
    caveat: str | None = None,
) -> dict[str, Any]:
    # A caveat (how far the figure can be trusted) is shown next to the value in every format.
    extra = {"caveat": caveat} if caveat else {}
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
        **extra,
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


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _centre(values: pd.Series) -> dict[str, Any]:
    # on the plain array: a Series of millions of customers indexed by text id builds the
    # index's hash table (2.6M ids: 160 MB, 0.5 s) when NaN are dropped from it
    data = _present_values(values)
    return {
        "mean": float(np.mean(data)) if len(data) else None,
        "median": float(np.median(data)) if len(data) else None,
        "n": len(data),
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
    data = _present_values(values)
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
    data = _present_values(values)
    # np.quantile's "linear" method and the pairwise sum are what Series.quantile and .mean
    # use; on the bare array, not a Series indexed by millions of customer ids.
    quantiles = np.quantile(data, [0.1, 0.25, 0.5, 0.75, 0.9]) if data.size else [np.nan] * 5
    return pd.DataFrame(
        {
            "statistic": ["mean", "p10", "p25", "median", "p75", "p90"],
            "value": [data.mean() if data.size else np.nan, *quantiles],
        }
    )


def _present_values(values: pd.Series) -> np.ndarray:
    """The values as float64, without the missing ones (a plain array)."""
    data = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return data[~np.isnan(data)]


#: Months ahead the predictive CLV counts purchases over.
