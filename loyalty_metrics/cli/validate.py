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
    make_output_folder,
    mapping_notice,
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


def _reason_counts(problems: Any) -> str:
    """``column: reason (count)`` for each reason, most frequent first."""
    what = problems["column"].where(problems["column"] == "", problems["column"] + ": ")
    counts = (what + problems["reason"]).value_counts(sort=False)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(f"{reason} ({count:,})" for reason, count in ordered)


def _toml_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)  # a TOML basic string


def config_text(table: str, report: Any) -> str:
    """The ``loyalty.toml`` tables that read ``report``'s input as it was just read."""
    settings = report.settings
    lines = [f"[{table}]"]
    if Path(str(report.source)).stem.split(".")[0] != table:
        lines.append(f"file = {_toml_string(str(report.source))}")
    if settings.get("sep", ",") != ",":
        lines.append(f"sep = {_toml_string(settings['sep'])}")
    if settings.get("decimal", ".") != ".":
        lines.append(f"decimal = {_toml_string(settings['decimal'])}")
    if settings.get("encoding", "utf-8") not in ("utf-8", "utf-8-sig"):
        lines.append(f"encoding = {_toml_string(settings['encoding'])}")
    if any(settings.get("dayfirst", {}).values()):
        lines.append("dayfirst = true")
    lines.append(f"[{table}.columns]")
    lines += [f"{c} = {_toml_string(h)}" for c, h in report.columns.items()]
    return "\n".join(lines) + "\n"


@click.command(
    "validate",
    help="""Check every input table and list each row a reader would reject.

Reads orders, surveys, events, spend, customers and points (from DATA_DIR or the --orders...
options, with the column mappings and options of loyalty.toml), prints each problem as
FILE:LINE: COLUMN: REASON and exits with 1 when any row is rejected or a file cannot be
read, 0 when every row is valid. --start/--end are accepted but ignored: every row is
checked. When columns were recognised by their usual spellings (InvoiceNo, CustomerID...) or
amount is computed as quantity * unit_price, it says so and prints a ready loyalty.toml for
the files it saw; customer ids that do not match between tables are reported too.

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
    callback=make_output_folder,
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
    frames: dict[str, Any] = {}
    configs: list[str] = []
    for table, source in found.items():
        progress(f"reading {source} ...", quiet=quiet)
        try:
            frame = READERS[table](source, errors="reject", **options[table])
        except DataValidationError as exc:
            # structural: the file cannot be read as a table at all
            click.echo(f"{source} ({table}): cannot be read: {str(exc).splitlines()[0]}")
            failed_tables += 1
            continue
        frames[table] = frame
        report = read_report(frame)
        click.echo(f"{report}  [{_describe(report.settings)}]")
        notice = mapping_notice(report)
        if notice:
            click.echo(f"  {notice}")
            configs.append(config_text(table, report))
        problems = report.problems
        if len(problems):
            click.echo(f"  reasons: {_reason_counts(problems)}")
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
    from ..caveats import id_match_caveats

    for note in id_match_caveats(frames):
        click.echo(f"Warning: {note}")
    if configs:
        click.echo(
            "A loyalty.toml for these files (save it next to them; every command reads it):\n"
            + "".join(configs),
            nl=False,
        )
    if failed_tables:
        rows = "row" if total_rejected == 1 else "rows"
        click.echo(
            f"Invalid: {total_rejected:,} {rows} rejected; {failed_tables} of {len(found)} "
            "tables with problems."
        )
        raise SystemExit(EXIT_DATA)
    click.echo(f"Valid: every row of {len(found)} table{'s' if len(found) > 1 else ''} kept.")
