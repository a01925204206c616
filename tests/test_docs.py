"""docs/metrics.md documents every public metric (docs/cli.md has its own sync test).

The registry below lists, explicitly, which public names are metrics (or metric tables) and
which are not; a new public name must be put in one list or the other, so nothing reaches
``loyalty_metrics.__all__`` undocumented by accident.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import loyalty_metrics as lm

METRICS_MD = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"

#: Public names that compute a metric or a metric table: each needs a section in metrics.md.
METRICS = (
    "customer_summary",
    # surveys
    "nps",
    "nps_breakdown",
    "nps_difference",
    "nps_sample_size",
    "csat",
    # purchases
    "repeat_purchase_rate",
    "purchase_frequency",
    "average_ticket",
    "average_units",
    "upsell_ratio",
    "upsell_share",
    # retention and value
    "churn_rate",
    "retention_rate",
    "clv",
    "historic_clv",
    "cac",
    "ltv_cac_ratio",
    "cac_payback_months",
    "guest_revenue",
    # engagement, index, snapshot
    "engagement_scores",
    "engagement_score",
    "customer_loyalty_index",
    "kpis",
    "kpis_by_period",
    # cohorts
    "cohort_table",
    "cohort_cell_status",
    "repeat_rate_by_cohort",
    "time_to_second_purchase",
    "inter_purchase_times",
    # segments
    "loyalty_ladder",
    "ladder_transitions",
    "rfm_segments",
    "loyalty_loop",
    # programmes
    "program_impact",
    "referral_conversion",
    # loyalty programme
    "points_kpis",
    "points_kpis_by_period",
    "points_flow",
    "points_rates",
    "loyalty_tiers",
    "tier_migration",
    "tier_distribution",
    "program_roi",
)

#: Public names that are not metrics: readers, errors, configuration, sample data, export.
NOT_METRICS = (
    "KPI_KEYS",  # checked separately: every key is in the kpis() table
    "POINTS_KPI_KEYS",  # checked separately: every key is in the points_kpis() table
    "ConfigError",
    "DataValidationError",
    "ExportError",
    "LockTimeoutError",
    "LoyaltyMetricsError",
    "ModelFitError",
    "LoyaltyWarning",
    "DataCoverageWarning",
    "WeakFitWarning",
    "link_cancellations",
    "ReadReport",
    "ReadResult",
    "ExportResult",
    "CustomerSummary",  # result classes and options: documented with their functions
    "CohortTable",
    "MetricOptions",
    "export_kpis",
    "write_export",
    "generate_sample",
    "guest_orders",
    "load_config",
    "read_customers",
    "read_events",
    "read_folder",
    "read_orders",
    "read_points",
    "read_report",
    "read_spend",
    "read_surveys",
    "read_table_result",
    "rejected_rows",
    "write_sample",
)

#: Names of ``loyalty_metrics.models``: those with a section of their own...
MODEL_SECTIONS = (
    "BetaGeoModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "GammaGammaModel",
    "predictive_clv",
    "clv_breakdown",
    "flag_clv_above_history",
    "calibration_holdout",
    "evaluate",
)
#: ...and the rest: ``clv`` is ``predictive_clv`` under its module name; the others are types
#: and constants described inside those sections.
MODEL_OTHER = ("clv", "HoldoutEvaluation", "ModelAssumptionWarning", "TIME_UNIT_ATTR")

#: Sources each metric family must cite: (how the text cites it, first author, year).
SOURCES = (
    ("Reichheld (2003)", "Reichheld", "2003"),
    ("Rocks (2016)", "Rocks", "2016"),
    ("MeasuringU", "Sauro", None),
    ("Wilson 1927", "Wilson", "1927"),
    ("Fader, Hardie & Lee (2005a)", "Fader", "2005a"),
    ("Batislam, Denizel & Filiztekin (2007)", "Batislam", "2007"),
    ("Schmittlein, Morrison & Colombo (1987)", "Schmittlein", "1987"),
    ("Fader & Hardie (2013)", "Fader", "2013"),
    ("Hughes 1994", "Hughes", "1994"),
    ("Card & Krueger 1994", "Card", "1994"),
)


def _text() -> str:
    return METRICS_MD.read_text(encoding="utf-8")


def _headings(text: str) -> list[str]:
    # Headings outside fenced code blocks.
    headings, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            headings.append(line.lstrip("#").strip())
    return headings


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_registry_partitions_the_public_api() -> None:
    documented, other = set(METRICS), set(NOT_METRICS)
    assert not documented & other
    assert len(documented) == len(METRICS) and len(other) == len(NOT_METRICS)
    # A new public name must be classified; a removed one must leave the registry.
    assert documented | other == set(lm.__all__)


@pytest.mark.parametrize("name", METRICS)
def test_every_metric_has_a_section(name: str) -> None:
    headings = [h for h in _headings(_text()) if f"`{name}`" in h]
    assert headings, f"docs/metrics.md has no heading naming `{name}`"


@pytest.mark.parametrize("name", METRICS)
def test_every_metric_name_is_callable(name: str) -> None:
    # The names documented are the names that ship.
    assert callable(getattr(lm, name))


def test_every_kpi_key_is_in_the_kpis_table() -> None:
    text = _text()
    section = text.split("## KPI snapshot", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert rows == list(lm.KPI_KEYS)


def test_every_points_kpi_key_is_in_the_points_table() -> None:
    text = _text()
    for key in lm.POINTS_KPI_KEYS:
        assert f"| `{key}` |" in text, key


def test_model_registry_partitions_the_models_api() -> None:
    from loyalty_metrics import models

    documented, other = set(MODEL_SECTIONS), set(MODEL_OTHER)
    assert not documented & other
    assert documented | other == set(models.__all__)


@pytest.mark.parametrize("name", MODEL_SECTIONS)
def test_every_model_name_has_a_section(name: str) -> None:
    from loyalty_metrics import models

    assert getattr(models, name) is not None
    headings = [h for h in _headings(_text()) if f"`{name}`" in h]
    assert headings, f"docs/metrics.md has no heading naming `{name}`"


def test_internal_links_resolve() -> None:
    text = _text()
    anchors = {_slug(h) for h in _headings(text)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links, "the table of contents links nowhere"
    broken = sorted({link for link in links if link not in anchors})
    assert not broken, f"links to missing headings: {broken}"


@pytest.mark.parametrize(("citation", "author", "year"), SOURCES)
def test_sources_are_cited(citation: str, author: str, year: str | None) -> None:
    text = _text()
    assert citation in text
    # ...and the reference list holds the full entry.
    references = text.split("## References", 1)[1].split("\n- ")[1:]
    entries = [" ".join(e.split()) for e in references if e.startswith(f"{author},")]
    if year is not None:
        entries = [e for e in entries if f"({year})" in e]
    assert entries, f"no reference entry for {author} {year or ''}"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_nps_worked_example_is_what_the_code_computes() -> None:
    text = _flat(_text())
    assert "50 promoters, 30 passives, 20 detractors: NPS = 30;" in text
    assert "interval 14.05 to 44.20" in text
    row = lm.nps_breakdown([10.0] * 50 + [8.0] * 30 + [3.0] * 20).iloc[0]
    assert row["nps"] == 30.0
    assert (round(row["ci_low"], 2), round(row["ci_high"], 2)) == (14.05, 44.2)


def test_sample_size_worked_example_is_what_the_code_computes() -> None:
    text = _flat(_text())
    assert "±5 points at 95% needs 1,534 responses in the worst case" in text
    assert "20% detractors expected, 935" in text
    assert lm.nps_sample_size(5) == 1534
    assert lm.nps_sample_size(5, promoters=50, detractors=20) == 935
