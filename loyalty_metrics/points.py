"""The points programme: what was issued, redeemed and expired, what is owed, who takes part.

:func:`points_kpis` is DESIGN's twelve-key snapshot of a points ledger (one row per movement:
``customer_id``, ``date``, signed ``points``, ``type`` in earn / redeem / expire / adjust).
:func:`points_flow` gives the movements per calendar period with the balance at each period's
end, and :func:`points_rates` the programme's rates broken down by group and/or period, each
with its n and a confidence interval.

Points rates and their intervals
--------------------------------
The member rates (activity, redeemer share, member share) count people, so their interval is
Wilson's, as for every other rate. The redemption and breakage rates count *points*, and points
are not independent trials: one member redeeming 5,000 points is one decision, not 5,000.
Their interval is therefore a percentile bootstrap over customers (the ratio of the resampled
sums), as :func:`loyalty_metrics.program_impact` does for ratios, and ``n`` is customers. A
window's redemption rate can exceed 100 (points earned earlier are redeemed in it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ._stats import wilson_interval
from ._window import DateLike, Window, resolve_window
from .errors import ConfigError, DataValidationError
from .metrics._common import By, check_freq, check_number, flag_low_n, group_key, periods
from .programs import _boot_label, _check_boot_args, _ratio_figure
from .schema import POINT_TYPES
from .summary import customer_summary

__all__ = [
    "POINTS_KPI_KEYS",
    "POINTS_RATE_COLUMNS",
    "points_flow",
    "points_kpis",
    "points_kpis_by_period",
    "points_rates",
]

EARN, REDEEM, EXPIRE, ADJUST = range(4)  # codes of POINT_TYPES, in its order

#: The keys of :func:`points_kpis`, in order (DESIGN section 4).
POINTS_KPI_KEYS: tuple[str, ...] = (
    "points_issued",
    "points_redeemed",
    "points_expired",
    "points_outstanding",
    "redemption_rate",
    "breakage_rate",
    "points_liability",
    "members",
    "active_members",
    "member_activity_rate",
    "redeemer_share",
    "member_share",
)

#: Columns of :func:`points_rates` after the group and period columns.
POINTS_RATE_COLUMNS = (
    "metric",
    "value",
    "n",
    "numerator",
    "denominator",
    "ci_low",
    "ci_high",
    "interval",
    "low_n",
)

_NAN = float("nan")


# --------------------------------------------------------------------------------------------
# The ledger as flat arrays
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ledger:
    """The ledger's rows: customer id (str), timestamp, signed points and type code."""

    customer_id: np.ndarray
    date: np.ndarray
    points: np.ndarray
    kind: np.ndarray

    def sum(self, mask: np.ndarray, kind: int | None = None) -> float:
        """Sum of the points of the rows in ``mask`` (of one type when ``kind`` is given)."""
        if kind is not None:
            mask = mask & (self.kind == kind)
        return float(self.points[mask].sum())


def _ledger(points: pd.DataFrame, func: str) -> _Ledger:
    missing = [c for c in ("customer_id", "date", "points", "type") if c not in points.columns]
    if missing:
        raise DataValidationError(
            f"{func} needs a points ledger with the columns customer_id, date, points and type; "
            f"missing {', '.join(missing)} (read the file with loyalty_metrics.read_points).",
            table="points",
        )
    types = points["type"].astype("str").str.strip().str.lower()
    codes = pd.Index(list(POINT_TYPES)).get_indexer(types).astype("int8")
    unknown = (codes < 0) & points["type"].notna().to_numpy()
    if unknown.any():
        bad = sorted(set(points["type"].astype("str")[unknown]))[:5]
        raise DataValidationError(
            f"{func}: the points ledger's type must be one of earn, redeem, expire, adjust; "
            f"got {', '.join(repr(b) for b in bad)} (read_points rejects such rows).",
            table="points",
        )
    return _Ledger(
        customer_id=points["customer_id"].astype("str").to_numpy(dtype=object),
        date=points["date"].to_numpy(dtype="datetime64[ns]"),
        points=points["points"].to_numpy(dtype="float64", na_value=np.nan),
        kind=codes,
    )


def _members(customers: pd.DataFrame | None, end: pd.Timestamp) -> pd.Index | None:
    """Ids of the members at ``end``: ``is_member`` true and ``member_since`` blank or <= end.

    None when there is no customers table or it has no ``is_member`` column (members unknown).
    """
    if customers is None or "is_member" not in customers.columns:
        return None
    rows = customers.drop_duplicates("customer_id", keep="last")
    member = rows["is_member"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if "member_since" in rows.columns and not pd.isna(end):
        since = rows["member_since"].to_numpy(dtype="datetime64[ns]")
        limit = (end + pd.Timedelta(days=1)).to_datetime64()
        member &= np.isnat(since) | (since < limit)
    return pd.Index(rows["customer_id"].astype("str").to_numpy()[member], dtype="str")


def _ratio(numerator: float, denominator: float) -> float:
    """``100 * numerator / denominator``; NaN for a zero or NaN denominator."""
    if np.isnan(denominator) or denominator == 0:
        return _NAN
    return float(100.0 * numerator / denominator)


def _share(ids: pd.Index, members: pd.Index | None) -> tuple[float, float]:
    """(members among ``ids``, percentage of ``members``) -- NaN, NaN without members."""
    if members is None:
        return _NAN, _NAN
    k = float(members.isin(ids).sum())
    return k, _ratio(k, float(len(members)))


# --------------------------------------------------------------------------------------------
# points_kpis
# --------------------------------------------------------------------------------------------
def points_kpis(
    points: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    point_value: float = 1.0,
) -> pd.Series:
    """The points programme's snapshot: flows, balance, liability and participation.

    Parameters
    ----------
    points : pandas.DataFrame
        The points ledger (see :func:`loyalty_metrics.read_points`): ``customer_id``,
        ``date``, signed ``points`` and ``type`` (earn, redeem, expire, adjust).
    customers : pandas.DataFrame, optional
        The customers table with ``is_member`` and optional ``member_since``; needed by the
        member keys.
    orders : pandas.DataFrame, optional
        A validated orders frame; needed by ``member_share``.
    start, end : date-like, optional
        Inclusive window; default the first and the last ledger date.
    point_value : float, default 1.0
        What one point costs the business when redeemed, in the revenue's currency (a
        programme giving 1 currency unit per 100 points has ``point_value=0.01``).

    Returns
    -------
    pandas.Series
        The keys of :data:`POINTS_KPI_KEYS`, in order (points are signed sums, so floats):

        - ``points_issued``: sum of ``earn`` points dated in the window;
        - ``points_redeemed``: minus the sum of ``redeem`` points in the window (>= 0);
        - ``points_expired``: minus the sum of ``expire`` points in the window (>= 0);
        - ``points_outstanding``: sum of *all* ledger points dated on or before ``end``, every
          type, whatever ``start`` is (may be negative when clawbacks exceed balances);
        - ``redemption_rate``: ``100 * redeemed / issued`` (may exceed 100: points earned
          before the window are redeemed in it);
        - ``breakage_rate``: ``100 * expired / (expired + redeemed)``, 0-100: of the points
          that left the programme in the window, the share that left unredeemed;
        - ``points_liability``: ``outstanding * point_value * (1 - breakage_rate / 100)``,
          with breakage taken as 0 when it is undefined (money);
        - ``members``: customers-table rows with ``is_member`` true and ``member_since`` blank
          or on or before ``end``;
        - ``active_members``: members with at least one ``earn`` or ``redeem`` row in the
          window;
        - ``member_activity_rate``: ``100 * active_members / members``;
        - ``redeemer_share``: ``100 * members with a redeem row in the window / members``;
        - ``member_share``: ``100 * customers who are members / customers``, customers as in
          :func:`loyalty_metrics.kpis` (a purchase in the window).

    Notes
    -----
    Rates and shares are percentages; an empty denominator gives NaN, never 0. Keys whose
    inputs are absent are NaN: the member keys without a customers table (or without its
    ``is_member`` column), ``member_share`` also without orders. Ledger rows dated after
    ``end`` are never read. A customer listed twice in the customers table counts once (its
    last row).

    Examples
    --------
    >>> points = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "a", "b", "b"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-01-10",
    ...                             "2024-03-01", "2024-03-15", "2024-03-31"]),
    ...     "points": [100.0, -40.0, 50.0, -10.0, 5.0, -20.0],
    ...     "type": ["earn", "redeem", "earn", "expire", "adjust", "expire"],
    ... })
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                           "is_member": [True, True, False]})
    >>> k = points_kpis(points, customers, point_value=0.01)
    >>> k[["points_issued", "points_redeemed", "points_expired", "points_outstanding"]].tolist()
    [150.0, 40.0, 30.0, 85.0]
    >>> k[["redemption_rate", "breakage_rate"]].round(2).tolist()  # 40/150, 30/70
    [26.67, 42.86]
    >>> round(float(k["points_liability"]), 4)  # 85 * 0.01 * (1 - 30/70)
    0.4857
    >>> k[["members", "active_members", "member_activity_rate", "redeemer_share"]].tolist()
    [2.0, 2.0, 100.0, 50.0]
    """
    func = "points_kpis"
    point_value = check_number(point_value, name="point_value", func=func, low=0.0)
    ledger = _ledger(points, func)
    window = resolve_window(points["date"], start, end)
    inside = window.contains(ledger.date)
    issued = ledger.sum(inside, EARN)
    redeemed = -ledger.sum(inside, REDEEM)
    expired = -ledger.sum(inside, EXPIRE)
    outstanding = ledger.sum(window.up_to_end(ledger.date))
    breakage = _ratio(expired, expired + redeemed)
    liability = outstanding * point_value * (1 - (0.0 if np.isnan(breakage) else breakage) / 100)

    members = _members(customers, window.end)
    n_members = _NAN if members is None else float(len(members))
    active_rows = inside & ((ledger.kind == EARN) | (ledger.kind == REDEEM))
    active, activity_rate = _share(pd.Index(ledger.customer_id[active_rows]), members)
    redeem_rows = inside & (ledger.kind == REDEEM)
    _, redeemer_share = _share(pd.Index(ledger.customer_id[redeem_rows]), members)
    member_share = _NAN
    if members is not None and orders is not None and not window.empty:
        buyers = customer_summary(orders, start=window.start, end=window.end).index
        member_share = _ratio(float(buyers.isin(members).sum()), float(len(buyers)))
    values = {
        "points_issued": issued,
        "points_redeemed": redeemed,
        "points_expired": expired,
        "points_outstanding": outstanding,
        "redemption_rate": _ratio(redeemed, issued),
        "breakage_rate": breakage,
        "points_liability": liability,
        "members": n_members,
        "active_members": active,
        "member_activity_rate": activity_rate,
        "redeemer_share": redeemer_share,
        "member_share": member_share,
    }
    return pd.Series(values, index=list(POINTS_KPI_KEYS), dtype="float64", name="points_kpis")


def points_kpis_by_period(
    points: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    *,
    freq: str = "M",
    window: Literal["expanding", "period"] = "expanding",
    start: DateLike | None = None,
    end: DateLike | None = None,
    point_value: float = 1.0,
) -> pd.DataFrame:
    """:func:`points_kpis` as of the end of every calendar period.

    Parameters
    ----------
    points, customers, orders, point_value
        As in :func:`points_kpis`.
    freq : str, default "M"
        Period alias: ``"W"``, ``"M"``, ``"Q"``, ``"Y"``...
    window : {"expanding", "period"}, default "expanding"
        ``"expanding"``: row ``d`` is ``points_kpis(..., start=start, end=d)``; ``"period"``:
        the period alone (``start=period_start``), as in
        :func:`loyalty_metrics.kpis_by_period`.
    start, end : date-like, optional
        The overall window; default the first and the last ledger date.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`POINTS_KPI_KEYS`, indexed by ``period_end`` (the last day of each
        period overlapping the window, the last one clipped to ``end``).

    Examples
    --------
    >>> points = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10"]),
    ...     "points": [100.0, -40.0, 50.0],
    ...     "type": ["earn", "redeem", "earn"],
    ... })
    >>> points_kpis_by_period(points)[["points_issued", "points_outstanding", "redemption_rate"]]
                points_issued  points_outstanding  redemption_rate
    period_end
    2024-01-31          100.0               100.0         0.000000
    2024-02-10          150.0               110.0        26.666667
    """
    func = "points_kpis_by_period"
    check_freq(freq, func=func)
    if window not in ("expanding", "period"):
        raise ConfigError(
            f"The 'window' parameter of {func} must be one of {{'expanding', 'period'}}. "
            f"Got {window!r} instead."
        )
    overall = resolve_window(points["date"], start, end)
    rows = {
        last: points_kpis(
            points,
            customers,
            orders,
            start=first if window == "period" else overall.start,
            end=last,
            point_value=point_value,
        )
        for first, last in periods(overall, freq)
    }
    frame = pd.DataFrame(list(rows.values()), columns=list(POINTS_KPI_KEYS), dtype="float64")
    frame.index = pd.DatetimeIndex(list(rows), name="period_end", dtype="datetime64[ns]")
    return frame


# --------------------------------------------------------------------------------------------
# points_flow
# --------------------------------------------------------------------------------------------
def points_flow(
    points: pd.DataFrame,
    *,
    freq: str = "M",
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """Points issued, redeemed, expired and adjusted per calendar period, and the balance.

    Parameters
    ----------
    points : pandas.DataFrame
        The points ledger (see :func:`points_kpis`).
    freq : str, default "M"
        Period alias: ``"W"``, ``"M"``, ``"Q"``, ``"Y"``...
    start, end : date-like, optional
        Inclusive window; default the first and the last ledger date.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period_end`` (the period's last day, the last one clipped to ``end``),
        one row per period overlapping the window, columns (points, floats):
        ``issued``, ``redeemed``, ``expired`` (positive, as in :func:`points_kpis`),
        ``adjusted`` (signed sum of ``adjust`` rows), ``net_change``
        (``issued - redeemed - expired + adjusted``) and ``outstanding`` (every ledger point
        dated on or before the period's end, as ``points_outstanding``).

    Notes
    -----
    Each period's ``outstanding`` is the previous period's plus its ``net_change``; the first
    period's balance carries everything dated before ``start``. A row's period is its
    calendar date's (a row at 23:59 on the 31st is in that month).

    Examples
    --------
    >>> points = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "a"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10", "2024-03-01"]),
    ...     "points": [100.0, -40.0, 50.0, -10.0],
    ...     "type": ["earn", "redeem", "earn", "expire"],
    ... })
    >>> points_flow(points)
                issued  redeemed  expired  adjusted  net_change  outstanding
    period_end
    2024-01-31   100.0       0.0      0.0       0.0       100.0        100.0
    2024-02-29    50.0      40.0      0.0       0.0        10.0        110.0
    2024-03-01     0.0       0.0     10.0       0.0       -10.0        100.0
    """
    func = "points_flow"
    check_freq(freq, func=func)
    ledger = _ledger(points, func)
    window = resolve_window(points["date"], start, end)
    rows = []
    for first, last in periods(window, freq):
        inside = Window(first, last).contains(ledger.date)
        issued = ledger.sum(inside, EARN)
        redeemed = -ledger.sum(inside, REDEEM)
        expired = -ledger.sum(inside, EXPIRE)
        adjusted = ledger.sum(inside, ADJUST)
        rows.append(
            {
                "period_end": last,
                "issued": issued,
                "redeemed": redeemed,
                "expired": expired,
                "adjusted": adjusted,
                "net_change": issued - redeemed - expired + adjusted,
                "outstanding": ledger.sum(Window(first, last).up_to_end(ledger.date)),
            }
        )
    columns = ["issued", "redeemed", "expired", "adjusted", "net_change", "outstanding"]
    frame = pd.DataFrame(rows, columns=["period_end", *columns])
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame.set_index("period_end").astype("float64")


# --------------------------------------------------------------------------------------------
# points_rates
# --------------------------------------------------------------------------------------------
def _per_customer(ledger: _Ledger, inside: np.ndarray) -> pd.DataFrame:
    """Per customer with a row in ``inside``: issued, redeemed, expired, active, redeemer."""
    codes, ids = pd.factorize(ledger.customer_id[inside])
    kind, pts = ledger.kind[inside], ledger.points[inside]
    n = len(ids)

    def total(k: int) -> np.ndarray:
        return np.bincount(codes, weights=np.where(kind == k, pts, 0.0), minlength=n)

    def has(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=mask.astype("float64"), minlength=n) > 0

    return pd.DataFrame(
        {
            "customer_id": np.asarray(ids, dtype=object),
            "issued": total(EARN),
            "redeemed": -total(REDEEM),
            "expired": -total(EXPIRE),
            "active": has((kind == EARN) | (kind == REDEEM)),
            "redeemer": has(kind == REDEEM),
        }
    )


def _group_map(customers: pd.DataFrame | None, by: By, func: str) -> pd.Series:
    """customer_id (str) -> group, from a customers-table column or a given mapping."""
    if isinstance(by, pd.Series):
        name = by.name if isinstance(by.name, str) else "group"
        mapping = pd.Series(by.to_numpy(), index=pd.Index(by.index.astype("str")), name=name)
    elif customers is None:
        raise ConfigError(f"{func} needs the customers table to group by {by!r}.")
    else:
        rows = customers.drop_duplicates("customer_id", keep="last")
        key = group_key(rows, by, func=func, what="customers table")
        ids = pd.Index(rows["customer_id"].astype("str").to_numpy())
        mapping = pd.Series(key.to_numpy(), index=ids, name=key.name)
    return mapping[~mapping.index.duplicated(keep="last")]


def _groups(units: pd.DataFrame, key: pd.Series | None) -> list[tuple[object, pd.DataFrame]]:
    if key is None:
        return [("all", units)]
    values = units["customer_id"].map(key)
    keep = values.notna().to_numpy()
    return [(g, part) for g, part in units.loc[keep].groupby(values[keep], sort=True)]


def _record(metric: str, figure: tuple, numerator: float, denominator: float, interval: str):
    value, n, low, high = figure
    return {
        "metric": metric,
        "value": value,
        "n": int(n),
        "numerator": float(numerator),
        "denominator": float(denominator),
        "ci_low": low,
        "ci_high": high,
        "interval": interval,
    }


def _wilson(metric: str, k: int, n: int, level: float) -> dict:
    low, high = wilson_interval(k, n, level=level)
    value = 100.0 * k / n if n else _NAN
    return _record(metric, (value, n, float(low), float(high)), k, n, "wilson")


def _bootstrap(metric: str, num: np.ndarray, den: np.ndarray, n_boot, rng, level) -> dict:
    value, n, low, high = _ratio_figure(num, den, n_boot, rng, level)
    figure = (100 * value, n, 100 * low, 100 * high)
    return _record(metric, figure, num.sum(), den.sum(), _boot_label(n))


def points_rates(
    points: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    *,
    by: By = None,
    freq: str | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    level: float = 0.95,
    n_boot: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """The programme's rates by group and/or period, each with its n and an interval.

    Parameters
    ----------
    points : pandas.DataFrame
        The points ledger (see :func:`points_kpis`).
    customers : pandas.DataFrame, optional
        The customers table (``is_member``, ``member_since``, and the ``by`` column when
        ``by`` names one); needed by the member rates.
    orders : pandas.DataFrame, optional
        A validated orders frame; needed by ``member_share``.
    by : str or pandas.Series, optional
        A column of the customers table (e.g. ``"tier"``) or a Series mapping
        ``customer_id`` to a group (e.g. ``loyalty_tiers(orders, thresholds)["tier"]``).
        Customers without a group are left out.
    freq : str, optional
        One set of rows per calendar period (``"W"``, ``"M"``, ``"Q"``, ``"Y"``), each over
        that period alone; membership is as of the period's end.
    start, end : date-like, optional
        Inclusive window; default the first and the last ledger date.
    level : float, default 0.95
        Confidence level of every interval.
    n_boot : int, default 1000
        Bootstrap resamples for the redemption and breakage rates.
    random_state : int, default 0
        Seed of the bootstrap: the same inputs give the same intervals.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per (group, period, metric): the ``by`` column (when given),
        ``period_end`` (with ``freq``), then :data:`POINTS_RATE_COLUMNS`: ``metric``,
        ``value`` (percent), ``n``, ``numerator``, ``denominator``, ``ci_low``, ``ci_high``,
        ``interval`` and ``low_n`` (n < 30 or a half-width above 10 points). Metrics:

        - ``redemption_rate`` (points redeemed / issued) and ``breakage_rate`` (points
          expired / (expired + redeemed)): ``n`` = customers with a row of those types,
          numerator and denominator in points, interval ``"bootstrap"`` over customers
          (``"normal"`` above :data:`loyalty_metrics.programs.BOOTSTRAP_MAX_N`);
        - ``member_activity_rate``, ``redeemer_share`` (with customers): ``n`` = members,
          Wilson interval;
        - ``member_share`` (with customers and orders): ``n`` = customers who purchased,
          Wilson interval.

    Notes
    -----
    The whole-window, ungrouped values equal :func:`points_kpis`'s. Points are not
    independent trials (see the module notes), hence the bootstrap over customers for the
    two points rates. NaN value and interval for an empty denominator.

    Examples
    --------
    >>> points = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-01-10", "2024-02-15"]),
    ...     "points": [100.0, -40.0, 50.0, -50.0],
    ...     "type": ["earn", "redeem", "earn", "redeem"],
    ... })
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "is_member": [True, True],
    ...                           "tier": ["gold", "silver"]})
    >>> rates = points_rates(points, customers, by="tier")
    >>> rates.loc[rates["metric"] == "redemption_rate", ["tier", "value", "n", "numerator"]]
         tier  value  n  numerator
    0    gold   40.0  1       40.0
    4  silver  100.0  1       50.0
    """
    func = "points_rates"
    _check_boot_args(func, n_boot, level)
    if freq is not None:
        check_freq(freq, func=func)
    ledger = _ledger(points, func)
    window = resolve_window(points["date"], start, end)
    key = None if by is None else _group_map(customers, by, func)
    spans = [(window.start, window.end)] if freq is None else periods(window, freq)
    rng = np.random.default_rng(random_state)
    records = []
    for first, last in spans:
        if pd.isna(first):
            continue
        inside = Window(first, last).contains(ledger.date)
        per = _per_customer(ledger, inside)
        members = _members(customers, last)
        buyers = None
        if members is not None and orders is not None:
            buyers = customer_summary(orders, start=first, end=last).index
        member_units = None
        if members is not None:
            member_units = pd.DataFrame({"customer_id": np.asarray(members, dtype=object)})
            member_units = member_units.merge(per, on="customer_id", how="left")
            member_units[["active", "redeemer"]] = (
                member_units[["active", "redeemer"]].fillna(False).astype(bool)
            )
        for group, units in _groups(per, key):
            redeeming = units.loc[(units["issued"] != 0) | (units["redeemed"] != 0)]
            leaving = units.loc[(units["expired"] != 0) | (units["redeemed"] != 0)]
            rows = [
                _bootstrap(
                    "redemption_rate",
                    redeeming["redeemed"].to_numpy(),
                    redeeming["issued"].to_numpy(),
                    n_boot,
                    rng,
                    level,
                ),
                _bootstrap(
                    "breakage_rate",
                    leaving["expired"].to_numpy(),
                    (leaving["expired"] + leaving["redeemed"]).to_numpy(),
                    n_boot,
                    rng,
                    level,
                ),
            ]
            records += [{"_group": group, "period_end": last, **r} for r in rows]
        if member_units is not None:
            for group, units in _groups(member_units, key):
                n = len(units)
                for metric, column in (
                    ("member_activity_rate", "active"),
                    ("redeemer_share", "redeemer"),
                ):
                    row = _wilson(metric, int(units[column].sum()), n, level)
                    records.append({"_group": group, "period_end": last, **row})
        if buyers is not None:
            buyer_units = pd.DataFrame({"customer_id": np.asarray(buyers, dtype=object)})
            buyer_units["member"] = buyer_units["customer_id"].isin(members)
            for group, units in _groups(buyer_units, key):
                row = _wilson("member_share", int(units["member"].sum()), len(units), level)
                records.append({"_group": group, "period_end": last, **row})
    return _rates_frame(records, key, freq)


def _rates_frame(records: list[dict], key: pd.Series | None, freq: str | None) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(
        records, columns=["_group", "period_end", *POINTS_RATE_COLUMNS[:-1]]
    )
    frame["low_n"] = flag_low_n(
        frame["n"].to_numpy(), frame["ci_low"].to_numpy(), frame["ci_high"].to_numpy()
    )
    order = {m: i for i, m in enumerate(POINTS_KPI_KEYS)}
    frame["_order"] = frame["metric"].map(order)
    sort = (["_group"] if key is not None else []) + (["period_end"] if freq else []) + ["_order"]
    frame = frame.sort_values(sort, kind="stable").drop(columns="_order")
    if key is None:
        frame = frame.drop(columns="_group")
    else:
        frame = frame.rename(columns={"_group": key.name})
    if freq is None:
        frame = frame.drop(columns="period_end")
    else:
        frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame.reset_index(drop=True)
