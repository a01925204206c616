"""Predictive customer models: who is still active, how much they will buy, what they are worth.

Buy-till-you-die purchase models (:class:`BetaGeoModel`, :class:`ModifiedBetaGeoModel`,
:class:`ParetoNBDModel`), the :class:`GammaGammaModel` of spend per purchase, discounted
:func:`clv` (also exported as :func:`predictive_clv`: the top-level ``loyalty_metrics.clv``
is the simple, formula-based CLV), and :func:`calibration_holdout` / :func:`evaluate` for
out-of-sample checks. All fit on :func:`loyalty_metrics.customer_summary` output (recency
and T in days; each model converts to its own ``time_unit``).

Examples
--------
>>> import pandas as pd
>>> import loyalty_metrics as lm
>>> from loyalty_metrics.models import BetaGeoModel, GammaGammaModel, clv
>>> bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
>>> synthetic = bg.sample(500, 39.0, seed=1)
>>> BetaGeoModel(time_unit="W").fit(synthetic).params_.index.tolist()
['r', 'alpha', 'a', 'b']
"""

from __future__ import annotations

from ._base import TIME_UNIT_ATTR, ModelAssumptionWarning
from .beta_geo import BetaGeoModel
from .clv import clv, clv_breakdown, flag_clv_above_history, predictive_clv
from .gamma_gamma import GammaGammaModel
from .holdout import HoldoutEvaluation, calibration_holdout, evaluate
from .modified_beta_geo import ModifiedBetaGeoModel
from .pareto_nbd import ParetoNBDModel

__all__ = [
    "TIME_UNIT_ATTR",
    "BetaGeoModel",
    "GammaGammaModel",
    "HoldoutEvaluation",
    "ModelAssumptionWarning",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "calibration_holdout",
    "clv",
    "clv_breakdown",
    "flag_clv_above_history",
    "evaluate",
    "predictive_clv",
]
