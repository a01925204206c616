"""The customer lifetime value section: historic, formula and predictive (BG/NBD + Gamma-Gamma) CLV."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import caveats
from ..errors import LoyaltyWarning, ModelFitError, WeakFitWarning
from ._blocks import (
    _centre,
    _chart,
    _column,
    _definition,
    _distribution_columns,
    _distribution_table,
    _float,
    _histogram_table,
    _stat,
    _table,
)
from ._catalogue import HEADLINE
from ._context import _Context


def _section_clv(ctx: _Context) -> dict[str, Any]:
    ctx.require("orders")
    values = ctx.kpis()
    stats = [
        _stat(
            "clv",
            "CLV (simple)",
            _float(values.get("clv")),
            "money",
            n=len(ctx.summary()),
            n_label="customers",
            definition=_definition(ctx, "clv", HEADLINE["clv"][2]),
        )
    ]
    tables: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    historic = ctx.summary()["revenue"]
    stats.append(
        _stat(
            "historic_mean",
            "Historic value per customer (mean)",
            float(historic.mean()),
            "money",
            n=len(historic),
            n_label="customers",
            definition="Net revenue per customer in the window.",
        )
    )
    tables.append(
        _table(
            "historic_distribution",
            "Historic value per customer",
            _distribution_table(historic),
            _distribution_columns(),
            collapsed=True,
        )
    )
    tables.append(_histogram_table("historic_histogram", "Historic value per customer", historic))
    summary = ctx.summary()
    top = _top(summary, ["revenue", "purchases"], 10)
    top = top[["revenue", "purchases", "first_purchase", "last_purchase"]].copy()
    top = top.rename_axis("customer_id").reset_index()
    top["customer_id"] = top["customer_id"].astype("str")
    tables.append(
        _table(
            "historic_top",
            "Top 10 customers by historic value",
            top,
            [
                _column("customer_id", "Customer"),
                _column("revenue", "Net revenue", "money"),
                _column("purchases", "Purchases", "count"),
                _column("first_purchase", "First purchase", "date"),
                _column("last_purchase", "Latest purchase", "date"),
            ],
            collapsed=True,
        )
    )
    charts.append(
        _chart(
            "historic",
            "clv_distribution",
            "Historic value per customer",
            table="historic_histogram",
            label="Historic value",
            **_centre(historic),
        )
    )
    predictive = _predictive_clv(ctx)
    notes = []
    if predictive is None:
        notes.append(ctx.cache["predictive_note"])
    else:
        stats.extend(predictive["stats"])
        tables.extend(predictive["tables"])
        charts.extend(predictive["charts"])
        notes.extend(predictive["notes"])
    return {"stats": stats, "tables": tables, "charts": charts, "notes": notes}


CLV_HORIZON_MONTHS = 12
#: The predictive models need at least this many repeat customers to fit.
MIN_REPEATERS = 30


def _top(frame: pd.DataFrame, by: list[str], n: int) -> pd.DataFrame:
    """``frame.sort_values(by, ascending=False, kind="stable").head(n)``, sorting only the
    rows whose first key reaches the n-th largest (not millions of customers).
    """
    first = frame[by[0]].to_numpy(dtype="float64")
    known = first[~np.isnan(first)]
    rows = frame
    if len(known) > n:  # every row of the top n has a key >= the n-th largest (NaN sorts last)
        rows = frame.loc[first >= np.partition(known, len(known) - n)[len(known) - n]]
    return rows.sort_values(by, ascending=False, kind="stable").head(n)


def _predictive_clv(ctx: _Context) -> dict[str, Any] | None:
    """BG/NBD + Gamma-Gamma CLV when the models fit; else None and a note in the cache."""
    import warnings

    from ..models import BetaGeoModel, GammaGammaModel, clv_breakdown, flag_clv_above_history

    summary = ctx.summary()
    repeaters = int((summary["frequency"] > 0).sum())
    if repeaters < MIN_REPEATERS:
        ctx.cache["predictive_note"] = (
            f"Predictive CLV not shown: {repeaters} repeat customers; the models need at "
            f"least {MIN_REPEATERS}."
        )
        return None
    options = ctx.options
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            purchases = BetaGeoModel(time_unit="W").fit(summary)
            spend = GammaGammaModel().fit(summary)
            frame = clv_breakdown(
                purchases,
                spend,
                summary,
                horizon_months=CLV_HORIZON_MONTHS,
                annual_discount_rate=options.annual_discount_rate,
                margin=options.margin,
            )
        except ModelFitError as exc:
            ctx.cache["predictive_note"] = (
                f"Predictive CLV not shown: the models did not fit ({_first_line(exc)})."
            )
            return None
    # The models' own assumption checks (e.g. spend correlated with frequency) are worth a
    # line in the report: the figure stands, with its caveat.
    cautions = sorted(
        {_first_line(w.message) for w in caught if issubclass(w.category, UserWarning)}
    )
    predicted = frame["clv"]
    stats = [
        _stat(
            "predictive_mean",
            f"Predictive CLV, next {CLV_HORIZON_MONTHS} months (mean)",
            float(predicted.mean()),
            "money",
            n=len(predicted),
            n_label="customers",
            definition="BG/NBD expected purchases × Gamma-Gamma expected spend per purchase "
            f"× margin, over the next {CLV_HORIZON_MONTHS} months, discounted monthly at the "
            "annual discount rate.",
        ),
        _stat(
            "predictive_total",
            f"Predictive value, next {CLV_HORIZON_MONTHS} months (total)",
            float(predicted.sum()),
            "money",
            n=len(predicted),
            n_label="customers",
        ),
        _stat(
            "p_alive",
            "Customers still active (mean P(alive))",
            100 * float(frame["p_alive"].mean()),
            "percent",
            n=len(predicted),
            n_label="customers",
            definition="The BG/NBD probability that a customer has not dropped out, "
            "averaged over customers.",
        ),
    ]
    frame = flag_clv_above_history(frame, summary)
    top = _top(frame, ["clv", "p_alive"], 10)
    top = top.rename_axis("customer_id").reset_index()
    top["customer_id"] = top["customer_id"].astype("str")
    top["historic"] = top["net_history"]
    top["check"] = top["far_above_history"].map({True: "far above history", False: ""})
    flagged = int(frame["far_above_history"].sum())
    if flagged:
        caveats.emit(
            [
                LoyaltyWarning(
                    f"predictive_clv: {flagged:,} customer(s) have a predicted value more than 5 "
                    "times their net history (marked in the top-10 table); a purchase cancelled "
                    "on another invoice reads as one big purchase: link cancellations "
                    '([cancellations] within = "30D" in loyalty.toml).',
                    about=("predictive_clv",),
                )
            ]
        )
    top_columns = [
        _column("customer_id", "Customer"),
        _column("clv", "Predictive CLV", "money"),
        _column("expected_purchases", "Expected purchases", "ratio"),
        _column("expected_average_value", "Expected spend per purchase", "money"),
        _column("p_alive", "P(alive)", "ratio"),
        _column("historic", "Historic value", "money"),
        _column("check", "Check"),
    ]
    out: dict[str, Any] = {
        "stats": stats,
        "tables": [
            _table("predictive_top", "Top 10 customers by predictive CLV", top, top_columns),
            _table(
                "predictive_distribution",
                "Predictive CLV",
                _distribution_table(predicted),
                _distribution_columns(),
                collapsed=True,
            ),
            _histogram_table("predictive_histogram", "Predictive CLV", predicted),
        ],
        "charts": [
            _chart(
                "predictive",
                "clv_distribution",
                "Predictive CLV",
                table="predictive_histogram",
                label="Predictive CLV",
                **_centre(predicted),
            )
        ],
        "notes": [f"Model caution: {c}" for c in cautions],
    }
    # The per-customer predictions are summarised above: free them before the holdout fit.
    del frame, predicted, purchases, spend
    calibration, missing = _calibration(ctx)
    if calibration is None:
        caveats.emit(
            [
                WeakFitWarning(
                    f"predictive_clv: no calibration-vs-holdout check ({missing}), so these "
                    "predictions are not validated on held-out data.",
                    about=("predictive_clv", "p_alive"),
                )
            ]
        )
    else:
        out["tables"].append(calibration)
        out["charts"].append(
            _chart(
                "calibration",
                "calibration_vs_holdout",
                "Calibration vs holdout",
                table="calibration",
            )
        )
    return out


def _first_line(message: object) -> str:
    text = str(message).strip()
    return text.splitlines()[0] if text else type(message).__name__


#: The cache key of the holdout check: it needs only the order lines, and a parallel report
#: computes it ahead, beside the customer summary (:func:`holdout_check`).
CALIBRATION = "clv_calibration"


def _calibration(ctx: _Context) -> tuple[dict[str, Any] | None, str]:
    """The BG/NBD check: fit before a holdout, compare predicted and actual purchases in it.

    The holdout is the last 6 months of the window (a third of it when shorter). Returns the
    table, or None and why the check could not be made.
    """
    result: tuple[dict[str, Any] | None, str] = ctx.cached_with_caveats(
        CALIBRATION, holdout_check(ctx)
    )
    return result


def holdout_check(ctx: _Context) -> Callable[[], tuple[dict[str, Any] | None, str]]:
    """The computation of :func:`_calibration` (to start ahead of the section)."""
    return lambda: _holdout_check(ctx)


def _holdout_check(ctx: _Context) -> tuple[dict[str, Any] | None, str]:
    import warnings

    from ..models import BetaGeoModel, calibration_holdout, evaluate

    if ctx.window.empty:
        return None, "no orders in the window"
    if ctx.engine is not None:  # everything else here comes from the engine's summary
        return None, f"the holdout split needs the order lines in memory, not on {ctx.engine.name}"
    days = (ctx.end - ctx.start).days + 1
    holdout_days = min(183, days // 3)
    if holdout_days < 28:
        return None, f"the window holds {days} days; a holdout of 28 days or more needs 84"
    calibration_end = ctx.end - pd.Timedelta(days=holdout_days)
    split = calibration_holdout(
        ctx.frames["orders"],
        calibration_end=calibration_end,
        holdout_end=ctx.end,
        start=ctx.start,
        time_unit="W",
    )
    repeaters = int((split["frequency"] > 0).sum())
    if repeaters < MIN_REPEATERS:
        return None, (
            f"{repeaters} repeat customers before {calibration_end.date()}; the fit needs "
            f"{MIN_REPEATERS}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            model = BetaGeoModel(time_unit="W").fit(split)
        except ModelFitError as exc:
            return None, f"the model did not fit on the calibration period: {_first_line(exc)}"
    result = evaluate(model, split)
    table = result.by_frequency.rename_axis("frequency").reset_index()
    table["frequency"] = table["frequency"].astype("str")
    metrics = result.metrics
    note = (
        f"Fitted up to {calibration_end.date()}, checked on the {holdout_days} days after: "
        f"{_fmt_number(metrics['actual_total'])} purchase days happened, the model expected "
        f"{_fmt_number(metrics['predicted_total'])}."
    )
    table_block = _table(
        "calibration",
        "Holdout purchases: actual vs model",
        table,
        [
            _column("frequency", "Repeat purchases before the holdout"),
            _column("customers", "Customers", "count"),
            _column("actual", "Actual (mean)", "ratio"),
            _column("predicted", "Model (mean)", "ratio"),
        ],
        collapsed=True,
        note=note,
    )
    return table_block, ""


def _fmt_number(value: float) -> str:
    from ._format import fmt

    return fmt(value, "count")
