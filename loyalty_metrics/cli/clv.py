"""``loyalty clv``: fit a purchase model and the Gamma-Gamma spend model, write per-customer CLV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    EXIT_CODES_HELP,
    cancellations_option,
    emit,
    handle_errors,
    input_options,
    load_inputs,
    output_option,
    progress,
    strict_option,
    warn,
    warn_caveats,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_MODELS = {
    "bgnbd": ("BetaGeoModel", "BG/NBD"),
    "mbgnbd": ("ModifiedBetaGeoModel", "MBG/NBD"),
    "pareto": ("ParetoNBDModel", "Pareto/NBD"),
}
_UNITS = {"D": "days", "W": "weeks"}


def _parameter_text(title: str, model: Any, unit_note: str = "") -> str:
    """A fitted model's parameters with standard errors and 95% intervals, as aligned text."""
    table = model.summary()
    head = (
        f"{title}{unit_note}: {model.n_customers_:,} customers, log-likelihood "
        f"{model.log_likelihood_:,.2f}, AIC {model.aic_:,.2f}"
    )
    rows = [["parameter", "estimate", "std_error", "95% CI"]]
    for name, row in table.iterrows():  # 3-4 parameters
        rows.append(
            [
                str(name),
                f"{row['estimate']:.4g}",
                f"{row['std_error']:.3g}",
                f"{row['ci_low']:.4g} .. {row['ci_high']:.4g}",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(
            [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        )
        for r in rows
    ]
    return "\n".join([head, *("  " + line for line in lines)]) + "\n"


def _clv_csv(frame: pd.DataFrame) -> str:
    """The per-customer table as CSV (full precision, stable line endings)."""
    from .._csv import to_csv

    out = frame.copy()
    out.index = out.index.astype("str")
    return to_csv(out, float_format="%.10g")


@click.command(name="clv", epilog=EXIT_CODES_HELP)
@input_options
@click.option(
    "--model",
    "model_name",
    type=click.Choice(list(_MODELS)),
    default="bgnbd",
    show_default=True,
    help="Purchase model: BG/NBD, modified BG/NBD, or Pareto/NBD.",
)
@click.option(
    "--horizon-months",
    type=click.IntRange(min=1),
    default=12,
    show_default=True,
    help="Months of future purchases to value.",
)
@click.option(
    "--discount-rate",
    type=click.FloatRange(min=0.0, max=1.0),
    default=None,
    help="Yearly discount rate, 0.10 = 10% (default: [metrics] annual_discount_rate in "
    "loyalty.toml, else 0.10).",
)
@click.option(
    "--margin",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    default=None,
    help="Profit share of spend (default: [metrics] margin in loyalty.toml, else 1.0).",
)
@click.option(
    "--time-unit",
    type=click.Choice(list(_UNITS)),
    default="W",
    show_default=True,
    help="The models' time unit: weeks (days / 7) or days. Changes the parameters' scale, "
    "not the predictions.",
)
@output_option("Write the per-customer CSV here (default: stdout, parameters then go to stderr).")
@strict_option
@cancellations_option
@handle_errors
def command(
    data_dir: Path | None,
    start: str | None,
    end: str | None,
    config: Path | None,
    debug: bool,
    quiet: bool,
    model_name: str,
    horizon_months: int,
    discount_rate: float | None,
    margin: float | None,
    time_unit: str,
    output: Path | None,
    strict: bool,
    link_cancellations: str | None,
    **files: Path | None,
) -> None:
    """Predictive CLV: who is still active, what they will buy, what they are worth.

    Fits a buy-till-you-die purchase model (BG/NBD by default) and the Gamma-Gamma spend
    model on the customers' purchase histories up to the end date, prints their parameters
    with standard errors and 95% intervals, and writes one CSV row per customer:
    frequency (repeat purchase days), recency_days, T_days, monetary_value, p_alive,
    expected_purchases (over the horizon), expected_average_value (per purchase), clv
    (discounted at the yearly rate, times the margin), net_history (net revenue so far) and
    far_above_history (clv over 5x the net history and above the median: check it).

    \b
    Examples:
      loyalty clv sample_data/ -o clv.csv
      loyalty clv --orders orders.csv --as-of 2024-06-30 --model pareto --horizon-months 24
      loyalty clv sample_data/ --discount-rate 0.08 --margin 0.3 > clv.csv
    """
    from .. import caveats, models
    from ..options import MetricOptions
    from ..summary import customer_summary

    inputs = load_inputs(
        data_dir,
        files,
        config=config,
        strict=strict,
        quiet=quiet,
        link_cancellations=link_cancellations,
    )
    options = MetricOptions.from_config(inputs.config)
    rate = discount_rate if discount_rate is not None else float(options.annual_discount_rate)
    share = margin if margin is not None else float(options.margin)
    summary = customer_summary(inputs.orders, start=start, end=end)
    class_name, label = _MODELS[model_name]
    with caveats.collect() as notes:
        progress(f"Fitting {label} on {len(summary):,} customers...", quiet=quiet)
        purchases = getattr(models, class_name)(time_unit=time_unit).fit(summary)
        progress("Fitting Gamma-Gamma...", quiet=quiet)
        spend = models.GammaGammaModel().fit(summary)
    warn_caveats(notes, quiet=quiet)
    table = models.clv_breakdown(
        purchases,
        spend,
        summary,
        horizon_months=horizon_months,
        annual_discount_rate=rate,
        margin=share,
    )
    table = models.flag_clv_above_history(table, summary)
    flagged = table[table["far_above_history"]].sort_values("clv", ascending=False)
    if len(flagged):
        top = flagged.index[0]
        warn(
            f"{len(flagged):,} customer(s) have a predicted value far above their net history "
            f"(e.g. {top}: CLV {flagged.loc[top, 'clv']:,.2f}, net so far "
            f"{flagged.loc[top, 'net_history']:,.2f}); a purchase cancelled on another "
            "invoice? try --link-cancellations 30D. Column far_above_history marks them.",
            quiet=quiet,
        )
    frame = summary[["frequency", "recency", "T", "monetary_value"]].rename(
        columns={"recency": "recency_days", "T": "T_days"}
    )
    frame = frame.join(table)
    monthly = (1 + rate) ** (1 / 12) - 1
    text = (
        _parameter_text(label, purchases, f" (per {_UNITS[time_unit][:-1]})")
        + "\n"
        + _parameter_text("Gamma-Gamma (spend per purchase)", spend)
        + f"\nCLV over {horizon_months} months at {rate:.2%} a year ({monthly:.3%} a month), "
        f"margin {share:g}: total {frame['clv'].sum():,.2f}, mean {frame['clv'].mean():,.2f} "
        f"per customer; {frame['expected_purchases'].sum():,.1f} purchases expected.\n"
    )
    csv_text = _clv_csv(frame)
    if output is None:
        if not quiet:
            click.echo(text, err=True, nl=False)
        emit(csv_text, None)
    else:
        emit(csv_text, output, quiet=quiet)
        click.echo(text, nl=False)
