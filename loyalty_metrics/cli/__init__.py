"""The ``loyalty`` command line: a thin click layer over the library.

Each subcommand lives in its own module ``loyalty_metrics.cli.<name>`` exposing ``command``;
modules are imported only when their command runs, so ``loyalty --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__

# command name -> module in this package; listed in the order --help shows them.
_COMMANDS = {
    "report": "report",
    "kpis": "kpis",
    "cohorts": "cohorts",
    "clv": "clv",
    "export": "export",
    "validate": "validate",
    "sample": "sample",
    "demo": "demo",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [
            name
            for name, module in _COMMANDS.items()
            if importlib.util.find_spec(f"{__name__}.{module}") is not None
        ]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _COMMANDS.get(cmd_name)
        if module is None or importlib.util.find_spec(f"{__name__}.{module}") is None:
            return None
        return importlib.import_module(f"{__name__}.{module}").command

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """As click's, but a usage error is one line on stderr (cron mails stderr), exit 2.

        click prints the usage block and a hint before the error; every other error of the
        tool is one line, so these are too (``--help`` shows the usage).
        """
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # bare `loyalty`: the help is the answer
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            message = " ".join(exc.format_message().split())
            click.echo(f"Error: {message}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        # standalone_mode=False returns the exit code of ctx.exit() (--help, --version).
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="loyalty")
def cli() -> None:
    """Customer-loyalty KPIs from order, survey and activity exports.

    \b
    Example:
      loyalty report sample_data/ -o report.html
    """
    from ._memory import use_jemalloc

    use_jemalloc()  # Arrow's buffers from jemalloc: reads faster (see the function)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="loyalty")
