#!/usr/bin/env python3
"""One benchmark measurement in a fresh process.

    bench_task.py TOOL TASK CSV

TOOL: pandas_c | pandas_pa | pandas_pa_naive | polars | duckdb
  pandas_c        pd.read_csv default C engine, parse_dates + date_format
  pandas_pa       pd.read_csv(engine="pyarrow"), order_date via dtype "datetime64[us]"
  pandas_pa_naive pd.read_csv(engine="pyarrow", parse_dates=[...])  (slow path, for reference)
TASK: read | summary | cohort | e2e
  read    - load the CSV with explicit dtypes, order_date parsed as a date
  summary - read, then (timed separately) per-customer summary:
            first/last order date, distinct orders, revenue, distinct categories
  cohort  - read, then (timed separately) monthly cohort retention matrix:
            cohort = month of first order, cell(c, k) = share of cohort c's
            customers with >= 1 order in month c + k
  e2e     - read + summary + cohort in one process

Prints one JSON line: in-process phase times (perf_counter, seconds), the
process's peak RSS (VmHWM) after each phase, and checksums of the results
(computed outside the timed regions) so all tools can be cross-checked.
Whole-process wall time / peak RSS are taken from outside (/usr/bin/time -v)
by run_bench.py.
"""

import json
import sys
import time

T_START = time.perf_counter()


def vmhwm_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


# --------------------------------------------------------------------------- pandas
def pandas_read(path, engine):
    import pandas as pd

    dtypes = {
        "order_id": "int64",
        "customer_id": "int64",
        "product_id": "str",
        "category": "category",
        "quantity": "int16",
        "amount": "float64",
    }
    if engine == "c":
        return pd.read_csv(path, dtype=dtypes, parse_dates=["order_date"], date_format="%Y-%m-%d")
    if engine == "pa_naive":
        # the obvious spelling; pyarrow yields date32 -> object column -> slow re-parse in pandas
        return pd.read_csv(path, engine="pyarrow", dtype=dtypes, parse_dates=["order_date"])
    # tuned: let the dtype mapping convert pyarrow's date32 directly
    return pd.read_csv(path, engine="pyarrow", dtype={**dtypes, "order_date": "datetime64[us]"})


def pandas_summary(df):
    return df.groupby("customer_id", sort=False).agg(
        first_order=("order_date", "min"),
        last_order=("order_date", "max"),
        n_orders=("order_id", "nunique"),
        revenue=("amount", "sum"),
        n_categories=("category", "nunique"),
    )


def pandas_cohort(df):
    import pandas as pd

    # month index since epoch (numpy cast, no per-element Python work)
    month = df["order_date"].to_numpy().astype("datetime64[M]").astype("int32")
    pairs = pd.DataFrame({"c": df["customer_id"].to_numpy(), "m": month}).drop_duplicates()
    cohort = pairs.groupby("c", sort=False)["m"].transform("min")
    counts = (
        pairs.groupby([cohort.rename("cohort"), (pairs["m"] - cohort).rename("k")])
        .size()
        .unstack(fill_value=0)
    )
    return counts.div(counts[0], axis=0)


def pandas_checks(summary=None, cohort=None):
    out = {}
    if summary is not None:
        out["summary"] = [
            int(len(summary)),
            int(summary["n_orders"].sum()),
            round(float(summary["revenue"].sum()), 2),
            int(summary["n_categories"].sum()),
            str(summary["first_order"].min())[:10],
            str(summary["last_order"].max())[:10],
        ]
    if cohort is not None:
        out["cohort"] = [list(cohort.shape), round(float(cohort.to_numpy().sum()), 6)]
    return out


# --------------------------------------------------------------------------- polars
def polars_read(path):
    import polars as pl

    return pl.read_csv(
        path,
        schema_overrides={
            "order_id": pl.Int64,
            "customer_id": pl.Int64,
            "order_date": pl.Date,
            "product_id": pl.String,
            "category": pl.Categorical,
            "quantity": pl.Int16,
            "amount": pl.Float64,
        },
    )


def polars_summary(df):
    import polars as pl

    return df.group_by("customer_id").agg(
        pl.col("order_date").min().alias("first_order"),
        pl.col("order_date").max().alias("last_order"),
        pl.col("order_id").n_unique().alias("n_orders"),
        pl.col("amount").sum().alias("revenue"),
        pl.col("category").n_unique().alias("n_categories"),
    )


def polars_cohort(df):
    import polars as pl

    m = (
        pl.col("order_date").dt.year().cast(pl.Int32) * 12
        + pl.col("order_date").dt.month().cast(pl.Int32)
        - 1
    )
    pairs = df.select(pl.col("customer_id"), m.alias("m")).unique()
    pairs = pairs.with_columns(pl.col("m").min().over("customer_id").alias("cohort"))
    counts = pairs.group_by("cohort", (pl.col("m") - pl.col("cohort")).alias("k")).len()
    counts = counts.with_columns(
        (pl.col("len") / pl.col("len").filter(pl.col("k") == 0).first().over("cohort")).alias(
            "share"
        )
    )
    return counts.sort("cohort", "k").pivot(on="k", index="cohort", values="share").sort("cohort")


def polars_checks(summary=None, cohort=None):
    out = {}
    if summary is not None:
        out["summary"] = [
            summary.height,
            int(summary["n_orders"].sum()),
            round(float(summary["revenue"].sum()), 2),
            int(summary["n_categories"].sum()),
            str(summary["first_order"].min()),
            str(summary["last_order"].max()),
        ]
    if cohort is not None:
        vals = cohort.drop("cohort").fill_null(0.0)
        out["cohort"] = [[cohort.height, vals.width], round(float(vals.sum_horizontal().sum()), 6)]
    return out


# --------------------------------------------------------------------------- duckdb
DUCK_SUMMARY = """
SELECT customer_id, min(order_date) AS first_order, max(order_date) AS last_order,
       count(DISTINCT order_id) AS n_orders, sum(amount) AS revenue,
       count(DISTINCT category) AS n_categories
FROM orders GROUP BY customer_id"""

DUCK_COHORT = """
WITH p AS (SELECT DISTINCT customer_id, year(order_date) * 12 + month(order_date) - 1 AS m FROM orders),
     f AS (SELECT customer_id, min(m) AS cohort FROM p GROUP BY customer_id),
     cnt AS (SELECT f.cohort, p.m - f.cohort AS k, count(*) AS n
             FROM p JOIN f USING (customer_id) GROUP BY ALL),
     sh AS (SELECT cohort, k, n / max(CASE WHEN k = 0 THEN n END) OVER (PARTITION BY cohort) AS share FROM cnt)
PIVOT sh ON k USING first(share) GROUP BY cohort ORDER BY cohort"""


def duckdb_read(path):
    import duckdb

    con = duckdb.connect()
    con.execute(f"""CREATE TABLE orders AS SELECT * FROM read_csv('{path}', header = true, columns = {{
        'order_id': 'BIGINT', 'customer_id': 'BIGINT', 'order_date': 'DATE', 'product_id': 'VARCHAR',
        'category': 'VARCHAR', 'quantity': 'SMALLINT', 'amount': 'DOUBLE'}})""")
    return con


def duckdb_summary(con):
    return con.sql(DUCK_SUMMARY).to_arrow_table()  # result materialised as an Arrow table


def duckdb_cohort(con):
    return con.sql(DUCK_COHORT).to_arrow_table()


def duckdb_checks(summary=None, cohort=None):
    import pyarrow.compute as pc

    out = {}
    if summary is not None:
        out["summary"] = [
            summary.num_rows,
            int(pc.sum(summary["n_orders"]).as_py()),
            round(float(pc.sum(summary["revenue"]).as_py()), 2),
            int(pc.sum(summary["n_categories"]).as_py()),
            str(pc.min(summary["first_order"]).as_py()),
            str(pc.max(summary["last_order"]).as_py()),
        ]
    if cohort is not None:
        cols = [c for c in cohort.column_names if c != "cohort"]
        tot = sum(float(pc.sum(cohort[c]).as_py() or 0.0) for c in cols)
        out["cohort"] = [[cohort.num_rows, len(cols)], round(tot, 6)]
    return out


# --------------------------------------------------------------------------- driver
def main():
    tool, task, path = sys.argv[1:4]
    if tool in ("pandas_c", "pandas_pa", "pandas_pa_naive"):
        import pandas  # noqa: F401  (import cost is reported separately)

        read = lambda p: pandas_read(p, tool[len("pandas_") :])  # noqa: E731
        summ, coh, checks = pandas_summary, pandas_cohort, pandas_checks
    elif tool == "polars":
        import polars  # noqa: F401

        read, summ, coh, checks = polars_read, polars_summary, polars_cohort, polars_checks
    elif tool == "duckdb":
        import duckdb  # noqa: F401
        import pyarrow  # noqa: F401

        read, summ, coh, checks = duckdb_read, duckdb_summary, duckdb_cohort, duckdb_checks
    else:
        raise SystemExit(f"unknown tool {tool}")
    rec = {"tool": tool, "task": task, "file": path}
    t0 = time.perf_counter()
    rec["t_import"] = round(t0 - T_START, 4)
    data = read(path)
    t1 = time.perf_counter()
    rec["t_read"] = round(t1 - t0, 4)
    rec["hwm_read_mib"] = round(vmhwm_mib(), 1)
    s = c = None
    if task in ("summary", "e2e"):
        t = time.perf_counter()
        s = summ(data)
        rec["t_summary"] = round(time.perf_counter() - t, 4)
        rec["hwm_summary_mib"] = round(vmhwm_mib(), 1)
    if task in ("cohort", "e2e"):
        t = time.perf_counter()
        c = coh(data)
        rec["t_cohort"] = round(time.perf_counter() - t, 4)
        rec["hwm_cohort_mib"] = round(vmhwm_mib(), 1)
    rec["t_total_inproc"] = round(time.perf_counter() - t0, 4)
    rec["checks"] = checks(s, c)
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
