"""Small statistical helpers shared by the metrics: intervals, quantiles, display rounding."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

import numpy as np

__all__ = ["nps_interval", "round_half_away", "wilson_interval", "z_value"]


def z_value(level: float = 0.95) -> float:
    """The two-sided normal quantile for a confidence ``level`` (1.959964 at 0.95).

    Examples
    --------
    >>> round(z_value(0.95), 6)
    1.959964
    """
    if not 0 < level < 1:
        raise ValueError(f"The 'level' parameter must be between 0 and 1; got {level!r}.")
    # The standard library's quantile is exact to double precision and spares importing scipy.
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson_interval(
    successes: np.ndarray | float, n: np.ndarray | float, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion, as percentages 0-100 (NaN where n == 0).

    Examples
    --------
    >>> low, high = wilson_interval(8, 10)
    >>> round(float(low), 2), round(float(high), 2)
    (49.02, 94.33)
    """
    k = np.asarray(successes, dtype="float64")
    m = np.asarray(n, dtype="float64")
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        denom = 1 + z**2 / m
        centre = (p + z**2 / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2)) / denom
    low = np.where(m > 0, np.clip(centre - half, 0, 1) * 100, np.nan)
    high = np.where(m > 0, np.clip(centre + half, 0, 1) * 100, np.nan)
    return low, high


def nps_interval(
    promoters: np.ndarray | float,
    detractors: np.ndarray | float,
    n: np.ndarray | float,
    *,
    level: float = 0.95,
    method: Literal["adjusted-wald", "wald"] = "adjusted-wald",
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence interval of NPS in points, clipped to -100..100 (NaN where n == 0).

    Adjusted Wald (Rocks 2016): ``n' = n + 3``, ``p' = (P + 0.75) / n'``,
    ``d' = (D + 0.75) / n'``, ``SE' = sqrt((p' + d' - (p' - d')**2) / n')``, interval
    ``100 * ((p' - d') +- z * SE')``. ``method="wald"`` is the plain trinomial interval around
    the classic NPS.

    Examples
    --------
    >>> low, high = nps_interval(50, 20, 100)
    >>> round(float(low), 2), round(float(high), 2)
    (14.05, 44.2)
    """
    pro = np.asarray(promoters, dtype="float64")
    det = np.asarray(detractors, dtype="float64")
    m = np.asarray(n, dtype="float64")
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "adjusted-wald":
            m_adj = m + 3
            p = (pro + 0.75) / m_adj
            d = (det + 0.75) / m_adj
            se = np.sqrt((p + d - (p - d) ** 2) / m_adj)
        elif method == "wald":
            p = pro / m
            d = det / m
            se = np.sqrt((p + d - (p - d) ** 2) / m)
        else:
            raise ValueError(
                f"The 'method' parameter must be one of {{'adjusted-wald', 'wald'}}; got {method!r}."
            )
        centre = p - d
        low = np.clip((centre - z * se) * 100, -100, 100)
        high = np.clip((centre + z * se) * 100, -100, 100)
    low = np.where(m > 0, low, np.nan)
    high = np.where(m > 0, high, np.nan)
    return low, high


def round_half_away(value: float, ndigits: int = 0) -> float:
    """Round half away from zero, for display only (12.5 -> 13, -12.5 -> -13; NaN stays NaN).

    Python's ``round`` rounds half to even (``round(12.5) == 12``); reports must not.

    Examples
    --------
    >>> round_half_away(12.5), round_half_away(-12.5), round_half_away(0.125, 2)
    (13.0, -13.0, 0.13)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return float("nan")
    from decimal import ROUND_HALF_UP, Decimal

    quantum = Decimal(1).scaleb(-ndigits)
    # repr() gives the shortest decimal that round-trips, so 0.125 is exactly "0.125".
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))
