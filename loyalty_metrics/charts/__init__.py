"""Matplotlib figures of the library's tables: cohorts, NPS, ladder, CLV, KPI trends, models.

Every function takes a table the library returns, draws on ``ax`` when given (else on a new
figure) and returns the :class:`matplotlib.figure.Figure`. Figures are made without pyplot, so
nothing is shown or kept in global state; they display in Jupyter and save with
``fig.savefig("chart.png")`` or :func:`figure_bytes`. Colours are colour-blind safe: Okabe-Ito
for categories and lines, viridis / cividis for heatmaps.

Every text is drawn verbatim: labels come from the data (a channel named ``$x^$``, a segment
``Save $5 or $10``), so mathtext and TeX are off, control characters are removed and labels
longer than 80 characters end in ``…``. Matplotlib's warnings while drawing (a glyph missing
from the font) go to the ``loyalty_metrics.charts`` logger, never to stderr.

Examples
--------
>>> import pandas as pd
>>> from loyalty_metrics import charts
>>> fig = charts.ladder_funnel(pd.Series({"lead": 40, "buyer": 30, "repeat": 20, "advocate": 5}))
>>> [float(p.get_width()) for p in fig.axes[0].patches]  # at each rung or above
[95.0, 55.0, 25.0, 5.0]
"""

from __future__ import annotations

from ._output import figure_bytes
from ._style import OKABE_ITO
from .cohorts import cohort_heatmap
from .customers import bar_chart, clv_distribution, engagement_distribution, ladder_funnel
from .models import calibration_vs_holdout
from .nps import nps_distribution, nps_trend
from .programme import points_flow_chart, tier_distribution_chart, tier_migration_heatmap

# KPI_LABELS: public but not in __all__, as before the split
from .trends import KPI_LABELS as KPI_LABELS
from .trends import kpi_trends

__all__ = [
    "OKABE_ITO",
    "bar_chart",
    "calibration_vs_holdout",
    "clv_distribution",
    "cohort_heatmap",
    "engagement_distribution",
    "figure_bytes",
    "kpi_trends",
    "ladder_funnel",
    "nps_distribution",
    "nps_trend",
    "points_flow_chart",
    "tier_distribution_chart",
    "tier_migration_heatmap",
]
