"""``loyalty report`` end to end against DuckDB end to end, each as a whole process.

The reference side of issue 12 (see ``bench_task.py`` and ``gen_orders.py``, copied from the
team's shared benchmark folder so a clone runs them alone): on the same CSV, in the same run,
warm page cache, each command timed as a whole process by ``/usr/bin/time -f "%e s %M KB"``
(its memory: the larger of that peak RSS and the process tree's summed PSS, see
:func:`whole_process`):

- ``python bench_task.py duckdb e2e orders.csv``: DuckDB reads the file and computes the
  per-customer summary and the monthly cohort matrix;
- ``loyalty report DIR -o report.html --quiet``: the main job, every section;
- ``loyalty report sample_data -o report.html --quiet``: the bundled sample.

Targets (issue 12): the report on 10M lines within 2x DuckDB's end to end, peak RSS under
2.5 GB; the report on ``sample_data/`` under 5 s.

Run: ``python benchmarks/bench_report.py --lines 10000000`` (minutes; 560 MB of CSV, written
once under ``_data/``). ``--lines 1000000`` for a quicker look.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BENCH_DIR, DATA_DIR, parse_args, target, timed

ROOT = BENCH_DIR.parent
LOYALTY = Path(sys.executable).with_name("loyalty")
SEED = 42
_TIME = re.compile(r"^([\d.]+) s (\d+) KB$", re.MULTILINE)


def orders_dir(lines: int) -> Path:
    """A folder holding ``orders.csv`` of ``lines`` generated lines (``gen_orders.py``, seed 42)."""
    folder = DATA_DIR / f"report_{lines}_s{SEED}"
    path = folder / "orders.csv"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "orders.tmp.csv"
        subprocess.run(
            [sys.executable, str(BENCH_DIR / "gen_orders.py"), "--lines", str(lines),
             "--out", str(tmp), "--seed", str(SEED)],
            check=True,
        )  # fmt: skip
        tmp.replace(path)
    return folder


def whole_process(label: str, command: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of ``command`` run under ``/usr/bin/time``.

    The peak is that of the whole process tree: ``loyalty report`` forks a copy that computes
    sections beside it and a chart worker, so besides the largest single process's peak RSS
    (``/usr/bin/time``) the summed PSS of the tree (each shared page counted once) is sampled
    every 0.1 s from ``/proc``; the larger of the two is the peak.
    """
    process = subprocess.Popen(
        ["/usr/bin/time", "-f", "%e s %M KB", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    tree_kb = 0
    while process.poll() is None:
        tree_kb = max(tree_kb, _tree_pss_kb(process.pid))
        time.sleep(0.1)
    stderr = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"{label} failed ({process.returncode}):\n{stderr[-2000:]}")
    seconds, kb = _TIME.findall(stderr)[-1]
    largest = int(kb) / 1024
    peak = max(largest, tree_kb / 1024)
    print(
        f"  {label:<44} {float(seconds):8.2f} s  peak {peak:7.0f} MB "
        f"(largest process {largest:.0f} MB, tree PSS {tree_kb / 1024:.0f} MB)"
    )
    sys.stdout.flush()
    return float(seconds), peak


def _tree_pss_kb(root: int) -> int:
    """Summed PSS (kB) of ``root`` and its descendants now (0 where /proc does not tell)."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                total += next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except (OSError, StopIteration, ValueError):  # gone meanwhile, or not Linux
            continue
    return total


def run(lines: int) -> bool:
    print(f"\n=== {lines:,} order lines (gen_orders.py, seed {SEED}) ===")
    with timed("generating the CSV (cached)"):
        folder = orders_dir(lines)
    with tempfile.TemporaryDirectory() as out:
        duck, _ = whole_process(
            "DuckDB e2e (read + summary + cohorts)",
            [sys.executable, str(BENCH_DIR / "bench_task.py"), "duckdb", "e2e",
             str(folder / "orders.csv")],
        )  # fmt: skip
        report, peak = whole_process(
            "loyalty report DIR -o report.html",
            [str(LOYALTY), "report", str(folder), "-o", f"{out}/report.html", "--quiet"],
        )
        sample, _ = whole_process(
            "loyalty report sample_data -o report.html",
            [str(LOYALTY), "report", str(ROOT / "sample_data"), "-o", f"{out}/s.html", "--quiet"],
        )
    ok = target("report / DuckDB e2e", report / duck, 2.0)
    ok &= target("report peak memory (process tree)", peak / 1024, 2.5, unit=" GB")
    ok &= target("report on sample_data/", sample, 5.0, unit=" s")
    return ok


def main() -> int:
    args = parse_args(__doc__, default_lines=(10_000_000,))
    results = [run(lines) for lines in args.lines]
    print("\nall targets met" if all(results) else "\nsome targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
