"""Calibration/holdout splits and out-of-sample evaluation of the purchase models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._window import DateLike, Window, to_day
from ..orders import NS_PER_DAY, OrderKernel, order_kernel
from ..summary import _distinct_pairs, summary_arrays
from ._base import TIME_UNIT_ATTR, TimeUnit, TransactionModel, check_option, unit_factor

__all__ = ["HoldoutEvaluation", "calibration_holdout", "evaluate"]

_DAYS = {"D": 1.0, "W": 7.0}


def calibration_holdout(
    orders: pd.DataFrame,
    *,
    calibration_end: DateLike,
    holdout_end: DateLike,
    start: DateLike | None = None,
    time_unit: TimeUnit = "D",
) -> pd.DataFrame:
    """Split purchase histories at ``calibration_end``: a summary to fit on, and what followed.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame (:func:`loyalty_metrics.read_orders`).
    calibration_end : date-like
        Last day (inclusive) of the calibration period.
    holdout_end : date-like
        Last day (inclusive) of the holdout period, after ``calibration_end``.
    start : date-like, optional
        First day of the calibration period (default: the first order date).
    time_unit : {"D", "W"}, default "D"
        Unit of ``recency``, ``T`` and ``duration_holdout`` (weeks = days / 7); recorded in
        ``attrs`` so the models read the frame correctly whatever their own unit.

    Returns
    -------
    pandas.DataFrame
        One row per customer with a purchase in the calibration period, indexed by
        ``customer_id``: ``frequency``, ``recency``, ``T``, ``monetary_value`` of the
        calibration period (as :func:`loyalty_metrics.customer_summary`), then
        ``frequency_holdout`` (purchase days in ``(calibration_end, holdout_end]``),
        ``revenue_holdout`` (net revenue there) and ``duration_holdout`` (its length).

    Notes
    -----
    Both periods follow :func:`loyalty_metrics.customer_summary`'s conventions (a purchase
    is an order with net amount >= 0; one purchase occasion per calendar day): the holdout
    counts are the purchase days of the summary through ``holdout_end`` minus those through
    ``calibration_end``. Customers whose first purchase falls in the holdout are left out.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-02-05",
    ...                                   "2024-01-15", "2024-02-01"]),
    ...     "amount": [10.0, 20.0, 30.0, 5.0, 7.0],
    ... })
    >>> split = calibration_holdout(orders, calibration_end="2024-01-31", holdout_end="2024-02-29")
    >>> split[["frequency", "recency", "T", "frequency_holdout", "duration_holdout"]]
                 frequency  recency     T  frequency_holdout  duration_holdout
    customer_id
    a                    1      7.0  30.0                  1              29.0
    b                    0      0.0  16.0                  0              29.0
    """
    check_option("calibration_holdout", "time_unit", time_unit, ("D", "W"))
    cal_end = to_day(calibration_end, name="calibration_end")
    hold_end = to_day(holdout_end, name="holdout_end")
    if cal_end is None or hold_end is None:
        raise ValueError("calibration_holdout needs both 'calibration_end' and 'holdout_end'.")
    if hold_end <= cal_end:
        raise ValueError(
            f"holdout_end ({hold_end.date()}) must be after calibration_end ({cal_end.date()})."
        )
    # One netting of the lines up to holdout_end serves both periods.
    kernel = order_kernel(orders, end=hold_end)
    window = kernel.window(start, cal_end)
    # Each period's arrays cover every customer code: keep the calibration customers' only,
    # column by column, freeing each full column as it goes (memory counts: a report
    # computes this in a forked copy of itself).
    arrays, rows = summary_arrays(kernel, window, descriptive=False)
    columns = ("customer_id", "frequency", "recency", "T", "monetary_value", "revenue")
    calibration = {name: arrays.pop(name)[rows] for name in columns}
    del arrays
    days_cal = calibration["frequency"] + 1
    days_full = _purchase_days_through(kernel, window, days_cal, rows)[rows]
    in_full = days_full > 0
    # An order spanning calibration_end can change sign once its later lines count; never
    # let that make a negative count.
    holdout = np.clip(np.where(in_full, days_full, days_cal) - days_cal, 0, None)
    del days_full, days_cal
    full = Window(start=window.start, end=hold_end)
    revenue_full = np.where(
        in_full, kernel.revenue_by_customer(full)[rows], calibration["revenue"]
    )
    del in_full
    factor = 1.0 / _DAYS[time_unit]
    split = pd.DataFrame(
        {
            "frequency": calibration["frequency"],
            "recency": calibration["recency"] * factor,
            "T": calibration["T"] * factor,
            "monetary_value": calibration["monetary_value"],
            "frequency_holdout": holdout.astype("int64", copy=False),
            "revenue_holdout": revenue_full - calibration["revenue"],
            "duration_holdout": float((hold_end - cal_end).days) * factor,
        },
        index=pd.Index(calibration["customer_id"], name="customer_id"),
        copy=False,  # each column its own block: no consolidating copy
    )
    split.attrs[TIME_UNIT_ATTR] = time_unit
    split.attrs["loyalty_metrics.holdout"] = {"calibration_end": cal_end, "holdout_end": hold_end}
    return split


def _purchase_days_through(
    kernel: OrderKernel, calibration: Window, days_cal: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Distinct purchase days per customer code from ``calibration.start`` to the kernel's
    end, given ``days_cal``: those of the customer codes ``rows`` in ``calibration``.

    A second summary of the longer period would sort every purchase again. Its days are the
    calibration days plus the holdout's (later, so never the same day), except for customers
    with an order whose lines straddle the calibration end: the later lines can turn it into
    a return (or back into a purchase), so their days are counted again over both periods.
    """
    n = kernel.n_customers
    begin, split = kernel.between(calibration)
    stop = kernel.n_orders  # the kernel ends on holdout_end
    days = np.zeros(n, dtype="int64")
    days[rows] = days_cal
    holdout = split + np.flatnonzero(kernel.purchase[split:stop])
    days += _distinct_pairs(kernel.customer[holdout], kernel.date[holdout] // NS_PER_DAY, n)
    straddle = kernel.orders_with_lines_after(calibration.end)
    straddle = straddle[(straddle >= begin) & (straddle < split)]
    if len(straddle):
        again = np.zeros(n, dtype=bool)
        again[kernel.customer[straddle]] = True
        theirs = again[kernel.customer[begin:stop]] & kernel.purchase[begin:stop]
        mine = begin + np.flatnonzero(theirs)
        recount = _distinct_pairs(kernel.customer[mine], kernel.date[mine] // NS_PER_DAY, n)
        days[again] = recount[again]
    return days


@dataclass(frozen=True)
class HoldoutEvaluation:
    """Actual vs predicted holdout purchases (see :func:`evaluate`).

    Attributes
    ----------
    customers : pandas.DataFrame
        Per customer: ``frequency`` (calibration), ``actual``, ``predicted`` and
        ``error`` (predicted - actual) holdout purchases.
    by_frequency : pandas.DataFrame
        Indexed by calibration frequency ``"0"``... ``"7+"``: ``customers`` and the mean
        ``actual`` and ``predicted`` holdout purchases (Table 2 of Fader, Hardie & Lee 2005).
    metrics : pandas.Series
        ``customers``, ``actual_total``, ``predicted_total``, ``total_error_rate``
        (100 * (predicted - actual) / actual, NaN when nothing was bought), ``mae`` and
        ``rmse`` (per customer, in purchases).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-03",
    ...                                   "2024-01-20", "2024-04-02", "2024-01-10"]),
    ...     "amount": [10.0, 12.0, 5.0, 6.0, 7.0, 9.0],
    ... })
    >>> split = calibration_holdout(orders, calibration_end="2024-02-29", holdout_end="2024-04-30")
    >>> from loyalty_metrics.models import BetaGeoModel
    >>> model = BetaGeoModel.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5)
    >>> check = evaluate(model, split)
    >>> int(check.metrics["customers"]), float(check.metrics["actual_total"])
    (3, 1.0)
    """

    customers: pd.DataFrame
    by_frequency: pd.DataFrame
    metrics: pd.Series

    def __str__(self) -> str:
        m = self.metrics
        head = (
            f"holdout purchases: actual {m['actual_total']:.0f}, predicted {m['predicted_total']:.1f} "
            f"({m['total_error_rate']:+.1f}%), MAE {m['mae']:.3f}, RMSE {m['rmse']:.3f} "
            f"over {m['customers']:.0f} customers"
        )
        table = self.by_frequency.to_string(float_format=lambda v: f"{v:.3f}")
        return f"{head}\nmean holdout purchases by calibration frequency:\n{table}"


def evaluate(
    model: TransactionModel, split: pd.DataFrame, *, max_frequency: int = 7
) -> HoldoutEvaluation:
    """Compare a fitted purchase model's predictions with the holdout purchases.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted on the calibration part of ``split`` (or any summary).
    split : pandas.DataFrame
        The output of :func:`calibration_holdout`.
    max_frequency : int, default 7
        Calibration frequencies from this one up share the last row of ``by_frequency``.

    Returns
    -------
    HoldoutEvaluation
        ``customers`` (per customer), ``by_frequency`` (the paper's Table 2) and
        ``metrics`` (totals, MAE, RMSE).

    Examples
    --------
    >>> from loyalty_metrics.models import BetaGeoModel
    >>> split = pd.DataFrame({"frequency": [2, 0], "recency": [30.0, 0.0], "T": [40.0, 40.0],
    ...                       "frequency_holdout": [1, 0], "duration_holdout": [20.0, 20.0]})
    >>> model = BetaGeoModel.from_params(r=0.5, alpha=10.0, a=0.8, b=2.5)
    >>> evaluate(model, split).metrics[["actual_total", "predicted_total"]].round(3).tolist()
    [1.0, 0.837]
    """
    if (
        isinstance(max_frequency, bool)
        or not isinstance(max_frequency, int | np.integer)
        or max_frequency < 1
    ):
        raise ValueError(
            f"The 'max_frequency' parameter of evaluate must be an int >= 1. Got {max_frequency!r} instead."
        )
    missing = [c for c in ("frequency_holdout", "duration_holdout") if c not in split.columns]
    if missing:
        raise ValueError(
            f"evaluate needs the output of calibration_holdout(); the split lacks {missing}."
        )
    horizon = split["duration_holdout"].to_numpy(dtype="float64") * unit_factor(
        split, model.time_unit
    )
    predicted = model.expected_purchases(horizon, split).to_numpy()
    actual = split["frequency_holdout"].to_numpy(dtype="float64")
    frequency = split["frequency"].to_numpy(dtype="int64")
    customers = pd.DataFrame(
        {
            "frequency": frequency,
            "actual": actual,
            "predicted": predicted,
            "error": predicted - actual,
        },
        index=split.index,
    )
    bucket = np.minimum(frequency, max_frequency)
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    grouped = customers.groupby(bucket)
    by_frequency = pd.DataFrame(
        {
            "customers": grouped.size(),
            "actual": grouped["actual"].mean(),
            "predicted": grouped["predicted"].mean(),
        }
    ).reindex(range(max_frequency + 1))
    by_frequency["customers"] = by_frequency["customers"].fillna(0).astype("int64")
    by_frequency.index = pd.Index(labels, name="frequency")
    actual_total = float(actual.sum())
    predicted_total = float(predicted.sum())
    n = len(actual)
    metrics = pd.Series(
        {
            "customers": float(n),
            "actual_total": actual_total,
            "predicted_total": predicted_total,
            "total_error_rate": 100 * (predicted_total - actual_total) / actual_total
            if actual_total > 0
            else np.nan,
            "mae": float(np.mean(np.abs(predicted - actual))) if n else np.nan,
            "rmse": float(np.sqrt(np.mean((predicted - actual) ** 2))) if n else np.nan,
        },
        name="holdout",
    )
    return HoldoutEvaluation(customers=customers, by_frequency=by_frequency, metrics=metrics)
