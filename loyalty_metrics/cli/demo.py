"""``loyalty demo``: the main job ``make demo`` runs on the bundled sample data.

It reads every table of a data folder leniently, says per file what was read, kept and
rejected (and why), prints the customer summary's headline figures and writes the full HTML
report (``OUT/report.html``) with the same content as ``loyalty report``. The work is split so
it can grow: :func:`run_demo` takes the validated frames and the output folder, and each
section of the output is rendered by its own function.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    generated_at,
    handle_errors,
    input_options,
    load_inputs,
    make_output_folder,
    progress,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: How many rejection reasons are listed per file.
TOP_REASONS = 3


@click.command(name="demo")
@input_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    callback=make_output_folder,
    help="Folder for the outputs (report.html, summary.txt, customer_summary.csv, rejected rows).",
)
@handle_errors
def command(
    data_dir: Path | None,
    out_dir: Path,
    start: str | None,
    end: str | None,
    config: Path | None,
    debug: bool,
    quiet: bool,
    **files: Path | None,
) -> None:
    """Read a data folder, report what was kept and rejected, and summarise customers.

    Every file is read in lenient mode: bad rows are set aside (and written to
    OUT/rejected/<table>.csv with the file line and the reason) instead of stopping
    the run.

    \b
    Example:
      loyalty demo sample_data/ --out out/
    """
    progress(f"Reading {data_dir or 'the given files'}...", quiet=quiet)
    # quiet: the per-file lines below say more than load_inputs' warnings would.
    inputs = load_inputs(data_dir, files, config=config, quiet=True)
    text = run_demo(inputs.frames, out_dir, start=start, end=end)
    click.echo(text, nl=False)
    progress("Computing the report...", quiet=quiet)
    path = write_demo_report(inputs, out_dir, start=start, end=end)
    click.echo(f"\nReport written to {path} (open it in a browser).")


def write_demo_report(inputs: Any, out_dir: Path, *, start: str | None, end: str | None) -> Path:
    """Render the full HTML report of ``inputs`` (a ``load_inputs`` result) into ``out_dir``."""
    from ..report import build_report, render, write_report

    content = build_report(
        inputs.frames,
        start=start,
        end=end,
        config=inputs.config,
        generated_at=generated_at(),
        read_reports=inputs.reports,
    )
    return write_report(render(content, "html"), out_dir / "report.html")


def run_demo(
    frames: dict[str, pd.DataFrame],
    out_dir: Path,
    *,
    start: str | None = None,
    end: str | None = None,
) -> str:
    """Write the demo outputs into ``out_dir`` and return the text to print.

    ``frames`` are validated tables as :func:`loyalty_metrics.read_folder` returns them
    (``orders`` required). Writes ``summary.txt`` (the returned text),
    ``customer_summary.csv`` and ``rejected/<table>.csv`` for each table with rejected rows.
    """
    from .._csv import to_csv
    from ..summary import customer_summary

    summary = customer_summary(frames["orders"], start=start, end=end)
    text = render_read_section(frames) + "\n" + render_summary_section(summary)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(out_dir / "summary.txt", text.encode("utf-8"))
    _write_atomic(
        out_dir / "customer_summary.csv",
        to_csv(summary, date_format="%Y-%m-%d", float_format="%.10g").encode("utf-8"),
    )
    for name, frame in frames.items():
        rejected = _read_report(frame).rejected
        path = out_dir / "rejected" / f"{name}.csv"
        if len(rejected):
            path.parent.mkdir(exist_ok=True)
            _write_atomic(path, to_csv(rejected, index=False).encode("utf-8"))
        else:
            path.unlink(missing_ok=True)  # a stale file from an earlier run would mislead
    rejected_dir = out_dir / "rejected"
    if rejected_dir.is_dir() and not any(rejected_dir.iterdir()):
        rejected_dir.rmdir()
    return text


def render_read_section(frames: dict[str, pd.DataFrame]) -> str:
    """Per file: rows read, kept, rejected, and the most frequent rejection reasons."""
    lines = ["Files read (bad rows set aside, not fatal)"]
    reports = {name: _read_report(frame) for name, frame in frames.items()}
    width = max((len(_source_name(r.source)) for r in reports.values()), default=0)
    for report in reports.values():
        lines.append(
            f"  {_source_name(report.source):<{width}}  {report.rows_read:>10,} read"
            f"  {report.rows_kept:>10,} kept  {report.rows_rejected:>8,} rejected"
        )
        if report.rows_rejected:
            reasons = report.rejected["reason"].value_counts(sort=True)
            # value_counts breaks ties in order of appearance: sort ties by text instead.
            top = sorted(reasons.items(), key=lambda item: (-item[1], str(item[0])))
            for reason, count in top[:TOP_REASONS]:
                lines.append(f"  {'':<{width}}    {count:>8,} x {reason}")
            if len(top) > TOP_REASONS:
                lines.append(f"  {'':<{width}}    ... {len(top) - TOP_REASONS} more reasons")
    return "\n".join(lines) + "\n"


def render_summary_section(summary: pd.DataFrame) -> str:
    """The customer summary's headline figures, one per line."""
    from ..summary import summary_window

    window = summary_window(summary)
    customers = len(summary)
    purchases = int(summary["purchases"].sum())
    revenue = float(summary["revenue"].sum()) + _unattributed_revenue(summary)
    repeat = int((summary["purchases"] >= 2).sum())
    rows: list[tuple[str, str]] = [
        ("customers", f"{customers:,}"),
        ("purchases", f"{purchases:,}"),
        ("revenue", _money(revenue)),
        ("repeat customers", f"{repeat:,} ({_percent(repeat, customers)})"),
        ("purchases per customer", _ratio(purchases, customers)),
    ]
    if window.empty:
        rows.append(("window", "no orders"))
    else:
        days = (window.end - window.start).days + 1
        rows.append(
            ("window", f"{window.start:%Y-%m-%d} to {window.end:%Y-%m-%d} ({days:,} days)")
        )
    width = max(len(label) for label, _ in rows)
    body = [f"  {label:<{width}}  {value}" for label, value in rows]
    return "\n".join(["Customer summary", *body]) + "\n"


def _read_report(frame: pd.DataFrame) -> Any:
    from ..io import read_report

    return read_report(frame)


def _source_name(source: Any) -> str:
    return Path(str(source)).name if source is not None else "<DataFrame>"


def _unattributed_revenue(summary: pd.DataFrame) -> float:
    from ..summary import unattributed_revenue

    return unattributed_revenue(summary)


def _percent(part: int, whole: int) -> str:
    from .._stats import round_half_away

    return "n/a" if whole == 0 else f"{round_half_away(100 * part / whole, 1):.1f}%"


def _money(value: float) -> str:
    from .._stats import round_half_away

    return f"{round_half_away(value, 2):,.2f}"


def _ratio(part: int, whole: int) -> str:
    from .._stats import round_half_away

    return "n/a" if whole == 0 else f"{round_half_away(part / whole, 2):.2f}"


def _write_atomic(path: Path, data: bytes) -> None:
    from ..report import write_atomic

    write_atomic(path, data)
