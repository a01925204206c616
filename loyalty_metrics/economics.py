"""Does the loyalty programme pay for itself? Incremental margin of members against its cost.

The incremental revenue of members comes from :func:`loyalty_metrics.program_impact`, from the
strongest of its views that has data, and carries that view's causality label: a ratio built
on the members-vs-non-members comparison says how much more members spend than non-members,
not what the programme caused, and :func:`program_roi` says so in its output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._stats import z_value
from ._window import DateLike, resolve_window
from .cohorts import _INT_MAX, _NS_PER_DAY
from .metrics._common import check_number
from .points import points_kpis
from .programs import CAUSALITY, _membership, program_impact, window_days

__all__ = ["ROI_KEYS", "program_roi"]

#: The keys of :func:`program_roi`, in order.
ROI_KEYS: tuple[str, ...] = (
    "basis",
    "causality",
    "incremental_revenue_per_member_day",
    "n",
    "member_days",
    "margin",
    "incremental_margin",
    "incremental_margin_ci_low",
    "incremental_margin_ci_high",
    "redemption_cost",
    "channel_cost",
    "programme_cost",
    "roi",
    "roi_ci_low",
    "roi_ci_high",
    "interval",
)

# program_impact's views from the strongest to the weakest, with the figure each gives.
_BASES = (
    ("difference_in_differences", "difference", "revenue"),
    ("before_after", "change", "revenue"),
)


def _estimate(impact: pd.DataFrame, span_days: int, window_days: int, level: float) -> dict:
    """Incremental revenue per member per day, from the strongest view with data."""
    for view, group, metric in _BASES:
        row = impact.loc[
            (impact["view"] == view) & (impact["group"] == group) & (impact["metric"] == metric)
        ]
        if len(row) and row["n"].iloc[0] > 0 and np.isfinite(row["value"].iloc[0]):
            r = row.iloc[0]
            return {
                "basis": view,
                "per_day": (
                    r["value"] / span_days,
                    r["ci_low"] / span_days,
                    r["ci_high"] / span_days,
                ),
                "n": int(r["n"]),
                "interval": r["interval"],
            }
    # Members vs non-members: revenue per buyer over the whole window, difference of groups.
    view = "members_vs_non_members"
    rows = impact.loc[(impact["view"] == view) & (impact["metric"] == "historic_clv")]
    rows = rows.set_index("group")
    if not {"members", "non-members"} <= set(rows.index):
        return {"basis": view, "per_day": (np.nan,) * 3, "n": 0, "interval": "none"}
    m, o = rows.loc["members"], rows.loc["non-members"]
    z = z_value(level)
    se = np.hypot((m["ci_high"] - m["ci_low"]) / (2 * z), (o["ci_high"] - o["ci_low"]) / (2 * z))
    diff = m["value"] - o["value"]
    per_day = tuple(v / window_days for v in (diff, diff - z * se, diff + z * se))
    return {"basis": view, "per_day": per_day, "n": int(m["n"]), "interval": "normal"}


def _member_days(customers: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Days of membership inside ``start..end``, summed over the members at ``end``."""
    members = _membership(customers, end, "program_roi")
    members = members.loc[members["member"].to_numpy(dtype=bool)]
    start_day, end_day = start.value // _NS_PER_DAY, end.value // _NS_PER_DAY
    joined = members["joined_day"].to_numpy(dtype="int64")
    first = np.where(joined == _INT_MAX, start_day, np.maximum(joined, start_day))
    return int(np.clip(end_day - first + 1, 0, None).sum())


def _channel_cost(spend: pd.DataFrame | None, channel: str, window) -> float:
    if spend is None or "channel" not in spend.columns:
        return 0.0
    names = spend["channel"].astype("str").str.strip().str.lower()
    rows = (names == channel.strip().lower()).to_numpy() & window.contains(spend["date"])
    return float(spend["amount"].to_numpy(dtype="float64")[rows].sum())


def program_roi(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    points: pd.DataFrame | None = None,
    spend: pd.DataFrame | None = None,
    *,
    point_value: float = 1.0,
    cost_channel: str = "loyalty",
    margin: float = 1.0,
    window: str = "90D",
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.Series:
    """The programme's return: incremental margin of members / programme cost, labelled.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    customers : pandas.DataFrame
        The customers table with ``is_member`` and/or ``member_since``.
    points : pandas.DataFrame, optional
        The points ledger: its redeemed points in the window are a cost.
    spend : pandas.DataFrame, optional
        Spend rows; those of ``cost_channel`` dated in the window are a cost.
    point_value : float, default 1.0
        Cost of one redeemed point, in the revenue's currency.
    cost_channel : str, default "loyalty"
        The spend channel that holds the programme's running costs (case-insensitive).
    margin : float, default 1.0
        Gross margin applied to the incremental revenue (0-1).
    window : str, default "90D"
        As in :func:`loyalty_metrics.program_impact`: each side of the before/after windows.
    n_boot, level, random_state
        As in :func:`loyalty_metrics.program_impact`.
    start, end : date-like, optional
        Observation window; default the first and the last order date.

    Returns
    -------
    pandas.Series
        Keys :data:`ROI_KEYS` (object dtype: two labels, the rest numbers):

        - ``basis``: the view of :func:`~loyalty_metrics.program_impact` used, the strongest
          with data: ``difference_in_differences``, else ``before_after``, else
          ``members_vs_non_members``; ``causality``: that view's label (how far the figure
          may be read as the programme's effect);
        - ``incremental_revenue_per_member_day`` and ``n`` (the members it rests on);
        - ``member_days``: days of membership inside the window, over the members at ``end``;
        - ``margin``; ``incremental_margin`` = per member-day * member_days * margin, with
          ``incremental_margin_ci_low`` / ``_ci_high``;
        - ``redemption_cost`` (points redeemed in the window * ``point_value``),
          ``channel_cost`` (``cost_channel`` spend in the window), ``programme_cost`` (their
          sum);
        - ``roi`` = incremental margin / programme cost (a plain ratio: 1 breaks even, below 1
          the programme costs more than it brings), ``roi_ci_low``, ``roi_ci_high``;
        - ``interval``: ``"bootstrap"`` / ``"normal"``.

    Notes
    -----
    The difference in differences and the before/after change are revenue per member per
    ``window`` (divided by its length in days for a daily figure); the members-vs-non-members
    difference is revenue per buyer over the window (divided by the window's days), its
    interval the normal approximation from the two groups' intervals. The cost is an
    accounting figure and is treated as known: the ROI's interval is the incremental
    margin's divided by the cost. NaN ROI when the cost is 0 or no view has data. Only the
    difference in differences comes close to a causal reading (under parallel trends); a
    ratio on the other bases is an association and is labelled so.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["m", "m", "n", "n"],
    ...     "order_date": pd.to_datetime(["2024-01-10", "2024-03-10", "2024-01-12",
    ...                                   "2024-03-12"]),
    ...     "amount": [200.0, 300.0, 100.0, 100.0],
    ... })
    >>> customers = pd.DataFrame({"customer_id": ["m", "n"], "is_member": [True, False]})
    >>> points = pd.DataFrame({"customer_id": ["m", "m"],
    ...                        "date": pd.to_datetime(["2024-01-10", "2024-03-10"]),
    ...                        "points": [200.0, -100.0], "type": ["earn", "redeem"]})
    >>> roi = program_roi(orders, customers, points, point_value=0.5, margin=0.3)
    >>> roi["basis"], roi["causality"].split(":")[0]
    ('members_vs_non_members', 'not causal')
    >>> roi["member_days"], roi["programme_cost"]  # m over Jan 10..Mar 12; 100 points * 0.5
    (63, 50.0)
    >>> round(roi["incremental_margin"], 2), round(roi["roi"], 2)  # (500 - 200) * 0.3 / 50
    (90.0, 1.8)
    """
    func = "program_roi"
    point_value = check_number(point_value, name="point_value", func=func, low=0.0)
    margin = check_number(margin, name="margin", func=func, low=0.0)
    impact = program_impact(
        orders,
        customers,
        window=window,
        n_boot=n_boot,
        level=level,
        random_state=random_state,
        start=start,
        end=end,
    )
    win = resolve_window(orders["order_date"], start, end)
    out: dict[str, Any] = dict.fromkeys(ROI_KEYS, np.nan)
    if win.empty:
        out.update(basis="none", causality="no orders in the window", interval="none")
        return pd.Series(out, index=list(ROI_KEYS), dtype=object, name=func)
    span_days = window_days(window, func=func)
    estimate = _estimate(impact, span_days, (win.end - win.start).days + 1, level)
    member_days = _member_days(customers, win.start, win.end)
    per_day, low, high = estimate["per_day"]
    scale = member_days * margin
    redeemed = 0.0
    if points is not None:
        redeemed = float(points_kpis(points, start=win.start, end=win.end)["points_redeemed"])
    redemption_cost = redeemed * point_value
    channel_cost = _channel_cost(spend, cost_channel, win)
    cost = redemption_cost + channel_cost
    incremental = per_day * scale
    ci = (low * scale, high * scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        roi = (incremental / cost, ci[0] / cost, ci[1] / cost) if cost > 0 else (np.nan,) * 3
    out.update(
        basis=estimate["basis"],
        causality=CAUSALITY[estimate["basis"]],
        incremental_revenue_per_member_day=float(per_day),
        n=estimate["n"],
        member_days=member_days,
        margin=margin,
        incremental_margin=float(incremental),
        incremental_margin_ci_low=float(ci[0]),
        incremental_margin_ci_high=float(ci[1]),
        redemption_cost=redemption_cost,
        channel_cost=channel_cost,
        programme_cost=cost,
        roi=float(roi[0]),
        roi_ci_low=float(roi[1]),
        roi_ci_high=float(roi[2]),
        interval=estimate["interval"],
    )
    return pd.Series(out, index=list(ROI_KEYS), dtype=object, name=func)
