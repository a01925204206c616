"""Loyalty-program and referral impact, each figure with its n and a confidence interval.

:func:`program_impact` gives three views of a loyalty program, each labelled by how far it can
be read as the program's effect; :func:`referral_conversion` compares referred and organic
customers. Intervals are Wilson for rates, adjusted Wald for NPS and a seeded, vectorised
percentile bootstrap for means and ratios (for groups above :data:`BOOTSTRAP_MAX_N` customers
the replicates come from the normal approximation of the mean, which the bootstrap matches at
that size and which costs O(resamples) instead of O(resamples * customers)).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ._stats import nps_interval, wilson_interval
from ._window import DateLike, Window
from .cohorts import (
    _INT_MAX,
    _NS_PER_DAY,
    _check_choice,
    _in_index,
    _parse_offset,
    _period_codes,
    _period_first_day,
    orders_from_kernel,
)
from .errors import ConfigError
from .orders import order_kernel
from .summary import customer_summary, summary_from_kernel, summary_window

__all__ = [
    "BOOTSTRAP_MAX_N",
    "CAUSALITY",
    "IMPACT_COLUMNS",
    "program_impact",
    "referral_conversion",
]

#: How far each view of :func:`program_impact` can be read as the program's effect.
CAUSALITY = {
    "members_vs_non_members": (
        "not causal: members select themselves (the best customers join anyway)"
    ),
    "before_after": (
        "weakly causal: the same members before and after joining, but nothing controls for "
        "trends, seasonality or why they joined when they did"
    ),
    "difference_in_differences": (
        "closest to causal: members' change minus non-members' change over the same calendar "
        "windows; assumes both would have moved alike without the program (parallel trends)"
    ),
}
#: Columns of :func:`program_impact`.
IMPACT_COLUMNS = (
    "view",
    "causality",
    "group",
    "metric",
    "value",
    "n",
    "ci_low",
    "ci_high",
    "interval",
)

_BOOT_ELEMENTS = 4_000_000  # resampled values held in memory at once
#: Groups larger than this get normal-approximation replicates instead of resamples.
BOOTSTRAP_MAX_N = 10_000


# --------------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------------
def _check_boot_args(func: str, n_boot: int, level: float) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ConfigError(
            f"The 'n_boot' parameter of {func} must be an integer >= 1. Got {n_boot!r} instead."
        )
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise ConfigError(
            f"The 'level' parameter of {func} must be a number in (0, 1). Got {level!r} instead."
        )


def _boot_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, k) column means of resamples (with replacement) of the rows of ``values``.

    Above :data:`BOOTSTRAP_MAX_N` rows the replicates are drawn from the normal law of the
    mean (mean, covariance / n), which the bootstrap distribution of a mean of that many
    units matches (CLT): O(n_boot) instead of O(n_boot * n).
    """
    values = np.asarray(values, dtype="float64").reshape(len(values), -1)
    n, k = values.shape
    out = np.full((n_boot, k), np.nan)
    if n == 0:
        return out
    if n > BOOTSTRAP_MAX_N:
        cov = np.atleast_2d(np.cov(values, rowvar=False)) / n
        return rng.multivariate_normal(values.mean(axis=0), cov, size=n_boot)
    chunk = max(1, _BOOT_ELEMENTS // n)
    for lo in range(0, n_boot, chunk):  # a few chunks: memory stays bounded
        hi = min(n_boot, lo + chunk)
        idx = rng.integers(0, n, size=(hi - lo, n))
        out[lo:hi] = values[idx].mean(axis=1)
    return out


def _boot_label(*sizes: int) -> str:
    """``"bootstrap"``, or ``"normal"`` when a group was too large to resample."""
    return "bootstrap" if max(sizes, default=0) <= BOOTSTRAP_MAX_N else "normal"


def _percentile_ci(stats: np.ndarray, level: float) -> tuple[float, float]:
    stats = stats[np.isfinite(stats)]
    if len(stats) == 0:
        return np.nan, np.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(stats, [tail, 100 - tail])
    return float(low), float(high)


def _mean_figure(values: np.ndarray, n_boot: int, rng: np.random.Generator, level: float):
    """(value, n, low, high) of a mean with a bootstrap interval."""
    n = len(values)
    if n == 0:
        return np.nan, 0, np.nan, np.nan
    low, high = _percentile_ci(_boot_means(values, n_boot, rng)[:, 0], level)
    return float(np.mean(values)), n, low, high


def _ratio_figure(num: np.ndarray, den: np.ndarray, n_boot: int, rng, level: float):
    """(sum(num) / sum(den), n, low, high) with a bootstrap over the units."""
    n = len(num)
    total = float(np.sum(den))
    if n == 0 or total == 0:
        return np.nan, n, np.nan, np.nan
    means = _boot_means(np.column_stack([num, den]), n_boot, rng)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = means[:, 0] / means[:, 1]
    low, high = _percentile_ci(ratios, level)
    return float(np.sum(num)) / total, n, low, high


def _rate_figure(successes: int, n: int, level: float):
    low, high = wilson_interval(successes, n, level=level)
    value = 100.0 * successes / n if n else np.nan
    return value, n, float(low), float(high)


def window_days(window: str, *, func: str) -> int:
    """Length in days of a before/after ``window`` (``"90D"``, ``"12W"``, ``"3M"``...)."""
    span = _parse_offset(window, func=func, name="window")
    if isinstance(span, pd.Timedelta):
        return int(span.days)
    # a calendar offset: its length from the epoch, good enough for a window width
    return int((pd.Timestamp(0) + span - pd.Timestamp(0)).days)


# --------------------------------------------------------------------------------------------
# Membership
# --------------------------------------------------------------------------------------------
def _membership(customers: pd.DataFrame, end: pd.Timestamp, func: str) -> pd.DataFrame:
    """Per customers-table row: member at ``end``, join day, tier; unknown rows flagged."""
    has_flag = "is_member" in customers.columns
    has_since = "member_since" in customers.columns
    if not has_flag and not has_since:
        raise ConfigError(
            f"{func} needs 'is_member' or 'member_since' in the customers table to tell members "
            "from non-members."
        )
    rows = customers
    if "signup_date" in rows.columns:
        signup = rows["signup_date"].to_numpy(dtype="datetime64[ns]")
        keep = np.isnat(signup) | (signup <= end.to_datetime64())
        rows = rows.loc[keep]
    rows = rows.drop_duplicates("customer_id", keep="last")
    n = len(rows)
    end_day = end.value // _NS_PER_DAY
    if has_since:
        since = rows["member_since"].to_numpy(dtype="datetime64[ns]")
        since_day = np.where(np.isnat(since), _INT_MAX, since.view("int64") // _NS_PER_DAY)
    else:
        since_day = np.full(n, _INT_MAX, dtype="int64")
    if has_flag:
        flag = rows["is_member"].astype("boolean")
        unknown_flag = flag.isna().to_numpy()
        flag = flag.fillna(False).to_numpy(dtype=bool)
    else:
        unknown_flag = np.zeros(n, dtype=bool)
        flag = since_day != _INT_MAX
    # A member joined by end (member_since after end: not a member yet at end).
    member = flag & ~unknown_flag & ((since_day <= end_day) | (since_day == _INT_MAX))
    # Join day for the before/after views; never joined: int64 max.
    joined = np.where(flag & ~unknown_flag, since_day, _INT_MAX)
    unknown_join = flag & ~unknown_flag & (since_day == _INT_MAX)  # member, but since when?
    out = pd.DataFrame(
        {
            "member": member,
            "unknown": unknown_flag,
            "joined_day": joined,
            "unknown_join": unknown_join,
        },
        index=pd.Index(rows["customer_id"].astype("str").to_numpy(), name="customer_id"),
    )
    if "tier" in rows.columns:
        out["tier"] = rows["tier"].to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# program_impact
# --------------------------------------------------------------------------------------------
def _record(view: str, group: str, metric: str, figure: tuple, interval: str) -> dict:
    value, n, low, high = figure
    return {
        "view": view,
        "causality": CAUSALITY[view],
        "group": group,
        "metric": metric,
        "value": value,
        "n": int(n),
        "ci_low": low,
        "ci_high": high,
        "interval": interval,
    }


def _group_records(
    group: str,
    summary: pd.DataFrame,
    responses: pd.DataFrame | None,
    window: Window,
    n_boot: int,
    level: float,
    rng: np.random.Generator,
) -> list[dict]:
    view = "members_vs_non_members"
    purchases = summary["purchases"].to_numpy(dtype="float64")
    revenue = summary["revenue"].to_numpy(dtype="float64")
    n = len(summary)
    records = [
        _record(view, group, "customers", (float(n), n, np.nan, np.nan), "none"),
        _record(
            view,
            group,
            "repeat_purchase_rate",
            _rate_figure(int((purchases >= 2).sum()), n, level),
            "wilson",
        ),
        _record(
            view,
            group,
            "purchase_frequency",
            _mean_figure(purchases, n_boot, rng, level),
            _boot_label(n),
        ),
        _record(
            view,
            group,
            "average_ticket",
            _ratio_figure(revenue, purchases, n_boot, rng, level),
            _boot_label(n),
        ),
        _record(
            view,
            group,
            "historic_clv",
            _mean_figure(revenue, n_boot, rng, level),
            _boot_label(n),
        ),
    ]
    if responses is not None:
        from .metrics.survey import nps  # lazy: the survey metrics import nothing of ours

        mine = responses.loc[_in_index(responses["customer_id"], summary.index)]
        scores = mine["score"].to_numpy(dtype="float64")
        valid = ~np.isnan(scores)
        k = int(valid.sum())
        value = float(nps(mine, start=window.start, end=window.end)) if k else np.nan
        low, high = nps_interval(
            int((scores[valid] >= 9).sum()), int((scores[valid] <= 6).sum()), k, level=level
        )
        records.append(
            _record(view, group, "nps", (value, k, float(low), float(high)), "adjusted-wald")
        )
    return records


def _window_responses(surveys: pd.DataFrame | None, window: Window) -> pd.DataFrame | None:
    if surveys is None:
        return None
    rows = surveys.loc[surveys["customer_id"].notna()] if "customer_id" in surveys else None
    if rows is None:
        return surveys.iloc[:0].assign(customer_id=pd.Series(dtype="str"))
    # As metrics.survey.nps: a dated table is windowed (undated rows fall outside); a table
    # without any date cannot be windowed and counts whole.
    if "response_date" in surveys.columns and surveys["response_date"].notna().any():
        rows = rows.loc[window.contains(rows["response_date"])]
    rows = rows.copy()
    rows["customer_id"] = rows["customer_id"].astype("str")
    return rows


def _window_totals(
    day_sorted: np.ndarray,
    order_pos: np.ndarray,
    customer: np.ndarray,
    amount: np.ndarray,
    purchase: np.ndarray,
    lo: int,
    hi: int,
    n_customers: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Purchases and net revenue per customer over the days ``lo..hi`` (inclusive)."""
    a, b = np.searchsorted(day_sorted, [lo, hi + 1])
    rows = order_pos[a:b]
    c = customer[rows]
    purchases = np.bincount(c, weights=purchase[rows], minlength=n_customers)
    revenue = np.bincount(c, weights=amount[rows], minlength=n_customers)
    return purchases, revenue


def program_impact(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    *,
    window: str = "90D",
    join_period: Literal["W", "M", "Q"] = "M",
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """The loyalty program's impact in three views, each labelled by how causal it is.

    Parameters
    ----------
    orders : pandas.DataFrame
        A validated orders frame.
    customers : pandas.DataFrame
        The customers table with ``is_member`` and/or ``member_since`` (optional ``tier``).
    surveys : pandas.DataFrame, optional
        Survey responses; adds NPS to view (a).
    window : str, default "90D"
        Length of each side of the before/after windows (views b and c): ``"90D"``,
        ``"12W"``, ``"3M"``...
    join_period : {"M", "W", "Q"}, default "M"
        Calendar period members are grouped by when they joined (views b and c).
    n_boot : int, default 1000
        Bootstrap resamples for means and ratios.
    level : float, default 0.95
        Confidence level of every interval.
    random_state : int, default 0
        Seed of the bootstrap: the same inputs always give the same intervals.
    start, end : date-like, optional
        Observation window; default the first and last order dates.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per figure, columns :data:`IMPACT_COLUMNS`: ``view``, ``causality``
        (the label of :data:`CAUSALITY`), ``group``, ``metric``, ``value``, ``n`` (customers,
        or responses for NPS), ``ci_low``, ``ci_high`` and ``interval`` (``"wilson"``,
        ``"bootstrap"``, ``"normal"`` (a group above :data:`BOOTSTRAP_MAX_N`),
        ``"adjusted-wald"`` or ``"none"``). Views, in order:

        (a) ``members_vs_non_members`` -- groups ``members``, ``non-members`` and, when the
        table has ``tier``, ``members: <tier>``; metrics over the customers who purchased in
        the window: ``customers``, ``repeat_purchase_rate`` (%), ``purchase_frequency``
        (purchases per customer), ``average_ticket`` (revenue / purchases),
        ``historic_clv`` (revenue per customer) and, with surveys, ``nps`` (their responses
        in the window).

        (b) ``before_after`` -- groups ``before``, ``after`` and ``change`` (after - before,
        a paired bootstrap); metrics ``purchases`` and ``revenue`` per member per window.

        (c) ``difference_in_differences`` -- groups ``members`` (their change),
        ``non-members`` (their change over the same calendar windows) and ``difference``
        (members' minus non-members' change); same metrics.

    Notes
    -----
    Membership is as of ``end``: ``is_member`` true (or, without that column, a
    ``member_since`` date) and ``member_since`` not after ``end``. Buyers missing from the
    customers table are non-members; rows whose ``is_member`` is blank are left out.

    Views (b) and (c): members are grouped by the calendar ``join_period`` of their
    ``member_since``; for a join period starting on day ``J0`` and ending on ``J1``, the
    *before* window is the ``window`` days up to ``J0 - 1`` and the *after* window the
    ``window`` days from ``J1 + 1``, equal lengths, and the join period itself (which holds
    the sign-up order) is left out. Both windows must lie within ``start..end``. Only
    customers with a purchase on both sides count, members and non-members alike;
    non-members for a join period are customers who had not joined by the end of its after
    window. The difference in differences is the average over join periods of (members'
    mean change - non-members' mean change), weighted by members; join periods without an
    eligible non-member are left out of (c). Its bootstrap resamples members and
    non-members within each join period.

    NaN where a group is empty (never 0). Revenue is net (returns included).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "c", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-10",
    ...                                   "2024-02-20", "2024-01-07", "2024-03-12"]),
    ...     "amount": [10.0, 30.0, 20.0, 5.0, 8.0, 9.0],
    ... })
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                           "is_member": [True, False, False],
    ...                           "member_since": pd.to_datetime(["2024-02-01", None, None])})
    >>> impact = program_impact(orders, customers, window="30D", start="2024-01-01",
    ...                         end="2024-03-31")
    >>> naive = impact[impact["view"] == "members_vs_non_members"]
    >>> naive.pivot(index="metric", columns="group", values="value").round(2)
    group                 members  non-members
    metric
    average_ticket           20.0         7.33
    customers                 1.0         2.00
    historic_clv             60.0        11.00
    purchase_frequency        3.0         1.50
    repeat_purchase_rate    100.0        50.00
    >>> did = impact[impact["view"] == "difference_in_differences"]
    >>> did.pivot(index="metric", columns="group", values="value")  # c: non-member, both sides
    group      difference  members  non-members
    metric
    purchases         0.0      0.0          0.0
    revenue           9.0     10.0          1.0
    """
    func = "program_impact"
    _check_boot_args(func, n_boot, level)
    _check_choice(func, "join_period", join_period, ("W", "M", "Q"))
    span_days = window_days(window, func=func)
    rng = np.random.default_rng(random_state)

    kernel = order_kernel(orders, end=end)
    win = kernel.window(start, end)
    summary = summary_from_kernel(kernel, win)
    records: list[dict] = []
    if win.empty:
        return pd.DataFrame(columns=list(IMPACT_COLUMNS))
    members = _membership(customers, win.end, func)

    # (a) members vs non-members, over the buyers of the window.
    status = members.reindex(summary.index)
    is_member = members["member"].reindex(summary.index, fill_value=False).to_numpy(dtype=bool)
    unknown = members["unknown"].reindex(summary.index, fill_value=False).to_numpy(dtype=bool)
    responses = _window_responses(surveys, win)
    groups = [("members", is_member), ("non-members", ~is_member & ~unknown)]
    if "tier" in members.columns:
        tiers = status["tier"]
        for tier in sorted(pd.unique(tiers[is_member & tiers.notna().to_numpy()]).tolist()):
            groups.append((f"members: {tier}", is_member & (tiers == tier).to_numpy()))
    for name, mask in groups:
        records += _group_records(name, summary.loc[mask], responses, win, n_boot, level, rng)

    # (b) and (c) need the orders themselves: one pass, sorted by day for window slices.
    o = orders_from_kernel(kernel, win)
    order_pos = np.argsort(o.day, kind="stable")
    day_sorted = o.day[order_pos]
    ids = o.customer_ids
    joined = members["joined_day"].reindex(ids, fill_value=_INT_MAX).to_numpy(dtype="int64")
    unknown_join = (
        (members["unknown_join"] | members["unknown"])
        .reindex(ids, fill_value=False)
        .to_numpy(dtype=bool)
    )
    is_joiner = (joined != _INT_MAX) & ~unknown_join
    join_code = np.where(is_joiner, _period_codes(np.where(is_joiner, joined, 0), join_period), 0)
    purchase = o.purchase.astype("float64")
    per_period: list[dict] = []
    for code in np.unique(join_code[is_joiner]):  # a handful of join periods
        j0, j1 = _period_first_day(np.array([code, code + 1]), join_period)
        j0, j1 = int(j0), int(j1) - 1
        b_lo, b_hi, a_lo, a_hi = j0 - span_days, j0 - 1, j1 + 1, j1 + span_days
        if b_lo < o.start_day or a_hi > o.end_day:
            continue  # a window not fully observed
        args = (day_sorted, order_pos, o.customer, o.amount, purchase)
        pb, rb = _window_totals(*args, b_lo, b_hi, o.n_customers)
        pa, ra = _window_totals(*args, a_lo, a_hi, o.n_customers)
        both = (pb > 0) & (pa > 0)
        mem = np.flatnonzero(is_joiner & (join_code == code) & both)
        non = np.flatnonzero(~unknown_join & (joined > a_hi) & both)
        if len(mem) == 0:
            continue
        per_period.append(
            {
                "members": np.column_stack([pb[mem], rb[mem], pa[mem], ra[mem]]),
                "non": np.column_stack([pb[non], rb[non], pa[non], ra[non]]),
            }
        )
    records += _before_after_records(per_period, n_boot, level, rng)
    records += _did_records(per_period, n_boot, level, rng)
    return pd.DataFrame.from_records(records, columns=list(IMPACT_COLUMNS))


_WINDOW_METRICS = ("purchases", "revenue")


def _before_after_records(per_period: list[dict], n_boot: int, level: float, rng) -> list[dict]:
    view = "before_after"
    data = (
        np.vstack([p["members"] for p in per_period]) if per_period else np.zeros((0, 4))
    )  # columns: purchases before, revenue before, purchases after, revenue after
    before, after = data[:, :2], data[:, 2:]
    records = []
    for group, values in (("before", before), ("after", after), ("change", after - before)):
        for j, metric in enumerate(_WINDOW_METRICS):
            fig = _mean_figure(values[:, j], n_boot, rng, level)
            records.append(_record(view, group, metric, fig, _boot_label(len(values))))
    return records


def _did_records(per_period: list[dict], n_boot: int, level: float, rng) -> list[dict]:
    view = "difference_in_differences"
    usable = [p for p in per_period if len(p["non"])]
    n_mem = np.array([len(p["members"]) for p in usable], dtype="float64")
    n_non = int(sum(len(p["non"]) for p in usable))
    weights = n_mem / n_mem.sum() if len(usable) else n_mem
    records = []
    for j, metric in enumerate(_WINDOW_METRICS):
        mem_change = [p["members"][:, 2 + j] - p["members"][:, j] for p in usable]
        non_change = [p["non"][:, 2 + j] - p["non"][:, j] for p in usable]
        if not usable:
            nan_fig = (np.nan, 0, np.nan, np.nan)
            for group in ("members", "non-members", "difference"):
                records.append(_record(view, group, metric, nan_fig, "bootstrap"))
            continue
        mem_mean = np.array([c.mean() for c in mem_change])
        non_mean = np.array([c.mean() for c in non_change])
        # Stratified bootstrap: resample members and non-members within each join period.
        boot_mem = np.column_stack([_boot_means(c, n_boot, rng)[:, 0] for c in mem_change])
        boot_non = np.column_stack([_boot_means(c, n_boot, rng)[:, 0] for c in non_change])
        figures = {
            "members": (weights @ mem_mean, int(n_mem.sum()), boot_mem @ weights),
            "non-members": (weights @ non_mean, n_non, boot_non @ weights),
            "difference": (
                weights @ (mem_mean - non_mean),
                int(n_mem.sum()),
                (boot_mem - boot_non) @ weights,
            ),
        }
        for group, (value, n, boot) in figures.items():
            low, high = _percentile_ci(boot, level)
            label = _boot_label(*(len(c) for c in mem_change + non_change))
            records.append(_record(view, group, metric, (float(value), n, low, high), label))
    return records


# --------------------------------------------------------------------------------------------
# referral_conversion
# --------------------------------------------------------------------------------------------
def referral_conversion(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """Referred vs organic customers: who purchased, repeat rate and historic CLV.

    Parameters
    ----------
    customers : pandas.DataFrame
        The customers table with ``customer_id`` and ``referred_by`` (optional
        ``signup_date``: rows signed up after ``end`` are not counted).
    orders : pandas.DataFrame
        A validated orders frame.
    n_boot : int, default 1000
        Bootstrap resamples for the CLV interval.
    level : float, default 0.95
        Confidence level.
    random_state : int, default 0
        Bootstrap seed.
    start, end : date-like, optional
        Window of the purchases (default all history up to the last order date).

    Returns
    -------
    pandas.DataFrame
        Index ``group`` = ``referred`` (a ``referred_by`` is set), ``organic`` (it is blank);
        columns:

        - ``customers``: customers-table rows in the group;
        - ``buyers``, ``purchased_share`` (``100 * buyers / customers``), ``purchased_ci_low``,
          ``purchased_ci_high`` (Wilson);
        - ``repeat_buyers``, ``repeat_purchase_rate`` (``100 * buyers with >= 2 purchases /
          buyers``), ``repeat_ci_low``, ``repeat_ci_high`` (Wilson);
        - ``historic_clv`` (net revenue per buyer in the window), ``clv_ci_low``,
          ``clv_ci_high`` (percentile bootstrap; normal approximation above
          :data:`BOOTSTRAP_MAX_N` buyers).

        NaN for an empty group.

    Notes
    -----
    Both groups come from the customers table, so buyers absent from it are in neither (their
    origin is unknown). A buyer is a customer with a purchase (order with net amount >= 0)
    in the window.

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
    ...                           "referred_by": [None, "a", "a", None]})
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "d"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-01", "2024-02-01", "2024-01-05", "2024-03-01", "2024-01-09"]),
    ...     "amount": [10.0, 20.0, 5.0, 5.0, 8.0],
    ... })
    >>> out = referral_conversion(customers, orders)
    >>> out[["customers", "buyers", "purchased_share", "repeat_purchase_rate"]]
              customers  buyers  purchased_share  repeat_purchase_rate
    group
    referred          2       1             50.0                 100.0
    organic           2       2            100.0                  50.0
    >>> out["historic_clv"].tolist()  # b: 5 + 5; a: 30, d: 8 -> 19
    [10.0, 19.0]
    """
    func = "referral_conversion"
    _check_boot_args(func, n_boot, level)
    if "referred_by" not in customers.columns:
        raise ConfigError(f"{func} needs a 'referred_by' column in the customers table.")
    rng = np.random.default_rng(random_state)
    summary = customer_summary(orders, start=start, end=end)
    win = summary_window(summary)
    table = customers
    if "signup_date" in table.columns and not win.empty:
        signup = table["signup_date"].to_numpy(dtype="datetime64[ns]")
        table = table.loc[np.isnat(signup) | (signup < win.end_exclusive.to_datetime64())]
    table = table.drop_duplicates("customer_id", keep="last")
    referred = table["referred_by"].notna().to_numpy()
    ids = table["customer_id"].astype("str")
    rows = []
    for mask in (referred, ~referred):
        bought = summary.loc[_in_index(summary.index, pd.Index(ids[mask]))]
        n = int(mask.sum())
        k = len(bought)
        repeat = int((bought["purchases"] >= 2).sum())
        share, _, p_low, p_high = _rate_figure(k, n, level)
        rate, _, r_low, r_high = _rate_figure(repeat, k, level)
        clv, _, c_low, c_high = _mean_figure(
            bought["revenue"].to_numpy(dtype="float64"), n_boot, rng, level
        )
        rows.append(
            {
                "customers": n,
                "buyers": k,
                "purchased_share": share,
                "purchased_ci_low": p_low,
                "purchased_ci_high": p_high,
                "repeat_buyers": repeat,
                "repeat_purchase_rate": rate,
                "repeat_ci_low": r_low,
                "repeat_ci_high": r_high,
                "historic_clv": clv,
                "clv_ci_low": c_low,
                "clv_ci_high": c_high,
            }
        )
    return pd.DataFrame(rows, index=pd.Index(["referred", "organic"], name="group"))
