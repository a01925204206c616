"""cohort_table against the equivalent DuckDB query, on the same in-memory orders frame.

Each step runs in a fresh process (see _common.py) whose setup builds the frame with
``orders_frame(lines)``; only the cohort computation is timed:

- ``cohort_table(df, period="M", values="customers")`` (orders netted by ``order_id``, net
  amount >= -1e-6 is a purchase, order date = earliest line, cohort = month of the first
  purchase, distinct active customers per cohort and months since), pivoted wide;
- the same in DuckDB SQL over the same pandas frame (DuckDB's own threads), pivoted wide.

The two results are checked to be identical on a small frame before anything is timed.

Target (issue 4, at 10M lines): cohort_table <= 2x the DuckDB query; the peak memory of
both is printed.

Run: ``python benchmarks/bench_cohorts.py --lines 1000000`` (default: 10M lines).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _common import measure, orders_frame, parse_args, report, target

#: The DuckDB query equivalent to cohort_table(df, period="M", values="customers").
COHORT_SQL = """
WITH o AS (
    SELECT customer_id, order_id, min(order_date) AS d, sum(amount) AS a
    FROM df
    WHERE order_date < (SELECT date_trunc('day', max(order_date)) + INTERVAL 1 DAY FROM df)
    GROUP BY customer_id, order_id
), p AS (
    SELECT customer_id, (year(d) - 1970) * 12 + month(d) - 1 AS m FROM o WHERE a >= -1e-6
), f AS (
    SELECT customer_id, min(m) AS c FROM p GROUP BY customer_id
)
SELECT f.c AS cohort, p.m - f.c AS k, count(DISTINCT p.customer_id) AS n
FROM p JOIN f USING (customer_id)
GROUP BY ALL
"""


def duckdb_cohorts(df: pd.DataFrame) -> pd.DataFrame:
    """The DuckDB query, pivoted to cohort_table's shape (cells after end are NaN)."""
    import duckdb

    long = duckdb.sql(COHORT_SQL).df()
    table = long.pivot(index="cohort", columns="k", values="n").astype("float64")
    last = int(long["cohort"].max())
    n_cols = int(last - long["cohort"].min()) + 1
    table = table.reindex(columns=range(n_cols))
    # Reachable cells without activity are 0; cells after end stay NaN.
    reachable = (table.index.to_numpy()[:, None] + np.arange(n_cols)[None, :]) <= last
    table = table.where(~reachable | table.notna(), 0.0)
    table.index = pd.PeriodIndex.from_ordinals(table.index.to_numpy(), freq="M")
    return table


def ours(df: pd.DataFrame) -> pd.DataFrame:
    from loyalty_metrics import cohort_table

    return cohort_table(df, period="M", values="customers")


def check_same_figures(lines: int = 50_000) -> None:
    """The two tables must agree cell for cell, or the comparison means nothing."""
    df = orders_frame(lines, seed=1)
    a = ours(df)
    b = duckdb_cohorts(df)
    if a.shape != b.shape or not np.array_equal(
        a.to_numpy(), b.to_numpy(dtype="float64"), equal_nan=True
    ):
        raise AssertionError("cohort_table and the DuckDB query differ")
    if not (a.index.astype(str) == b.index.astype(str)).all():
        raise AssertionError("cohort_table and the DuckDB query differ on the cohorts")


def run(lines: int, repeat: int) -> bool:
    print(f"\n=== {lines:,} order lines ===")
    setup = (
        "import duckdb\n"
        "import loyalty_metrics.cohorts  # imports outside the timing, as for duckdb\n"
        "from _common import orders_frame\n"
        "from bench_cohorts import ours, duckdb_cohorts\n"
        f"df = orders_frame({lines})\n"
    )
    duck = measure("DuckDB query", "t = duckdb_cohorts(df)", setup=setup, repeat=repeat)
    table = measure("cohort_table", "t = ours(df)", setup=setup, repeat=repeat)
    report(f"cohort table, monthly, customers ({lines:,} lines)", [duck, table], reference=duck)
    return target("cohort_table / DuckDB", table.seconds / duck.seconds, 2.0)


def main() -> int:
    args = parse_args(__doc__, default_lines=(10_000_000,))
    check_same_figures()
    results = [run(lines, args.repeat) for lines in args.lines]
    print("\nall targets met" if all(results) else "\nsome targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
