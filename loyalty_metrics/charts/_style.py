"""The charts' shared look: palette, rcParams, verbatim texts, figure creation, number and
date formatting."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._stats import round_half_away

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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

# one logger for the package, as when it was one module
logger = logging.getLogger("loyalty_metrics.charts")

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

    locator = _remembering_date_locator()(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


@functools.cache
def _remembering_date_locator() -> type:
    """``AutoDateLocator`` that keeps the ticks of the last view interval it was asked about.

    Matplotlib asks an axis for its ticks a dozen times per figure (each layout pass, the
    label and title positions, the draw), and the date rules behind each answer are the
    slowest part of drawing a date axis. The ticks depend on the view interval alone, so
    the same interval gets the same ticks.
    """
    import matplotlib.dates as mdates

    class RememberingDateLocator(mdates.AutoDateLocator):
        _last: tuple[tuple[float, float], np.ndarray] | None = None

        def __call__(self) -> np.ndarray:
            interval = tuple(self.axis.get_view_interval()) if self.axis else None
            if interval is None:
                return super().__call__()
            if self._last is None or self._last[0] != interval:
                self._last = (interval, np.asarray(super().__call__()))
            return self._last[1].copy()

    return RememberingDateLocator
