"""Survey metrics: NPS (with intervals, breakdowns, tests, sample sizes) and CSAT."""

from __future__ import annotations

import math
from typing import Literal, overload

import numpy as np
import pandas as pd

from .._stats import nps_interval, z_value
from .._validation import validate_surveys
from .._window import DateLike, Window, resolve_window, to_day
from ..errors import ConfigError
from ._common import (
    By,
    check_freq,
    check_number,
    check_option,
    flag_low_n,
    group_key,
    parse_span,
    period_labels,
    periods,
    rate_breakdown,
    rate_scalar,
)

__all__ = ["csat", "nps", "nps_breakdown", "nps_difference", "nps_sample_size"]

NpsMethod = Literal["adjusted-wald", "wald"]
_METHODS = ("adjusted-wald", "wald")
_COUNT_COLUMNS = ("promoters", "passives", "detractors")
NPS_COLUMNS = (
    "responses",
    "promoters",
    "passives",
    "detractors",
    "promoters_share",
    "passives_share",
    "detractors_share",
    "nps",
    "ci_low",
    "ci_high",
    "low_n",
)


# ---------------------------------------------------------------------------------------------
# Selecting responses.


def _as_frame(surveys: pd.DataFrame | pd.Series | np.ndarray | list, func: str) -> pd.DataFrame:
    """Surveys as a frame; a bare sequence of scores becomes an undated ``score`` column.

    Scores that break their scale raise, as in the readers (``nps([11, -1])``).
    """
    frame = surveys if isinstance(surveys, pd.DataFrame) else pd.DataFrame({"score": surveys})
    validate_surveys(frame, func=func)
    return frame


def _is_dated(surveys: pd.DataFrame) -> bool:
    return "response_date" in surveys.columns and bool(surveys["response_date"].notna().any())


def _responses(
    surveys: pd.DataFrame,
    column: str,
    start: DateLike | None,
    end: DateLike | None,
) -> tuple[pd.DataFrame, Window]:
    """Rows with a ``column`` answer in the window, and the window.

    Dated surveys are windowed by ``response_date`` (undated rows are then outside every
    window); surveys without any date cannot be windowed and count whole.
    """
    if _is_dated(surveys):
        window = resolve_window(surveys["response_date"], start, end)
        rows = surveys.loc[window.contains(surveys["response_date"])]
    else:
        window = Window(
            start=to_day(start, name="start") or pd.NaT, end=to_day(end, name="end") or pd.NaT
        )
        rows = surveys
    if column not in rows.columns:
        return rows.iloc[:0], window
    return rows.loc[rows[column].notna()], window


def _require_dates(surveys: pd.DataFrame, *, func: str, option: str) -> None:
    if not _is_dated(surveys):
        raise ConfigError(f"{func}: {option}= needs surveys with a 'response_date' column.")


def _categories(scores: pd.Series | np.ndarray) -> pd.DataFrame:
    """Promoter / passive / detractor indicator columns (int) for 0-10 scores."""
    s = np.asarray(scores, dtype="float64")
    promoters = s >= 9
    detractors = s <= 6
    return pd.DataFrame(
        {
            "promoters": promoters.astype("int64"),
            "passives": (~promoters & ~detractors).astype("int64"),
            "detractors": detractors.astype("int64"),
        }
    )


def _nps_value(
    promoters: np.ndarray | float, detractors: np.ndarray | float, n: np.ndarray | float
) -> np.ndarray:
    p, d, m = (np.asarray(x, dtype="float64") for x in (promoters, detractors, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, 100 * (p - d) / np.where(m > 0, m, 1), np.nan)


# ---------------------------------------------------------------------------------------------
# NPS.


def nps(
    surveys: pd.DataFrame | pd.Series,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float:
    """Net Promoter Score of the responses in the window, in points (-100..100).

    Parameters
    ----------
    surveys : pandas.DataFrame or array-like
        A validated surveys frame (``score`` 0-10, optional ``response_date``), or a plain
        sequence of scores.
    start, end : date-like, optional
        Inclusive window on ``response_date``; default the first and the last response.

    Returns
    -------
    float
        ``100 * (promoters - detractors) / responses``; 100 is best (every respondent a
        promoter), -100 worst.

    Notes
    -----
    Promoters score 9-10, passives 7-8, detractors 0-6; passives count only in the
    denominator. Rows without a score (CSAT-only responses) are not responses. Computed in
    float, never rounded. NaN when there is no response in the window. Surveys without any
    ``response_date`` cannot be windowed: all their responses count.

    Examples
    --------
    >>> surveys = pd.DataFrame({"score": [10, 9, 8, 7, 3]})
    >>> nps(surveys)  # 100 * (2 - 1) / 5
    20.0
    """
    rows, _ = _responses(_as_frame(surveys, "nps"), "score", start, end)
    counts = _categories(rows["score"]).sum()
    return float(_nps_value(counts["promoters"], counts["detractors"], len(rows)))


def nps_breakdown(
    surveys: pd.DataFrame,
    *,
    by: By = None,
    freq: str | None = None,
    window: str | pd.Timedelta | None = None,
    level: float = 0.95,
    method: NpsMethod = "adjusted-wald",
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.DataFrame:
    """NPS with its counts, shares and confidence interval, overall, by group or over time.

    Parameters
    ----------
    surveys : pandas.DataFrame
        A validated surveys frame.
    by : str or pandas.Series, optional
        A surveys column (e.g. ``"segment"``) or a Series mapping ``customer_id`` to a group
        (anonymous responses and unmapped customers are left out).
    freq : str, optional
        A period alias (``"W"``, ``"M"``, ``"Q"``, ``"Y"``): one row per period of the window,
        periods without responses included (NaN NPS).
    window : str or pandas.Timedelta, optional
        A rolling window in days or weeks (``"30D"``): each row pools the responses of the
        ``window`` days ending on its date, looking back before ``start`` when needed. The rows
        are evaluated at each period end of ``freq``, or every day of the window when ``freq``
        is None.
    level : float, default 0.95
        Confidence level of the interval.
    method : {"adjusted-wald", "wald"}, default "adjusted-wald"
        Interval method (see Notes).
    start, end : date-like, optional
        Inclusive window on ``response_date``; default the first and the last response.

    Returns
    -------
    pandas.DataFrame
        Columns ``responses``, ``promoters``, ``passives``, ``detractors`` (counts),
        ``promoters_share``, ``passives_share``, ``detractors_share`` (0-100), ``nps``
        (-100..100), ``ci_low``, ``ci_high`` (-100..100) and ``low_n`` (True when
        ``responses`` < 30 or the interval's half-width exceeds 10 points). Indexed by
        ``"all"`` (no breakdown), by the group, by ``period_end`` (the period's last day, the
        last one clipped to ``end``), or by both (``period_end``, group).

    Notes
    -----
    Adjusted Wald (Rocks 2016): ``n' = n + 3``, ``p' = (P + 0.75) / n'``,
    ``d' = (D + 0.75) / n'``, ``SE' = sqrt((p' + d' - (p' - d')**2) / n')``, interval
    ``100 * ((p' - d') +- z * SE')`` clipped to -100..100; ``nps`` stays the classic score.
    ``method="wald"`` is the plain trinomial interval around the classic score. A rolling NPS
    pools the responses of its window; it is never an average of daily scores. Rows without
    responses have NaN shares, NPS and interval.

    Examples
    --------
    >>> surveys = pd.DataFrame({"score": [10, 9, 8, 3], "segment": ["a", "a", "b", "b"]})
    >>> nps_breakdown(surveys, by="segment")[["responses", "nps", "low_n"]]
             responses    nps  low_n
    segment
    a                2  100.0   True
    b                2  -50.0   True
    """
    func = "nps_breakdown"
    check_option(method, _METHODS, name="method", func=func)
    check_number(level, name="level", func=func, low=0.0, open_low=True)
    surveys = _as_frame(surveys, func)
    if freq is not None:
        check_freq(freq, func=func)
        _require_dates(surveys, func=func, option="freq")
    if window is not None:
        _require_dates(surveys, func=func, option="window")
        return _rolling(
            surveys,
            by=by,
            freq=freq,
            window=window,
            level=level,
            method=method,
            start=start,
            end=end,
        )
    rows, win = _responses(surveys, "score", start, end)
    counts = _categories(rows["score"])
    keys: list[pd.Series] = []
    if freq is not None:
        keys.append(period_labels(rows["response_date"], win, freq).rename("period_end"))
    if by is not None:
        keys.append(group_key(rows, by, func=func, what="surveys"))
    if not keys:
        table = counts.sum().to_frame().T
        table.index = pd.Index(["all"])
        return _nps_table(table, level=level, method=method)
    grouped = counts.groupby([k.to_numpy() for k in keys], dropna=True).sum()
    grouped.index.names = [k.name for k in keys]
    if freq is not None:
        labels = pd.DatetimeIndex([last for _, last in periods(win, freq)], name="period_end")
        if by is None:
            grouped = grouped.reindex(labels, fill_value=0)
        else:
            groups = grouped.index.get_level_values(1).unique().sort_values()
            full = pd.MultiIndex.from_product([labels, groups], names=grouped.index.names)
            grouped = grouped.reindex(full, fill_value=0)
    return _nps_table(grouped, level=level, method=method)


def _rolling(
    surveys: pd.DataFrame,
    *,
    by: By,
    freq: str | None,
    window: str | pd.Timedelta,
    level: float,
    method: NpsMethod,
    start: DateLike | None,
    end: DateLike | None,
) -> pd.DataFrame:
    func = "nps_breakdown"
    span = parse_span(window, name="window", func=func)
    if not isinstance(span, pd.Timedelta) or span % pd.Timedelta(days=1) != pd.Timedelta(0):
        raise ConfigError(
            f"The 'window' parameter of {func} must be whole days or weeks such as '30D'. "
            f"Got {window!r} instead."
        )
    win = resolve_window(surveys["response_date"], start, end)
    if win.empty:
        return _nps_table(
            pd.DataFrame(columns=list(_COUNT_COLUMNS), dtype="int64"), level=level, method=method
        )
    if freq is not None:
        evaluate = pd.DatetimeIndex([last for _, last in periods(win, freq)])
    else:
        evaluate = pd.date_range(win.start, win.end, freq="D")
    evaluate = evaluate.rename("period_end")
    # Look-back: every response up to end may fall in a window, whatever start is.
    rows = surveys.loc[win.up_to_end(surveys["response_date"]) & surveys["score"].notna()]
    counts = _categories(rows["score"])
    counts.index = rows.index
    if by is not None:
        group = group_key(rows, by, func=func, what="surveys")
        name = group.name
    else:
        group, name = pd.Series("all", index=rows.index), None
    counts["_day"] = rows["response_date"].dt.normalize()
    counts["_group"] = group
    counts = counts.dropna(subset=["_group"])
    daily = counts.groupby(["_day", "_group"]).sum().unstack("_group", fill_value=0)
    first = evaluate.min() - span
    if len(daily):
        first = min(first, daily.index.min())
    days = pd.date_range(first, win.end, freq="D")
    cumulative = daily.reindex(days, fill_value=0).cumsum()
    upto = cumulative.reindex(evaluate).to_numpy()
    before = cumulative.reindex(evaluate - span).fillna(0).to_numpy()
    pooled = pd.DataFrame(upto - before, index=evaluate, columns=cumulative.columns)
    if pooled.columns.nlevels == 1 or pooled.shape[1] == 0:
        # no response at all up to end: zero counts, one row per evaluation date
        table = pd.DataFrame(0, index=evaluate, columns=list(_COUNT_COLUMNS))
        return _nps_table(table, level=level, method=method)
    long = pooled.stack("_group", future_stack=True)
    if by is None:
        long.index = long.index.droplevel("_group")
    else:
        long.index = long.index.set_names(["period_end", name])
    return _nps_table(long[list(_COUNT_COLUMNS)].astype("int64"), level=level, method=method)


def _nps_table(counts: pd.DataFrame, *, level: float, method: NpsMethod) -> pd.DataFrame:
    counts = counts[list(_COUNT_COLUMNS)].astype("int64")
    n = counts.sum(axis=1).to_numpy()
    out = pd.DataFrame({"responses": n}, index=counts.index)
    for column in _COUNT_COLUMNS:
        out[column] = counts[column].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        for column in _COUNT_COLUMNS:
            out[f"{column}_share"] = np.where(
                n > 0, 100 * out[column] / np.where(n > 0, n, 1), np.nan
            )
    out["nps"] = _nps_value(out["promoters"], out["detractors"], n)
    low, high = nps_interval(out["promoters"], out["detractors"], n, level=level, method=method)
    out["ci_low"], out["ci_high"] = low, high
    out["low_n"] = flag_low_n(n, low, high)
    return out[list(NPS_COLUMNS)]


def nps_difference(
    a: pd.DataFrame | pd.Series,
    b: pd.DataFrame | pd.Series,
    *,
    level: float = 0.95,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.Series:
    """Compare the NPS of two independent samples: z-test on adjusted-Wald variances.

    Parameters
    ----------
    a, b : pandas.DataFrame or array-like
        Two surveys frames (or sequences of 0-10 scores), e.g. two segments or two quarters.
    level : float, default 0.95
        Confidence level of the interval of the difference.
    start, end : date-like, optional
        Window applied to both samples (as in :func:`nps`).

    Returns
    -------
    pandas.Series
        ``nps_a``, ``nps_b`` (classic scores), ``responses_a``, ``responses_b``,
        ``difference`` (``nps_a - nps_b``, points, -200..200), ``se`` (points), ``z``,
        ``p_value`` (two-sided; small means the samples differ) and ``ci_low``, ``ci_high``
        (interval of the difference, points, clipped to -200..200).

    Notes
    -----
    Each sample's adjusted proportions are ``p' = (P + 0.75) / (n + 3)`` and
    ``d' = (D + 0.75) / (n + 3)`` with variance ``(p' + d' - (p' - d')**2) / (n + 3)``;
    ``se = 100 * sqrt(var_a + var_b)``, ``z = 100 * ((p'_a - d'_a) - (p'_b - d'_b)) / se``
    and the interval is the adjusted difference +- ``z_level * se``. Everything but the counts
    is NaN when either sample has no response.

    Examples
    --------
    >>> result = nps_difference([10] * 60 + [3] * 40, [10] * 40 + [3] * 60)
    >>> round(float(result["difference"]), 1), round(float(result["p_value"]), 3)
    (40.0, 0.004)
    """
    check_number(level, name="level", func="nps_difference", low=0.0, open_low=True)
    out = {}
    adjusted = []
    for label, sample in (("a", a), ("b", b)):
        rows, _ = _responses(_as_frame(sample, "nps_difference"), "score", start, end)
        counts = _categories(rows["score"]).sum()
        n = len(rows)
        out[f"nps_{label}"] = float(_nps_value(counts["promoters"], counts["detractors"], n))
        out[f"responses_{label}"] = n
        m = n + 3
        p = (counts["promoters"] + 0.75) / m
        d = (counts["detractors"] + 0.75) / m
        adjusted.append((p - d, (p + d - (p - d) ** 2) / m, n))
    (diff_a, var_a, n_a), (diff_b, var_b, n_b) = adjusted
    defined = n_a > 0 and n_b > 0
    nan = float("nan")
    se = 100 * math.sqrt(var_a + var_b) if defined else nan
    adjusted_diff = 100 * (diff_a - diff_b) if defined else nan
    z = adjusted_diff / se if defined and se > 0 else nan
    half = z_value(level) * se
    out["difference"] = out["nps_a"] - out["nps_b"]
    out["se"] = se
    out["z"] = z
    # two-sided normal p-value 2 * sf(|z|) = erfc(|z| / sqrt 2): the standard library agrees with
    # scipy.stats.norm.sf to ~1e-14 relative and spares importing scipy
    out["p_value"] = math.erfc(abs(z) / math.sqrt(2)) if not np.isnan(z) else nan
    out["ci_low"] = max(adjusted_diff - half, -200.0) if defined else nan
    out["ci_high"] = min(adjusted_diff + half, 200.0) if defined else nan
    order = [
        "nps_a",
        "nps_b",
        "responses_a",
        "responses_b",
        "difference",
        "se",
        "z",
        "p_value",
        "ci_low",
        "ci_high",
    ]
    return pd.Series({k: out[k] for k in order}, dtype="float64", name="nps_difference")


def nps_sample_size(
    margin: float,
    *,
    level: float = 0.95,
    promoters: float | None = None,
    detractors: float | None = None,
    method: NpsMethod = "adjusted-wald",
) -> int:
    """Responses needed for the NPS interval's half-width to be at most ``margin`` points.

    Parameters
    ----------
    margin : float
        The margin of error wanted, in NPS points (> 0), e.g. 5 for +-5 points.
    level : float, default 0.95
        Confidence level.
    promoters, detractors : float, optional
        Expected shares, in percent (0-100). Default: the worst case (half promoters, half
        detractors), which gives the largest sample.
    method : {"adjusted-wald", "wald"}, default "adjusted-wald"
        With the adjusted Wald interval, 3 of the needed ``n'`` are pseudo-responses.

    Returns
    -------
    int
        The smallest number of responses (>= 1).

    Notes
    -----
    With ``v = p + d - (p - d)**2`` (p, d the expected shares as proportions; 1 in the worst
    case), the half-width is ``100 * z * sqrt(v / n')``; so ``n' = (100 * z / margin)**2 * v``,
    ``n = ceil(n')`` for Wald and ``ceil(n' - 3)`` for adjusted Wald. The expected shares stand
    in for the adjusted ones, a close approximation at the sizes this gives.

    Examples
    --------
    >>> nps_sample_size(5)  # ceil((100 * 1.959964 / 5)**2 - 3)
    1534
    >>> nps_sample_size(5, promoters=50, detractors=20)  # v = 0.7 - 0.3**2 = 0.61
    935
    """
    func = "nps_sample_size"
    margin = check_number(margin, name="margin", func=func, low=0.0, open_low=True)
    check_option(method, _METHODS, name="method", func=func)
    if promoters is None and detractors is None:
        variance = 1.0
    else:
        p = (
            check_number(
                promoters if promoters is not None else 0.0, name="promoters", func=func, low=0.0
            )
            / 100
        )
        d = (
            check_number(
                detractors if detractors is not None else 0.0,
                name="detractors",
                func=func,
                low=0.0,
            )
            / 100
        )
        if p + d > 1 + 1e-9:
            raise ConfigError(
                f"The 'promoters' and 'detractors' parameters of {func} are shares in percent "
                f"and must add up to at most 100. Got {promoters!r} and {detractors!r} instead."
            )
        variance = p + d - (p - d) ** 2
    needed = (100 * z_value(level) / margin) ** 2 * variance
    if method == "adjusted-wald":
        needed -= 3
    # tiny tolerance so an exact integer is not pushed up by float noise
    return max(int(math.ceil(needed - 1e-9)), 1)


# ---------------------------------------------------------------------------------------------
# CSAT.


@overload
def csat(
    surveys: pd.DataFrame,
    *,
    by: None = None,
    freq: None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> float: ...
@overload
def csat(
    surveys: pd.DataFrame,
    *,
    by: str | pd.Series | None = None,
    freq: str | None = None,
    level: float = ...,
    start: DateLike | None = ...,
    end: DateLike | None = ...,
) -> pd.DataFrame: ...
def csat(
    surveys: pd.DataFrame,
    *,
    by: By = None,
    freq: str | None = None,
    level: float = 0.95,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> float | pd.DataFrame:
    """Customer satisfaction: the share of ``csat`` answers that are 4 or 5 (1-5 scale).

    Parameters
    ----------
    surveys : pandas.DataFrame
        A validated surveys frame with a ``csat`` column.
    by : str or pandas.Series, optional
        Break down by a surveys column or a Series mapping ``customer_id`` to a group.
    freq : str, optional
        Break down by period of ``response_date`` (``"W"``, ``"M"``, ``"Q"``, ``"Y"``).
    level : float, default 0.95
        Confidence level of the Wilson interval of a breakdown.
    start, end : date-like, optional
        Inclusive window on ``response_date``.

    Returns
    -------
    float or pandas.DataFrame
        Without ``by``/``freq``: the share in percent, 0-100, 100 best. With either: a tidy
        frame with ``csat``, ``n`` (answers), ``successes`` (4s and 5s), ``ci_low``,
        ``ci_high`` (Wilson) and ``low_n``, indexed by group and/or ``period_end``.

    Notes
    -----
    ``by`` and ``freq`` are the breakdown parameters: a call with either returns the
    breakdown frame, a call with neither the plain number. NaN when there is no answer in the
    window or the surveys carry no ``csat`` column.

    Examples
    --------
    >>> surveys = pd.DataFrame({"score": [9, 8, 5, 10], "csat": [5.0, 4.0, 2.0, 3.0]})
    >>> csat(surveys)  # 100 * 2 / 4
    50.0
    """
    func = "csat"
    check_number(level, name="level", func=func, low=0.0, open_low=True)
    surveys = _as_frame(surveys, func)
    if by is None and freq is None:
        rows, _ = _responses(surveys, "csat", start, end)
        return rate_scalar(rows["csat"].to_numpy() >= 4) if len(rows) else float("nan")
    if freq is not None:
        _require_dates(surveys, func=func, option="freq")
    _, window = _responses(surveys, "csat", start, end)

    def units(first: pd.Timestamp | None, last: pd.Timestamp | None) -> pd.DataFrame:
        if first is None:
            rows, _ = _responses(surveys, "csat", start, end)
        else:
            rows, _ = _responses(surveys, "csat", first, last)
        hits = rows["csat"].to_numpy() >= 4 if "csat" in rows.columns else np.zeros(0, bool)
        return rows.assign(_hit=hits)

    return rate_breakdown(
        units, window=window, by=by, freq=freq, name="csat", level=level, func=func, what="surveys"
    )
