"""KPI trends: one small panel per KPI, partial periods dashed and hollow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._style import OKABE_ITO, _dates, _format_date_axis, _styled, _tick

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Axis labels of the KPI series (unit in brackets).
KPI_LABELS = {
    "customers": "Customers",
    "new_customers": "New customers",
    "purchases": "Purchases",
    "revenue": "Revenue",
    "average_ticket": "Average ticket",
    "purchase_frequency": "Purchases per customer",
    "repeat_purchase_rate": "Repeat-purchase rate (%)",
    "upsell_ratio": "Upsell ratio",
    "upsell_share": "Upsell share (%)",
    "nps": "NPS (points)",
    "responses": "Survey responses",
    "csat": "CSAT (%)",
    "customer_loyalty_index": "Customer Loyalty Index",
    "churn_rate": "Churn rate (%)",
    "retention_rate": "Retention rate (%)",
    "clv": "CLV",
    "cac": "CAC",
    "ltv_cac_ratio": "LTV:CAC",
    "engagement_score": "Engagement score",
}
_MONEY = ("revenue", "average_ticket", "clv", "cac")


@_styled
def kpi_trends(
    frame: pd.DataFrame,
    keys: Sequence[str] | None = None,
    *,
    currency: str | None = None,
    ncols: int = 3,
    status: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Period-over-period KPI lines: one small panel per KPI (or all on ``ax``).

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`loyalty_metrics.kpis_by_period`: indexed by period end, one column per KPI.
    keys : sequence of str, optional
        The KPIs to draw; default the columns that have at least two values (up to 9): a
        single point is no trend.
    status : sequence of str, optional
        ``"complete"`` or ``"partial"`` per row (:func:`loyalty_metrics._window.period_status`):
        partial periods are drawn with a hollow marker at the end of a dashed segment, so a
        9-day month does not read as a collapse.
    ax : matplotlib.axes.Axes, optional
        Draw every KPI as a line on this axes (same scale: pick comparable KPIs).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per KPI, titled with its label; ``lines[0]`` holds the values (partial
        periods as NaN when ``status`` is given; ``lines[1]`` is then the dashed part).

    Examples
    --------
    >>> f = pd.DataFrame({"revenue": [10.0, 12.0, 1.0], "nps": [5.0, 9.0, 7.0]},
    ...                  index=pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-09"]))
    >>> fig = kpi_trends(f, status=["complete", "complete", "partial"])
    >>> [a.get_title() for a in fig.axes], fig.axes[1].lines[0].get_ydata().tolist()
    (['Revenue', 'NPS (points)'], [5.0, 9.0, nan])
    >>> fig.axes[1].lines[1].get_linestyle(), fig.axes[1].lines[1].get_ydata().tolist()
    ('--', [9.0, 7.0])
    """
    if keys is None:
        keys = [k for k in frame.columns if frame[k].notna().sum() >= 2][:9]
    keys = list(keys)
    x = _dates(frame.index)
    partial = _partial_mask(status, len(frame))
    if ax is not None:
        fig = ax.figure
        for i, key in enumerate(keys):
            _trend_line(
                ax,
                x,
                frame[key],
                partial,
                OKABE_ITO[i % len(OKABE_ITO)],
                _kpi_label(key, currency),
            )
        ax.legend(loc="best")
        ax.grid(axis="y")
        _format_date_axis(ax)
        return fig
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    ncols = max(1, min(ncols, len(keys)))
    nrows = max(1, -(-len(keys) // ncols))
    fig = Figure(figsize=(3.4 * ncols, 2.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    for i, key in enumerate(keys):
        panel = axes[i // ncols][i % ncols]
        _trend_line(panel, x, frame[key], partial, OKABE_ITO[0], None)
        panel.set_title(_kpi_label(key, currency), fontsize=9.5)
        panel.yaxis.set_major_formatter(FuncFormatter(_tick))
        panel.grid(axis="y")
        _format_date_axis(panel)
    for j in range(len(keys), nrows * ncols):
        fig.delaxes(axes[j // ncols][j % ncols])
    if partial.any():
        fig.supxlabel(f"dashed, hollow: {_PARTIAL_NOTE}", fontsize=8)
    return fig


def _trend_line(
    ax: Axes,
    x: np.ndarray,
    values: pd.Series,
    partial: np.ndarray,
    color: str,
    label: str | None,
    *,
    partial_label: str | None = None,
) -> None:
    """Complete periods as a solid line; each partial one dashed from its neighbour, hollow.

    ``partial_label`` names the first hollow marker in the legend (for a single-axes chart).
    """
    y = values.to_numpy(dtype="float64", na_value=np.nan)
    solid = np.where(partial, np.nan, y)
    ax.plot(x, solid, marker="o", markersize=3, linewidth=1.5, color=color, label=label)
    for n, i in enumerate(np.flatnonzero(partial)):
        near = [j for j in (i - 1, i + 1) if 0 <= j < len(y) and not partial[j]]
        pair = sorted([i, *near[:1]])
        ax.plot(x[pair], y[pair], linestyle="--", linewidth=1.2, color=color)
        ax.plot(
            x[i],
            y[i],
            marker="o",
            markersize=5,
            markerfacecolor="white",
            color=color,
            label=partial_label if n == 0 else None,
        )


_PARTIAL_NOTE = "partial period (not all its days are in the data)"


def _partial_mask(status: Sequence[str] | None, length: int) -> np.ndarray:
    """True where ``status`` says ``"partial"``; all False without a status."""
    if status is None:
        return np.zeros(length, dtype=bool)
    return np.asarray([s == "partial" for s in status], dtype=bool)


def _kpi_label(key: str, currency: str | None) -> str:
    label = KPI_LABELS.get(key, key.replace("_", " ").capitalize())
    if key in _MONEY and currency:
        label += f" ({currency})"
    return label
