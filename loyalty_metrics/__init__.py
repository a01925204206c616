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
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # what the lazy table resolves to, spelled out for type checkers
    from .cancellations import link_cancellations
    from .cohorts import (
        CohortTable,
        cohort_cell_status,
        cohort_table,
        inter_purchase_times,
        repeat_rate_by_cohort,
        time_to_second_purchase,
    )
    from .config import load_config
    from .economics import program_roi
    from .errors import (
        ConfigError,
        DataCoverageWarning,
        DataValidationError,
        ExportError,
        LockTimeoutError,
        LoyaltyMetricsError,
        LoyaltyWarning,
        ModelFitError,
        WeakFitWarning,
    )
    from .export import ExportResult, export_kpis, write_export
    from .guests import guest_orders, guest_revenue
    from .io import (
        ReadReport,
        ReadResult,
        read_customers,
        read_events,
        read_folder,
        read_orders,
        read_points,
        read_report,
        read_spend,
        read_surveys,
        read_table_result,
        rejected_rows,
    )
    from .metrics.engagement import engagement_score, engagement_scores
    from .metrics.index import customer_loyalty_index
    from .metrics.purchase import (
        average_ticket,
        average_units,
        purchase_frequency,
        repeat_purchase_rate,
        upsell_ratio,
        upsell_share,
    )
    from .metrics.retention import churn_rate, retention_rate
    from .metrics.survey import csat, nps, nps_breakdown, nps_difference, nps_sample_size
    from .metrics.value import cac, cac_payback_months, clv, historic_clv, ltv_cac_ratio
    from .options import MetricOptions
    from .points import (
        POINTS_KPI_KEYS,
        points_flow,
        points_kpis,
        points_kpis_by_period,
        points_rates,
    )
    from .programs import program_impact, referral_conversion
    from .sample import generate_sample, write_sample
    from .segments import ladder_transitions, loyalty_ladder, loyalty_loop, rfm_segments
    from .snapshot import KPI_KEYS, kpis, kpis_by_period
    from .summary import CustomerSummary, customer_summary
    from .tiers import loyalty_tiers, tier_distribution, tier_migration

# public name -> module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    # errors
    "LoyaltyMetricsError": "errors",
    "DataValidationError": "errors",
    "ConfigError": "errors",
    "ModelFitError": "errors",
    "ExportError": "errors",
    "LockTimeoutError": "errors",
    # warnings (caveats on computed figures)
    "LoyaltyWarning": "errors",
    "DataCoverageWarning": "errors",
    "WeakFitWarning": "errors",
    # order-line preparation
    "link_cancellations": "cancellations",
    # readers
    "read_orders": "io",
    "read_surveys": "io",
    "read_events": "io",
    "read_spend": "io",
    "read_customers": "io",
    "read_points": "io",
    "read_folder": "io",
    "read_report": "io",
    "rejected_rows": "io",
    "ReadReport": "io",
    "ReadResult": "io",
    "read_table_result": "io",
    # guest checkouts
    "guest_orders": "guests",
    "guest_revenue": "guests",
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
    "average_units": "metrics.purchase",
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
    # points programme, tiers and its economics
    "points_kpis": "points",
    "points_kpis_by_period": "points",
    "points_flow": "points",
    "points_rates": "points",
    "POINTS_KPI_KEYS": "points",
    "loyalty_tiers": "tiers",
    "tier_migration": "tiers",
    "tier_distribution": "tiers",
    "program_roi": "economics",
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

#: The public names, listed literally for tools that read it statically; equal to the
#: keys of ``_EXPORTS`` (a test checks).
__all__ = [
    "CohortTable",
    "ConfigError",
    "CustomerSummary",
    "DataCoverageWarning",
    "DataValidationError",
    "ExportError",
    "ExportResult",
    "KPI_KEYS",
    "LockTimeoutError",
    "LoyaltyMetricsError",
    "LoyaltyWarning",
    "MetricOptions",
    "ModelFitError",
    "POINTS_KPI_KEYS",
    "ReadReport",
    "ReadResult",
    "WeakFitWarning",
    "average_ticket",
    "average_units",
    "cac",
    "cac_payback_months",
    "churn_rate",
    "clv",
    "cohort_cell_status",
    "cohort_table",
    "csat",
    "customer_loyalty_index",
    "customer_summary",
    "engagement_score",
    "engagement_scores",
    "export_kpis",
    "generate_sample",
    "guest_orders",
    "guest_revenue",
    "historic_clv",
    "inter_purchase_times",
    "kpis",
    "kpis_by_period",
    "ladder_transitions",
    "link_cancellations",
    "load_config",
    "loyalty_ladder",
    "loyalty_loop",
    "loyalty_tiers",
    "ltv_cac_ratio",
    "nps",
    "nps_breakdown",
    "nps_difference",
    "nps_sample_size",
    "points_flow",
    "points_kpis",
    "points_kpis_by_period",
    "points_rates",
    "program_impact",
    "program_roi",
    "purchase_frequency",
    "read_customers",
    "read_events",
    "read_folder",
    "read_orders",
    "read_points",
    "read_report",
    "read_spend",
    "read_surveys",
    "read_table_result",
    "referral_conversion",
    "rejected_rows",
    "repeat_purchase_rate",
    "repeat_rate_by_cohort",
    "retention_rate",
    "rfm_segments",
    "tier_distribution",
    "tier_migration",
    "time_to_second_purchase",
    "upsell_ratio",
    "upsell_share",
    "write_export",
    "write_sample",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loyalty_metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # cache: the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
