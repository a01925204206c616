"""The definitions footer: how each figure shown is computed."""

from __future__ import annotations

from typing import Any

from ._blocks import LOW_N, MAX_HALF_WIDTH, plain_level
from ._context import _Context


def _definitions(ctx: _Context, comparison: dict[str, Any] | None) -> list[dict[str, str]]:
    metrics = ctx.metrics
    level = plain_level(ctx.level)
    window = (
        f"{ctx.start.date()} to {ctx.end.date()} inclusive "
        f"({(ctx.end - ctx.start).days + 1} days); as_of = {ctx.end.date()}. Nothing after "
        "as_of is used; look-backs (churn, engagement, cohorts, new customers) reach back from "
        "as_of over all data."
        if not ctx.window.empty
        else "no data"
    )
    method = metrics.get("nps_method", "adjusted-wald")
    nps = (
        f"{level} adjusted-Wald interval (Rocks 2016): n' = n + 3, p' = (P + 0.75)/n', "
        "d' = (D + 0.75)/n', clipped to −100..100; the point estimate is the classic NPS."
        if method == "adjusted-wald"
        else f"{level} Wald (trinomial) interval around the classic NPS, clipped to −100..100."
    )
    margin = metrics.get("margin", 1.0)
    margin_text = (
        "margin = 1: CLV is in net revenue (no costs deducted)."
        if margin == 1.0
        else f"margin = {margin:g}: CLV is {margin * 100:g}% of net revenue (gross margin basis)."
    )
    rate = metrics.get("annual_discount_rate")
    discount = (
        f"annual discount rate {rate * 100:g}%, converted to the model's period "
        "((1 + r)^(1/periods per year) − 1); simple CLV is not discounted."
        if rate is not None
        else "predictive CLV uses the models' default annual discount rate, converted to the "
        "model's period; simple CLV is not discounted."
    )
    weights = metrics.get("cli_weights")
    weights_text = (
        "weights " + ", ".join(f"{k} {v:g}" for k, v in weights.items())
        if weights
        else "equal weights"
    )
    scale = metrics.get("cli_nps_scale", "points")
    cli = f"mean of NPS, repeat-purchase rate and upsell share ({weights_text}); NPS " + (
        "on its own −100..100 scale." if scale == "points" else "rescaled to 0..100."
    )
    rows = [
        ("Window", window),
        ("Comparison", comparison["label"] if comparison else "none (no earlier data)."),
        (
            "Churn",
            f"of the customers who purchased in (as_of − 2P, as_of − P], the share with no "
            f"purchase in (as_of − P, as_of]; P = {metrics.get('churn_period', '365D')}.",
        ),
        (
            "Purchase",
            "an order (lines sharing order_id) whose net amount is ≥ 0; negative orders "
            "are returns: they lower revenue but are not purchases.",
        ),
        ("Discount rate", discount),
        ("Margin basis", margin_text),
        ("NPS interval", nps),
        ("Customer Loyalty Index", cli),
        (
            "Low n",
            f"a figure is flagged when n < {LOW_N} or its interval's half-width exceeds "
            f"{MAX_HALF_WIDTH:g} points.",
        ),
        ("Rounding", "numbers are rounded for display only, half away from zero (12.5 → 13)."),
    ]
    if ctx.currency:
        rows.append(("Currency", f"money in {ctx.currency}."))
    return [{"term": term, "text": text} for term, text in rows]
