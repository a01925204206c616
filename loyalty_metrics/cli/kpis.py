"""``loyalty kpis``: the KPI snapshot, or one row per period, as a table, CSV or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    EXIT_CODES_HELP,
    cancellations_option,
    emit,
    engine_option,
    handle_errors,
    input_options,
    load_inputs,
    output_option,
    progress,
    strict_option,
    warn_caveats,
)

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

    import pandas as pd

    from ..errors import LoyaltyWarning

#: KPIs shown by --format table with --freq when no --kpi is given (the rest is too wide).
TREND_DEFAULT = (
    "customers",
    "new_customers",
    "revenue",
    "average_ticket",
    "repeat_purchase_rate",
    "nps",
    "churn_rate",
    "clv",
)
_SUFFIXES = {".csv": "csv", ".json": "json", ".txt": "table"}


def _format(fmt: str | None, output: Path | None) -> str:
    if fmt is not None:
        return fmt
    if output is not None:
        found = _SUFFIXES.get(output.suffix.lower())
        if found is None:
            raise click.UsageError(
                f"cannot tell the format from {output.name!r}: use .csv, .json or .txt, or "
                "--format."
            )
        return found
    return "table"


def _unit(key: str) -> str:
    from ..report._content import HEADLINE

    if key in HEADLINE:
        return HEADLINE[key][1]
    return {"nps_ci_low": "points", "nps_ci_high": "points", "responses": "count"}.get(
        key, "number"
    )


_EXTRA_LABELS = {
    "nps_ci_low": "NPS interval, low",
    "nps_ci_high": "NPS interval, high",
    "responses": "NPS responses",
}


def _label(key: str) -> str:
    from ..report._content import HEADLINE

    if key in HEADLINE:
        return HEADLINE[key][0]
    return _EXTRA_LABELS.get(key, key.replace("_", " ").capitalize())


def _number(value: Any) -> Any:
    """JSON-ready: NaN -> None, numpy -> Python."""
    from ..report._format import plain

    return plain(value)


def _snapshot_table(values: pd.Series, currency: str | None) -> str:
    from ..report._format import fmt

    rows = [("KPI", "key", "Value")]
    rows += [(_label(k), k, fmt(v, _unit(k), currency=currency)) for k, v in values.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for i, (label, key, value) in enumerate(rows):
        lines.append(f"{label.ljust(widths[0])}  {key.ljust(widths[1])}  {value.rjust(widths[2])}")
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _period_label(period: object) -> str:
    import pandas as pd

    return period.strftime("%Y-%m-%d") if isinstance(period, pd.Timestamp) else str(period)


def _trend_table(frame: pd.DataFrame, currency: str | None) -> str:
    from ..report._format import fmt

    header = ["period_end", *frame.columns]
    rows = [header]
    for period, values in frame.iterrows():  # one row per period: a handful
        rows.append(
            [
                _period_label(period),
                *(
                    v if k == "status" else fmt(v, _unit(k), currency=currency)
                    for k, v in values.items()
                ),
            ]
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = []
    for i, row in enumerate(rows):
        cells = [str(row[0]).ljust(widths[0])] + [
            str(c).rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def render_kpis(
    result: pd.Series | pd.DataFrame,
    fmt: str,
    currency: str | None = None,
    notes: Iterable[LoyaltyWarning] = (),
) -> str:
    """The snapshot (a Series) or the per-period frame as a table, CSV or JSON string.

    JSON carries the caveats ``notes`` as ``caveats`` (``about``, ``message``): beside the
    KPI keys of the snapshot, beside ``periods`` (the rows) of the per-period frame.
    """
    import pandas as pd

    if fmt == "json":
        caveats = [{"about": list(n.about), "message": str(n)} for n in notes]
        if isinstance(result, pd.Series):
            data: Any = {k: _number(v) for k, v in result.items()}
            data["caveats"] = caveats
        else:
            rows = [
                {
                    "period_end": _number(period),
                    **{k: v if k == "status" else _number(v) for k, v in row.items()},
                }
                for period, row in result.iterrows()
            ]
            data = {"periods": rows, "caveats": caveats}
        return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    if fmt == "csv":
        from .._csv import to_csv

        frame = (
            result.rename("value").rename_axis("kpi").to_frame()
            if isinstance(result, pd.Series)
            else result.rename_axis("period_end")
        )
        # 15 significant digits (what a double holds exactly) for machines; NaN is empty.
        return to_csv(frame, date_format="%Y-%m-%d", float_format="%.15g")
    if isinstance(result, pd.Series):
        return _snapshot_table(result, currency)
    return _trend_table(result, currency)


@click.command(name="kpis", epilog=EXIT_CODES_HELP)
@input_options
@click.option(
    "--freq",
    type=click.Choice(["W", "M", "Q", "Y"]),
    help="One row per period (week, month, quarter, year) instead of one snapshot.",
)
@click.option(
    "--window",
    default="period",
    show_default=True,
    help="With --freq: each row over its own 'period', 'expanding' from --start, or a "
    "trailing length such as 365D.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    help="table (aligned, rounded for display), csv or json (full precision, NaN empty or "
    "null; the caveats also in a 'caveats' list, the rows of --freq under 'periods'). "
    "Default: from the -o suffix, else table.",
)
@click.option(
    "--kpi",
    "keys",
    multiple=True,
    help="Only these KPIs (repeatable), e.g. --kpi nps --kpi revenue.",
)
@output_option("Write here (.csv, .json or .txt) instead of stdout.")
@strict_option
@cancellations_option
@engine_option
@handle_errors
def command(
    data_dir: Path | None,
    start: str | None,
    end: str | None,
    config: Path | None,
    debug: bool,
    quiet: bool,
    freq: str | None,
    window: str,
    fmt: str | None,
    keys: tuple[str, ...],
    output: Path | None,
    strict: bool,
    link_cancellations: str | None,
    engine: str | None,
    **files: Path | None,
) -> None:
    """The KPI snapshot over the window, or its time series with --freq.

    KPIs and their definitions are those of loyalty_metrics.kpis(); metric options
    (churn period, margin, key actions...) come from [metrics] in loyalty.toml.

    \b
    Examples:
      loyalty kpis sample_data/
      loyalty kpis sample_data/ --freq M --format csv -o kpis_by_month.csv
      loyalty kpis sample_data/ --as-of 2024-06-30 --kpi nps --kpi churn_rate --format json
      loyalty kpis --orders 'orders/*.parquet' --engine duckdb
    """
    from .. import KPI_KEYS, caveats
    from .._window import period_status
    from ..options import MetricOptions

    fmt = _format(fmt, output)
    inputs = load_inputs(
        data_dir,
        files,
        config=config,
        strict=strict,
        quiet=quiet,
        link_cancellations=link_cancellations,
        engine=engine,
    )
    unknown = [k for k in keys if k not in KPI_KEYS]
    if unknown:
        import difflib

        hint = difflib.get_close_matches(unknown[0], KPI_KEYS, n=1)
        raise click.BadParameter(
            f"unknown KPI {unknown[0]!r}"
            + (f"; did you mean {hint[0]!r}?" if hint else "")
            + " Known: "
            + ", ".join(KPI_KEYS)
            + ".",
            param_hint="--kpi",
        )
    tables = ("orders", "surveys", "events", "spend", "customers")
    progress("Computing the KPIs...", quiet=quiet)
    options = MetricOptions.from_config(inputs.config)
    with caveats.collect() as notes:
        if freq is None:
            result = inputs.compute("kpis", *tables, start=start, end=end, options=options)
        else:
            result = inputs.compute(
                "kpis_by_period",
                *tables,
                freq=freq,
                window=window,
                start=start,
                end=end,
                options=options,
            )
    warn_caveats(notes, quiet=quiet)
    if keys:
        result = result[list(keys)]
    elif freq is not None and fmt == "table":
        result = result[[k for k in TREND_DEFAULT if k in result.columns]]
    if freq is not None:
        # partial periods (a final month holding 9 days) are marked, not shown as real
        first = inputs.first_day(start, end)
        status = period_status(
            result.index,
            freq,
            start=first if window == "period" else None,
            end=end or result.index.max(),
        )
        result.insert(0, "status", status)
    currency = inputs.config.get("metrics", {}).get("currency")
    emit(render_kpis(result, fmt, currency, notes), output, quiet=quiet)
