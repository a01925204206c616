"""``loyalty report``: the full loyalty report as HTML, Markdown, JSON or a text table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import (
    EXIT_CODES_HELP,
    Inputs,
    cancellations_option,
    emit,
    engine_option,
    generated_at,
    handle_errors,
    input_options,
    load_inputs,
    output_option,
    progress,
    stdout_is_terminal,
    strict_option,
    warn,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..report import ChartWorker

FORMAT_CHOICES = ("html", "md", "json", "text")


def _format(fmt: str | None, output: Path | None) -> str:
    """--format, else the output file's suffix, else text on a terminal and HTML in a pipe."""
    if fmt is not None:
        return fmt
    if output is not None:
        from ..report import format_for_path

        found = format_for_path(output)
        if found is None:
            raise click.UsageError(
                f"cannot tell the format from {output.name!r}: use a .html, .md, .json or .txt "
                "file name, or --format."
            )
        return found
    return "text" if stdout_is_terminal() else "html"


@click.command(name="report", epilog=EXIT_CODES_HELP)
@input_options
@output_option("Write the report here (.html, .md, .json or .txt); default stdout.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_CHOICES),
    help="html, md, json or text. Default: from the -o suffix; on a terminal text (the "
    "headline KPIs), else html.",
)
@click.option(
    "--freq",
    type=click.Choice(["W", "M", "Q", "Y"]),
    default="M",
    show_default=True,
    help="Period of the trends and cohorts: week, month, quarter or year.",
)
@click.option("--title", help="Report title (default: [report] title in loyalty.toml).")
@click.option(
    "--parallel/--no-parallel",
    default=True,
    show_default=True,
    help="Use a second core (Linux): forked copies of the process compute CLV's holdout "
    "check beside the customer summary, then the CLV and RFM sections beside the others, and "
    "a second process draws the charts. --no-parallel keeps "
    "everything in one process (less memory at the peak, more time).",
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
    output: Path | None,
    fmt: str | None,
    freq: str,
    title: str | None,
    parallel: bool,
    strict: bool,
    link_cancellations: str | None,
    engine: str | None,
    **files: Path | None,
) -> None:
    """Build the loyalty report: headline KPIs, NPS, cohorts, ladder, CLV, CAC and more.

    The HTML report is one self-contained file (charts inline, no network needed) that
    prints well. Sections whose inputs are missing are left out with a one-line note; the
    data-quality section lists the rows each file had rejected. loyalty.toml in DATA_DIR is
    used automatically.

    With --engine duckdb|spark the engine reads the order lines and computes the headline
    KPIs, the trend, the cohorts, the loyalty ladder (from each customer's purchase count)
    and the customer summary (RFM segments, historic and predictive CLV and the top customers
    from it, without the holdout check); the other files are read in pandas. Sections that
    need the lines in memory (repeat rate by cohort, CAC, engagement, programmes, points, data
    quality) are left out, each with a one-line note.

    \b
    Examples:
      loyalty report sample_data/ -o report.html
      loyalty report sample_data/                 # headline KPIs as a table
      loyalty report --orders orders.csv --surveys nps.csv --start 2024-01-01 -o r.md
      loyalty report sample_data/ --format json --as-of 2024-06-30 > report.json
      loyalty report --orders 'orders/*.parquet' --engine duckdb -o report.html
    """
    from ..report import chart_worker, render

    fmt = _format(fmt, output)
    # A second process draws the charts of each section as soon as it is computed (and half
    # of those left at the end); started now, it imports matplotlib while this one reads.
    worker = chart_worker() if fmt == "html" and parallel else None
    try:
        content = _content(data_dir, files, start, end, config, quiet, title, freq, strict,
                           debug, link_cancellations, engine, parallel, worker)  # fmt: skip
        if fmt == "html":
            progress("Drawing the charts...", quiet=quiet)
        page = render(content, fmt, worker=worker)
    finally:
        if worker is not None:
            worker.shutdown()
    emit(page, output, quiet=quiet)


def _content(
    data_dir: Path | None,
    files: dict[str, Path | None],
    start: str | None,
    end: str | None,
    config: Path | None,
    quiet: bool,
    title: str | None,
    freq: str,
    strict: bool,
    debug: bool,
    link_cancellations: str | None,
    engine: str | None,
    parallel: bool = True,
    worker: ChartWorker | None = None,
) -> dict:
    """Read the inputs and compute the report's content (warning about its caveats)."""
    from ..orders import shared_kernels
    from ..report import build_report

    inputs = load_inputs(
        data_dir,
        files,
        config=config,
        strict=strict,
        quiet=quiet,
        link_cancellations=link_cancellations,
        engine=engine,
    )
    frames = inputs.frames if inputs.engine is None else _engine_frames(inputs, strict=strict)
    cfg = inputs.config
    if title:
        cfg = {**cfg, "report": {**cfg.get("report", {}), "title": title}}
    progress("Computing the report...", quiet=quiet)
    with shared_kernels():  # the order lines are netted once for every section
        content = build_report(
            frames,
            start=start,
            end=end,
            config=cfg,
            generated_at=generated_at(),
            read_reports=inputs.reports,
            freq=freq,  # type: ignore[arg-type]  # click checked the choice
            strict=debug,
            engine=inputs.engine,
            parallel=parallel,  # CLV and RFM in forked copies, on the second core
            on_section=None if worker is None else worker.draw_section,
        )
    for caveat in content.get("caveats", []):
        warn(caveat["message"], quiet=quiet)
    return content


def _engine_frames(inputs: Inputs, *, strict: bool) -> dict[str, object]:
    """The orders as a table of the engine (a CSV parsed once for every section); the other
    files, small, read in pandas with the readers' validation."""
    from .. import engines
    from ..io import READERS

    loaded = engines.load_tables(inputs.engine, {"orders": inputs.orders}, inputs.columns)
    frames: dict[str, object] = {"orders": loaded.tables["orders"]}
    for name, path in inputs.frames.items():
        if name != "orders":
            columns = inputs.columns.get(name)
            options = {"columns": columns} if columns else {}
            frames[name] = READERS[name](path, errors="raise" if strict else "reject", **options)
    return frames
