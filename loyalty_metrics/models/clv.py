"""Predictive, discounted customer lifetime value from a purchase model and a spend model."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._base import TransactionModel, months_to_unit
from .gamma_gamma import GammaGammaModel

__all__ = ["clv", "clv_breakdown", "flag_clv_above_history", "predictive_clv"]


def clv(
    transaction_model: TransactionModel,
    spend_model: GammaGammaModel,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
) -> pd.Series:
    """Discounted value of each customer's expected purchases over the next months.

    Parameters
    ----------
    transaction_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A fitted purchase model.
    spend_model : GammaGammaModel
        A fitted spend model.
    summary : pandas.DataFrame
        Customers' ``frequency``, ``recency``, ``T`` and ``monetary_value``
        (:func:`loyalty_metrics.customer_summary`).
    horizon_months : int, default 12
        How many months ahead to count purchases.
    annual_discount_rate : float, default 0.10
        Discount rate **per year** (0.10 = 10%); converted to a monthly rate.
    margin : float, default 1.0
        Share of spend that is profit (1.0 values revenue).

    Returns
    -------
    pandas.Series
        ``clv`` indexed like ``summary``, in the currency of ``monetary_value``, >= 0.

    Notes
    -----
    ``CLV = margin * E[spend] * sum_{k=1..H} (E[X(k m)] - E[X((k-1) m)]) / (1 + d)^k`` where
    ``E[X(t)]`` is the customer's conditional expected purchases in the next ``t``
    (:meth:`expected_purchases`), ``m`` one month in the model's time unit (365.25 / 12 days,
    or that / 7 weeks), ``E[spend]`` the Gamma-Gamma expected average value and
    ``d = (1 + annual_discount_rate)^(1/12) - 1`` the equivalent monthly rate. Purchases of
    month ``k`` are discounted as if made at its end. (lifetimes applies its
    ``discount_rate`` per month, so a 10% value there discounts at 214% a year: its issue
    #27; here the rate is always annual.)

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics.models import BetaGeoModel, GammaGammaModel
    >>> bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> summary = pd.DataFrame({"frequency": [2, 0], "recency": [213.0, 0.0], "T": [272.0, 272.0],
    ...                         "monetary_value": [22.35, None]})
    >>> clv(bg, gg, summary).round(2).tolist()
    [36.75, 8.48]
    """
    return clv_breakdown(
        transaction_model,
        spend_model,
        summary,
        horizon_months=horizon_months,
        annual_discount_rate=annual_discount_rate,
        margin=margin,
    )["clv"]


def clv_breakdown(
    transaction_model: TransactionModel,
    spend_model: GammaGammaModel,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
) -> pd.DataFrame:
    """Per-customer CLV with its ingredients (what ``loyalty clv`` writes).

    Parameters are those of :func:`clv`.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``summary``: ``p_alive`` (0-1), ``expected_purchases`` (over the
        horizon, undiscounted), ``expected_average_value`` (currency per purchase) and
        ``clv`` (discounted, times ``margin``).

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics.models import BetaGeoModel, GammaGammaModel
    >>> bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> summary = pd.DataFrame({"frequency": [2], "recency": [213.0], "T": [272.0],
    ...                         "monetary_value": [22.35]})
    >>> clv_breakdown(bg, gg, summary).round(3).iloc[0].tolist()
    [0.727, 1.563, 24.664, 36.752]
    """
    _check_clv_options(horizon_months, annual_discount_rate, margin)
    theta = transaction_model._check_fitted()
    histories, _, inverse = transaction_model._histories(summary)
    n = len(histories.x)
    month = months_to_unit(transaction_model.time_unit)
    monthly_rate = (1.0 + annual_discount_rate) ** (1.0 / 12.0) - 1.0
    discounted = np.zeros(n)
    previous = np.zeros(n)
    for k in range(1, horizon_months + 1):  # a handful of monthly steps
        cumulative = transaction_model._expected(theta, np.full(n, k * month), histories)
        discounted += (cumulative - previous) / (1.0 + monthly_rate) ** k
        previous = cumulative
    value = spend_model.expected_average_value(summary).to_numpy()
    frame = pd.DataFrame(
        {
            "p_alive": transaction_model._p_alive(theta, histories)[inverse],
            "expected_purchases": previous[inverse],
            "expected_average_value": value,
            "clv": margin * value * discounted[inverse],
        },
        index=summary.index,
    )
    return frame


def flag_clv_above_history(
    breakdown: pd.DataFrame, summary: pd.DataFrame, *, factor: float = 5.0
) -> pd.DataFrame:
    """Mark customers whose predicted value is far above what they have ever netted.

    Parameters
    ----------
    breakdown : pandas.DataFrame
        :func:`clv_breakdown`'s table (a ``clv`` column, indexed by customer).
    summary : pandas.DataFrame
        The customer summary the models were fitted on (its ``revenue``: net history).
    factor : float, default 5
        How many times the net history the CLV must exceed.

    Returns
    -------
    pandas.DataFrame
        ``breakdown`` with ``net_history`` (net revenue so far) and ``far_above_history``
        (bool): ``clv > factor * max(net_history, 0)`` and ``clv`` above the median CLV.

    Notes
    -----
    The usual cause is a purchase reversed on another invoice (a six-figure order cancelled
    minutes later): the models see one big purchase, the books a net near 0. Linking the
    cancellation (:func:`loyalty_metrics.link_cancellations`) removes it; a flag that
    remains is worth a look by hand. The median condition keeps ordinary customers with a
    small history and a typical forecast out of the list.

    Examples
    --------
    >>> breakdown = pd.DataFrame({"clv": [9000.0, 40.0, 30.0, 25.0]}, index=["a", "b", "c", "d"])
    >>> summary = pd.DataFrame({"revenue": [2.9, 35.0, 1.0, 20.0]}, index=["a", "b", "c", "d"])
    >>> flag_clv_above_history(breakdown, summary)["far_above_history"].tolist()
    [True, False, False, False]
    """
    if not _is_number(factor) or factor <= 0:
        raise ValueError(
            "The 'factor' parameter of flag_clv_above_history must be a number > 0. "
            f"Got {factor!r} instead."
        )
    history = summary["revenue"].reindex(breakdown.index).astype("float64")
    value = breakdown["clv"].astype("float64")
    far = (value > factor * history.clip(lower=0)) & (value > value.median())
    return breakdown.assign(net_history=history, far_above_history=far.fillna(False))


#: The same function under the name the top-level API uses (``loyalty_metrics.clv`` is the
#: simple, formula-based CLV).
predictive_clv = clv


def _check_clv_options(horizon_months: Any, annual_discount_rate: Any, margin: Any) -> None:
    if (
        isinstance(horizon_months, bool)
        or not isinstance(horizon_months, int | np.integer)
        or horizon_months < 1
    ):
        raise ValueError(
            f"The 'horizon_months' parameter of clv must be an int >= 1. Got {horizon_months!r} instead."
        )
    if not _is_number(annual_discount_rate) or annual_discount_rate <= -1:
        raise ValueError(
            "The 'annual_discount_rate' parameter of clv must be a yearly rate > -1 (0.10 for "
            f"10%). Got {annual_discount_rate!r} instead."
        )
    if not _is_number(margin):
        raise ValueError(
            f"The 'margin' parameter of clv must be a finite number. Got {margin!r} instead."
        )


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.number)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )
