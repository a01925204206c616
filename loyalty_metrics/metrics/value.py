"""Customer value and acquisition cost: simple CLV, historic CLV, CAC, LTV/CAC, payback."""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
import pandas as pd

from .. import caveats
from .._window import DateLike, Window
from ..errors import ConfigError
from ..orders import order_kernel
from ..summary import is_customer_summary, summary_window
from ._common import (
    check_number,
    check_option,
    get_summary,
    new_customer_mask,
    parse_span,
)
from .registry import (
    churn_value,
    clv_value,
    lifespan_from_churn,
    metric,
    summary_aggregates,
)
from .retention import churn_counts

__all__ = ["cac", "cac_payback_months", "clv", "historic_clv", "ltv_cac_ratio"]

_YEAR = "365D"


# ---------------------------------------------------------------------------------------------
# Building blocks (also used by kpis(), which has the summaries already).


def revenue_per_customer_year(summary: pd.DataFrame) -> float:
    """Net revenue / customers / window years (= average ticket * purchases per customer-year)."""
    a = summary_aggregates(summary)
    return clv_value(a["revenue"], a["customers"], a["window_days"], 1.0, 1.0)


def clv_from(summary: pd.DataFrame, *, lifespan_years: float, margin: float) -> float:
    """Simple CLV from a summary and a lifespan (the registry's formula)."""
    a = summary_aggregates(summary)
    return clv_value(a["revenue"], a["customers"], a["window_days"], lifespan_years, margin)


def yearly_churn(orders: pd.DataFrame, end: pd.Timestamp) -> float:
    """churn_rate(period="365D") as of ``end`` (NaN for an empty window)."""
    if pd.isna(end):
        return float("nan")
    span = parse_span(_YEAR, name="period", func="clv")
    cohort, churned = churn_counts(order_kernel(orders, end=end), end, span)
    return churn_value(churned, cohort)


def _check_clv_options(
    lifespan_years: float | None, margin: float, max_lifespan_years: float, *, func: str
) -> None:
    if lifespan_years is not None:
        check_number(lifespan_years, name="lifespan_years", func=func, low=0.0, open_low=True)
    check_number(margin, name="margin", func=func)
    check_number(max_lifespan_years, name="max_lifespan_years", func=func, low=0.0, open_low=True)


def _clv(
    orders: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    lifespan_years: float | None,
    margin: float,
    max_lifespan_years: float,
    func: str,
) -> float:
    if lifespan_years is None:
        if is_customer_summary(orders):
            raise ConfigError(
                f"{func} needs lifespan_years= when given a customer summary: estimating the "
                "lifespan needs the churn of the order lines. Pass the orders frame instead."
            )
        end = summary_window(summary).end
        if len(orders):
            caveats.emit(
                caveats.churn_caveats(orders["order_date"].min(), end, pd.Timedelta("365D")),
                stacklevel=4,
            )
        churn = yearly_churn(orders, end)
        lifespan_years = lifespan_from_churn(churn, max_lifespan_years)
    return clv_from(summary, lifespan_years=lifespan_years, margin=margin)


# ---------------------------------------------------------------------------------------------
# CLV.


def clv(
    orders: pd.DataFrame,
    *,
    lifespan_years: float | None = None,
    margin: float = 1.0,
    max_lifespan_years: float = 5.0,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float:
    """Simple customer lifetime value, in the orders' currency.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (or its customer summary together with ``lifespan_years``).
    lifespan_years : float, optional
        Expected customer lifespan in years. Default: estimated from the yearly churn as
        ``min(1 / (churn_rate(period="365D") / 100), max_lifespan_years)``.
    margin : float, default 1.0
        Gross margin as a fraction of revenue (1.0: CLV in revenue).
    max_lifespan_years : float, default 5
        Cap of the estimated lifespan (zero churn gives the cap).
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float
        ``average_ticket * purchases per customer per year * lifespan_years * margin``.

    Notes
    -----
    Purchases per customer per year = purchases / customers / window length in years
    (``((end - start).days + 1) / 365.25``), so the formula equals net revenue / customers /
    years * lifespan * margin. NaN when nobody purchased in the window, or when the lifespan
    is estimated and the churn is undefined (nobody purchased in the year before last).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-12-30"]),
    ...     "amount": [100.0, 50.0],
    ... })
    >>> # window 2024-01-01..2024-12-30 = 365 days = 365 / 365.25 years
    >>> round(clv(orders, lifespan_years=2, margin=0.5), 4)  # 150 / 2 / 0.999316 * 2 * 0.5
    75.0514
    """
    func = "clv"
    _check_clv_options(lifespan_years, margin, max_lifespan_years, func=func)
    summary = get_summary(orders, start, end, func=func)
    return _clv(
        orders,
        summary,
        lifespan_years=lifespan_years,
        margin=margin,
        max_lifespan_years=max_lifespan_years,
        func=func,
    )


def historic_clv(
    orders: pd.DataFrame, *, start: DateLike | None = None, end: DateLike | None = None
) -> pd.Series:
    """Net revenue of each customer in the window (what each has been worth so far).

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame or its customer summary.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    pandas.Series
        Named ``historic_clv``, indexed by ``customer_id`` (customers with a purchase in the
        window, sorted), in the orders' currency; returns are netted.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02"]),
    ...                        "amount": [30.0, -10.0, 5.0]})
    >>> historic_clv(orders).to_dict()
    {'a': 20.0, 'b': 5.0}
    """
    summary = get_summary(orders, start, end, func="historic_clv")
    return summary["revenue"].rename("historic_clv")


# ---------------------------------------------------------------------------------------------
# CAC.


def _spend_in(spend: pd.DataFrame, window: Window) -> pd.DataFrame:
    return spend.loc[window.contains(spend["date"])]


def cac_parts(spend: pd.DataFrame, summary: pd.DataFrame) -> tuple[float, int]:
    """(spend dated in the window, new customers) for the overall CAC."""
    window = summary_window(summary)
    total = float(_spend_in(spend, window)["amount"].sum())
    return total, int(new_customer_mask(summary).sum())


def _acquisition_channel(summary: pd.DataFrame, customers: pd.DataFrame | None) -> pd.Series:
    """Channel of each summary customer: acquisition_channel, else the first purchase's."""
    channel = pd.Series(np.nan, index=summary.index, dtype=object)
    if "channel" in summary.columns:
        channel = pd.Series(summary["channel"].astype(object).to_numpy(), index=summary.index)
    if customers is not None and "acquisition_channel" in customers.columns:
        table = customers.dropna(subset=["acquisition_channel"]).drop_duplicates("customer_id")
        acquired = table.set_index("customer_id")["acquisition_channel"].astype(object)
        mapped = pd.Series(summary.index.map(acquired), index=summary.index, dtype=object)
        channel = mapped.where(mapped.notna(), channel)
    return channel


@overload
def cac(
    spend: pd.DataFrame,
    orders: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    by: None = None,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> float: ...
@overload
def cac(
    spend: pd.DataFrame,
    orders: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    by: Literal["channel"] | None = None,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> pd.DataFrame: ...
def cac(
    spend: pd.DataFrame,
    orders: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    by: Literal["channel"] | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float | pd.DataFrame:
    """Customer acquisition cost: spend in the window per new customer.

    Parameters
    ----------
    spend : pandas.DataFrame
        A validated spend frame (``date``, ``amount``, optional ``channel``).
    orders : pandas.DataFrame
        A validated orders frame or its customer summary.
    customers : pandas.DataFrame, optional
        The customers table; its ``acquisition_channel`` attributes new customers to channels
        with ``by="channel"``.
    by : {"channel"}, optional
        Break down by channel: spend by its ``channel``, new customers by their
        ``acquisition_channel``, else the channel of their first purchase.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float or pandas.DataFrame
        Without ``by``: spend / new customers, in the spend's currency (lower is better).
        With ``by="channel"``: a frame indexed by ``channel`` with ``spend``,
        ``new_customers`` and ``cac``; a NaN channel collects what has none.

    Notes
    -----
    Spend dated in the window counts whole (not prorated). New customers are customers whose
    first purchase ever (all data up to ``end``) falls in the window. NaN when there is no
    new customer (spend without acquisitions has no per-customer cost).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "b"],
    ...     "order_date": pd.to_datetime(["2023-12-01", "2024-01-10", "2024-02-01"]),
    ...     "amount": [10.0, 20.0, 30.0],
    ... })
    >>> spend = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
    ...                       "amount": [300.0, 100.0]})
    >>> cac(spend, orders, start="2024-01-01")  # 400 / 1 new customer (b; a bought before)
    400.0
    """
    func = "cac"
    if by is not None:
        check_option(by, ("channel",), name="by", func=func)
    summary = get_summary(orders, start, end, func=func)
    if by is None:
        total, new = cac_parts(spend, summary)
        return metric("cac").compute({"spend": total, "new_customers": new})
    if "channel" not in spend.columns:
        raise ConfigError(f"{func}(by='channel') needs a 'channel' column in the spend table.")
    window = summary_window(summary)
    spent = _spend_in(spend, window)
    by_spend = spent.groupby(spent["channel"].astype(object), dropna=False)["amount"].sum()
    is_new = new_customer_mask(summary)
    channel = _acquisition_channel(summary, customers)[is_new]
    by_new = channel.groupby(channel, dropna=False).size()
    frame = pd.concat({"spend": by_spend, "new_customers": by_new}, axis=1)
    frame = frame.fillna({"spend": 0.0, "new_customers": 0})
    frame["new_customers"] = frame["new_customers"].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["cac"] = np.where(
            frame["new_customers"] > 0,
            frame["spend"] / frame["new_customers"].where(frame["new_customers"] > 0, 1),
            np.nan,
        )
    frame.index.name = "channel"
    return frame.sort_index(na_position="last")


def ltv_cac_ratio(
    spend: pd.DataFrame,
    orders: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    lifespan_years: float | None = None,
    margin: float = 1.0,
    max_lifespan_years: float = 5.0,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float:
    """Customer lifetime value per unit of acquisition cost: ``clv / cac``.

    Parameters
    ----------
    spend : pandas.DataFrame
        A validated spend frame.
    orders : pandas.DataFrame
        A validated orders frame (or its summary together with ``lifespan_years``).
    customers : pandas.DataFrame, optional
        Accepted for symmetry with :func:`cac`; the overall ratio does not use it.
    lifespan_years, margin, max_lifespan_years
        As in :func:`clv`.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float
        A plain ratio (3 or more is the usual rule of thumb for a healthy business).

    Notes
    -----
    NaN when :func:`clv` or :func:`cac` is NaN, or when the CAC is 0 (no spend in the
    window: the ratio is unbounded).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b"],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-12-30"]),
    ...                        "amount": [100.0, 50.0]})
    >>> spend = pd.DataFrame({"date": pd.to_datetime(["2024-06-01"]), "amount": [50.0]})
    >>> round(ltv_cac_ratio(spend, orders, lifespan_years=2), 4)  # 150.1027 / (50 / 2)
    6.0041
    """
    func = "ltv_cac_ratio"
    _check_clv_options(lifespan_years, margin, max_lifespan_years, func=func)
    summary = get_summary(orders, start, end, func=func)
    value = _clv(
        orders,
        summary,
        lifespan_years=lifespan_years,
        margin=margin,
        max_lifespan_years=max_lifespan_years,
        func=func,
    )
    total, new = cac_parts(spend, summary)
    return ratio(value, metric("cac").compute({"spend": total, "new_customers": new}))


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN for a NaN or zero denominator."""
    if np.isnan(denominator) or denominator == 0:
        return float("nan")
    return float(numerator / denominator)


def monthly_margin_per_customer(summary: pd.DataFrame, margin: float) -> float:
    """Net revenue per customer per month of the window * margin."""
    return revenue_per_customer_year(summary) / 12 * margin


def cac_payback_months(
    spend: pd.DataFrame,
    orders: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    margin: float = 1.0,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float:
    """Months of a customer's margin needed to earn back their acquisition cost.

    Parameters
    ----------
    spend : pandas.DataFrame
        A validated spend frame.
    orders : pandas.DataFrame
        A validated orders frame or its customer summary.
    customers : pandas.DataFrame, optional
        Accepted for symmetry with :func:`cac`; the overall figure does not use it.
    margin : float, default 1.0
        Gross margin as a fraction of revenue.
    start, end : date-like, optional
        Inclusive window; default the first and the last order date.

    Returns
    -------
    float
        ``cac / monthly margin per customer``, in months (lower is better).

    Notes
    -----
    Monthly margin per customer = net revenue in the window / customers (with a purchase in
    the window) / window length in months (years * 12) * ``margin``. NaN when the CAC is
    NaN, or the monthly margin is zero or negative (the cost is never earned back).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b"],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-12-30"]),
    ...                        "amount": [120.0, 120.0]})
    >>> spend = pd.DataFrame({"date": pd.to_datetime(["2024-06-01"]), "amount": [40.0]})
    >>> # CAC 40 / 2 = 20; margin 240 / 2 / (365 / 365.25 * 12) * 0.5 = 5.0034 a month
    >>> round(cac_payback_months(spend, orders, margin=0.5), 4)
    3.9973
    """
    func = "cac_payback_months"
    check_number(margin, name="margin", func=func)
    summary = get_summary(orders, start, end, func=func)
    total, new = cac_parts(spend, summary)
    cost = total / new if new else float("nan")
    monthly = monthly_margin_per_customer(summary, margin)
    if np.isnan(monthly) or monthly <= 0:
        return float("nan")
    return ratio(cost, monthly)
