"""``loyalty validate``: read every input table and report each row a reader would reject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import (
    EXIT_CODES_HELP,
    EXIT_DATA,
    TABLE_OPTIONS,
    handle_errors,
    input_options,
    progress,
    write_output,
)


def _where(report: Any, line: int) -> str:
    """``file:line`` for CSV input, ``file: row N`` for Parquet and frames."""
    if report.settings.get("format", "").startswith("csv"):
        return f"{report.source}:{line}"
    return f"{report.source}: row {line}"


def _describe(settings: dict[str, Any]) -> str:
    parts = [settings.get("format", "")]
    if "sep" in settings:
        parts.append(f"sep {settings['sep']!r}")
    if "decimal" in settings:
        parts.append(f"decimal {settings['decimal']!r}")
    if "encoding" in settings:
        parts.append(f"encoding {settings['encoding']}")
    for column, dayfirst in settings.get("dayfirst", {}).items():
        parts.append(f"{column} {'day-first' if dayfirst else 'month-first'}")
    return ", ".join(p for p in parts if p)


@click.command(
    "validate",
    help="""Check every input table and list each row a reader would reject.

Reads orders, surveys, events, spend, customers and points (from DATA_DIR or the --orders...
options, with the column mappings and options of loyalty.toml), prints each problem as
FILE:LINE: COLUMN: REASON and exits with 1 when any row is rejected or a file cannot be
read, 0 when every row is valid. --start/--end are accepted but ignored: every row is
checked.

\b
Examples:
  loyalty validate sample_data/
  loyalty validate data/ --rejects rejected/     # rejected/<table>.rejected.csv
  loyalty validate --orders export.csv --config loyalty.toml --max-problems 0
""",
    epilog=EXIT_CODES_HELP,
)
@input_options
@click.option(
    "--rejects",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each table's rejected rows (line, raw values, reason) to DIR/<table>.rejected.csv.",
)
@click.option(
    "--max-problems",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Problems printed per table (0 prints all; --rejects writes all).",
)
@handle_errors
def command(
    data_dir: Path | None,
    orders: Path | None,
    surveys: Path | None,
    events: Path | None,
    spend: Path | None,
    customers: Path | None,
    points: Path | None,
    config: Path | None,
    start: str | None,
    end: str | None,
    debug: bool,
    quiet: bool,
    rejects: Path | None,
    max_problems: int,
) -> None:
    from .._csv import to_csv
    from ..errors import DataValidationError
    from ..io import FOLDER_EXTENSIONS, READERS, find_table_files, read_report

    given = dict(
        zip(TABLE_OPTIONS, (orders, surveys, events, spend, customers, points), strict=True)
    )
    files = {table: path for table, path in given.items() if path is not None}
    if data_dir is None and not files:
        raise click.UsageError(
            "give a DATA_DIR or at least one of "
            "--orders/--surveys/--events/--spend/--customers/--points"
        )
    found, options = find_table_files(data_dir, files=files, config=config)
    if not found:
        raise FileNotFoundError(
            f"{data_dir}: no input files (looked for <table>{'/'.join(FOLDER_EXTENSIONS)} "
            f"with table one of {', '.join(TABLE_OPTIONS)})"
        )
    if rejects is not None:
        rejects.mkdir(parents=True, exist_ok=True)
    failed_tables = 0
    total_rejected = 0
    for table, source in found.items():
        progress(f"reading {source} ...", quiet=quiet)
        try:
            frame = READERS[table](source, errors="reject", **options[table])
        except DataValidationError as exc:
            # structural: the file cannot be read as a table at all
            click.echo(f"{source} ({table}): cannot be read: {str(exc).splitlines()[0]}")
            failed_tables += 1
            continue
        report = read_report(frame)
        click.echo(f"{report}  [{_describe(report.settings)}]")
        problems = report.problems
        shown = problems if max_problems == 0 else problems.head(max_problems)
        for line, column, value, reason in shown.itertuples(index=False):
            what = f"{column}: {reason}" if column else reason
            if column and isinstance(value, str) and value not in ("", "nan"):
                what += f": {value!r}"
            click.echo(f"  {_where(report, int(line))}: {what}")
        if len(problems) > len(shown):
            click.echo(
                f"  ... {len(problems) - len(shown):,} more problems "
                "(--max-problems 0 prints all; --rejects DIR writes every rejected row)"
            )
        for message in report.warnings:
            click.echo(f"  warning: {message}")
        if rejects is not None:
            target = rejects / f"{table}.rejected.csv"
            write_output(target, to_csv(report.rejected, index=False))
            click.echo(f"  rejected rows written to {target}")
        if report.rows_rejected:
            failed_tables += 1
            total_rejected += report.rows_rejected
    if failed_tables:
        rows = "row" if total_rejected == 1 else "rows"
        click.echo(
            f"Invalid: {total_rejected:,} {rows} rejected; {failed_tables} of {len(found)} "
            "tables with problems."
        )
        raise SystemExit(EXIT_DATA)
    click.echo(f"Valid: every row of {len(found)} table{'s' if len(found) > 1 else ''} kept.")
