"""The metric options: one object, one spelling, from keywords or ``loyalty.toml``.

:class:`MetricOptions` holds every option a KPI depends on, under the names of ``kpis()``
and of the ``[metrics]`` table of ``loyalty.toml`` (the same names). ``kpis``,
``kpis_by_period``, the CLI, the report and the export all take it as ``options=``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["KPI_OPTIONS", "MetricOptions"]

Weights = Mapping[str, float] | Sequence[float] | None


@dataclass(frozen=True)
class MetricOptions:
    """Every option of the KPIs, with the defaults of :func:`~loyalty_metrics.kpis`.

    Parameters
    ----------
    churn_period : str, pandas.Timedelta or pandas.DateOffset, default "365D"
        Period of :func:`~loyalty_metrics.churn_rate` (CLV's lifespan always uses the yearly
        churn).
    margin, lifespan_years, max_lifespan_years
        As in :func:`~loyalty_metrics.clv`.
    key_actions, engagement_window, engagement_weights, engagement_half_life
        ``key_actions``, ``window``, ``weights`` and ``half_life`` of
        :func:`~loyalty_metrics.engagement_scores`.
    nps_method : {"adjusted-wald", "wald"}, default "adjusted-wald"
        Interval method of ``nps_ci_low``/``nps_ci_high``.
    level : float, default 0.95
        Confidence level of the NPS interval.
    cli_weights, cli_nps_scale
        ``weights`` and ``nps_scale`` of :func:`~loyalty_metrics.customer_loyalty_index`.
    annual_discount_rate : float, default 0.10
        Yearly discount rate of the predictive CLV (``loyalty clv``, the report).
    point_value, tier_thresholds, tier_lookback, cost_channel
        The loyalty programme's options (``point_value`` of
        :func:`~loyalty_metrics.points_kpis`, ``thresholds`` and ``lookback`` of
        :func:`~loyalty_metrics.loyalty_tiers`, the spend channel of the programme's cost).

    Values are checked where they are used (the error names the function and parameter).

    Examples
    --------
    >>> MetricOptions.from_config({"metrics": {"margin": 0.3, "currency": "EUR"}}).margin
    0.3
    >>> MetricOptions(margin=0.3).merged(churn_period="90D").churn_period
    '90D'
    """

    churn_period: str | pd.Timedelta | pd.DateOffset = "365D"
    margin: float = 1.0
    lifespan_years: float | None = None
    max_lifespan_years: float = 5.0
    key_actions: Sequence[str] | None = None
    engagement_window: str | pd.Timedelta = "90D"
    engagement_weights: Weights = None
    engagement_half_life: str | pd.Timedelta | float | None = None
    nps_method: str = "adjusted-wald"
    level: float = 0.95
    cli_weights: Weights = None
    cli_nps_scale: str = "points"
    annual_discount_rate: float = 0.10
    point_value: float = 1.0
    tier_thresholds: Mapping[str, float] | None = None
    tier_lookback: str | pd.Timedelta | pd.DateOffset = "365D"
    cost_channel: str = "loyalty"

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> MetricOptions:
        """The options of a loaded ``loyalty.toml`` (its ``[metrics]`` table; ``currency`` is
        for display and not an option).
        """
        metrics = dict((config or {}).get("metrics", {}))
        metrics.pop("currency", None)
        return cls(**metrics)

    def changed(self) -> dict[str, Any]:
        """The options that differ from the defaults, by name (what a run's provenance
        records).

        Examples
        --------
        >>> MetricOptions(margin=0.3, churn_period="365D").changed()
        {'margin': 0.3}
        """
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if not _same(getattr(self, f.name), f.default)
        }

    def merged(self, **given: Any) -> MetricOptions:
        """These options with each keyword in ``given`` that is not at its default replacing
        the option of that name (how ``kpis(options=..., margin=...)`` combines them).
        """
        defaults = {f.name: f.default for f in fields(self)}
        changed = {k: v for k, v in given.items() if not _same(v, defaults[k])}
        return replace(self, **changed) if changed else self


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    try:
        return bool(value is default or (type(value) is type(default) and value == default))
    except (TypeError, ValueError):
        return False


#: The options ``kpis()`` and ``kpis_by_period()`` take as keywords (not the predictive
#: CLV's discount rate nor the loyalty programme's options).
KPI_OPTIONS: tuple[str, ...] = tuple(
    f.name
    for f in fields(MetricOptions)
    if f.name
    not in (
        "annual_discount_rate",
        "point_value",
        "tier_thresholds",
        "tier_lookback",
        "cost_channel",
    )
)
