"""``loyalty export``: upsert one row of KPIs per period into a file or SQLite table (for cron).

Exit codes: 0 ok (also when the target was already up to date) · 1 data problem (invalid or
missing rows, no order before ``--as-of``) · 2 usage or config error · 3 I/O error or refused
target (not a KPI export of this tool, other frequency, unwritable) · 4 lock timeout (another
export of the same target still running).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..errors import (
    ConfigError,
    DataValidationError,
    ExportError,
    LockTimeoutError,
    LoyaltyMetricsError,
)
from ._common import (
    EXIT_DATA,
    EXIT_IO,
    EXIT_USAGE,
    TABLE_OPTIONS,
    apply_cancellations,
    cancellations_option,
    check_date,
    check_output_folder,
    engine_option,
    handle_errors,
    input_options,
    load_inputs,
    refuse_guessed_future_dates,
    resolve_config,
)

#: Exit code of a lock timeout: alerting may retry it rather than page someone.
EXIT_LOCK = 4

_FREQS = ("W", "M", "Q", "Y")
_log = logging.getLogger("loyalty_metrics.cli.export")


# ---------------------------------------------------------------------------------------------
# Logging: text lines on a terminal, or one JSON object per line for log collectors


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message and extra ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        entry: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        return json.dumps(entry, ensure_ascii=False, default=str)


@contextmanager
def _logging(log_format: str, quiet: bool) -> Iterator[None]:
    """Route the package's log records to stderr for the duration of the command.

    Text: info lines only on a terminal (cron mails any output, so a clean run is silent;
    rejected rows are warnings and do show); JSON: always (collectors want the success record
    too). ``--quiet`` keeps errors only.
    """
    package = logging.getLogger("loyalty_metrics")
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        level = logging.ERROR if quiet else logging.INFO
    else:
        handler.setFormatter(logging.Formatter("loyalty export: %(message)s"))
        # Off a terminal (cron) only what deserves a mail: rejected rows and errors.
        level = (
            logging.ERROR if quiet else logging.INFO if sys.stderr.isatty() else logging.WARNING
        )
    handler.setLevel(level)
    saved = (package.level, package.propagate)
    package.addHandler(handler)
    package.setLevel(min(level, logging.INFO))
    package.propagate = False  # one line per record, whatever the root logger does
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(saved[0])
        package.propagate = saved[1]


def _exit_code(exc: BaseException) -> int | None:
    """The documented exit code of a library error (same mapping as ``handle_errors``)."""
    if isinstance(exc, LockTimeoutError):
        return EXIT_LOCK
    if isinstance(exc, DataValidationError):
        return EXIT_DATA
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    if isinstance(exc, ExportError | OSError):
        return EXIT_IO
    if isinstance(exc, LoyaltyMetricsError | ValueError):
        return EXIT_DATA
    return None


# ---------------------------------------------------------------------------------------------
# Option parsing


def _check_target(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from ..export import _parse_target

    try:
        dest = _parse_target(value, "export")
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a KPI export target: use a path ending in .csv, .jsonl or "
            ".parquet, or a SQLite URL such as sqlite:///kpis.db (sqlite:////abs/path.db)."
        ) from None
    check_output_folder(Path(dest.path).parent, target=value)
    return value


def _check_lock_timeout(
    ctx: click.Context, param: click.Parameter, value: float | None
) -> float | None:
    if value is not None and math.isnan(value):
        raise click.BadParameter("nan is not a number of seconds.")
    return value


def _load_inputs(
    data_dir: Path | None,
    files: dict[str, Path | None],
    config: Path | None,
    errors: str | None,
    link_cancellations: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the input tables and the config's settings.

    ``errors`` (else ``[export] errors``, else ``"raise"``): ``"raise"`` stops at any bad row
    (the default: cron should hear about bad data); ``"reject"`` leaves bad rows out, and each
    table's rejects are logged with their count per reason.
    """
    from ..config import load_config
    from ..io import read_folder, read_report

    if config is None and data_dir is not None and (data_dir / "loyalty.toml").is_file():
        config = data_dir / "loyalty.toml"
    given = {name: path for name, path in files.items() if path is not None}
    if data_dir is None and "orders" not in given and config is None:
        raise click.UsageError("Give a DATA_DIR, --orders or --config naming the files.")
    settings = load_config(config) if config is not None else {}
    errors = errors or settings.get("export", {}).get("errors", "raise")
    # read_folder resolves the config's relative file paths itself: pass it the path.
    frames = read_folder(data_dir, files=given or None, config=config, errors=errors)  # type: ignore[arg-type]  # click and the config checked it
    for name, frame in frames.items():
        report = read_report(frame)
        if report.rows_rejected:
            _log_rejects(name, report)
        for message in getattr(report, "warnings", ()):  # dates after today or far beyond
            _log.warning(
                "Warning: %s", message, extra={"fields": {"event": "date_warning", "table": name}}
            )
        if errors == "raise":
            refuse_guessed_future_dates(report, option="--errors raise")
    # quiet: cron mails any output; the linking is reproducible from the config
    frames["orders"] = apply_cancellations(
        frames["orders"], settings, link_cancellations, quiet=True
    )
    return frames, settings


@dataclass
class _Inputs:
    """The export's inputs: frames (or, with an engine, paths), settings, guest lines."""

    frames: dict[str, Any]
    config: dict[str, Any]
    guests: Any
    engine: Any = None
    columns: dict[str, dict[str, str]] = field(default_factory=dict)


def _load_any(
    data_dir: Path | None,
    files: dict[str, Path | None],
    config: Path | None,
    errors: str | None,
    link_cancellations: str | None,
    engine: str | None,
) -> _Inputs:
    """The inputs read in pandas (:func:`_load_inputs`), or found for ``--engine`` (else
    ``[engine] name``), which reads them itself: then what only pandas computes is refused."""
    import pandas as pd

    from ..config import load_config
    from ..guests import guest_orders

    config = resolve_config(data_dir, config)
    settings = load_config(config) if config is not None else {}
    name = engine or settings.get("engine", {}).get("name", "pandas")
    if name == "pandas":
        frames, settings = _load_inputs(data_dir, files, config, errors, link_cancellations)
        return _Inputs(frames=frames, config=settings, guests=guest_orders(frames["orders"]))
    if (errors or settings.get("export", {}).get("errors")) == "reject":
        raise click.UsageError(
            f"--errors reject (or [export] errors) needs --engine pandas: --engine {name} "
            "reads the lines as they are and cannot set bad ones aside."
        )
    inputs = load_inputs(
        data_dir, files, config=config, quiet=True, link_cancellations=link_cancellations,
        engine=name,
    )  # fmt: skip
    if inputs.get("points") is not None:
        raise click.UsageError(
            f"--engine {name} does not compute the points KPIs, and the inputs hold a points "
            "ledger: name the other files (--orders, --surveys...) or use --engine pandas."
        )
    # The engine refuses order lines without a customer id: there are no guest lines.
    no_guests = pd.DataFrame(
        {"order_date": pd.Series(dtype="datetime64[ns]"), "amount": pd.Series(dtype="float64")}
    )
    return _Inputs(
        frames=inputs.frames,
        config=inputs.config,
        engine=inputs.engine,
        columns=inputs.columns,
        guests=no_guests,
    )


def _log_rejects(table: str, report: Any) -> None:
    """One warning per table with rejected rows: counts, and the count of each reason."""
    reasons = report.rejected["reason"].value_counts().sort_index()
    summary = "; ".join(f"{reason} ({count:,})" for reason, count in reasons.items())
    fields = {
        "event": "rows_rejected",
        "table": table,
        "source": report.source,
        "rows_read": report.rows_read,
        "rows_rejected": report.rows_rejected,
        "reasons": {str(reason): int(count) for reason, count in reasons.items()},
    }
    _log.warning(
        "%s: %s of %s rows rejected: %s",
        Path(report.source).name, f"{report.rows_rejected:,}", f"{report.rows_read:,}", summary,
        extra={"fields": fields},
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The command


class _ExportCommand(click.Command):
    """A click command whose parsing errors (a bad option, a target folder that is missing,
    checked before any data is read) are JSON log lines too when ``--log-format json`` is
    among the arguments, as every later error is."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        as_json = _asks_for_json_logs(args)  # before click consumes the list
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:
            if not as_json:
                raise
            message = " ".join(exc.format_message().split())
            fields = {"error": type(exc).__name__, "exit_code": exc.exit_code}
            with _logging("json", quiet=True):
                _log.error(message, extra={"fields": fields})
            ctx.exit(exc.exit_code)


def _asks_for_json_logs(args: list[str]) -> bool:
    """True when the arguments hold ``--log-format json`` (or ``--log-format=json``)."""
    return any(
        arg == "--log-format=json" or (arg == "--log-format" and following == "json")
        for arg, following in zip(args, [*args[1:], None], strict=True)
    )


@click.command(name="export", cls=_ExportCommand)
@input_options
@click.option(
    "--to",
    "target",
    required=True,
    callback=_check_target,
    metavar="TARGET",
    help="kpis.csv, kpis.jsonl, kpis.parquet or sqlite:///path/kpis.db (upserted in place).",
)
@click.option(
    "--freq",
    type=click.Choice(_FREQS),
    default="M",
    show_default=True,
    help="Period length: W(eek), M(onth), Q(uarter), Y(ear).",
)
@click.option(
    "--since",
    callback=check_date,
    help="Only (re)compute the periods from the one containing this date (backfill); "
    "default: every period. --since in the --as-of period exports that period only.",
)
@click.option(
    "--window",
    type=click.Choice(["expanding", "period"]),
    default="expanding",
    show_default=True,
    help="expanding: each row is the snapshot as of the period's end (kpis_by_period); "
    "period: the KPIs of each period alone (a dashboard's monthly figures).",
)
@click.option(
    "--errors",
    type=click.Choice(["raise", "reject"]),
    default=None,
    help="raise: stop with exit 1 on any bad row (default, or [export] errors in "
    "loyalty.toml); reject: leave bad rows out, log their count per reason, export the rest "
    "(guest-checkout lines without a customer id then count as guest_revenue).",
)
@cancellations_option
@engine_option
@click.option("--table", help="SQLite table (default: [export] table in loyalty.toml, or kpis).")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    callback=_check_lock_timeout,
    metavar="SECONDS",
    help="Wait this long for another export of the same target (default: [export] "
    "lock_timeout, or 60); then exit 4.",
)
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Write through a TARGET that is a symlink (into the file it points to); without "
    "it such a target is refused, exit 3.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line on stderr, for log collectors.",
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
    target: str,
    freq: str,
    since: str | None,
    window: str,
    errors: str | None,
    link_cancellations: str | None,
    engine: str | None,
    table: str | None,
    lock_timeout: float | None,
    follow_symlinks: bool,
    log_format: str,
) -> None:
    """Upsert one row of KPIs per period into TARGET: safe to run from cron.

    Re-running replaces the rows of the periods computed and keeps the others; the file is
    replaced atomically (or one SQLite transaction) under a lock on TARGET.lock; a target that
    is not a KPI export of this tool is never overwritten. No prompt, no progress bar.

    Rows carry guest_revenue (lines without a customer id, set aside with --errors reject)
    and total_revenue next to revenue (identified customers).

    With --engine duckdb|spark the KPIs are computed in the engine, which reads the files
    itself (the same numbers; ISO dates, canonical columns or a columns mapping). It refuses
    what it cannot compute: a points ledger, --errors reject, --link-cancellations and order
    lines without a customer id, date or amount (so guest_revenue is 0). The input hash then
    covers the files' bytes.

    \b
    Examples:
      loyalty export data/ --to sqlite:///kpis.db --freq M --quiet
      loyalty export data/ --to kpis.csv --since 2024-01-01 --log-format json
      loyalty export data/ --to kpis.csv --errors reject
      loyalty export --orders 'orders/*.parquet' --to kpis.parquet --engine duckdb

    \b
    Exit codes: 0 ok, 1 data problem, 2 usage or config error,
    3 I/O error or refused target, 4 lock timeout (another export running).
    """
    with _logging(log_format, quiet):
        try:
            _run(
                data_dir,
                {"orders": orders, "surveys": surveys, "events": events, "spend": spend,
                 "customers": customers, "points": points},
                config=config, start=start, end=end, target=target, freq=freq, since=since,
                window=window, errors=errors, link_cancellations=link_cancellations,
                engine=engine, table=table, lock_timeout=lock_timeout,
                follow_symlinks=follow_symlinks,
            )  # fmt: skip
        except click.UsageError as exc:
            if log_format != "json":
                raise
            _log.error(exc.format_message(), extra={"fields": {"exit_code": EXIT_USAGE}})
            sys.exit(EXIT_USAGE)
        except Exception as exc:
            code = _exit_code(exc)
            if debug or code is None:
                raise
            if log_format != "json" and code != EXIT_LOCK:
                raise  # handle_errors prints the one-line message, as for every command
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if log_format == "json":
                fields = {"error": type(exc).__name__, "exit_code": code, "target": target}
                _log.error(message, extra={"fields": fields})
            else:
                click.echo(f"Error: {message}", err=True)
            sys.exit(code)


def _run(
    data_dir: Path | None,
    files: dict[str, Path | None],
    *,
    config: Path | None,
    start: str | None,
    end: str | None,
    target: str,
    freq: str,
    since: str | None,
    window: str,
    errors: str | None,
    link_cancellations: str | None,
    engine: str | None,
    table: str | None,
    lock_timeout: float | None,
    follow_symlinks: bool = False,
) -> None:
    from ..export import DEFAULT_LOCK_TIMEOUT, _parse_target, _symlink_refused, export_kpis
    from ..options import MetricOptions

    if start is not None and since is not None:
        raise click.UsageError("Give --since or --start, not both (they mean the same here).")
    dest = _parse_target(target, "export")
    if table is not None and dest.format != "sqlite":
        raise click.UsageError("--table applies to SQLite targets (--to sqlite:///...) only.")
    if dest.is_symlink and not follow_symlinks:
        raise _symlink_refused(dest)  # before any data is read
    inputs = _load_any(data_dir, files, config, errors, link_cancellations, engine)
    frames, settings = inputs.frames, inputs.config
    options = settings.get("export", {})
    result = export_kpis(
        *(frames.get(name) for name in TABLE_OPTIONS),
        target=target,
        freq=freq,  # type: ignore[arg-type]
        as_of=end,
        since=since if since is not None else start,
        window=window,  # type: ignore[arg-type]
        table=table or options.get("table", "kpis"),
        lock_timeout=lock_timeout
        if lock_timeout is not None
        else options.get("lock_timeout", DEFAULT_LOCK_TIMEOUT),
        options=MetricOptions.from_config(settings),
        guests=inputs.guests,
        engine=inputs.engine or "pandas",
        columns=inputs.columns,
        follow_symlinks=follow_symlinks,
    )
    fields = {
        "event": "export_done",
        "target": result.target,
        "table": result.table,
        "periods": list(result.keys),
        "added": result.added,
        "replaced": result.replaced,
        "rows": result.rows,
        "changed": result.changed,
    }
    _log.info(
        "exported %d period(s) (%s..%s) to %s",
        len(result.keys), result.keys[0] if result.keys else "-",
        result.keys[-1] if result.keys else "-", result.target,
        extra={"fields": fields},
    )  # fmt: skip
