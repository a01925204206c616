"""``kpis()`` for orders + surveys + events against a DuckDB query, on 10M order lines.

Each step runs in a fresh process (see _common.py) on the same in-memory data, built in
the step's setup (not timed, but part of the peak memory):

- ``kpis(orders, surveys, events)``: the whole 21-key snapshot (one customer summary, one
  look-back summary for churn and CLV, NPS and its interval, CSAT, engagement scores);
- ``customer_summary(orders)`` alone, to show what the snapshot adds to the one pass;
- a DuckDB SQL query computing the core aggregates (customers, purchases, revenue, repeat
  customers, multi-category customers, new customers) on the same pandas frame.

Before timing, the query's figures are checked against ``kpis()`` on a smaller frame.

``--ids numbered`` (default) keeps the generator's ids, a prefix and a number (``C0012345``,
``O000000042``) as most exports carry, which the summary codes by value; ``--ids text``
replaces every id by 16 opaque hex digits (as hashed or UUID-like ids), which takes the
hashing path instead. Report both.

- ``kpis_by_period(orders, surveys, events, freq="M")``: one snapshot per month, from one
  netting of the lines (the order kernel).

Targets (issues 3 and 12, at 10M lines): ``kpis()`` within 1x the DuckDB query (excluding
file reading), ``kpis_by_period(freq="M")`` within 2x one ``kpis()``, peak memory under 2 GB.

Run: ``python benchmarks/bench_kpis.py --lines 1000000 --ids text`` (default: 10M lines,
numbered ids).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _common import DATA_DIR, measure, orders_frame, parse_args, report, target, timed

TABLES = ("orders", "surveys", "events")

#: Tolerance for "net amount >= 0" (DESIGN: a purchase is an order with net amount >= 0).
TOLERANCE = 1e-6

CORE_SQL = """
WITH lines AS (
    SELECT * FROM orders WHERE order_date < $end_excl
), orders_net AS (   -- one row per order: its date (earliest line) and net amount
    SELECT customer_id, order_id, min(order_date) AS order_date, sum(amount) AS net
    FROM lines GROUP BY customer_id, order_id
), purchases AS (
    SELECT * FROM orders_net WHERE net >= -1e-6
), first_ever AS (
    SELECT customer_id, min(order_date) AS first_ever FROM purchases GROUP BY customer_id
), in_window AS (
    SELECT * FROM purchases WHERE order_date >= $start
), per_customer AS (
    SELECT customer_id, count(*) AS purchases FROM in_window GROUP BY customer_id
), categories AS (
    SELECT l.customer_id, count(DISTINCT l.category) AS categories
    FROM lines l JOIN in_window p ON l.customer_id = p.customer_id AND l.order_id = p.order_id
    GROUP BY l.customer_id
)
SELECT
    count(*) AS customers,
    sum(c.purchases) AS purchases,
    (SELECT sum(amount) FROM lines WHERE order_date >= $start) AS revenue,
    count(*) FILTER (WHERE c.purchases >= 2) AS repeat_customers,
    (SELECT count(*) FROM categories WHERE categories > 1) AS multi_category_customers,
    count(*) FILTER (WHERE f.first_ever >= $start) AS new_customers
FROM per_customer c JOIN first_ever f USING (customer_id)
"""


def make_tables(lines: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Orders (``orders_frame``) plus surveys (1 per 20 lines) and events (1 per 2 lines)."""
    orders = orders_frame(lines, seed)
    rng = np.random.default_rng(seed + 1)
    ids = orders["customer_id"].to_numpy()
    first = orders["order_date"].min().value
    span = orders["order_date"].max().value + 86_400 * 10**9 - first

    def dates(size: int) -> pd.Series:
        ns = first + (rng.random(size) * span).astype("int64")
        return pd.Series(ns.view("datetime64[ns]"))

    n_surveys = max(1, lines // 20)
    surveys = pd.DataFrame(
        {
            "customer_id": pd.array(ids[rng.integers(0, lines, n_surveys)], dtype="str"),
            "response_date": dates(n_surveys).dt.normalize(),
            "score": rng.choice(11, n_surveys, p=_score_shares()).astype("float64"),
            "csat": rng.integers(1, 6, n_surveys).astype("float64"),
        }
    )
    n_events = max(1, lines // 2)
    events = pd.DataFrame(
        {
            "customer_id": pd.array(ids[rng.integers(0, lines, n_events)], dtype="str"),
            "timestamp": dates(n_events),
            "event_type": pd.Categorical.from_codes(
                rng.integers(0, 4, n_events), categories=["login", "view", "review", "share"]
            ),
            "duration": rng.exponential(120.0, n_events).round(),
        }
    )
    return {"orders": orders, "surveys": surveys, "events": events}


def with_text_ids(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The same tables with every id replaced by 16 hex digits of a hash of it (one-to-one).

    Equal ids stay equal across tables, so every figure is unchanged; only the id format
    differs (no common prefix, no number: the summary hashes them).
    """
    out = {}
    for name, table in tables.items():
        table = table.copy()
        for column, salt in (
            ("customer_id", 0x9E3779B97F4A7C15),
            ("order_id", 0xBF58476D1CE4E5B9),
        ):
            if column in table.columns:
                table[column] = _hex_ids(_id_numbers(table[column]) ^ np.uint64(salt))
        out[name] = table
    return out


def _id_numbers(ids: pd.Series) -> np.ndarray:
    """The numbers of generated ids ("C0012345" -> 12345)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_slice_codeunits(pa.array(ids), 1)
    return pc.cast(digits, pa.int64()).to_numpy().astype("uint64")


def _hex_ids(values: np.ndarray) -> pd.Series:
    """16 lowercase hex digits of splitmix64(value): a bijection of uint64, vectorised."""
    import pyarrow as pa

    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    pairs = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2").view("uint16")
    text = pairs[z.astype(">u8").view("uint8").reshape(-1, 8)].view("S16").ravel()
    return pd.Series(pd.arrays.ArrowStringArray(pa.array(text).cast(pa.string())), dtype="str")


def tables_parquet(lines: int, seed: int = 0, ids: str = "numbered") -> dict[str, str]:
    """Paths of the :func:`make_tables` tables as Parquet, written once under ``_data/``.

    The measured processes load these, so their setup peak is the data's size rather than
    the generator's temporaries. ``ids="text"``: see :func:`with_text_ids`.
    """
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    suffix = "" if ids == "numbered" else f"_{ids}"
    paths = {name: DATA_DIR / f"kpis_{name}_{lines}_s{seed}{suffix}.parquet" for name in TABLES}
    if not all(path.exists() for path in paths.values()):
        tables = make_tables(lines, seed)
        if ids == "text":
            tables = with_text_ids(tables)
        for name, path in paths.items():
            tmp = path.with_suffix(".tmp")
            tables[name].to_parquet(tmp, index=False)
            tmp.replace(path)
    return {name: str(path) for name, path in paths.items()}


def load_tables(paths: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Read the cached tables back with the canonical dtypes."""
    return {name: pd.read_parquet(path) for name, path in paths.items()}


def _score_shares() -> np.ndarray:
    shares = np.array([2, 1, 1, 2, 2, 4, 6, 10, 16, 22, 34], dtype="float64")
    return shares / shares.sum()


def duckdb_core(orders: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, float]:
    """The core aggregates by DuckDB SQL on the in-memory frame."""
    import duckdb

    con = duckdb.connect()
    con.register("orders", orders)
    row = con.execute(
        CORE_SQL,
        {"start": start.to_pydatetime(), "end_excl": (end + pd.Timedelta(days=1)).to_pydatetime()},
    ).fetchone()
    names = [
        "customers",
        "purchases",
        "revenue",
        "repeat_customers",
        "multi_category",
        "new_customers",
    ]
    return dict(zip(names, map(float, row), strict=True))


def kpis_core(orders: pd.DataFrame, **tables: pd.DataFrame) -> dict[str, float]:
    """The same aggregates as read from ``kpis()``."""
    from loyalty_metrics import kpis

    k = kpis(orders, **tables)
    return {
        "customers": k["customers"],
        "purchases": k["purchases"],
        "revenue": k["revenue"],
        "repeat_customers": round(k["repeat_purchase_rate"] * k["customers"] / 100),
        "multi_category": round(k["upsell_share"] * k["customers"] / 100),
        "new_customers": k["new_customers"],
    }


def check_same_figures(lines: int = 50_000, ids: str = "numbered") -> None:
    """DuckDB and kpis() must agree, or the comparison means nothing."""
    tables = make_tables(lines, seed=1)
    if ids == "text":
        tables = with_text_ids(tables)
    orders = tables["orders"]
    start, end = orders["order_date"].min().normalize(), orders["order_date"].max().normalize()
    ours = kpis_core(**tables)
    theirs = duckdb_core(orders, start, end)
    for key, value in ours.items():
        if not np.isclose(value, theirs[key], rtol=1e-9):
            raise AssertionError(f"kpis() and DuckDB differ on {key!r}: {value} vs {theirs[key]}")
    print(f"  (figures checked against DuckDB on {lines:,} lines: {ours})")


def run(lines: int, repeat: int, ids: str) -> bool:
    print(f"\n=== {lines:,} order lines, {ids} ids ===")
    with timed("generating the tables (cached as Parquet)"):
        paths = tables_parquet(lines, ids=ids)
    sizes = {n: f.memory_usage(deep=True).sum() / 2**20 for n, f in load_tables(paths).items()}
    print("  in memory: " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in sizes.items()))
    setup = f"from bench_kpis import load_tables\nt = load_tables({paths!r})\no = t['orders']\n"
    ours = measure(
        "kpis(orders, surveys, events)",
        "k = kpis(o, t['surveys'], t['events'])",
        setup=setup + "from loyalty_metrics import kpis\n",
        repeat=repeat,
    )
    by_month = measure(
        "kpis_by_period(orders, surveys, events, freq='M')",
        "f = kpis_by_period(o, t['surveys'], t['events'], freq='M')",
        setup=setup + "from loyalty_metrics import kpis_by_period\n",
        repeat=repeat,
    )
    one_pass = measure(
        "customer_summary(orders)",
        "s = customer_summary(o)",
        setup=setup + "from loyalty_metrics import customer_summary\n",
        repeat=repeat,
    )
    duck = measure(
        "DuckDB core aggregates",
        "r = duckdb_core(o, start, end)",
        setup=setup
        + "from bench_kpis import duckdb_core\nimport duckdb\n"
        + "start = o['order_date'].min().normalize(); end = o['order_date'].max().normalize()\n",
        repeat=repeat,
    )
    data = measure("(loading the data only)", "pass", setup=setup)
    report(
        "kpis vs DuckDB (same in-memory data, same run)",
        [duck, ours, by_month, one_pass, data],
        reference=duck,
    )
    import duckdb

    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    print(
        f"  DuckDB threads: {threads}; kpis() uses two threads (ids side by side, surveys and "
        "events beside the summary)"
    )
    ok = target("kpis() / DuckDB query", ours.seconds / duck.seconds, 1.0)
    ok &= target("kpis_by_period(freq='M') / kpis()", by_month.seconds / ours.seconds, 2.0)
    ok &= target("kpis() peak memory (data included)", ours.peak_mb / 1024, 2.0, unit=" GB")
    return ok


def _ids_option(parser) -> None:
    parser.add_argument(
        "--ids",
        choices=("numbered", "text"),
        default="numbered",
        help="Id format: prefix + number (default) or 16 opaque hex digits.",
    )


def main() -> int:
    args = parse_args(__doc__, default_lines=(10_000_000,), extra=_ids_option)
    check_same_figures(ids=args.ids)
    results = [run(lines, args.repeat, args.ids) for lines in args.lines]
    print("\nall targets met" if all(results) else "\nsome targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
