"""Predictive CLV models: BG/NBD + Gamma-Gamma fits and predictions for every customer,
against ``lifetimes`` on the same summary, in the same run.

The summary (``frequency``, ``recency``, ``T`` in whole days, ``monetary_value``) is drawn
from a BG/NBD process with CDNOW-like parameters (r = 0.25, alpha = 31 days, a = 0.8,
b = 2.4; ages uniform over two years) and Gamma-Gamma spend (p = 6.25, q = 3.74,
gamma = 15.44), so both libraries fit a model that holds. It is written once to
``benchmarks/_data/`` and read by every step.

Steps, each in a fresh process (wall time and peak RSS):

- ``loyalty_metrics``: ``BetaGeoModel(time_unit="D").fit`` + ``GammaGammaModel().fit``,
  then, for every customer, expected purchases in the next 30 days, P(alive), expected
  spend per purchase and the 12-month discounted CLV;
- ``lifetimes`` (when a Python with it is available, ``--lifetimes-python``; it needs old
  numpy/pandas, so it lives in a throwaway venv, e.g.
  ``python3.11 -m venv /tmp/lifetimes-venv && /tmp/lifetimes-venv/bin/pip install
  "numpy<1.24" "pandas<2" "scipy<1.11" "autograd<1.7" lifetimes``): ``BetaGeoFitter`` +
  ``GammaGammaFitter`` and the same four predictions.

Targets (issue 5, at 1M customers): at least 5x faster than lifetimes, fitted parameters
equal to 1e-4 (relative).

Run: ``python benchmarks/bench_models.py --customers 100000`` (default 1M; ``--lines N``,
as passed by ``run.py``, means N / 4 customers).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from _common import DATA_DIR, Result, report, target, timed

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_LIFETIMES = Path("/tmp/lifetimes-venv/bin/python")
_DATA_VERSION = 1

TRUE_BG = {"r": 0.25, "alpha": 31.0, "a": 0.8, "b": 2.4}
TRUE_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}

OURS_SETUP = """
import numpy as np, pandas as pd
from loyalty_metrics.models import BetaGeoModel, GammaGammaModel, clv
d = np.load(PATH)
summary = pd.DataFrame({"frequency": d["frequency"], "recency": d["recency"], "T": d["T"],
                        "monetary_value": d["monetary_value"]})
"""

OURS_STMT = """
bg = BetaGeoModel(time_unit="D").fit(summary)
gg = GammaGammaModel().fit(summary)
purchases = bg.expected_purchases(30.0, summary)
alive = bg.probability_alive(summary)
spend = gg.expected_average_value(summary)
value = clv(bg, gg, summary, horizon_months=12, annual_discount_rate=0.10)
RESULT = {"params": [bg.r_, bg.alpha_, bg.a_, bg.b_, gg.p_, gg.q_, gg.gamma_],
          "purchases": purchases.to_numpy().tolist()[:1000],
          "alive": alive.to_numpy().tolist()[:1000],
          "nonfinite": int((~np.isfinite(value.to_numpy())).sum())}
"""

LIFETIMES_SETUP = """
import warnings
warnings.simplefilter("ignore")
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
d = np.load(PATH)
x, tx, T = pd.Series(d["frequency"]), pd.Series(d["recency"]), pd.Series(d["T"])
repeat = x > 0
m = pd.Series(np.where(repeat, d["monetary_value"], 0.0))  # lifetimes wants 0, not NaN
"""

LIFETIMES_STMT = """
bgf = BetaGeoFitter().fit(x, tx, T)
ggf = GammaGammaFitter().fit(x[repeat], m[repeat])
purchases = bgf.conditional_expected_number_of_purchases_up_to_time(30.0, x, tx, T)
alive = bgf.conditional_probability_alive(x, tx, T)
spend = ggf.conditional_expected_average_profit(x, m)
# lifetimes' discount_rate is monthly (its issue #27): 10% a year.
value = ggf.customer_lifetime_value(bgf, x, tx, T, m, time=12,
                                    discount_rate=1.1 ** (1 / 12) - 1, freq="D")
p = bgf.params_
g = ggf.params_
RESULT = {"params": [p["r"], p["alpha"], p["a"], p["b"], g["p"], g["q"], g["v"]],
          "purchases": np.asarray(purchases).tolist()[:1000],
          "alive": np.asarray(alive).tolist()[:1000],
          "nonfinite": int((~np.isfinite(np.asarray(value))).sum())}
"""

# Runs setup then the timed statement in the given interpreter; prints time, peak RSS and
# RESULT as JSON (the same protocol as _common.measure, plus the outputs to compare).
_RUNNER = r"""
import gc, json, resource, sys, time
spec = json.loads(sys.argv[1])
ns = {"__name__": "__bench__", "PATH": spec["path"]}
exec(spec["setup"], ns)
gc.collect()
setup_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
exec(spec["stmt"], ns)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "setup_peak_mb": setup_peak,
                  "result": ns["RESULT"]}))
"""


def summary_file(customers: int, seed: int = 0) -> Path:
    """An ``.npz`` summary of ``customers`` simulated customers (cached under ``_data/``)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"models_summary_{customers}_s{seed}_v{_DATA_VERSION}.npz"
    if path.exists():
        return path
    from loyalty_metrics.models import BetaGeoModel, GammaGammaModel

    rng = np.random.default_rng(seed)
    ages = rng.integers(1, 731, customers).astype("float64")  # whole days, as customer_summary
    bg = BetaGeoModel.from_params(time_unit="D", **TRUE_BG)
    frame = bg.sample(customers, ages, seed=rng)
    recency = np.floor(frame["recency"].to_numpy())
    spend = GammaGammaModel.from_params(**TRUE_GG).sample(frame["frequency"], seed=rng)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        frequency=frame["frequency"].to_numpy(dtype="float64"),
        recency=recency,
        T=ages,
        monetary_value=spend.to_numpy(),
    )
    tmp.replace(path)
    return path


def run_in(python: str, label: str, setup: str, stmt: str, path: Path) -> tuple[Result, dict]:
    """Time ``stmt`` in a fresh process of ``python`` (any interpreter, e.g. another venv)."""
    spec = json.dumps({"setup": setup, "stmt": stmt, "path": str(path)})
    completed = subprocess.run(
        [python, "-c", _RUNNER, spec], capture_output=True, text=True, timeout=3600, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"step {label!r} failed:\n{completed.stderr.strip()[-2000:]}")
    values = json.loads(completed.stdout.strip().splitlines()[-1])
    result = values.pop("result")
    return Result(label=label, **values), result


def lifetimes_status(python: Path) -> str | None:
    """None when ``python`` can import lifetimes, else the reason it cannot."""
    if not python.exists():
        return f"{python} does not exist (create the venv as described in this script's docstring)"
    check = subprocess.run(
        [str(python), "-c", "import lifetimes; print(lifetimes.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        return f"{python} cannot import lifetimes: {check.stderr.strip().splitlines()[-1]}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--customers",
        type=lambda s: int(float(s)),
        default=None,
        help="Customers in the summary (default 1M).",
    )
    parser.add_argument(
        "--lines",
        type=lambda s: int(float(s.split(",")[0])),
        default=None,
        help="Order lines (as run.py passes): N / 4 customers.",
    )
    parser.add_argument(
        "--lifetimes-python",
        type=Path,
        default=DEFAULT_LIFETIMES,
        help=f"A Python with lifetimes installed (default {DEFAULT_LIFETIMES}).",
    )
    args = parser.parse_args()
    customers = args.customers or (max(args.lines // 4, 1000) if args.lines else 1_000_000)

    print(f"\nBG/NBD + Gamma-Gamma, fit and predict, {customers:,} customers")
    with timed("simulated summary"):
        path = summary_file(customers)
    ours, ours_out = run_in(sys.executable, "loyalty_metrics", OURS_SETUP, OURS_STMT, path)
    print(
        "  loyalty_metrics parameters: "
        + ", ".join(
            f"{n}={v:.6g}" for n, v in zip([*TRUE_BG, *TRUE_GG], ours_out["params"], strict=True)
        )
    )
    reason = lifetimes_status(args.lifetimes_python)
    if reason is not None:
        report("timings", [ours], reference=ours)
        print(f"  lifetimes not measured: {reason}")
        return 0
    theirs, theirs_out = run_in(
        str(args.lifetimes_python), "lifetimes", LIFETIMES_SETUP, LIFETIMES_STMT, path
    )
    report("timings (ratio to lifetimes)", [ours, theirs], reference=theirs)
    ours_p, theirs_p = np.array(ours_out["params"]), np.array(theirs_out["params"])
    relative = float(np.max(np.abs(ours_p - theirs_p) / np.abs(theirs_p)))
    purchases = float(
        np.max(np.abs(np.array(ours_out["purchases"]) - np.array(theirs_out["purchases"])))
    )
    alive = float(np.max(np.abs(np.array(ours_out["alive"]) - np.array(theirs_out["alive"]))))
    print(f"  largest relative parameter difference: {relative:.2e}")
    print(
        f"  largest difference, first 1000 customers: expected purchases {purchases:.2e}, P(alive) {alive:.2e}"
    )
    print(
        f"  non-finite CLVs: loyalty_metrics {ours_out['nonfinite']}, lifetimes {theirs_out['nonfinite']}"
    )
    ok = target("loyalty_metrics time / lifetimes time", ours.seconds / theirs.seconds, 0.2)
    same = relative <= 1e-4
    print(
        f"  target: parameters equal to lifetimes': {relative:.1e} relative (limit 1e-4) {'OK' if same else 'MISSED'}"
    )
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
