"""Cohort heatmap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ._style import _GREY, _axes, _compact, _fmt, _period_labels, _period_word, _styled, _verbatim

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@_styled
def cohort_heatmap(
    table: pd.DataFrame,
    *,
    status: pd.DataFrame | None = None,
    values: Literal["retention", "revenue", "customers", "cumulative_revenue_per_customer"]
    | str = "retention",
    period: str | None = "M",
    currency: str | None = None,
    annotate: bool | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Heatmap of a cohort table, cells annotated, partial cells hatched, unreachable blank.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`loyalty_metrics.cohort_table` output: one row per cohort, one column per number
        of periods since acquisition; NaN cells (not observable at ``end``) stay blank.
    status : pandas.DataFrame, optional
        Same shape, ``"complete"``, ``"partial"`` or ``"unreachable"`` per cell
        (:func:`loyalty_metrics.cohort_cell_status`); partial cells are hatched.
    values : str
        What the cells hold (sets the colour scale, the annotation format and the label).
    period : str
        The cohort period (``"M"``, ``"Q"``...), for the axis labels.
    currency : str, optional
        Shown in the colour-bar label of money values.
    annotate : bool, optional
        Write the value in each cell; default when there are at most 30 columns.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0].images[0].get_array()`` holds the plotted values (masked where NaN).

    Examples
    --------
    >>> t = pd.DataFrame({0: [100.0, 100.0], 1: [40.0, float("nan")]}, index=["2024-01", "2024-02"])
    >>> fig = cohort_heatmap(t)
    >>> fig.axes[0].images[0].get_array().tolist()
    [[100.0, 40.0], [100.0, None]]
    """
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    data = table.to_numpy(dtype="float64", na_value=np.nan)
    n_rows, n_cols = data.shape
    width = min(max(4.0, 1.4 + 0.42 * n_cols), 12.0)
    height = min(max(2.4, 1.0 + 0.28 * n_rows), 10.0)
    fig, ax = _axes(ax, (width, height))
    masked = np.ma.masked_invalid(data)

    is_money = values in ("revenue", "cumulative_revenue_per_customer")
    if values == "retention":
        # Period 0 is 100% by construction: scale the colours on the later periods.
        later = data[:, 1:] if n_cols > 1 else data
        vmax = float(np.nanmax(later)) if np.isfinite(later).any() else 100.0
        vmax = max(vmax, 1.0)
        cmap, vmin = mpl.colormaps["viridis"], 0.0
        label = "Retention (% of cohort)"
    else:
        vmin = 0.0
        vmax = float(np.nanmax(data)) if np.isfinite(data).any() else 1.0
        cmap = mpl.colormaps["cividis"]
        label = {
            "customers": "Active customers",
            "revenue": "Revenue",
            "cumulative_revenue_per_customer": "Cumulative revenue per customer",
        }.get(str(values), str(values))
        if is_money and currency:
            label += f" ({currency})"
    cmap = cmap.with_extremes(bad="white")
    image = ax.imshow(
        masked, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest"
    )
    finite = data[np.isfinite(data)]
    extend = "max" if finite.size and float(finite.max()) > vmax else "neither"
    colorbar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.01, extend=extend)
    colorbar.set_label(label)
    colorbar.outline.set_visible(False)

    ax.set_xticks(range(n_cols), [_verbatim(c) for c in table.columns])
    ax.set_yticks(range(n_rows), [_verbatim(c) for c in _period_labels(table.index)])
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(f"{_period_word(period).capitalize()} since first purchase")
    ax.set_ylabel("Cohort (first purchase)")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()

    if annotate is None:
        annotate = n_cols <= 30
    if annotate:
        size = max(5.0, min(8.5, 180.0 / max(n_cols, 1)))
        norm = image.norm
        rows, cols = np.nonzero(np.isfinite(data))
        for r, c in zip(rows, cols, strict=True):
            value = data[r, c]
            text = _fmt(value, 0, "%") if values == "retention" else _compact(value)
            red, green, blue, _ = cmap(norm(value))
            # Dark text on light cells, white on dark ones (relative luminance).
            luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
            ax.text(
                c,
                r,
                text,
                ha="center",
                va="center",
                fontsize=size,
                color="black" if luminance > 0.45 else "white",
            )

    if status is not None:
        partial = status.reindex(index=table.index, columns=table.columns).to_numpy() == "partial"
        for r, c in zip(*np.nonzero(partial), strict=True):
            ax.add_patch(
                Rectangle(
                    (c - 0.5, r - 0.5),
                    1,
                    1,
                    fill=False,
                    hatch="////",
                    edgecolor="#FFFFFF",
                    linewidth=0,
                    alpha=0.8,
                )
            )
        if partial.any():
            ax.add_patch(
                Rectangle(
                    (0, 0),
                    0,
                    0,
                    fill=False,
                    hatch="////",
                    edgecolor=_GREY,
                    label="partial: the period holding the as-of date",
                )
            )
            ax.legend(loc="upper left", bbox_to_anchor=(0, -0.02), fontsize=8)
    return fig
