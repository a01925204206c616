"""The engines (DESIGN section 7) against hand-written DuckDB SQL, and past memory.

Steps, each in a fresh process (see _common.py):

- ``sql``: the 10M-line CSV (``/work/shared/bench/gen_orders.py --lines 10000000``, else
  ``_common.orders_csv``) through hand-written DuckDB SQL computing the order aggregates of
  ``kpis`` (customers, new customers, purchases, revenue, repeat and multi-category customers,
  the churn look-back) and, separately, the monthly retention cohort cells;
- ``engine``: ``kpis(path, engine="duckdb")`` and ``cohort_table(path, engine="duckdb")`` on
  the same file. Target: each within 1.5x of its SQL.
- ``--big N``: N lines as a Parquet folder (generated in 10M-line chunks into ``_data``), then
  ``loyalty kpis --engine duckdb`` with a 4 GB memory limit (target: completes, peak RSS
  under 6 GB) and the pandas engine on the same files under an address-space limit of 16 GB
  (``prlimit --as``), which shows whether it runs out of memory or how much slower it is.
- ``--spark``: ``kpis`` on Spark local[2] on the 10M-line Parquet, its numbers checked
  against DuckDB's.

Run: ``python benchmarks/bench_engines.py`` (10M lines), ``--lines 1000000`` for a smoke run,
``--big 100000000`` and ``--spark`` for the long ones (run them alone: minutes to an hour).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import DATA_DIR, measure, orders_csv, parse_args, report, target

GENERATOR = Path(os.environ.get("LOYALTY_SHARED", "/work/shared")) / "bench" / "gen_orders.py"

KPI_SQL = """
CREATE TEMP TABLE lines AS
    SELECT customer_id::VARCHAR AS customer_id, order_id::VARCHAR AS order_id,
           order_date::TIMESTAMP AS order_date, amount::DOUBLE AS amount,
           category::VARCHAR AS category
    FROM read_csv('{path}', header = true, all_varchar = true);
WITH bounds AS (
    SELECT max(order_date)::DATE AS end_day, min(order_date)::DATE AS start_day FROM lines
), orders AS (
    SELECT customer_id, order_id, min(order_date) AS order_date, sum(amount) AS net
    FROM lines GROUP BY customer_id, order_id
), bought AS (SELECT * FROM orders WHERE net >= -1e-6
), per_customer AS (
    SELECT customer_id, count(*) AS purchases, min(order_date) AS first_purchase,
           max(order_date) >= (SELECT end_day FROM bounds) - INTERVAL 364 DAY AS came_back,
           bool_or(order_date >= (SELECT end_day FROM bounds) - INTERVAL 729 DAY
                   AND order_date < (SELECT end_day FROM bounds) - INTERVAL 364 DAY) AS in_cohort
    FROM bought GROUP BY customer_id
), categories AS (
    SELECT l.customer_id, count(DISTINCT l.category) AS n
    FROM lines l SEMI JOIN bought b ON l.customer_id = b.customer_id AND l.order_id = b.order_id
    GROUP BY l.customer_id
)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE first_purchase >= (SELECT start_day FROM bounds)) AS new_customers,
       sum(purchases) AS purchases,
       (SELECT sum(amount) FROM lines) AS revenue,
       count(*) FILTER (WHERE purchases >= 2) AS repeat_customers,
       (SELECT count(*) FILTER (WHERE n = 1) FROM categories) AS single_category,
       (SELECT count(*) FILTER (WHERE n > 1) FROM categories) AS multi_category,
       count(*) FILTER (WHERE in_cohort) AS churn_cohort,
       count(*) FILTER (WHERE in_cohort AND NOT came_back) AS churned
FROM per_customer;
"""

COHORT_SQL = """
CREATE TEMP TABLE lines AS
    SELECT customer_id::VARCHAR AS customer_id, order_id::VARCHAR AS order_id,
           order_date::TIMESTAMP AS order_date, amount::DOUBLE AS amount
    FROM read_csv('{path}', header = true, all_varchar = true);
WITH orders AS (
    SELECT customer_id, order_id, min(order_date) AS order_date, sum(amount) AS net
    FROM lines GROUP BY customer_id, order_id
), bought AS (SELECT * FROM orders WHERE net >= -1e-6
), cohort AS (
    SELECT customer_id, date_trunc('month', min(order_date)) AS cohort FROM bought GROUP BY 1
), active AS (SELECT DISTINCT customer_id, date_trunc('month', order_date) AS period FROM bought)
SELECT cohort, period, count(*) AS customers FROM active JOIN cohort USING (customer_id)
GROUP BY ALL ORDER BY ALL;
"""


def sql_step(sql: str) -> str:
    return (
        "import duckdb\n"
        "con = duckdb.connect()\n"
        f"for statement in {sql!r}.split(';\\n'):\n"
        "    if statement.strip():\n"
        "        result = con.execute(statement).fetchall()\n"
    )


def csv_path(lines: int) -> Path:
    """The gen_orders.py CSV of ``lines`` lines (cached), else _common's."""
    if not GENERATOR.is_file():
        return orders_csv(lines)
    path = DATA_DIR / f"orders_{lines // 1_000_000}m" / "orders.csv"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(GENERATOR), "--lines", str(lines), "--out", str(path)],
            check=True,
        )
    return path


def parquet_folder(lines: int, chunk: int = 10_000_000) -> Path:
    """``lines`` lines as Parquet files of ``chunk`` lines each: each chunk a fresh
    gen_orders.py draw whose customer and order ids get the chunk's number as a prefix (so
    chunks are distinct shops' customers), written one at a time (bounded memory)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder = DATA_DIR / f"orders_parquet_{lines}"
    done = folder / "_complete"
    if done.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    scratch = DATA_DIR / "chunk.csv"
    for number, start in enumerate(range(0, lines, chunk)):
        size = min(chunk, lines - start)
        subprocess.run(
            [sys.executable, str(GENERATOR), "--lines", str(size), "--out", str(scratch),
             "--seed", str(42 + number)],
            check=True,
        )  # fmt: skip
        text = pa.string()
        table = pacsv.read_csv(
            scratch,
            convert_options=pacsv.ConvertOptions(
                column_types={
                    "order_id": text,
                    "customer_id": text,
                    "order_date": pa.timestamp("us"),
                }
            ),
        )
        for column in ("customer_id", "order_id"):
            prefixed = pc.binary_join_element_wise(f"{number:02d}", table[column], "-")
            table = table.set_column(table.schema.get_field_index(column), column, prefixed)
        pq.write_table(table, folder / f"part-{number:03d}.parquet")
        print(f"  chunk {number}: {size:,} lines", flush=True)
    scratch.unlink(missing_ok=True)
    done.touch()
    return folder


def timed_command(label: str, command: list[str], env: dict[str, str] | None = None) -> None:
    """Run a whole CLI process under /usr/bin/time and print its wall time and peak RSS."""
    started = time.perf_counter()
    run = subprocess.run(
        ["/usr/bin/time", "-f", "%e s %M KB", *command],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - started
    print(f"\n{label}: exit {run.returncode} in {wall:.0f} s")
    print("  command:", " ".join(command))
    print("  " + (run.stderr.strip().splitlines() or ["(no output)"])[-1])
    if run.returncode == 0:
        print("  " + "\n  ".join(run.stdout.strip().splitlines()[-12:]))
    else:
        print("  " + "\n  ".join(run.stderr.strip().splitlines()[-5:]))


def big(lines: int) -> None:
    folder = parquet_folder(lines)
    loyalty = str(Path(sys.executable).with_name("loyalty"))
    config = DATA_DIR / "engine_4gb.toml"
    spill = DATA_DIR / "duckdb_spill"
    spill.mkdir(exist_ok=True)
    config.write_text(
        f'[engine]\nname = "duckdb"\nmemory_limit = "4GB"\ntemp_directory = "{spill}"\n'
    )
    glob = str(folder / "*.parquet")
    common = ["kpis", "--orders", glob, "--format", "csv", "-q"]
    timed_command(f"DuckDB engine, {lines:,} lines", [loyalty, *common, "--config", str(config)])
    # The pandas engine on the same files (its readers take one file: read the folder with
    # pandas.read_parquet), capped at 16 GB of address space so it cannot take the machine.
    stmt = (
        "import pandas as pd, loyalty_metrics as lm\n"
        f"df = pd.read_parquet({str(folder)!r}, "
        "columns=['customer_id', 'order_id', 'order_date', 'amount', 'category'])\n"
        "df['category'] = df['category'].astype('category')\n"
        "print(lm.kpis(df).to_csv())\n"
    )
    timed_command(
        f"pandas engine, {lines:,} lines, address space <= 16 GB",
        ["prlimit", f"--as={16 * 1024**3}", sys.executable, "-c", stmt],
    )


def spark(lines: int) -> None:
    folder = parquet_folder(lines)
    stmt = (
        "import loyalty_metrics as lm\n"
        "from loyalty_metrics import engines\n"
        f"path = {str(folder / '*.parquet')!r}\n"
        "con = engines.connect('spark', master='local[2]', config={"
        "'spark.driver.memory': '6g', 'spark.sql.shuffle.partitions': '8'})\n"
        "import time; t = time.perf_counter()\n"
        "k_spark = lm.kpis(path, engine=con)\n"
        "print('spark kpis', time.perf_counter() - t, flush=True)\n"
        "k_duck = lm.kpis(path, engine='duckdb')\n"
        "import numpy as np\n"
        "np.testing.assert_allclose(k_spark.to_numpy(), k_duck.to_numpy(), rtol=1e-9)\n"
        "print(k_spark.to_string())\n"
    )
    timed_command(f"Spark local[2], {lines:,} lines of Parquet", [sys.executable, "-c", stmt])


def main() -> int:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--big", type=int, help="Lines of the larger-than-memory run.")
        parser.add_argument("--spark", action="store_true", help="The Spark local[2] run.")

    args = parse_args(__doc__, default_lines=(10_000_000,), extra=extra)
    if args.big:
        big(args.big)
        return 0
    if args.spark:
        spark(args.lines[0])
        return 0
    ok = True
    for lines in args.lines:
        path = str(csv_path(lines))
        # imports (pandas, scipy, ibis, duckdb) in the setup, as the SQL step's import duckdb
        engine_setup = (
            "import loyalty_metrics as lm, ibis, duckdb\n"
            "from loyalty_metrics import engines\n"
            "kpis, cohort_table = lm.kpis, lm.cohort_table\n"
        )
        sql_kpis = measure("hand-written SQL, kpi aggregates", sql_step(KPI_SQL.format(path=path)))
        eng_kpis = measure(
            "kpis(engine='duckdb')", f"kpis({path!r}, engine='duckdb')", setup=engine_setup
        )
        report(f"kpis, {lines:,} lines of CSV", [sql_kpis, eng_kpis], reference=sql_kpis)
        sql_cohorts = measure(
            "hand-written SQL, cohort cells", sql_step(COHORT_SQL.format(path=path))
        )
        eng_cohorts = measure(
            "cohort_table(engine='duckdb')",
            f"cohort_table({path!r}, engine='duckdb')",
            setup=engine_setup,
        )
        report(f"cohort_table, {lines:,} lines of CSV", [sql_cohorts, eng_cohorts], reference=sql_cohorts)  # fmt: skip
        ok &= target("kpis engine / SQL", eng_kpis.seconds / sql_kpis.seconds, 1.5)
        ok &= target("cohort_table engine / SQL", eng_cohorts.seconds / sql_cohorts.seconds, 1.5)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
