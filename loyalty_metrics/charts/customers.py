"""Customer charts: the loyalty ladder funnel, CLV and engagement histograms, bar charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._style import _GREY, _STAGES, OKABE_ITO, _axes, _compact, _fmt, _styled, _verbatim

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_RUNG_LABELS = {
    "lead": "Known (lead or above)",
    "buyer": "Buyers or above",
    "repeat": "Repeat buyers or above",
    "advocate": "Advocates",
}


@_styled
def ladder_funnel(ladder: pd.Series | pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Funnel of the loyalty ladder: customers who reached each rung, lead -> advocate.

    Each bar counts the customers at that rung *or above* (all known customers, then those
    who bought, bought again, became advocates), so the funnel narrows; the label gives the
    share of all known customers and the conversion from the rung above.

    Parameters
    ----------
    ladder : pandas.Series or pandas.DataFrame
        Customers per stage (counts indexed by stage), or one stage per customer (a Series of
        stage names, or a frame with a ``stage`` column) as
        :func:`loyalty_metrics.loyalty_ladder` returns.

    Returns
    -------
    matplotlib.figure.Figure
        One centred horizontal bar per rung, top to bottom; its width is the number of
        customers at that rung or above.

    Examples
    --------
    >>> fig = ladder_funnel(pd.Series(["lead", "buyer", "repeat", "buyer"], name="stage"))
    >>> [float(p.get_width()) for p in fig.axes[0].patches]
    [4.0, 3.0, 1.0, 0.0]
    """
    counts = _stage_counts(ladder)
    fig, ax = _axes(ax, (6.5, 0.55 * len(counts) + 1.0))
    exclusive = counts.to_numpy(dtype="float64")
    reached = exclusive[::-1].cumsum()[::-1]  # at this rung or above
    total = float(reached[0]) if len(reached) else 0.0
    positions = np.arange(len(counts))
    colours = [OKABE_ITO[i % len(OKABE_ITO)] for i in (5, 0, 2, 1)][: len(counts)]
    colours += [_GREY] * (len(counts) - len(colours))
    widest = reached.max(initial=0)
    ax.barh(positions, reached, left=(widest - reached) / 2, color=colours, height=0.72)
    for i, (y, count) in enumerate(zip(positions, reached, strict=True)):
        # Labels to the right of the funnel: narrow rungs cannot hold them.
        share = _fmt(100 * count / total, 1, "%") if total else "–"
        ax.text(
            widest * 1.04,
            y,
            f"{_fmt(count)}  ({share} of known)",
            ha="left",
            va="bottom" if i else "center",
            fontsize=8.5,
        )
        if i and reached[i - 1]:
            ax.text(
                widest * 1.04,
                y,
                f"{_fmt(100 * count / reached[i - 1], 1, '%')} of the rung above",
                ha="left",
                va="top",
                fontsize=7.5,
                color=_GREY,
            )
    ax.set_xlim(0, widest * 1.75 if widest else 1.0)
    ax.set_yticks(
        positions, [_verbatim(_RUNG_LABELS.get(str(s), str(s).capitalize())) for s in counts.index]
    )
    ax.set_ylim(len(counts) - 0.5, -0.5)
    ax.set_xticks([])
    for side in ("bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.set_title(f"Loyalty ladder (n = {_fmt(total)} known customers)")
    return fig


def _stage_counts(ladder: pd.Series | pd.DataFrame) -> pd.Series:
    if isinstance(ladder, pd.DataFrame):
        column = "stage" if "stage" in ladder else ladder.columns[0]
        ladder = ladder[column]
    numeric = pd.api.types.is_numeric_dtype(ladder) and not isinstance(
        ladder.dtype, pd.CategoricalDtype
    )
    counts = ladder if numeric else ladder.astype("str").value_counts()
    stages = [s for s in _STAGES if s in counts.index or not numeric]
    extra = [s for s in counts.index if s not in _STAGES]
    return counts.reindex(stages + extra, fill_value=0)


def _binned(values: pd.Series | pd.DataFrame) -> bool:
    return isinstance(values, pd.DataFrame) and {"left", "right", "customers"} <= set(values)


def _histogram(
    ax: Axes,
    values: pd.Series | pd.DataFrame,
    *,
    bins: int,
    value_range: tuple[float, float] | None,
    clip_quantile: float,
    colour: str,
) -> tuple[int, float, float | None, np.ndarray]:
    """Draw a histogram of raw values or of pre-computed bins; return n, cap, mean, data."""
    if _binned(values):
        left = values["left"].to_numpy(dtype="float64")
        right = values["right"].to_numpy(dtype="float64")
        counts = values["customers"].to_numpy(dtype="float64")
        ax.bar(
            left,
            counts,
            width=right - left,
            align="edge",
            color=colour,
            edgecolor="white",
            linewidth=0.5,
        )
        open_right = bool(values["open_right"].any()) if "open_right" in values else False
        cap = float(right[-1]) if open_right and len(right) else float("nan")
        return int(counts.sum()), cap, None, np.array([])
    if isinstance(values, pd.DataFrame):
        values = values["score"]
    data = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype="float64")
    if not data.size:
        return 0, float("nan"), None, data
    if value_range is None:
        cap = float(np.quantile(data, clip_quantile))
        low = float(data.min())
        value_range = (low, cap if cap > low else low + 1.0)
    shown = np.clip(data, *value_range)
    ax.hist(shown, bins=bins, range=value_range, color=colour, edgecolor="white", linewidth=0.5)
    clipped = float(value_range[1]) if (data > value_range[1]).any() else float("nan")
    return len(data), clipped, float(data.mean()), data


@_styled
def clv_distribution(
    values: pd.Series | pd.DataFrame,
    *,
    currency: str | None = None,
    label: str = "CLV",
    bins: int = 30,
    clip_quantile: float = 0.99,
    mean: float | None = None,
    median: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Histogram of customer lifetime values, with the mean and median marked.

    Parameters
    ----------
    values : pandas.Series or pandas.DataFrame
        One value per customer (e.g. :func:`loyalty_metrics.historic_clv` or a predictive
        CLV), or pre-computed bins: a frame with ``left``, ``right``, ``customers`` (and
        ``open_right`` for a last bin that holds everything above it).
    currency : str, optional
        Unit shown on the axis.
    bins : int
        Number of bars for raw values.
    clip_quantile : float
        Raw values above this quantile are counted in the last bar (a long tail would squash
        the rest); the title says so.
    mean, median : float, optional
        Marked with vertical lines; computed from raw values when not given.

    Returns
    -------
    matplotlib.figure.Figure
        The bars' heights are the customers per bin.

    Examples
    --------
    >>> fig = clv_distribution(pd.Series([10.0, 20.0, 20.0, 40.0]), bins=3, clip_quantile=1.0)
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [1.0, 2.0, 1.0]
    """
    fig, ax = _axes(ax, (6.5, 3.0))
    n, cap, raw_mean, data = _histogram(
        ax, values, bins=bins, value_range=None, clip_quantile=clip_quantile, colour=OKABE_ITO[0]
    )
    unit = f" ({currency})" if currency else ""
    mean = raw_mean if mean is None else mean
    if median is None and data.size:
        median = float(np.median(data))
    right = ax.get_xlim()[1]
    if mean is not None and not pd.isna(mean):
        ax.axvline(
            min(mean, right),
            color=OKABE_ITO[3],
            linewidth=1.4,
            label=f"mean {_fmt(mean, 2)}{unit}",
        )
    if median is not None and not pd.isna(median):
        ax.axvline(
            min(median, right),
            color=OKABE_ITO[1],
            linewidth=1.4,
            linestyle="--",
            label=f"median {_fmt(median, 2)}{unit}",
        )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right")
    title = f"{label} (n = {_fmt(n)} customers)"
    if not pd.isna(cap):
        # The last bar holds the tail: say so on the bar itself.
        patch = ax.patches[-1] if ax.patches else None
        if patch is not None:
            ax.annotate(
                f"≥ {_compact(cap)}",
                (patch.get_x() + patch.get_width() / 2, patch.get_height()),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7.5,
                color=_GREY,
            )
    ax.set_xlabel(f"{label}{unit}")
    ax.set_ylabel("Customers")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.set_title(title)
    return fig


@_styled
def engagement_distribution(
    scores: pd.Series | pd.DataFrame,
    *,
    bins: int = 20,
    mean: float | None = None,
    inactive: int | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Histogram of the engagement scores (0-100) of the active customers.

    Known customers without an event in the window score 0; they usually outnumber the rest,
    so they are counted in the title instead of drawn as one tall bar.

    Parameters
    ----------
    scores : pandas.Series or pandas.DataFrame
        :func:`loyalty_metrics.engagement_scores` (its ``score`` column is used), the scores,
        or pre-computed bins of the active customers (``left``, ``right``, ``customers``).
    mean : float, optional
        The mean score over all known customers (marked); computed from raw scores.
    inactive : int, optional
        Customers scoring 0 (with pre-computed bins; counted from raw scores).

    Examples
    --------
    >>> fig = engagement_distribution(pd.Series([0.0, 0.0, 25.0, 100.0]), bins=2)
    >>> [float(p.get_height()) for p in fig.axes[0].patches], fig.axes[0].get_title()
    ([1.0, 1.0], 'Engagement of the 2 active customers (2 inactive scored 0)')
    """
    fig, ax = _axes(ax, (6.5, 3.0))
    if not _binned(scores):
        if isinstance(scores, pd.DataFrame):
            scores = scores["score"]
        values = pd.to_numeric(pd.Series(scores), errors="coerce").dropna()
        mean = float(values.mean()) if mean is None and len(values) else mean
        inactive = int((values <= 0).sum())
        scores = values.loc[values > 0]
    n, _, _, _ = _histogram(
        ax, scores, bins=bins, value_range=(0.0, 100.0), clip_quantile=1.0, colour=OKABE_ITO[2]
    )
    if mean is not None and not pd.isna(mean):
        ax.axvline(
            mean,
            color=OKABE_ITO[3],
            linewidth=1.4,
            label=f"mean of all known customers {_fmt(mean, 1)}",
        )
        ax.legend(loc="upper right")
    ax.set_xlim(0, 100)
    ax.set_xlabel("Engagement score (0–100, percentile-based)")
    ax.set_ylabel("Customers")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    title = f"Engagement of the {_fmt(n)} active customers"
    if inactive:
        title += f" ({_fmt(inactive)} inactive scored 0)"
    ax.set_title(title)
    return fig


@_styled
def bar_chart(
    values: pd.Series,
    *,
    low: pd.Series | None = None,
    high: pd.Series | None = None,
    low_n: pd.Series | None = None,
    xlabel: str = "",
    title: str = "",
    digits: int = 1,
    suffix: str = "",
    ax: Axes | None = None,
) -> Figure:
    """Horizontal bars, one per index label, with optional interval whiskers.

    Used for repeat rate by cohort, RFM segments, LTV:CAC by channel and programme impact.

    Parameters
    ----------
    values : pandas.Series
        One value per bar, labelled by the index (top to bottom in index order).
    low, high : pandas.Series, optional
        Interval bounds (same index): drawn as whiskers.
    low_n : pandas.Series of bool, optional
        Bars to flag as low n: drawn lighter and labelled "low n".
    xlabel, title : str
        Axis label (with the unit) and title.
    digits, suffix : int, str
        Value labels: rounded half away from zero to ``digits``, then ``suffix`` ("%").

    Returns
    -------
    matplotlib.figure.Figure
        The bars' widths are the values (0 for NaN, which is labelled "n/a").

    Examples
    --------
    >>> fig = bar_chart(pd.Series({"a": 10.0, "b": 25.0}), xlabel="Rate (%)")
    >>> [float(p.get_width()) for p in fig.axes[0].patches]
    [10.0, 25.0]
    """
    values = pd.Series(values)
    fig, ax = _axes(ax, (6.5, 0.3 * len(values) + 1.0))
    y = np.arange(len(values))
    widths = values.to_numpy(dtype="float64", na_value=np.nan)
    flagged = (
        pd.Series(low_n).reindex(values.index).fillna(False).to_numpy(dtype=bool)
        if low_n is not None
        else np.zeros(len(values), dtype=bool)
    )
    colours = [OKABE_ITO[5] if f else OKABE_ITO[0] for f in flagged]
    ax.barh(y, np.nan_to_num(widths), color=colours, height=0.65)
    ends = np.nan_to_num(widths)
    if low is not None and high is not None:
        lo = pd.Series(low).reindex(values.index).to_numpy(dtype="float64", na_value=np.nan)
        hi = pd.Series(high).reindex(values.index).to_numpy(dtype="float64", na_value=np.nan)
        err = np.vstack([np.clip(widths - lo, 0, None), np.clip(hi - widths, 0, None)])
        ax.errorbar(
            np.nan_to_num(widths),
            y,
            xerr=np.nan_to_num(err),
            fmt="none",
            ecolor="#333333",
            elinewidth=0.9,
            capsize=2.5,
        )
        ends = np.fmax(ends, np.nan_to_num(hi))
    finite = np.abs(ends[np.isfinite(ends)])
    span = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    for yi, width, end, flag in zip(y, widths, ends, flagged, strict=True):
        # Labels right of the bar or of its whisker, never on top of it.
        text = _fmt(width, digits, suffix) if np.isfinite(width) else "n/a"
        if flag:
            text += "  low n"
        ax.text(max(end, 0) + span * 0.015, yi, text, va="center", fontsize=8)
    ax.set_xlim(min(0.0, float(np.nanmin(ends)) if ends.size else 0.0), span * 1.15)
    ax.set_yticks(y, [_verbatim(v) for v in values.index])  # tick labels are not Text yet
    ax.set_ylim(len(values) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel(xlabel)
    ax.axvline(0, color=_GREY, linewidth=0.8)
    ax.grid(axis="x")
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title)
    return fig
