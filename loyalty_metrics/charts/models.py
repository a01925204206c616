"""Model checks: calibration vs holdout purchases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._style import OKABE_ITO, _axes, _fmt, _styled, _verbatim

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
