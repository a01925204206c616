"""Id coding (``loyalty_metrics._ids``) against the stock kernels, on both id shapes.

The customer summary codes every customer id (sorted) and every order id; the snapshot
counts distinct customers over several tables. ``_ids`` does both by hand for Arrow-backed
text; this script checks, in the same run, whether that pays against what pandas, pyarrow
and numpy already do:

- ``factorize_ids(customer_id, sort=True)`` and ``factorize_ids(order_id)`` vs
  ``pandas.factorize`` and ``pyarrow.compute.dictionary_encode`` (its dictionary sorted by
  ``pyarrow.compute.array_sort_indices`` when ``sort``);
- ``count_distinct([customer_id])`` vs ``Series.nunique``, ``len(pandas.unique)`` and
  ``pyarrow.compute.count_distinct``;
- ``customer_summary`` as shipped vs the same with ``pandas.factorize`` for its id codes,
  and vs the same with the two id columns coded one after the other (no thread).

Every step runs in a fresh process on a frame loaded from Parquet in its setup, with the
dtypes the installed pandas gives (``str``, Arrow-backed, on pandas 3; ``object`` on 2.2,
where the readers return object ids too). Two id shapes:

- ``numbered``: a prefix and a zero-padded number (``C0012345``, ``O000000042``), as most
  exports carry;
- ``text``: 16 opaque hex digits per id (hashed or UUID-like ids), one-to-one with the
  numbered ids, so every figure is the same.

The source is the first ``--lines`` lines of ``--csv`` (default: the generated CSV of
``_common.orders_csv``); the derived Parquet files are written once under ``--data-dir``.
Run it under each pandas version you support (pyproject allows 2.2).

Targets: each hand-written path is kept only where it is no slower than the best stock
kernel on both id shapes and both pandas versions.

Run: ``python benchmarks/bench_ids.py --lines 1e6 --csv /path/orders.csv --repeat 5``
(default: 1M and 10M lines, both shapes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _common import DATA_DIR, measure, orders_csv, parse_args, report, timed

SHAPES = ("numbered", "text")
COLUMNS = ("order_id", "customer_id", "order_date", "category", "amount")


# ----------------------------------------------------------------------------- the data


def ids_parquet_path(lines: int, shape: str, csv: Path | None, data_dir: Path) -> Path:
    """Where the orders frame of ``lines`` lines with ``shape`` ids goes."""
    stem = csv.stem if csv is not None else "generated"
    return data_dir / f"ids_{stem}_{lines}_{shape}.parquet"


def derive(lines: int, shape: str, csv: str | None, data_dir: str) -> None:
    """Write the first ``lines`` lines of the CSV with ``shape`` ids as Parquet."""
    path = ids_parquet_path(lines, shape, csv and Path(csv), Path(data_dir))
    source = Path(csv) if csv else orders_csv(lines)
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    from bench_kpis import _hex_ids

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa_csv.read_csv(
        source,
        convert_options=pa_csv.ConvertOptions(
            include_columns=list(COLUMNS),
            column_types={"order_id": pa.string(), "customer_id": pa.string()},
        ),
    ).slice(0, lines)
    frame = pd.DataFrame(
        {
            "order_date": pd.to_datetime(table.column("order_date").to_numpy()).astype(
                "datetime64[ns]"
            ),
            "category": pd.Categorical(table.column("category").to_pandas()),
            "amount": table.column("amount").to_numpy().astype("float64"),
        }
    )
    for column, prefix, width in (("customer_id", "C", 8), ("order_id", "O", 10)):
        numbers = _numbers(table.column(column))
        if shape == "numbered":
            text = np.strings.add(prefix, np.strings.zfill(numbers.astype("str"), width))
            frame[column] = pd.array(text, dtype="string[pyarrow]")
        else:
            salt = np.uint64(0x9E3779B97F4A7C15 if column == "customer_id" else 0xBF58476D1CE4E5B9)
            frame[column] = _hex_ids(numbers.astype("uint64") ^ salt).astype("string[pyarrow]")
    tmp = path.with_suffix(".tmp")
    frame[list(COLUMNS)].to_parquet(tmp, index=False)
    tmp.replace(path)


def _numbers(column) -> np.ndarray:
    """The numbers of the ids, whatever their prefix ("C0012345" and "12345" -> 12345)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.replace_substring_regex(column, pattern=r"^\D+", replacement="")
    return pc.cast(digits, pa.int64()).to_numpy()


def load(path: str) -> pd.DataFrame:
    """The frame with the installed pandas' default text dtype (what the readers return)."""
    frame = pd.read_parquet(path)
    for column in ("order_id", "customer_id"):
        frame[column] = frame[column].astype("str")
    return frame


# ----------------------------------------------------------------------------- the stock kernels


def pandas_codes(values: pd.Series, sort: bool = False) -> np.ndarray:
    """``pandas.factorize``'s codes as int64 (what ``factorize_ids`` returns)."""
    return pd.factorize(values, sort=sort, use_na_sentinel=True)[0].astype("int64")


def arrow_codes(values: pd.Series, sort: bool = False) -> np.ndarray:
    """``pyarrow.compute.dictionary_encode`` codes (converting object columns first)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = getattr(values.array, "_pa_array", None)
    if array is None:
        array = pa.chunked_array([pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)])
    encoded = pc.dictionary_encode(array)
    codes = np.concatenate(
        [c.indices.fill_null(-1).to_numpy().astype("int64") for c in encoded.chunks]
    )
    if sort and encoded.num_chunks:
        order = pc.array_sort_indices(encoded.chunks[-1].dictionary).to_numpy()
        rank = np.empty(len(order) + 1, dtype="int64")
        rank[order] = np.arange(len(order))
        rank[-1] = -1  # codes of -1 index the last slot
        codes = rank[codes]
    return codes


def via_arrow(values: pd.Series) -> pd.Series:
    """Object text as Arrow-backed ``string[pyarrow]`` (the conversion is part of the cost)."""
    import pyarrow as pa

    if getattr(values.array, "_pa_array", None) is not None:
        return values
    array = pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
    return pd.Series(pd.arrays.ArrowStringArray(array))


def arrow_count(values: pd.Series) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    array = getattr(values.array, "_pa_array", None)
    if array is None:
        array = pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
    return pc.count_distinct(array).as_py()


def check_same_codes(lines: int = 20_000) -> None:
    """Every kernel codes the same ids the same way, or the comparison means nothing."""
    from _common import orders_frame
    from bench_kpis import _hex_ids, _id_numbers

    from loyalty_metrics._ids import count_distinct, factorize_ids

    ids = orders_frame(lines, seed=1)["customer_id"].astype("str")
    for values in (ids, _hex_ids(_id_numbers(ids)).astype("str")):
        values = values.where(np.arange(len(values)) % 97 != 0)  # some missing ids
        expected = pd.factorize(values.astype(object), sort=True)[0]
        for kernel in (factorize_ids, pandas_codes, arrow_codes):
            if not np.array_equal(kernel(values, sort=True), expected):
                raise AssertionError(f"{kernel.__name__} codes differ from pandas.factorize")
        counts = {count_distinct([values]), values.nunique(), arrow_count(values)}
        if counts != {expected.max() + 1}:
            raise AssertionError(f"distinct counts differ: {counts}")


# ----------------------------------------------------------------------------- the run


def run(lines: int, shape: str, rounds: int, csv: Path | None, data_dir: Path) -> None:
    print(f"\n=== {lines:,} order lines, {shape} ids, pandas {pd.__version__} ===")
    with timed("deriving the Parquet file (cached)"):
        # In a process of its own: Linux carries a parent's peak RSS into its children.
        path = ids_parquet_path(lines, shape, csv, data_dir)
        if not path.exists():
            args = f"{lines}, {shape!r}, {str(csv) if csv else None!r}, {str(data_dir)!r}"
            measure("derive", f"derive({args})", setup="from bench_ids import derive\n")
    setup = (
        "from bench_ids import load, pandas_codes, arrow_codes, arrow_count, via_arrow\n"
        "import pandas as pd\n"
        "from loyalty_metrics._ids import factorize_ids, count_distinct\n"
        f"df = load({str(path)!r})\n"
    )

    # On pandas 2.2 the text dtype is object: then also time the ids converted to Arrow.
    object_text = pd.Series(["x"], dtype="str").dtype == object

    for column, sort in (("customer_id", True), ("order_id", False)):
        call = f"(df[{column!r}], sort={sort})"
        kernels = {
            "pandas.factorize": f"pandas_codes{call}",
            "pyarrow dictionary_encode": f"arrow_codes{call}",
            "factorize_ids": f"factorize_ids{call}",
        }
        if object_text:
            kernels["factorize_ids(to Arrow)"] = (
                f"factorize_ids(via_arrow(df[{column!r}]), sort={sort})"
            )
        race(f"codes of {column} (sort={sort})", setup, kernels, rounds)

    race(
        "distinct customer ids",
        setup,
        {
            "Series.nunique": "df['customer_id'].nunique()",
            "len(pandas.unique)": "len(pd.unique(df['customer_id']))",
            "pyarrow count_distinct": "arrow_count(df['customer_id'])",
            "count_distinct": "count_distinct([df['customer_id']])",
        },
        rounds,
    )

    summary = (
        setup
        + "from loyalty_metrics import customer_summary\nimport loyalty_metrics.summary as S\n"
    )
    variants = {
        "customer_summary, pandas.factorize ids": "S.factorize_ids = pandas_codes\n",
        "customer_summary (as shipped)": "",
        "customer_summary, no id thread": (
            "S._id_codes = lambda lines, has: (S.factorize_ids(lines['customer_id'], sort=True),"
            " S.factorize_ids(lines['order_id']) if has else None)\n"
        ),
    }
    # Time: interleaved in one process; memory: each variant alone in a fresh process.
    restore = "S.factorize_ids, S._id_codes = shipped\n"
    race(
        "customer_summary",
        summary + "shipped = (S.factorize_ids, S._id_codes)\n",
        dict.fromkeys(variants, "customer_summary(df)"),
        rounds,
        before={label: restore + patch for label, patch in variants.items()},
    )
    results = [
        measure(label, "s = customer_summary(df)", setup=summary + patch)
        for label, patch in variants.items()
    ]
    report("customer_summary, peak memory (one run each)", results, reference=results[0])


_RACE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
spec = json.loads(sys.argv[2])
ns = {"__name__": "__bench__"}
exec(spec["setup"], ns)
best = {label: float("inf") for label in spec["stmts"]}
for _ in range(spec["rounds"]):
    for label, stmt in spec["stmts"].items():
        exec(spec["before"].get(label, ""), ns)
        start = time.perf_counter()
        exec(stmt, ns)
        best[label] = min(best[label], time.perf_counter() - start)
print(json.dumps(best))
"""


def race(
    title: str,
    setup: str,
    stmts: dict[str, str],
    rounds: int,
    before: dict[str, str] | None = None,
) -> dict[str, float]:
    """Best time of each statement over ``rounds`` rounds taken in turn, in one fresh process.

    Taking turns means a burst of load from elsewhere on a shared machine slows every
    kernel of a round, not one; ``before[label]`` runs untimed before that label's turn.
    """
    import json
    import subprocess

    spec = json.dumps({"setup": setup, "stmts": stmts, "rounds": rounds, "before": before or {}})
    done = subprocess.run(
        [sys.executable, "-c", _RACE, str(Path(__file__).resolve().parent), spec],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{title} failed:\n{done.stderr.strip()}")
    best = json.loads(done.stdout.strip().splitlines()[-1])
    reference = next(iter(best.values()))
    print(f"\n{title} (best of {rounds}, taking turns)")
    width = max(len(label) for label in best)
    for label, seconds in best.items():
        print(f"  {label:<{width}}  {seconds:8.3f} s  {seconds / reference:5.2f}x")
    sys.stdout.flush()
    return best


def _options(parser) -> None:
    parser.add_argument(
        "--shapes", default=",".join(SHAPES), help="Id shapes, comma-separated (numbered,text)."
    )
    parser.add_argument("--csv", type=Path, help="Orders CSV to take the first --lines lines of.")
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help="Where the derived Parquet files go."
    )


def main() -> int:
    args = parse_args(__doc__, extra=_options)
    check_same_codes()
    for lines in args.lines:
        for shape in args.shapes.split(","):
            run(lines, shape.strip(), args.repeat, args.csv, args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
