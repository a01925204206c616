"""Pieces every command shares: exit codes, input options, error handling, progress, output."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError, DataValidationError, ExportError, LoyaltyMetricsError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Documented exit codes (README, docs/cli.md).
EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_IO = 3

#: What each exit code means, for --help and docs/cli.md.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_DATA: "data problem: a file breaks its table's contract (bad column, unparseable "
    "values or a date after today read from a two-digit year with --strict), or a "
    "computation failed",
    EXIT_USAGE: "usage error: bad option or argument, invalid or unknown key in loyalty.toml",
    EXIT_IO: "input/output error: a file or folder cannot be found, read or written",
}

#: One line for the epilog of every command's --help.
EXIT_CODES_HELP = "Exit codes: 0 ok, 1 data problem, 2 usage or config error, 3 I/O error."

TABLE_OPTIONS = ("orders", "surveys", "events", "spend", "customers", "points")

#: The name of the config file looked for in DATA_DIR.
CONFIG_NAME = "loyalty.toml"


def check_date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: a calendar date inside ``schema.DATE_RANGE``, else a usage error (exit 2)."""
    if value is None:
        return None
    import pandas as pd

    from .._window import to_day
    from ..schema import DATE_RANGE

    low, high = DATE_RANGE
    try:
        day = to_day(value)
    except ValueError:
        day = None
    if day is None or not pd.Timestamp(low) <= day <= pd.Timestamp(high):
        raise click.BadParameter(
            f"{value!r} is not a date: give a calendar day from {low} to {high} (YYYY-MM-DD)."
        )
    return value


def _check_window_order(func: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse ``--start`` after ``--end`` as a usage error (exit 2), before anything is read."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .._window import to_day

        start, end = kwargs.get("start"), kwargs.get("end")
        first, last = to_day(start), to_day(end)
        if first is not None and last is not None and first > last:
            raise click.UsageError(f"--start {start} is after --end {end}.")
        return func(*args, **kwargs)

    return wrapper


def input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``[DATA_DIR] --orders ... --customers --points --config --start --end``.

    Paths are not checked for existence here: a missing file or folder (or a folder given for
    a file) is an I/O problem (exit 3, raised when it is read), not a usage error. Dates are
    checked here (exit 2), ``--start`` after ``--end`` too.
    """
    func = _check_window_order(func)
    options = [
        click.argument(
            "data_dir",
            required=False,
            type=click.Path(file_okay=False, path_type=Path),
        ),
        *[
            click.option(
                f"--{name}",
                type=click.Path(path_type=Path),
                metavar="FILE",
                help=f"The {name} file (CSV, CSV.gz, Parquet or Excel); overrides DATA_DIR/{name}.*",
            )
            for name in TABLE_OPTIONS
        ],
        click.option(
            "--config",
            type=click.Path(dir_okay=False, path_type=Path),
            help="loyalty.toml with column mappings and options (default: DATA_DIR/loyalty.toml).",
        ),
        click.option(
            "--start",
            callback=check_date,
            help="First day of the window (inclusive), e.g. 2024-01-01.",
        ),
        click.option(
            "--end",
            "--as-of",
            "end",
            callback=check_date,
            help="Last day of the window (inclusive).",
        ),
        click.option("--debug", is_flag=True, help="Show tracebacks on errors."),
        click.option("--quiet", "-q", is_flag=True, help="No progress messages on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def engine_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--engine pandas|duckdb|spark`` (default: ``[engine] name`` of the config, else pandas)."""
    return click.option(
        "--engine",
        type=click.Choice(["pandas", "duckdb", "spark"]),
        help="Where to compute: pandas (in memory), duckdb (the files are read by DuckDB, "
        "which spills to disk: data larger than memory) or spark. Default: [engine] name in "
        "loyalty.toml, else pandas.",
    )(func)


def cancellations_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--link-cancellations SPAN`` (default: ``[cancellations] within`` in loyalty.toml)."""
    return click.option(
        "--link-cancellations",
        "link_cancellations",
        metavar="SPAN",
        help="Move each cancellation line (negative amount) into the purchase it reverses: same "
        "customer and product, at most SPAN earlier (e.g. 30D). Default: [cancellations] "
        "within in loyalty.toml, else off.",
    )(func)


def strict_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--strict``: stop at the first bad row (exit 1) instead of setting bad rows aside."""
    return click.option(
        "--strict",
        is_flag=True,
        help="Stop with exit code 1 on any bad row instead of leaving it out and reporting it.",
    )(func)


class OutputError(click.ClickException):
    """An output that cannot be written, found before any data is read: exit 3 (I/O)."""

    exit_code = EXIT_IO


def check_output_folder(folder: Path, *, target: object) -> None:
    """Raise :class:`OutputError` unless ``folder`` exists, is a folder and is writable.

    A missing folder is refused, not created: a typo in a cron line should fail at once, not
    leave a new tree of folders (sqlite-utils and most Unix tools do the same). The message
    is the one writing would give (``TARGET: no such file or directory``), only earlier.
    """
    folder = folder if str(folder) else Path(".")
    if not folder.exists():
        raise OutputError(f"{target}: no such file or directory")
    if not folder.is_dir():
        raise OutputError(f"{folder}: not a folder (to write {target})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: permission denied (to write {target})")


def _check_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        check_output_folder(value.parent, target=value)
    return value


def make_output_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Any:
    """Click callback for an output *folder* option: create it now, before any data is read."""
    if value is not None:
        try:
            value.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{value}: {(exc.strerror or str(exc)).lower()}") from None
        check_output_folder(value, target=value)
    return value


def output_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add ``-o/--output FILE``: its folder must exist and be writable (exit 3 up front)."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=_check_output,
        help=help,
    )


def fail(message: str, code: int) -> None:
    """Print one clear line on stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn exceptions into one stderr line and a documented exit code.

    Library errors map to their codes (data 1, config 2, I/O 3); anything unexpected is
    reported in one line too (exit 1), with a hint to rerun with ``--debug``. ``--debug``
    (a keyword argument of the command) re-raises with the traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = kwargs.get("debug", False)
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if debug:
                raise
            if isinstance(exc, DataValidationError):
                fail(_one_line(exc), EXIT_DATA)
            if isinstance(exc, ConfigError):
                fail(str(exc), EXIT_USAGE)
            if isinstance(exc, ExportError | OSError):
                fail(_os_message(exc), EXIT_IO)
            if isinstance(exc, LoyaltyMetricsError | ValueError):
                fail(str(exc), EXIT_DATA)
            fail(
                f"unexpected {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the "
                "traceback, and please report it)",
                EXIT_DATA,
            )

    return wrapper


def _os_message(exc: BaseException) -> str:
    """``[Errno 13] Permission denied: 'x'`` -> ``x: permission denied``."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror[0].lower()}{exc.strerror[1:]}"
    return str(exc)


def progress(message: str, *, quiet: bool = False) -> None:
    """A progress line on stderr, only when stderr is a terminal and not ``--quiet``."""
    if not quiet and sys.stderr.isatty():
        click.echo(message, err=True)


def warn(message: str, *, quiet: bool = False) -> None:
    """A warning line on stderr (terminal or not) unless ``--quiet``."""
    if not quiet:
        click.echo(f"Warning: {message}", err=True)


def warn_caveats(notes: Any, *, quiet: bool = False) -> None:
    """One warning line on stderr per caveat (:func:`loyalty_metrics.caveats.collect`)."""
    for note in notes:
        warn(str(note), quiet=quiet)


def stdout_is_terminal() -> bool:
    """True when results go to a person rather than a pipe or a file."""
    return sys.stdout.isatty()


def generated_at() -> str:
    """The time a report is generated: now (UTC), or ``SOURCE_DATE_EPOCH`` when set.

    ``SOURCE_DATE_EPOCH`` (reproducible-builds.org) makes two runs byte-identical.
    """
    import datetime as dt

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            when = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
        except ValueError:
            raise click.BadParameter(
                f"SOURCE_DATE_EPOCH must be a number of seconds; got {epoch!r}."
            ) from None
    else:
        when = dt.datetime.now(dt.UTC)
    return when.replace(microsecond=0).isoformat()


# ---------------------------------------------------------------------------------------------
# Reading the inputs.


@dataclass
class Inputs:
    """What a command reads: validated frames, their read reports and the config."""

    frames: dict[str, Any]
    reports: list[Any] = field(default_factory=list)
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_path: Path | None = None
    #: With ``--engine duckdb|spark``: the connected engine; ``frames`` then hold the paths,
    #: read by the engine, and ``columns`` each table's column mapping.
    engine: Any = None
    columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def compute(self, func: str, *tables: str, **kwargs: Any) -> Any:
        """``loyalty_metrics.<func>`` on these tables, in pandas or in the engine."""
        import loyalty_metrics as lm

        args = [self.frames.get(name) for name in tables]
        if self.engine is None:
            return getattr(lm, func)(*args, **kwargs)
        from .. import engines

        columns = self.columns if func.startswith("kpis") else self.columns.get("orders")
        return getattr(engines, func)(*args, engine=self.engine, columns=columns, **kwargs)

    def first_day(self, start: str | None, end: str | None) -> pd.Timestamp:
        """The window's first day: ``start``, else the first order date (up to ``end``)."""
        if self.engine is None:
            from .._window import resolve_window

            return resolve_window(self.orders["order_date"], start, end).start
        from .. import engines

        window = engines.order_window(
            self.orders,
            start=start,
            end=end,
            engine=self.engine,
            columns=self.columns.get("orders"),
        )
        return window.start

    @property
    def orders(self) -> pd.DataFrame:
        return self.frames["orders"]

    def get(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)


def resolve_config(data_dir: Path | None, config: Path | None) -> Path | None:
    """``--config``, else ``DATA_DIR/loyalty.toml`` when it exists, else None."""
    if config is not None:
        return config
    if data_dir is not None and (data_dir / CONFIG_NAME).is_file():
        return data_dir / CONFIG_NAME
    return None


def load_inputs(
    data_dir: Path | None,
    files: dict[str, Path | None],
    *,
    config: Path | None = None,
    strict: bool = False,
    quiet: bool = False,
    link_cancellations: str | None = None,
    engine: str | None = None,
) -> Inputs:
    """Read DATA_DIR and/or the per-table files, with the config, as every command does.

    Lenient by default: bad rows are left out and counted (a warning line per file says how
    many); with ``strict`` the first bad file raises (exit 1). Cancellation lines are linked
    to the orders they reverse when ``link_cancellations`` or ``[cancellations]`` asks. With a
    SQL ``engine`` (or ``[engine] name``) the files are only found here: the engine reads them
    itself, without the readers' validation (canonical columns or a ``columns`` mapping, ISO
    dates) and without linking cancellations.
    """
    from ..config import load_config
    from ..io import read_folder, read_report

    given = {name: path for name, path in files.items() if path is not None}
    if data_dir is None and "orders" not in given:
        raise click.UsageError("give a DATA_DIR or at least --orders FILE (see --help).")
    config_path = resolve_config(data_dir, config)
    cfg = load_config(config_path) if config_path is not None else {}
    name = engine or cfg.get("engine", {}).get("name", "pandas")
    if name != "pandas":
        if link_cancellations or "within" in cfg.get("cancellations", {}):
            raise click.UsageError(
                f"--link-cancellations (or [cancellations] within) needs --engine pandas: "
                f"--engine {name} reads the order lines as they are."
            )
        return _engine_inputs(data_dir, given, cfg, config_path, name, quiet=quiet)
    where = str(data_dir) if data_dir is not None else "the given files"
    progress(f"Reading {where}...", quiet=quiet)
    frames = read_folder(
        data_dir, files=given or None, config=cfg, errors="raise" if strict else "reject"
    )
    from ..caveats import id_match_caveats

    reports = []
    for name, frame in frames.items():
        try:
            report = read_report(frame)
        except ValueError:
            continue
        reports.append(report)
        if name == "orders" and report.rows_read and not report.rows_kept:
            raise DataValidationError(
                f"{_name(report.source)}: all {report.rows_read:,} rows rejected ("
                f"{_first_reason(report)}), nothing to compute; 'loyalty validate' lists every "
                "reason.",
                source=str(report.source),
                table="orders",
            )
        notice = mapping_notice(report)
        if notice and not quiet:
            click.echo(f"Note: {notice}", err=True)
        if report.rows_rejected:
            warn(
                f"{_name(report.source)}: {report.rows_rejected:,} of {report.rows_read:,} rows "
                "left out (see 'loyalty validate' for the reasons; --strict to stop instead).",
                quiet=quiet,
            )
        for message in getattr(report, "warnings", ()):
            warn(message, quiet=quiet)
        if strict:
            refuse_guessed_future_dates(report)
    warn_caveats(id_match_caveats(frames), quiet=quiet)
    frames["orders"] = apply_cancellations(frames["orders"], cfg, link_cancellations, quiet=quiet)
    return Inputs(frames=frames, reports=reports, config=cfg, config_path=config_path)


def refuse_guessed_future_dates(report: Any, *, option: str = "--strict") -> None:
    """Strict reading: a date after today read from a two-digit year is an error (exit 1).

    ``option`` names the option that asked for the strict read, in the message.

    Its century was the readers' guess (00-68 -> 20xx), and a wrong one moves the as-of date
    decades ahead: lenient runs keep it with a warning; a strict (cron) run stops.
    """
    from ..io import DateWarning

    for message in getattr(report, "warnings", ()):
        guessed = isinstance(message, DateWarning) and message.two_digit_years
        if guessed and message.kind == "after_today":
            raise DataValidationError(
                f"{message}. {option} stops on a date after today read from a two-digit "
                "year: write the years with four digits.",
                source=str(report.source),
                table=report.table,
            )


def _engine_inputs(
    data_dir: Path | None,
    given: dict[str, Path],
    cfg: dict[str, dict[str, Any]],
    config_path: Path | None,
    name: str,
    *,
    quiet: bool,
) -> Inputs:
    from .. import engines
    from ..io import find_table_files

    paths, options = find_table_files(data_dir, files=given or None, config=config_path)
    for table, opts in options.items():
        unsupported = sorted(set(opts) - {"columns", "file"})
        if unsupported:
            raise click.UsageError(
                f"[{table}] {unsupported[0]} is a reader option; --engine {name} reads the "
                "files itself (comma-separated or Parquet, ISO dates, canonical columns or a "
                "columns mapping). Use --engine pandas, or convert the file."
            )
    settings = dict(cfg.get("engine", {}))
    settings.pop("name", None)
    connect_options: dict[str, Any] = {}
    if name == "duckdb":
        for key in ("memory_limit", "temp_directory", "threads"):
            if key in settings:
                value = settings[key]
                connect_options[key] = int(value) if key == "threads" else value
    else:
        if "spark_master" in settings:
            connect_options["master"] = settings["spark_master"]
        if "spark_config" in settings:
            connect_options["config"] = {k: str(v) for k, v in settings["spark_config"].items()}
    progress(f"Computing in {name}...", quiet=quiet)
    return Inputs(
        frames={table: str(path) for table, path in paths.items()},
        config=cfg,
        config_path=config_path,
        engine=engines.connect(name, **connect_options),
        columns={t: dict(o["columns"]) for t, o in options.items() if "columns" in o},
    )


def apply_cancellations(
    orders: pd.DataFrame, cfg: dict[str, Any], within: str | None, *, quiet: bool = False
) -> pd.DataFrame:
    """``link_cancellations`` with the option or ``[cancellations]``; a note says what moved."""
    from ..cancellations import link_cancellations

    settings = cfg.get("cancellations", {})
    within = within or settings.get("within")
    if within is None:
        return orders
    by = settings.get("by", ["customer_id", "product_id"])
    try:
        linked = link_cancellations(orders, within=within, by=by)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    moved = int(linked["cancels"].notna().sum())
    negative = int((orders["amount"] < 0).sum())
    if not quiet:
        click.echo(
            f"Note: {moved:,} of {negative:,} cancellation lines linked to the purchase they "
            f"reverse (within {within}, same {' and '.join(by)}).",
            err=True,
        )
    return linked


def mapping_notice(report: Any) -> str:
    """One line saying which columns were recognised by their usual spellings, and which were
    computed (``amount = quantity * unit_price``); empty when there is nothing to say."""
    parts = [f"{c} = {h!r}" for c, h in report.settings.get("auto_mapped", {}).items()]
    if "amount" in report.settings:
        parts.append(f"amount = {report.settings['amount']}")
    if not parts:
        return ""
    return f"{_name(report.source)}: columns mapped automatically: {', '.join(parts)}."


def _first_reason(report: Any) -> str:
    rejected = report.rejected
    if not len(rejected) or "reason" not in rejected:
        return "see the reasons"
    first = rejected.iloc[0]
    return f"line {first['line']}: {first['reason']}"


def _name(source: Any) -> str:
    return Path(str(source)).name


# ---------------------------------------------------------------------------------------------
# Writing the results.


def write_output(path: Path, data: str | bytes) -> None:
    """Write a result file atomically; an unwritable path exits 3 with one line."""
    from ..report import write_atomic

    try:
        write_atomic(path, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OSError(exc.errno, reason, str(path)) from exc


def emit(text: str, output: Path | None, *, quiet: bool = False) -> None:
    """Write ``text`` to ``output`` (atomically) or to stdout."""
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text)
    progress(f"Wrote {output}", quiet=quiet)
