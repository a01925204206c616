"""read_orders on a DataFrame against read_orders on the same CSV file.

The frame is what an analyst holds after ``pandas.read_csv(path)`` (pandas' default dtypes:
Arrow-backed ``str`` text, parsed numbers, dates as text), loaded in the setup so that only
``read_orders`` is timed. Issue 14 found the DataFrame path 2.7x slower than the file; the
cause was wrapping pandas' already-chunked Arrow columns again (``pa.chunked_array([...])``
walks them value by value).

Target: read_orders(frame) <= 1.0x read_orders(path).

Run: ``python benchmarks/bench_read_frame.py --lines 1000000`` (default: 1M).
"""

from __future__ import annotations

import sys

from _common import measure, orders_csv, parse_args, report, target, timed


def run(lines: int, repeat: int) -> bool:
    print(f"\n=== {lines:,} order lines ===")
    with timed("generating the CSV (cached)"):
        path = orders_csv(lines)
    p = repr(str(path))
    ours = "from loyalty_metrics import read_orders\nimport pandas as pd\n"
    from_file = measure("read_orders(path)", f"df = read_orders({p})", setup=ours, repeat=repeat)
    from_frame = measure(
        "read_orders(pandas.read_csv(path))",
        "df = read_orders(raw)",
        setup=ours + f"raw = pd.read_csv({p})\n",
        repeat=repeat,
    )
    report("read", [from_file, from_frame], reference=from_file)
    return target(
        "read_orders(frame) / read_orders(path)", from_frame.seconds / from_file.seconds, 1.0
    )


def main() -> int:
    args = parse_args(__doc__, default_lines=(1_000_000,))
    results = [run(lines, args.repeat) for lines in args.lines]
    print("\nall targets met" if all(results) else "\nsome targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
