"""The report's serial prefix: ``read_orders(path)`` then the first ``order_kernel(df)``.

Each repeat is a fresh process (the report pays both once, in a new process: first-touch
memory included), timing wall and CPU (user + system) of each step. For scale, the bare
Arrow parse of the same file (``pyarrow.csv.read_csv``, every column as text) is timed the
same way: the reader's own work is what it adds to that.

Issue 12 (this evening): 10M lines, read 4.0 s + kernel 2.35 s under cProfile in the report.

Run: ``python benchmarks/bench_prefix.py --lines 10000000 --repeat 3`` (default: 1M);
``--file PATH`` times an existing CSV instead of a generated one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from _common import orders_csv

_STEP = r"""
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
path, what = sys.argv[1], sys.argv[2]
out = {}
if what == "arrow":
    import pyarrow as pa, pyarrow.csv as pacsv
    names = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16)).column_names
    t, c = time.perf_counter(), cpu()
    pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}))
    out["arrow parse"] = (time.perf_counter() - t, cpu() - c)
else:
    import loyalty_metrics as lm
    from loyalty_metrics.orders import order_kernel
    t, c = time.perf_counter(), cpu()
    df = lm.read_orders(path)
    out["read_orders"] = (time.perf_counter() - t, cpu() - c)
    t, c = time.perf_counter(), cpu()
    order_kernel(df)
    out["order_kernel"] = (time.perf_counter() - t, cpu() - c)
out[f"peak MB {what}"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0.0)
print(json.dumps(out))
"""


def _fresh(path: str, what: str) -> dict[str, tuple[float, float]]:
    done = subprocess.run(
        [sys.executable, "-c", _STEP, path, what], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=float, default=1e6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--file", default=None)
    args = parser.parse_args()
    path = args.file or str(orders_csv(int(args.lines)))
    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.repeat):  # alternate, so that both see the same machine
        for what in ("arrow", "ours"):
            for step, value in _fresh(path, what).items():
                runs.setdefault(step, []).append(value)
    print(f"{path}: {args.repeat} fresh processes each, median (min) of wall | CPU seconds")
    for step, values in sorted(runs.items(), key=lambda item: item[0].startswith("peak")):
        wall, cpu = zip(*values, strict=True)
        print(
            f"  {step:<14} {statistics.median(wall):7.2f} ({min(wall):.2f})"
            + ("" if step.startswith("peak") else f" | {statistics.median(cpu):.2f}")
        )
    steps = zip(runs["read_orders"], runs["order_kernel"], strict=True)
    prefix = [read + kernel for (read, _), (kernel, _) in steps]
    arrow = statistics.median(w for w, _ in runs["arrow parse"])
    print(
        f"  read + kernel  {statistics.median(prefix):7.2f} "
        f"({statistics.median(prefix) / arrow:.1f}x the bare Arrow parse)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
