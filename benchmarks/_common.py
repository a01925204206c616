"""Shared pieces of the benchmarks: a realistic orders table, cached CSV files, and isolated
measurements of wall time and peak memory.

Every measured step runs in a fresh Python process, so its peak RSS is its own (not what an
earlier step left behind) and its timing does not depend on what ran before. Compare a step
with a reference measured in the same run (same machine, same load), never with a figure
from another day: :func:`report` prints the ratios.

Use from a benchmark script in this folder::

    from _common import measure, orders_csv, parse_args, report

    args = parse_args(__doc__)
    for lines in args.lines:
        path = orders_csv(lines)
        ref = measure("pandas.read_csv", f"df = plain_read({str(path)!r})",
                      setup="from bench_read_summary import plain_read")
        ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

BENCH_DIR = Path(__file__).resolve().parent
#: Generated data lives here (git-ignored); delete it to regenerate.
DATA_DIR = BENCH_DIR / "_data"

#: Bump when orders_frame changes, so cached files are not reused across versions.
_DATA_VERSION = 1

_CATEGORIES = ["books", "music", "electronics", "home", "fashion", "toys", "sports", "grocery"]
_CATEGORY_SHARES = [0.10, 0.08, 0.12, 0.18, 0.20, 0.10, 0.10, 0.12]
_CHANNELS = ["web", "app", "store", "email", "marketplace"]
_CHANNEL_SHARES = [0.40, 0.25, 0.20, 0.05, 0.10]
_NS_PER_DAY = 86_400 * 10**9


# ----------------------------------------------------------------------------- data


def orders_frame(
    lines: int, seed: int = 0, *, start: str = "2023-01-01", days: int = 731
) -> pd.DataFrame:
    """A realistic orders table of exactly ``lines`` order lines, fast (vectorised).

    About 3.9 lines per customer (10M lines: ~2.6M customers): order counts per customer
    are heterogeneous (1 + Poisson with a gamma-distributed mean, 2.5 on average), orders
    have 1 + Poisson(0.55) lines, dates spread over ``days`` days from ``start`` with each
    customer's later orders after their first. About 3% of the lines are returns
    (negative amounts) and 1% of the orders are refunded in full. Rows are sorted by date
    and order id, as exports usually are; customer ids are not in date order.

    Columns (canonical names and dtypes): ``order_id``, ``customer_id`` (str),
    ``order_date`` (datetime64[ns]), ``category``, ``channel`` (category), ``amount``
    (float64). A CSV line is about 56 bytes.
    """
    if lines < 1:
        raise ValueError(f"lines must be >= 1; got {lines}.")
    rng = np.random.default_rng(seed)
    customers = max(1, int(np.ceil(lines / 3.9 * 1.05)))
    orders_per_customer = 1 + rng.poisson(rng.gamma(0.6, 1.5 / 0.6, customers))
    customer_of_order = np.repeat(np.arange(customers), orders_per_customer)
    lines_per_order = 1 + rng.poisson(0.55, len(customer_of_order))
    # Keep whole orders up to ``lines`` lines, then cut the last one to fit exactly.
    order_end = np.cumsum(lines_per_order)
    n_orders = int(np.searchsorted(order_end, lines)) + 1
    if n_orders > len(order_end):  # the draw came out short: pad with one-line orders
        extra = lines - int(order_end[-1])
        customer_of_order = np.concatenate([customer_of_order, rng.integers(0, customers, extra)])
        lines_per_order = np.concatenate([lines_per_order, np.ones(extra, dtype="int64")])
        n_orders = len(lines_per_order)
    customer_of_order = customer_of_order[:n_orders]
    lines_per_order = lines_per_order[:n_orders].copy()
    lines_per_order[-1] -= int(lines_per_order.sum()) - lines

    # Each customer's first order falls anywhere in the period, later ones after it.
    first_day = rng.integers(0, days, customers)
    span = days - first_day[customer_of_order]
    is_first = np.r_[True, customer_of_order[1:] != customer_of_order[:-1]]
    order_day = first_day[customer_of_order] + np.where(
        is_first, 0, np.floor(rng.random(n_orders) * span).astype("int64")
    )
    # Sort orders by date; order ids follow that order.
    by_date = np.argsort(order_day * customers + customer_of_order, kind="stable")
    customer_of_order = customer_of_order[by_date]
    order_day = order_day[by_date]
    lines_per_order = lines_per_order[by_date]

    line_order = np.repeat(np.arange(n_orders), lines_per_order)
    amount = np.round(rng.lognormal(3.3, 0.9, lines), 2)
    amount[rng.random(lines) < 0.03] *= -1  # returned lines
    refunded = rng.random(n_orders) < 0.01
    amount[refunded[line_order]] = -np.abs(amount[refunded[line_order]])

    # Customer ids are a random permutation, so they are not sorted by first purchase.
    customer_number = rng.permutation(customers)[customer_of_order[line_order]]
    width = max(7, len(str(customers)))
    order_ids = pd.array(_prefixed("O", np.arange(1, n_orders + 1), 9), dtype="str")
    customer_ids = pd.array(_prefixed("C", np.arange(1, customers + 1), width), dtype="str")
    origin = pd.Timestamp(start).value
    return pd.DataFrame(
        {
            "order_id": order_ids.take(line_order),
            "customer_id": customer_ids.take(customer_number),
            "order_date": pd.Series(
                (origin + order_day[line_order] * _NS_PER_DAY).view("datetime64[ns]")
            ),
            "category": pd.Categorical.from_codes(
                rng.choice(len(_CATEGORIES), lines, p=_CATEGORY_SHARES), categories=_CATEGORIES
            ),
            "channel": pd.Categorical.from_codes(
                rng.choice(len(_CHANNELS), n_orders, p=_CHANNEL_SHARES)[line_order],
                categories=_CHANNELS,
            ),
            "amount": amount,
        }
    )


def _prefixed(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.strings.add(prefix, np.strings.zfill(numbers.astype("str"), width))


def orders_csv(lines: int, seed: int = 0) -> Path:
    """Path of a CSV of :func:`orders_frame` (``lines`` lines), generated once and cached."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"orders_{lines}_s{seed}_v{_DATA_VERSION}.csv"
    if path.exists():
        return path
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    frame = orders_frame(lines, seed)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    position = table.schema.get_field_index("order_date")
    table = table.set_column(position, "order_date", pc.cast(table.column(position), pa.date32()))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=DATA_DIR)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write((",".join(frame.columns) + "\n").encode())
            # pyarrow writes 10M lines in a few seconds (pandas' to_csv takes a minute).
            pa_csv.write_csv(
                table, handle, pa_csv.WriteOptions(include_header=False, quoting_style="none")
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ----------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Result:
    """One measured step: best wall time, and the process's peak RSS (before and after)."""

    label: str
    seconds: float
    peak_mb: float  # peak RSS of the whole process, setup included
    setup_peak_mb: float  # peak RSS before the step ran (imports + setup)

    @property
    def step_mb(self) -> float:
        """Extra peak memory the step itself needed beyond its setup."""
        return max(self.peak_mb - self.setup_peak_mb, 0.0)


_RUNNER = r"""
import gc, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
spec = json.loads(sys.argv[2])
ns = {"__name__": "__bench__"}
exec(compile(spec["setup"], "<setup>", "exec"), ns)
stmt = compile(spec["stmt"], "<stmt>", "exec")
gc.collect()
setup_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
best = float("inf")
for _ in range(spec["repeat"]):
    start = time.perf_counter()
    exec(stmt, ns)
    best = min(best, time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
print(json.dumps({"seconds": best, "peak_mb": peak / scale, "setup_peak_mb": setup_peak / scale}))
"""


def measure(
    label: str, stmt: str, *, setup: str = "", repeat: int = 1, timeout: float = 1800
) -> Result:
    """Run ``setup`` then time ``stmt`` in a fresh Python process.

    ``setup`` and ``stmt`` are Python source run in one namespace, with this folder on
    ``sys.path`` (so ``from bench_x import helper`` works). The best of ``repeat`` timings
    of ``stmt`` is kept; the peak RSS is the process's, so put only what the step needs in
    ``setup``.
    """
    spec = json.dumps({"setup": setup, "stmt": stmt, "repeat": repeat})
    completed = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(BENCH_DIR), spec],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"step {label!r} failed:\n{completed.stderr.strip()}")
    values = json.loads(completed.stdout.strip().splitlines()[-1])
    return Result(label=label, **values)


def report(title: str, results: Sequence[Result], *, reference: Result) -> None:
    """Print results with their time ratio to ``reference`` (measured in the same run)."""
    print(f"\n{title}")
    width = max(len(r.label) for r in results)
    for r in results:
        ratio = r.seconds / reference.seconds if reference.seconds > 0 else float("nan")
        mark = " (reference)" if r is reference else ""
        print(
            f"  {r.label:<{width}}  {r.seconds:8.2f} s  {ratio:5.2f}x  "
            f"peak {r.peak_mb:7.0f} MB  (step +{r.step_mb:.0f} MB){mark}"
        )
    sys.stdout.flush()


def target(description: str, value: float, limit: float, unit: str = "x") -> bool:
    """Print one target check line; True when ``value <= limit``."""
    ok = value <= limit
    print(
        f"  target: {description}: {value:.2f}{unit} (limit {limit:g}{unit}) {'OK' if ok else 'MISSED'}"
    )
    return ok


def parse_args(
    description: str | None,
    default_lines: Sequence[int] = (1_000_000, 10_000_000),
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """Common options: ``--lines N[,N...]`` (sizes to run) and ``--repeat``; ``extra`` adds
    a script's own options to the parser."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--lines",
        type=_sizes,
        default=list(default_lines),
        help="Order lines to generate, comma-separated (e.g. 100000 or 1e6,1e7). "
        f"Default: {','.join(str(n) for n in default_lines)}.",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="Timings per step; the best is kept."
    )
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(float(part)) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}") from exc
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be >= 1: {text!r}")
    return sizes


def timed(label: str):
    """Context manager printing how long a preparation step took (not a measurement)."""
    return _Timed(label)


class _Timed:
    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> _Timed:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        print(f"  ({self.label}: {time.perf_counter() - self.start:.1f} s)")
