"""loyalty_metrics: customer-loyalty KPIs from order, survey and activity exports.

The public API is flat: ``import loyalty_metrics as lm`` then ``lm.read_orders``,
``lm.customer_summary``, ``lm.nps``, ``lm.kpis``... Names are imported on first use, so
``import loyalty_metrics`` stays light and never imports matplotlib, jinja2 or click.

Examples
--------
>>> import loyalty_metrics as lm
>>> "kpis" in lm.__all__ and callable(lm.customer_summary)
True
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    # errors
    "LoyaltyMetricsError": "errors",
    "DataValidationError": "errors",
    "ConfigError": "errors",
    "ModelFitError": "errors",
    "ExportError": "errors",
    "LockTimeoutError": "errors",
    # readers
    "read_orders": "io",
    "read_surveys": "io",
    "read_events": "io",
    "read_spend": "io",
    "read_customers": "io",
    "read_folder": "io",
    "read_report": "io",
    "rejected_rows": "io",
    "ReadReport": "io",
    # summary
    "customer_summary": "summary",
    "CustomerSummary": "summary",
    # survey metrics
    "nps": "metrics.survey",
    "nps_breakdown": "metrics.survey",
    "nps_difference": "metrics.survey",
    "nps_sample_size": "metrics.survey",
    "csat": "metrics.survey",
    # purchase metrics
    "repeat_purchase_rate": "metrics.purchase",
    "purchase_frequency": "metrics.purchase",
    "average_ticket": "metrics.purchase",
    "upsell_ratio": "metrics.purchase",
    "upsell_share": "metrics.purchase",
    # value
    "clv": "metrics.value",
    "historic_clv": "metrics.value",
    "cac": "metrics.value",
    "ltv_cac_ratio": "metrics.value",
    "cac_payback_months": "metrics.value",
    # retention
    "churn_rate": "metrics.retention",
    "retention_rate": "metrics.retention",
    # engagement
    "engagement_scores": "metrics.engagement",
    "engagement_score": "metrics.engagement",
    # index
    "customer_loyalty_index": "metrics.index",
    # snapshot
    "kpis": "snapshot",
    "kpis_by_period": "snapshot",
    "KPI_KEYS": "snapshot",
    "MetricOptions": "options",
    # cohorts
    "cohort_table": "cohorts",
    "CohortTable": "cohorts",
    "cohort_cell_status": "cohorts",
    "repeat_rate_by_cohort": "cohorts",
    "time_to_second_purchase": "cohorts",
    "inter_purchase_times": "cohorts",
    # segments
    "loyalty_ladder": "segments",
    "ladder_transitions": "segments",
    "rfm_segments": "segments",
    "loyalty_loop": "segments",
    # programs
    "program_impact": "programs",
    "referral_conversion": "programs",
    # exports
    "export_kpis": "export",
    "write_export": "export",
    "ExportResult": "export",
    # config
    "load_config": "config",
    # sample data
    "generate_sample": "sample",
    "write_sample": "sample",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loyalty_metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # cache: the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
