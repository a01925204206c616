"""The points programme: points flow, tier migration and tier distribution."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._style import _GREY, OKABE_ITO, _axes, _dates, _fmt, _format_date_axis, _styled, _tick

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@_styled
def points_flow_chart(flow: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Points issued (up), redeemed and expired (down) per period, and the balance.

    Parameters
    ----------
    flow : pandas.DataFrame
        :func:`loyalty_metrics.points_flow`: indexed by period end, with ``issued``,
        ``redeemed``, ``expired`` and ``outstanding``.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of on a new figure (the balance goes on a twin axis).

    Returns
    -------
    matplotlib.figure.Figure
        ``axes[0].containers`` are the issued, redeemed and expired bars (redeemed and
        expired drawn below zero, expired stacked under redeemed); the twin axis's
        ``lines[0]`` is the outstanding balance at each period's end.

    Examples
    --------
    >>> flow = pd.DataFrame({"issued": [100.0, 50.0], "redeemed": [0.0, 40.0],
    ...                      "expired": [0.0, 10.0], "outstanding": [100.0, 100.0]},
    ...                     index=pd.to_datetime(["2024-01-31", "2024-02-29"]))
    >>> fig = points_flow_chart(flow)
    >>> [[float(bar.get_height()) for bar in c] for c in fig.axes[0].containers]
    [[100.0, 50.0], [0.0, -40.0], [0.0, -10.0]]
    >>> fig.axes[1].lines[0].get_ydata().tolist()
    [100.0, 100.0]
    """
    from matplotlib.ticker import FuncFormatter

    fig, ax = _axes(ax, (7.5, 3.4))
    x = _dates(flow.index)
    days = np.diff(x).min() / np.timedelta64(1, "D") if len(x) > 1 else 30
    width = np.timedelta64(max(1, int(0.7 * days)), "D")
    issued = flow["issued"].to_numpy(dtype="float64", na_value=np.nan)
    redeemed = flow["redeemed"].to_numpy(dtype="float64", na_value=np.nan)
    expired = flow["expired"].to_numpy(dtype="float64", na_value=np.nan)
    ax.bar(x, issued, width=width, color=OKABE_ITO[0], label="issued")
    ax.bar(x, -redeemed, width=width, color=OKABE_ITO[1], label="redeemed")
    ax.bar(x, -expired, width=width, bottom=-redeemed, color=_GREY, label="expired")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("Points per period")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _tick(abs(v))))
    ax.grid(axis="y")
    balance = ax.twinx()
    balance.plot(
        x,
        flow["outstanding"].to_numpy(dtype="float64", na_value=np.nan),
        color=OKABE_ITO[3],
        marker="o",
        markersize=3,
        label="outstanding (right axis)",
    )
    balance.set_ylabel("Outstanding points")
    balance.yaxis.set_major_formatter(FuncFormatter(_tick))
    balance.spines["right"].set_visible(True)
    low, high = balance.get_ylim()
    balance.set_ylim(min(0.0, low), high)
    handles = ax.get_legend_handles_labels()
    extra = balance.get_legend_handles_labels()
    ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper left", ncols=4)
    _format_date_axis(ax)
    return fig


@_styled
def tier_migration_heatmap(matrix: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """The tier migration matrix: cells coloured by row share, annotated with counts.

    Parameters
    ----------
    matrix : pandas.DataFrame
        :func:`loyalty_metrics.tier_migration`: counts, rows = tier at the start (``new``
        first), columns = tier at the end, tiers from lowest to highest.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0].images[0].get_array()`` holds each cell's share of its row (percent,
        masked for an empty row); the texts are the counts.

    Examples
    --------
    >>> m = pd.DataFrame([[3, 1], [2, 2], [0, 0]], index=["new", "base", "silver"],
    ...                  columns=["base", "silver"])
    >>> fig = tier_migration_heatmap(m)
    >>> fig.axes[0].images[0].get_array().tolist()
    [[75.0, 25.0], [50.0, 50.0], [None, None]]
    """
    import matplotlib as mpl

    counts = matrix.to_numpy(dtype="float64")
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, 100 * counts / totals, np.nan)
    n_rows, n_cols = counts.shape
    fig, ax = _axes(ax, (min(max(4.0, 1.8 + 0.9 * n_cols), 10.0), min(max(2.6, 1.2 + 0.5 * n_rows), 8.0)))  # fmt: skip
    cmap = mpl.colormaps["viridis"].with_extremes(bad="white")
    image = ax.imshow(np.ma.masked_invalid(shares), cmap=cmap, vmin=0, vmax=100, aspect="auto")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.01)
    colorbar.set_label("Share of the row (%)")
    colorbar.outline.set_visible(False)
    ax.set_xticks(range(n_cols), [str(c) for c in matrix.columns])
    ax.set_yticks(range(n_rows), [str(r) for r in matrix.index])
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("Tier at the end")
    ax.set_ylabel("Tier at the start")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    for r in range(n_rows):
        for c in range(n_cols):
            share = shares[r, c]
            red, green, blue, _ = cmap(image.norm(0 if np.isnan(share) else share))
            dark = 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.45 or np.isnan(share)
            ax.text(c, r, _fmt(counts[r, c]), ha="center", va="center",
                    color="black" if dark else "white")  # fmt: skip
    return fig


@_styled
def tier_distribution_chart(distribution: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Customers per tier at each period's end, as stacked bars (lowest tier at the bottom).

    Parameters
    ----------
    distribution : pandas.DataFrame
        :func:`loyalty_metrics.tier_distribution`: indexed by period end, one column per tier
        from the lowest to the highest.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        ``axes[0].containers`` hold one bar series per tier, in column order.

    Examples
    --------
    >>> d = pd.DataFrame({"base": [5, 6], "gold": [1, 2]},
    ...                  index=pd.to_datetime(["2024-01-31", "2024-02-29"]))
    >>> fig = tier_distribution_chart(d)
    >>> [[float(b.get_height()) for b in c] for c in fig.axes[0].containers]
    [[5.0, 6.0], [1.0, 2.0]]
    """
    from matplotlib.ticker import FuncFormatter

    fig, ax = _axes(ax, (7.5, 3.0))
    x = _dates(distribution.index)
    days = np.diff(x).min() / np.timedelta64(1, "D") if len(x) > 1 else 30
    width = np.timedelta64(max(1, int(0.7 * days)), "D")
    bottom = np.zeros(len(distribution))
    for i, tier in enumerate(distribution.columns):
        values = distribution[tier].to_numpy(dtype="float64", na_value=0.0)
        ax.bar(x, values, width=width, bottom=bottom, label=str(tier),
               color=OKABE_ITO[i % len(OKABE_ITO)])  # fmt: skip
        bottom += values
    ax.set_ylabel("Customers")
    ax.yaxis.set_major_formatter(FuncFormatter(_tick))
    ax.grid(axis="y")
    ax.legend(loc="upper left", ncols=len(distribution.columns), title=None)
    _format_date_axis(ax)
    return fig
