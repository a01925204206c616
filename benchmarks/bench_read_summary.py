"""Read + customer summary against plain pandas, on 1M and 10M order lines.

Each step runs in a fresh process (see _common.py); ratios compare with plain pandas
measured in the same run:

- ``read_orders`` (validating, canonical dtypes) vs ``pandas.read_csv`` with dtypes;
- ``customer_summary`` vs the hand-written groupby an analyst would write for the same
  columns (first/last purchase, purchases, revenue, distinct categories, frequency,
  recency, T), both on the same frame;
- the peak memory of read + summary in one process.

Targets (issue 2, at 10M lines): read_orders <= 1.0x the plain read; customer_summary <=
1.2x the groupby; read + summary peak memory < 2 GB.

Run: ``python benchmarks/bench_read_summary.py --lines 1000000`` (default: 1M and 10M).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _common import measure, orders_csv, orders_frame, parse_args, report, target, timed

#: Tolerance for "net amount >= 0" (DESIGN: a purchase is an order with net amount >= 0).
TOLERANCE = 1e-6

PLAIN_DTYPES = {
    "order_id": "str",
    "customer_id": "str",
    "category": "category",
    "channel": "category",
    "amount": "float64",
}


def plain_read(path: str) -> pd.DataFrame:
    """The plain pandas read an analyst would write: dtypes given, dates parsed."""
    return pd.read_csv(path, dtype=PLAIN_DTYPES, parse_dates=["order_date"])


def handwritten_summary(df: pd.DataFrame) -> pd.DataFrame:
    """The straightforward pandas groupby for the summary's columns (no tricks).

    An order's lines share order_id; it is a purchase when its net amount is >= 0 and is
    dated by its earliest line. Frequency counts repeat purchase days; recency
    and T are in days from the first purchase day.
    """
    end = df["order_date"].max().normalize()
    net = df.groupby("order_id")["amount"].transform("sum")
    bought = df[net >= -TOLERANCE]
    orders = bought.groupby("order_id").agg(
        customer_id=("customer_id", "first"), order_date=("order_date", "min")
    )
    orders["day"] = orders["order_date"].dt.normalize()
    summary = orders.groupby("customer_id").agg(
        first_purchase=("order_date", "min"),
        last_purchase=("order_date", "max"),
        purchases=("order_date", "size"),
        purchase_days=("day", "nunique"),
    )
    summary["revenue"] = df.groupby("customer_id")["amount"].sum()
    summary["categories"] = bought.groupby("customer_id")["category"].nunique()
    summary["frequency"] = summary.pop("purchase_days") - 1
    first_day = summary["first_purchase"].dt.normalize()
    summary["recency"] = (summary["last_purchase"].dt.normalize() - first_day).dt.days
    summary["T"] = (end - first_day).dt.days
    return summary


def check_same_figures(lines: int = 20_000) -> None:
    """The two summaries must agree, or the comparison means nothing."""
    from loyalty_metrics import customer_summary

    frame = orders_frame(lines, seed=1)
    ours = customer_summary(frame)
    theirs = handwritten_summary(frame).reindex(ours.index)
    for column in ("purchases", "revenue", "categories", "frequency", "recency", "T"):
        if not np.allclose(ours[column].to_numpy(float), theirs[column].to_numpy(float)):
            raise AssertionError(f"customer_summary and the groupby differ on {column!r}")
    for column in ("first_purchase", "last_purchase"):
        if not (ours[column].to_numpy() == theirs[column].to_numpy("datetime64[ns]")).all():
            raise AssertionError(f"customer_summary and the groupby differ on {column!r}")


def run(lines: int, repeat: int) -> bool:
    print(f"\n=== {lines:,} order lines ===")
    with timed("generating the CSV (cached)"):
        path = orders_csv(lines)
    print(f"  file: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    p = repr(str(path))
    helpers = "from bench_read_summary import plain_read, handwritten_summary\n"
    ours = "from loyalty_metrics import read_orders, customer_summary\n"

    plain = measure(
        "pandas.read_csv (dtypes)", f"df = plain_read({p})", setup=helpers, repeat=repeat
    )
    read = measure("read_orders (validating)", f"df = read_orders({p})", setup=ours, repeat=repeat)
    report("read", [plain, read], reference=plain)

    # Both summaries start from the same frame (the plain read), so only the groupby differs.
    setup = helpers + ours + f"df = plain_read({p})\n"
    groupby = measure(
        "hand-written groupby", "s = handwritten_summary(df)", setup=setup, repeat=repeat
    )
    summary = measure("customer_summary", "s = customer_summary(df)", setup=setup, repeat=repeat)
    report("summary", [groupby, summary], reference=groupby)

    plain_both = measure(
        "pandas.read_csv + groupby",
        f"s = handwritten_summary(plain_read({p}))",
        setup=helpers,
    )
    both = measure(
        "read_orders + customer_summary", f"s = customer_summary(read_orders({p}))", setup=ours
    )
    report("read + summary", [plain_both, both], reference=plain_both)

    if lines < 10_000_000:
        print("  (the targets are set for 10M lines; smaller runs are dominated by fixed costs)")
    ok = target("read_orders / pandas.read_csv", read.seconds / plain.seconds, 1.0)
    ok &= target("customer_summary / groupby", summary.seconds / groupby.seconds, 1.2)
    ok &= target("read + summary peak memory", both.peak_mb / 1024, 2.0, unit=" GB")
    return ok


def main() -> int:
    args = parse_args(__doc__)
    check_same_figures()
    results = [run(lines, args.repeat) for lines in args.lines]
    print("\nall targets met" if all(results) else "\nsome targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
