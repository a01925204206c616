"""``loyalty sample``: write a generated sample data set (a thin layer over write_sample)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import handle_errors, make_output_folder, progress


@click.command(name="sample")
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=3000,
    show_default=True,
    help="Number of customers (about 7 order lines each).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed."
)
@click.option(
    "--start",
    default="2023-01-01",
    show_default=True,
    callback=lambda ctx, param, value: _parse_day(value),
    help="First day of the simulated period.",
)
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=24,
    show_default=True,
    help="Length of the period.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    callback=make_output_folder,
    help="Folder to write orders.csv, surveys.csv, events.csv, spend.csv, customers.csv, "
    "points.csv and loyalty.toml (tier thresholds fitted to the sample) to.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@handle_errors
def command(
    customers: int, seed: int, start: str, months: int, out_dir: Path, debug: bool, quiet: bool
) -> None:
    """Write a deterministic sample data set (the same seed gives the same files).

    Customers, loyalty-programme members and referrals, two years of orders with
    repeat purchases and returns, NPS/CSAT surveys, engagement events and marketing
    spend, all generated from one seed.

    \b
    Example:
      loyalty sample --customers 100000 --seed 1 --out big_sample/
      loyalty report big_sample/ -o report.html
    """
    from ..sample import write_sample

    progress(f"Generating {customers:,} customers (seed {seed})...", quiet=quiet)
    paths = write_sample(out_dir, customers=customers, seed=seed, start=start, months=months)
    if not quiet:
        for name, path in paths.items():
            if name == "config":
                click.echo(f"{path}  [metrics] tier_thresholds fitted to the sample")
                continue
            size = path.stat().st_size
            rows = _count_lines(path) - 1  # values never hold a newline: one row per line
            click.echo(f"{path}  {rows:,} rows  {size / 1e6:.1f} MB")


def _parse_day(value: str) -> str:
    from .._window import to_day

    try:
        to_day(value, name="start")
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD.") from exc
    return value


def _count_lines(path: Path) -> int:
    """Lines of a file, counted in 1 MB blocks (the file may be large)."""
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
    return count
