"""Pieces every command shares: exit codes, input options, error handling, progress."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError, DataValidationError, ExportError, LoyaltyMetricsError

#: Documented exit codes (README, docs/cli.md).
EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_IO = 3

TABLE_OPTIONS = ("orders", "surveys", "events", "spend", "customers")


def input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``[DATA_DIR] --orders --surveys --events --spend --customers --config --start --end``."""
    options = [
        click.argument(
            "data_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
        ),
        *[
            click.option(
                f"--{name}",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help=f"The {name} file (CSV, CSV.gz or Parquet); overrides DATA_DIR/{name}.*",
            )
            for name in TABLE_OPTIONS
        ],
        click.option(
            "--config",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="loyalty.toml with column mappings and options (default: DATA_DIR/loyalty.toml).",
        ),
        click.option("--start", help="First day of the window (inclusive), e.g. 2024-01-01."),
        click.option("--end", "--as-of", "end", help="Last day of the window (inclusive)."),
        click.option("--debug", is_flag=True, help="Show tracebacks on errors."),
        click.option("--quiet", "-q", is_flag=True, help="No progress messages on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def fail(message: str, code: int) -> None:
    """Print one clear line on stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library exceptions into one stderr line and a documented exit code.

    ``--debug`` (a keyword argument of the command) re-raises with the traceback.
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
                fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, EXIT_DATA)
            if isinstance(exc, ConfigError):
                fail(str(exc), EXIT_USAGE)
            if isinstance(exc, ExportError | OSError):
                fail(str(exc), EXIT_IO)
            if isinstance(exc, LoyaltyMetricsError | ValueError):
                fail(str(exc), EXIT_DATA)
            raise

    return wrapper


def progress(message: str, *, quiet: bool = False) -> None:
    """A progress line on stderr, only when stderr is a terminal and not ``--quiet``."""
    if not quiet and sys.stderr.isatty():
        click.echo(message, err=True)
