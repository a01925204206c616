"""What the report shows: its section titles and headline KPI cards (label, unit, definition)."""

from __future__ import annotations

SECTION_TITLES: dict[str, str] = {
    "kpis": "Headline KPIs",
    "nps": "Net Promoter Score",
    "cohorts": "Cohort retention",
    "repeat_rate": "Repeat rate by cohort",
    "ladder": "Loyalty ladder",
    "rfm": "RFM segments",
    "clv": "Customer lifetime value",
    "cac": "Acquisition cost by channel",
    "engagement": "Engagement",
    "programs": "Member impact and referrals",
    "points": "Loyalty programme",
    "data_quality": "Data quality",
}

#: Headline KPIs: key -> (label, unit, definition). Units drive display formatting.
HEADLINE: dict[str, tuple[str, str, str]] = {
    "customers": (
        "Customers",
        "count",
        "Customers with at least one purchase (an order with net amount >= 0) in the window.",
    ),
    "new_customers": (
        "New customers",
        "count",
        "Customers whose first purchase ever falls in the window.",
    ),
    "purchases": ("Purchases", "count", "Orders with net amount >= 0 in the window."),
    "revenue": (
        "Revenue",
        "money",
        "Net revenue: the sum of all order amounts in the window, returns included.",
    ),
    "average_ticket": (
        "Average ticket",
        "money",
        "Net revenue / number of purchases (orders, not lines).",
    ),
    "purchase_frequency": (
        "Purchase frequency",
        "ratio",
        "Purchases / customers in the window.",
    ),
    "repeat_purchase_rate": (
        "Repeat-purchase rate",
        "percent",
        "100 × customers with 2 or more purchases / customers.",
    ),
    "upsell_ratio": (
        "Upsell ratio",
        "ratio",
        "Customers who bought more than one category / customers who bought exactly one.",
    ),
    "upsell_share": (
        "Upsell share",
        "percent",
        "100 × customers who bought more than one category / customers.",
    ),
    "nps": (
        "NPS",
        "points",
        "100 × (promoters − detractors) / responses; promoters answer 9–10, passives 7–8, "
        "detractors 0–6. In points, −100 to 100.",
    ),
    "csat": ("CSAT", "percent", "Share of CSAT answers that are 4 or 5 on the 1–5 scale."),
    "customer_loyalty_index": (
        "Customer Loyalty Index",
        "points",
        "Weighted mean of NPS (−100..100), repeat-purchase rate (%) and upsell share (%).",
    ),
    "churn_rate": (
        "Churn rate",
        "percent",
        "Of the customers who purchased in (end − 2P, end − P], the share with no purchase in "
        "(end − P, end].",
    ),
    "retention_rate": ("Retention rate", "percent", "100 − churn rate."),
    "clv": (
        "CLV (simple)",
        "money",
        "Average ticket × purchases per customer per year × lifespan in years × margin.",
    ),
    "cac": (
        "CAC",
        "money",
        "Marketing and sales spend dated in the window / new customers.",
    ),
    "ltv_cac_ratio": ("LTV:CAC", "ratio", "Simple CLV / CAC."),
    "engagement_score": (
        "Engagement score",
        "score",
        "Mean over known customers of the percentile-based engagement score (0–100) over the "
        "engagement window before the end date; customers without events score 0.",
    ),
}
