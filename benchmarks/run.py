"""Run every benchmarks/bench_*.py in turn (``make bench``).

Usage::

    python benchmarks/run.py                   # each script's default sizes (up to 10M lines)
    python benchmarks/run.py --lines 100000    # smoke run: passed to every script
    python benchmarks/run.py --only read_summary,kpis

Each script runs in its own process; a script that fails does not stop the others, and
the exit code is 1 when any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def scripts(only: list[str] | None = None) -> list[Path]:
    """The benchmark scripts, sorted by name; ``only`` keeps those named (without bench_).

    ``bench_task.py`` is the reference measurement ``bench_report.py`` runs, not a script.
    """
    found = sorted(p for p in BENCH_DIR.glob("bench_*.py") if p.name != "bench_task.py")
    if only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
        found = [p for p in found if p.stem.removeprefix("bench_") in wanted]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--lines", help="Order lines, passed to every script as --lines (e.g. 1000000)."
    )
    parser.add_argument("--only", help="Comma-separated script names to run (e.g. read_summary).")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    selected = scripts(only)
    if not selected:
        print(f"no benchmark scripts matched in {BENCH_DIR}", file=sys.stderr)
        return 2
    failed: list[str] = []
    for script in selected:
        command = [sys.executable, str(script)]
        if args.lines:
            command += ["--lines", args.lines]
        print(f"\n##### {script.name} {' '.join(command[2:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command, cwd=BENCH_DIR)
        print(
            f"##### {script.name}: exit {code} in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
