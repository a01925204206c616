"""NPS charts: the trend with its interval, the distribution of answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._style import (
    _DETRACTOR,
    _GREY,
    _PASSIVE,
    _PROMOTER,
    OKABE_ITO,
    _axes,
    _dates,
    _fmt,
    _format_date_axis,
    _styled,
)
from .trends import _PARTIAL_NOTE, _partial_mask, _trend_line

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@_styled
def nps_trend(
    breakdown: pd.DataFrame,
    *,
    level: float = 0.95,
    low_n: int = 30,
    status: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """NPS per period with its confidence band; low-n periods drawn as hollow markers.

    Parameters
    ----------
    breakdown : pandas.DataFrame
        :func:`loyalty_metrics.nps_breakdown` with ``freq=``: indexed by period (a
        DatetimeIndex or PeriodIndex), columns ``nps``, ``ci_low``, ``ci_high``, ``responses``
        (and ``low_n`` when present).
    level : float
        The interval's level, for the legend.
    low_n : int
        Periods with fewer responses (or flagged ``low_n``) get hollow markers.
    status : sequence of str, optional
        ``"complete"`` or ``"partial"`` per row, drawn as in :func:`kpi_trends`: a partial
        period is a hollow marker at the end of a dashed segment.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0].lines[0].get_ydata()`` is the NPS series (partial periods as NaN when
        ``status`` is given; ``lines[1]`` is then the dashed part).

    Examples
    --------
    >>> b = pd.DataFrame({"nps": [10.0, 20.0], "ci_low": [0.0, 8.0], "ci_high": [20.0, 31.0],
    ...                   "responses": [40, 12]},
    ...                  index=pd.to_datetime(["2024-01-31", "2024-02-29"]))
    >>> nps_trend(b).axes[0].lines[0].get_ydata().tolist()
    [10.0, 20.0]
    >>> nps_trend(b, status=["complete", "partial"]).axes[0].lines[1].get_linestyle()
    '--'
    """
    own = ax is None
    fig, ax = _axes(ax, (7.0, 3.4))
    x = _dates(breakdown.index)
    nps = breakdown["nps"].to_numpy(dtype="float64", na_value=np.nan)
    low = breakdown["ci_low"].to_numpy(dtype="float64", na_value=np.nan)
    high = breakdown["ci_high"].to_numpy(dtype="float64", na_value=np.nan)
    responses = breakdown["responses"].to_numpy(dtype="float64", na_value=np.nan)
    flagged = (
        breakdown["low_n"].to_numpy(dtype=bool, na_value=False)
        if "low_n" in breakdown
        else responses < low_n
    )
    partial = _partial_mask(status, len(breakdown))
    _trend_line(ax, x, breakdown["nps"], partial, OKABE_ITO[0], "NPS", partial_label=_PARTIAL_NOTE)
    ax.axhline(0, color=_GREY, linewidth=0.8, zorder=0)
    ax.fill_between(
        x,
        low,
        high,
        color=OKABE_ITO[0],
        alpha=0.18,
        linewidth=0,
        label=f"{_fmt(level * 100)}% interval",
    )
    shown = np.isfinite(nps) & ~partial  # a partial period keeps its own hollow marker
    ax.scatter(x[~flagged & shown], nps[~flagged & shown], s=22, color=OKABE_ITO[0], zorder=3)
    if (flagged & shown).any():
        ax.scatter(
            x[flagged & shown],
            nps[flagged & shown],
            s=26,
            facecolor="white",
            edgecolor=OKABE_ITO[0],
            zorder=3,
            label=f"low n (< {low_n} responses or wide interval)",
        )
    ax.set_ylabel("NPS (points, −100 to 100)")
    finite = np.concatenate(
        [low[np.isfinite(low)], high[np.isfinite(high)], nps[np.isfinite(nps)]]
    )
    if finite.size:
        pad = 5.0
        ax.set_ylim(max(-100.0, finite.min() - pad), min(100.0, finite.max() + pad))
    ax.grid(axis="y")
    _format_date_axis(ax)
    ax.set_title("NPS by period")
    if own:
        fig.legend(loc="outside lower center", ncols=3)
    else:
        ax.legend(loc="best")
    return fig


@_styled
def nps_distribution(
    scores: pd.Series | pd.DataFrame, *, counts: bool = False, ax: Axes | None = None
) -> Figure:
    """Bar chart of NPS answers 0-10, coloured detractor / passive / promoter.

    Parameters
    ----------
    scores : pandas.Series or pandas.DataFrame
        The scores, one per response (or a surveys frame: its ``score`` column).
    counts : bool
        ``scores`` already holds the number of responses per score, indexed by score 0-10.

    Returns
    -------
    matplotlib.figure.Figure
        The bar heights are the counts for scores 0..10.

    Examples
    --------
    >>> fig = nps_distribution(pd.Series([10.0, 9.0, 9.0, 3.0]))
    >>> [float(p.get_height()) for p in fig.axes[0].patches][9:]
    [2.0, 1.0]
    """
    fig, ax = _axes(ax, (6.0, 2.8))
    per_score = (
        pd.Series(scores).reindex(range(11), fill_value=0) if counts else _score_counts(scores)
    )
    colours = [_DETRACTOR] * 7 + [_PASSIVE] * 2 + [_PROMOTER] * 2
    ax.bar(per_score.index, per_score.to_numpy(dtype="float64"), color=colours, width=0.8)
    ax.set_xticks(range(11))
    ax.set_xlabel("Answer to “How likely are you to recommend us?” (0–10)")
    ax.set_ylabel("Responses")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color=_DETRACTOR, label="Detractors (0–6)"),
            Patch(color=_PASSIVE, label="Passives (7–8)"),
            Patch(color=_PROMOTER, label="Promoters (9–10)"),
        ],
        loc="upper left",
    )
    ax.set_title("Distribution of answers")
    return fig


def _score_counts(scores: pd.Series | pd.DataFrame) -> pd.Series:
    if isinstance(scores, pd.DataFrame):
        scores = scores["score"]
    values = pd.to_numeric(pd.Series(scores), errors="coerce").dropna()
    return values.round().astype("int64").value_counts().reindex(range(11), fill_value=0)
