"""The Customer Loyalty Index: one number from NPS, repeat-purchase rate and upsell share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypeVar

import numpy as np
import pandas as pd

from ._common import check_option, check_weights

__all__ = ["customer_loyalty_index"]

CLI_INPUTS = ("nps", "repeat_purchase_rate", "upsell_share")
NpsScale = Literal["points", "percent", "0-100"]
T = TypeVar("T", float, pd.Series, np.ndarray)


def customer_loyalty_index(
    nps: T,
    repeat_purchase_rate: T,
    upsell_share: T,
    *,
    weights: Mapping[str, float] | Sequence[float] | None = None,
    nps_scale: NpsScale = "points",
) -> T:
    """The (weighted) mean of NPS, repeat-purchase rate and upsell share.

    Parameters
    ----------
    nps : float, pandas.Series or numpy.ndarray
        NPS in points (-100..100).
    repeat_purchase_rate, upsell_share : float, pandas.Series or numpy.ndarray
        Percentages (0-100).
    weights : mapping or sequence, optional
        Weights of ``nps``, ``repeat_purchase_rate``, ``upsell_share`` (a mapping with those
        keys or three numbers in that order; default equal).
    nps_scale : {"points", "percent", "0-100"}, default "points"
        ``"points"`` uses NPS on its own -100..100 scale (DESIGN); ``"percent"`` (alias
        ``"0-100"``) first maps it to 0-100 as ``(nps + 100) / 2`` so all three inputs share
        one scale.

    Returns
    -------
    float, pandas.Series or numpy.ndarray
        Same shape as the inputs (a float for scalars). With ``nps_scale="points"`` the
        range is -33.3..100 under equal weights; with ``"percent"`` 0-100. Higher is better.

    Notes
    -----
    ``sum(w_i * x_i) / sum(w_i)``. NaN wherever an input is NaN (e.g. no survey: no NPS).

    Examples
    --------
    >>> customer_loyalty_index(20.0, 40.0, 30.0)  # (20 + 40 + 30) / 3
    30.0
    >>> customer_loyalty_index(20.0, 40.0, 30.0, nps_scale="percent")  # (60 + 40 + 30) / 3
    43.333333333333336
    >>> customer_loyalty_index(20.0, 40.0, 30.0, weights={"nps": 2, "repeat_purchase_rate": 1,
    ...                                                   "upsell_share": 1})  # (40 + 40 + 30) / 4
    27.5
    """
    func = "customer_loyalty_index"
    check_option(nps_scale, ("points", "percent", "0-100"), name="nps_scale", func=func)
    w = check_weights(weights, CLI_INPUTS, func=func)
    score = nps if nps_scale == "points" else (nps + 100) / 2
    total = w[0] * score + w[1] * repeat_purchase_rate + w[2] * upsell_share
    result = total / w.sum()
    # T is float, Series or ndarray; mypy cannot tie the isinstance test to the TypeVar
    if isinstance(result, pd.Series | np.ndarray):
        return result  # type: ignore[return-value]
    return float(result)  # type: ignore[return-value]
