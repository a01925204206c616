"""Matplotlib figures of the library's tables: cohorts, NPS, ladder, CLV, KPI trends, models.

Every function takes a table the library returns, draws on ``ax`` when given (else on a new
figure) and returns the :class:`matplotlib.figure.Figure`. Figures are made without pyplot, so
nothing is shown or kept in global state; they display in Jupyter and save with
``fig.savefig("chart.png")`` or :func:`figure_bytes`. Colours are colour-blind safe: Okabe-Ito
for categories and lines, viridis / cividis for heatmaps.

Every text is drawn verbatim: labels come from the data (a channel named ``$x^$``, a segment
``Save $5 or $10``), so mathtext and TeX are off, control characters are removed and labels
longer than 80 characters end in ``…``. Matplotlib's warnings while drawing (a glyph missing
from the font) go to the ``loyalty_metrics.charts`` logger, never to stderr.

Examples
--------
>>> import pandas as pd
>>> from loyalty_metrics import charts
>>> fig = charts.ladder_funnel(pd.Series({"lead": 40, "buyer": 30, "repeat": 20, "advocate": 5}))
>>> [float(p.get_width()) for p in fig.axes[0].patches]  # at each rung or above
[95.0, 55.0, 25.0, 5.0]
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ._stats import round_half_away

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "OKABE_ITO",
    "bar_chart",
    "calibration_vs_holdout",
    "clv_distribution",
    "cohort_heatmap",
    "engagement_distribution",
    "figure_bytes",
    "kpi_trends",
    "ladder_funnel",
    "nps_distribution",
    "nps_trend",
    "points_flow_chart",
    "tier_distribution_chart",
    "tier_migration_heatmap",
]

#: Okabe & Ito (2008) colour-blind-safe palette, in the order lines use it.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow (weak on white: last)
    "#000000",
)
_GREY = "#7F7F7F"
_PROMOTER, _PASSIVE, _DETRACTOR = "#009E73", "#BBBBBB", "#D55E00"

# One look for every chart (applied while artists are created).
_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "axes.prop_cycle": None,  # set below once matplotlib is imported
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "figure.dpi": 100,
    "savefig.dpi": 144,
    "svg.hashsalt": "loyalty_metrics",  # stable ids: the same figure gives the same SVG
}

# Drawn verbatim: no mathtext ($...$) nor TeX, whatever the caller's matplotlibrc says.
_VERBATIM = {"text.parse_math": False, "text.usetex": False}
_STYLE.update(_VERBATIM)
_LABEL_LIMIT = 80
# Control characters (C0 but newline, DEL, C1): invisible or drawn as boxes; tab is a space.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

logger = logging.getLogger(__name__)

_PERIOD_WORDS = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}
_STAGES = ("lead", "buyer", "repeat", "advocate")


def _styled(func: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw under the package style without touching the caller's rcParams."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        import matplotlib as mpl
        from cycler import cycler
        from matplotlib.text import Text

        given = kwargs.get("ax")
        before = set(given.figure.findobj(Text)) if given is not None else set()
        style = dict(_STYLE, **{"axes.prop_cycle": cycler(color=OKABE_ITO)})
        with mpl.rc_context(style), _warnings_logged():
            fig = func(*args, **kwargs)
        for text in fig.findobj(Text):
            if text not in before:  # the caller's own texts on a shared figure stay theirs
                text.set_parse_math(False)
                text.set_usetex(False)
                text.set_text(_verbatim(text.get_text()))
        return fig

    return wrapper


def _verbatim(text: str) -> str:
    """``text`` as it can be drawn as is: no control characters, at most 80 characters.

    Examples
    --------
    >>> _verbatim("Save $5\x07 or $10")
    'Save $5 or $10'
    >>> len(_verbatim("x" * 500))
    80
    """
    text = _CONTROL.sub("", str(text).replace("\t", " "))
    if len(text) > _LABEL_LIMIT:
        text = text[: _LABEL_LIMIT - 1] + "…"
    return text


@contextlib.contextmanager
def _warnings_logged() -> Iterator[None]:
    """Send the warnings raised inside to the logger (cron mails whatever reaches stderr)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        logger.info("matplotlib: %s", warning.message)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def figure_bytes(fig: Figure, format: Literal["png", "svg"] = "png", *, dpi: int = 144) -> bytes:
    """The figure as PNG or SVG bytes, with no timestamp so equal figures give equal bytes.

    Examples
    --------
    >>> fig = ladder_funnel(pd.Series({"lead": 3, "buyer": 2}))
    >>> figure_bytes(fig)[:4]
    b'\\x89PNG'
    """
    if format not in ("png", "svg"):
        raise ValueError(
            f"The 'format' parameter must be one of {{'png', 'svg'}}; got {format!r}."
        )
    import matplotlib as mpl

    buffer = io.BytesIO()
    metadata = {"Software": None} if format == "png" else {"Date": None, "Creator": None}
    with mpl.rc_context({"svg.hashsalt": "loyalty_metrics", **_VERBATIM}), _warnings_logged():
        fig.savefig(buffer, format=format, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Formatting helpers (display only: round half away from zero).


def _fmt(value: float, digits: int = 0, suffix: str = "") -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{round_half_away(float(value), digits):,.{digits}f}{suffix}"


def _compact(value: float) -> str:
    """12345 -> '12.3k', 2_500_000 -> '2.5M' (for cell annotations)."""
    if value is None or pd.isna(value):
        return ""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return _fmt(value / limit, 1, suffix)
    return _fmt(value, 0 if magnitude >= 100 else 1)


def _tick(value: float, _pos: int | None = None) -> str:
    """Axis ticks: 80000 -> '80k', 1500000 -> '1.5M', small numbers as they are."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def _period_word(period: str | None) -> str:
    if not period:
        return "periods"
    key = str(period).upper().lstrip("0123456789")[:1]
    return _PERIOD_WORDS.get(key, "periods")


def _period_labels(index: pd.Index) -> list[str]:
    if isinstance(index, pd.PeriodIndex):
        return [str(p) for p in index]
    if isinstance(index, pd.DatetimeIndex):
        return [d.strftime("%Y-%m-%d") for d in index]
    return [str(v) for v in index]


def _dates(index: pd.Index) -> np.ndarray:
    """x positions for a time index (period end for a PeriodIndex)."""
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp(how="end").normalize()
    return pd.DatetimeIndex(index).to_numpy(dtype="datetime64[ns]")


def _format_date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


# ---------------------------------------------------------------------------------------------
# Cohorts.


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


# ---------------------------------------------------------------------------------------------
# NPS.


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


# ---------------------------------------------------------------------------------------------
# Ladder, distributions, bars.


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


# ---------------------------------------------------------------------------------------------
# KPI trends and models.

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


@_styled
def calibration_vs_holdout(
    table: pd.DataFrame,
    *,
    max_frequency: int = 7,
    time_unit: str = "period",
    ax: Axes | None = None,
) -> Figure:
    """Actual vs predicted holdout purchases, by number of repeat purchases in calibration.

    The check of Fader, Hardie & Lee (2005, fig. 4): customers are grouped by their
    calibration-period repeat purchases (the last group is ``max_frequency`` or more) and the
    mean holdout purchases predicted by the model are set against the actual ones.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per customer with ``frequency_cal`` (repeat purchases in calibration),
        ``frequency_holdout`` (actual purchases in the holdout) and ``predicted_holdout``
        (the model's expectation), or already grouped with ``actual`` and ``predicted``
        indexed by calibration frequency.

    Returns
    -------
    matplotlib.figure.Figure
        ``lines[0]`` actual, ``lines[1]`` predicted means per group.

    Examples
    --------
    >>> t = pd.DataFrame({"frequency_cal": [0, 0, 1, 2], "frequency_holdout": [0, 1, 1, 3],
    ...                   "predicted_holdout": [0.4, 0.4, 1.1, 2.5]})
    >>> fig = calibration_vs_holdout(t)
    >>> fig.axes[0].lines[0].get_ydata().tolist()
    [0.5, 1.0, 3.0]
    """
    grouped = _calibration_groups(table, max_frequency)
    fig, ax = _axes(ax, (6.0, 3.2))
    x = np.arange(len(grouped))
    ax.plot(x, grouped["actual"], marker="o", color=OKABE_ITO[0], label="actual")
    ax.plot(x, grouped["predicted"], marker="s", linestyle="--", color=OKABE_ITO[1], label="model")
    labels = [
        str(int(v)) if isinstance(v, int | float | np.integer | np.floating) else str(v)
        for v in grouped.index
    ]
    if (
        len(labels)
        and "+" not in labels[-1]
        and isinstance(grouped.index[-1], int | float | np.integer | np.floating)
        and int(grouped.index[-1]) >= max_frequency
    ):
        labels[-1] += "+"
    if "customers" in grouped:
        # n under each group: a point over 12 customers is not one over 1,000
        labels = [
            f"{label}\nn={_fmt(n)}" for label, n in zip(labels, grouped["customers"], strict=True)
        ]
    ax.set_xticks(x, [_verbatim(label) for label in labels])
    ax.set_xlabel(f"Repeat purchases in the calibration {time_unit}")
    ax.set_ylabel("Mean purchases in the holdout")
    ax.grid(axis="y")
    ax.legend(loc="upper left")
    ax.set_title("Calibration vs holdout")
    return fig


def _calibration_groups(table: pd.DataFrame, max_frequency: int) -> pd.DataFrame:
    if {"actual", "predicted"} <= set(table.columns):
        return table
    group = np.minimum(table["frequency_cal"].to_numpy(dtype="float64"), max_frequency)
    grouped = table.groupby(group)
    return pd.DataFrame(
        {
            "actual": grouped["frequency_holdout"].mean(),
            "predicted": grouped["predicted_holdout"].mean(),
            "customers": grouped.size(),
        }
    )


# ---------------------------------------------------------------------------------------------
# The points programme.


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
