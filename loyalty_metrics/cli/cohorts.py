"""``loyalty cohorts``: the acquisition-cohort table as a heatmap (PNG/SVG), CSV or text."""

from __future__ import annotations

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
    write_output,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_OUTPUTS = {".png": "png", ".svg": "svg", ".csv": "csv", ".txt": "text"}
_VALUE_UNITS = {
    "retention": "percent",
    "customers": "count",
    "revenue": "money",
    "cumulative_revenue_per_customer": "money",
}


def cohort_text(
    table: pd.DataFrame,
    values: str,
    currency: str | None = None,
    status: pd.DataFrame | None = None,
) -> str:
    """The cohort table as aligned text (display rounding; blank where not observable;
    ``*`` on the partial cells of ``status``, with a footnote)."""
    from ..report._format import fmt

    unit = _VALUE_UNITS.get(values, "number")
    partial = (
        status.reindex(index=table.index, columns=table.columns).to_numpy() == "partial"
        if status is not None
        else None
    )
    header = ["cohort", *(str(c) for c in table.columns)]
    rows = [header]
    for i, (cohort, cells) in enumerate(table.iterrows()):  # one row per cohort: a few dozen
        texts = ["" if c != c else fmt(c, unit) for c in cells]
        if partial is not None:
            texts = [t + "*" if partial[i, j] and t else t for j, t in enumerate(texts)]
        rows.append([str(cohort), *texts])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        ).rstrip()
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if partial is not None and partial.any():
        lines.append("* partial: the period holding the as-of date, not yet complete")
    return "\n".join(lines) + "\n"


def _status(table: pd.DataFrame, inputs: Any, window: dict[str, Any]) -> pd.DataFrame:
    """The cells' status: from the orders in pandas, from the table's grid with an engine."""
    if inputs.engine is None:
        from ..cohorts import cohort_cell_status

        return cohort_cell_status(inputs.orders, **window)
    from ..engines import cohort_status

    return cohort_status(table)


def _partial_column(table: pd.DataFrame, status: pd.DataFrame) -> list[object]:
    """Per cohort, the periods_since column of its partial cell (None when it has none)."""
    marks = status.reindex(index=table.index, columns=table.columns) == "partial"
    return [row.idxmax() if row.any() else None for _, row in marks.iterrows()]


@click.command(name="cohorts", epilog=EXIT_CODES_HELP)
@input_options
@click.option(
    "--period",
    type=click.Choice(["W", "M", "Q", "Y"]),
    default="M",
    show_default=True,
    help="Cohort period: week, month, quarter or year of the first purchase.",
)
@click.option(
    "--values",
    type=click.Choice(["retention", "customers", "revenue", "cumulative_revenue_per_customer"]),
    default="retention",
    show_default=True,
    help="What the cells hold: % of the cohort active, active customers, revenue, or "
    "cumulative revenue per customer.",
)
@click.option(
    "--mode",
    type=click.Choice(["on", "on_or_after"]),
    default="on",
    show_default=True,
    help="Active in period k ('on'), or in k or any later period ('on_or_after').",
)
@output_option(
    "Write the heatmap (.png, .svg) or the table (.csv, .txt); default: text on stdout."
)
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
    period: str,
    values: str,
    mode: str,
    output: Path | None,
    strict: bool,
    link_cancellations: str | None,
    engine: str | None,
    **files: Path | None,
) -> None:
    """Acquisition cohorts: customers by the period of their first purchase, over time.

    Rows are cohorts, columns the periods since the first purchase (0 = the first). Cells
    not observable at the end date are blank (never 0); in the heatmap the period still
    running at the end date is hatched.

    \b
    Examples:
      loyalty cohorts sample_data/ -o cohorts.png
      loyalty cohorts sample_data/ --period Q --values revenue -o cohorts.csv
      loyalty cohorts --orders orders.csv --as-of 2024-06-30
      loyalty cohorts --orders 'orders/*.parquet' --engine duckdb -o cohorts.csv
    """

    kind = "text"
    if output is not None:
        kind = _OUTPUTS.get(output.suffix.lower(), "")
        if not kind:
            raise click.UsageError(
                f"cannot tell the format from {output.name!r}: use .png, .svg, .csv or .txt."
            )
    inputs = load_inputs(
        data_dir,
        files,
        config=config,
        strict=strict,
        quiet=quiet,
        link_cancellations=link_cancellations,
        engine=engine,
    )
    progress("Computing the cohorts...", quiet=quiet)
    window = {"period": period, "start": start, "end": end}
    from .. import caveats

    with caveats.collect() as notes:
        table = inputs.compute("cohort_table", "orders", values=values, mode=mode, **window)
    warn_caveats(notes, quiet=quiet)
    currency = inputs.config.get("metrics", {}).get("currency")
    status = _status(table, inputs, window)
    if kind in ("png", "svg"):
        from ..charts import cohort_heatmap, figure_bytes

        progress("Drawing the heatmap...", quiet=quiet)
        fig = cohort_heatmap(table, status=status, values=values, period=period, currency=currency)
        write_output(output, figure_bytes(fig, kind))  # type: ignore[arg-type]  # an image kind has an output
        progress(f"Wrote {output}", quiet=quiet)
    elif kind == "csv":
        # Full precision for machines; blank = not observable; partial_period names the
        # periods_since column of the cohort's partial (not yet complete) cell.
        import pandas as pd

        from .._csv import to_csv

        frame = table.copy()
        frame["partial_period"] = pd.array(_partial_column(table, status), dtype="Int64")
        frame.index = frame.index.astype("str")
        emit(to_csv(frame, float_format="%.15g"), output, quiet=quiet)
    else:
        emit(cohort_text(table, values, currency, status), output, quiet=quiet)
