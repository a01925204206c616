"""The "nothing may move" baseline of issue 12: every figure the library computes, saved.

Run from the project root on the code the baseline must pin (it was first run on the code
before the order kernel, the metric registry and the as-of snapshots existed)::

    .venv/bin/python tests/data/golden/make_golden.py            # sample_data/ and messy
    .venv/bin/python tests/data/golden/make_golden.py --large    # the 1M-line set too
    .venv/bin/python tests/data/golden/make_golden.py --large --case summary --add-columns

``tests/test_golden.py`` recomputes every case with the current code and compares.

Data sets
---------
- ``sample``: ``sample_data/`` as ``loyalty report`` reads it.
- ``messy``: the sample orders with the netting rule's corner cases forced in: every 7th
  line loses its ``order_id`` (an order of its own), every 11th line's ``order_id`` is
  replaced by one used by another customer (a shared id: one order per customer), and every
  13th line is moved one day later (an order spanning two days is dated by its first line).
- ``large``: ``generate_sample(150_000, seed=7)``: about 1M order lines, 1.3M events.

One case was re-saved since, on purpose: ``program_impact``'s bootstrap intervals
(``ci_low``, ``ci_high``) at the order-kernel commit. The bootstrap resamples customers in
customer-code order, which was the order of first appearance in the file and is now the
sorted ids (so shuffling the rows no longer moves an interval); its estimates did not move.
And ``summary`` and ``summary_window`` of every data set gained the summary's ``units`` column
(issue 14; every set's orders carry ``quantity``) with ``--add-columns``, which keeps every
saved value bit for bit and only adds what the baseline lacks (:func:`add_columns`).

Each case is a table (a pandas object flattened by :func:`tabulate`), saved as Parquet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
LARGE_CUSTOMERS = 150_000
LARGE_SEED = 7
#: The per-customer tables of the large set are stored as digests (see :func:`digest`).
PER_CUSTOMER = {"summary", "ladder", "rfm", "clv"}


def load(name: str) -> dict[str, pd.DataFrame]:
    """The input tables of one data set."""
    import loyalty_metrics as lm

    if name == "large":
        return lm.generate_sample(LARGE_CUSTOMERS, seed=LARGE_SEED)
    frames = lm.read_folder(ROOT / "sample_data")
    if name == "messy":
        frames["orders"] = _messy(frames["orders"])
    return frames


def _messy(orders: pd.DataFrame) -> pd.DataFrame:
    out = orders.copy()
    rows = np.arange(len(out))
    order_id = out["order_id"].astype(object).to_numpy(copy=True)
    customer = out["customer_id"].to_numpy()
    # an order id of a line of another customer (the line 5 rows on, wrapping round)
    donor = (rows + 5) % len(out)
    shared = (rows % 11 == 3) & (customer[donor] != customer)
    order_id[shared] = order_id[donor[shared]]
    order_id[rows % 7 == 2] = None
    out["order_id"] = pd.array(order_id, dtype=orders["order_id"].dtype)
    later = rows % 13 == 5
    out.loc[later, "order_date"] = out.loc[later, "order_date"] + pd.Timedelta(days=1)
    return out


def cases(frames: dict[str, pd.DataFrame]) -> dict[str, Callable[[], object]]:
    """Case name -> a function computing it on ``frames`` with the public API."""
    import loyalty_metrics as lm
    from loyalty_metrics import models

    orders = frames["orders"]
    surveys, events = frames.get("surveys"), frames.get("events")
    spend, customers = frames.get("spend"), frames.get("customers")
    tables = (orders, surveys, events, spend, customers)

    def clv_table() -> pd.DataFrame:
        # as `loyalty clv` does it: BG/NBD in weeks + Gamma-Gamma, 12 months at 10% a year
        summary = lm.customer_summary(orders)
        purchases = models.BetaGeoModel(time_unit="W").fit(summary)
        spend_model = models.GammaGammaModel().fit(summary)
        table = models.clv_breakdown(purchases, spend_model, summary)
        params = pd.concat(
            {"bgnbd": purchases.summary()["estimate"], "gg": spend_model.summary()["estimate"]}
        )
        return table, params

    out: dict[str, Callable[[], object]] = {
        "kpis": lambda: lm.kpis(*tables),
        "kpis_by_period": lambda: lm.kpis_by_period(*tables, freq="M"),
        "kpis_by_period_q_trailing": lambda: lm.kpis_by_period(
            *tables, freq="Q", window="365D", churn_period="90D"
        ),
        "summary": lambda: lm.customer_summary(orders),
        "summary_window": lambda: lm.customer_summary(
            orders, start="2023-07-01", end="2024-03-15"
        ),
        "summary_meta": lambda: _summary_meta(lm.customer_summary(orders)),
        "summary_window_meta": lambda: _summary_meta(
            lm.customer_summary(orders, start="2023-07-01", end="2024-03-15")
        ),
        "ladder": lambda: lm.loyalty_ladder(orders, surveys, customers),
        "rfm": lambda: lm.rfm_segments(orders),
        "clv": lambda: clv_table()[0],
        "model_parameters": lambda: clv_table()[1],
        "repeat_within": lambda: pd.Series(
            {
                "90D": lm.repeat_purchase_rate(orders, within="90D"),
                "3M_mid": lm.repeat_purchase_rate(orders, within="3M", end="2024-06-30"),
            }
        ),
        "churn": lambda: pd.Series(
            {
                p: lm.churn_rate(orders, period=p, end=e)
                for p, e in (("365D", None), ("90D", None), ("3M", "2024-05-31"))
            }
        ),
        "repeat_rate_by_cohort": lambda: lm.repeat_rate_by_cohort(orders),
        "time_to_second_purchase": lambda: lm.time_to_second_purchase(orders),
        "inter_purchase_times": lambda: lm.inter_purchase_times(orders),
        "loyalty_loop": lambda: lm.loyalty_loop(orders, surveys, customers),
        "ladder_transitions": lambda: lm.ladder_transitions(
            orders, surveys, customers, start="2024-01-01"
        ),
    }
    for values in ("customers", "retention", "revenue", "cumulative_revenue_per_customer"):
        for mode in ("on", "on_or_after") if values in ("customers", "retention") else ("on",):
            out[f"cohort_{values}_{mode}"] = lambda v=values, m=mode: lm.cohort_table(
                orders, values=v, mode=m
            )
    if customers is not None:
        out["program_impact"] = lambda: lm.program_impact(orders, customers, surveys, n_boot=200)
        out["referral_conversion"] = lambda: lm.referral_conversion(customers, orders, n_boot=200)
    return out


def _summary_meta(summary: pd.DataFrame) -> pd.Series:
    """What a summary knows besides its rows: its window and the unattributed revenue."""
    from loyalty_metrics.summary import summary_window, unattributed_revenue

    window = summary_window(summary)
    return pd.Series(
        {
            "start": window.start.value,
            "end": window.end.value,
            "unattributed_revenue": unattributed_revenue(summary),
        },
        dtype="float64",
    )


def tabulate(value: object) -> pd.DataFrame:
    """A Series or frame as a flat frame Parquet can hold: index levels become columns, every
    label text, periods and categoricals as text (values keep their dtypes otherwise).
    """
    if isinstance(value, pd.Series):
        value = value.to_frame(name=str(value.name) if value.name is not None else "value")
    frame = value.copy()
    frame.attrs = {}
    frame.columns = [str(c) for c in frame.columns]
    frame.index = frame.index.set_names(
        [f"index_{i}" if n is None else f"index_{n}" for i, n in enumerate(frame.index.names)]
    )
    frame = frame.reset_index()
    for column in frame.columns:
        series = frame[column]
        if (
            isinstance(series.dtype, pd.CategoricalDtype | pd.PeriodDtype)
            or series.dtype == object
        ):
            frame[column] = series.astype("str").astype(object).where(series.notna(), None)
        elif pd.api.types.is_string_dtype(series.dtype):
            frame[column] = series.astype(object).where(series.notna(), None)
        elif pd.api.types.is_bool_dtype(series.dtype):
            frame[column] = series.astype("float64")
        elif isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
            series.dtype
        ):
            frame[column] = series.astype("datetime64[ns]")
        elif pd.api.types.is_extension_array_dtype(series.dtype):
            frame[column] = series.astype("float64")
    return frame.reset_index(drop=True)


def digest(frame: pd.DataFrame) -> pd.DataFrame:
    """A per-customer table reduced to one row per column.

    ``hash`` combines the exact values in row order (a permutation changes it); float columns
    also get ``sum`` and ``weighted_sum`` (each value times its row's position / rows), so a
    float that moved only in its last bits can be told from one that moved.
    """
    rows = []
    for column in frame.columns:
        series = frame[column]
        hashed = pd.util.hash_pandas_object(series, index=False).to_numpy()
        positions = np.arange(1, len(hashed) + 1, dtype="uint64")
        with np.errstate(over="ignore"):
            combined = int((hashed * positions).sum(dtype="uint64"))
        is_float = pd.api.types.is_float_dtype(series.dtype)
        values = series.to_numpy(dtype="float64") if is_float else np.zeros(len(series))
        weights = positions.astype("float64") / max(len(series), 1)
        rows.append(
            {
                "column": column,
                "rows": len(series),
                "nulls": int(series.isna().sum()),
                "exact": not is_float,
                "hash": f"{combined:016x}",
                "sum": float(np.nansum(values)),
                "weighted_sum": float(np.nansum(values * weights)),
            }
        )
    return pd.DataFrame(rows)


def path(dataset: str, case: str) -> Path:
    return HERE / dataset / f"{case}.parquet"


def compute(dataset: str, case: str, fn: Callable[[], object]) -> pd.DataFrame:
    table = tabulate(fn())
    return digest(table) if dataset == "large" and case in PER_CUSTOMER else table


def add_columns(saved: pd.DataFrame, fresh: pd.DataFrame, dataset: str, case: str) -> pd.DataFrame:
    """The baseline ``saved`` with the columns of ``fresh`` it lacks (of a digest: the rows),
    in ``fresh``'s order; every saved value is kept as it was. Refuses when ``fresh`` lost a
    column or its rows no longer line up (the text, integer and date columns must be equal).
    """
    where = f"{dataset}/{case}"
    if dataset == "large" and case in PER_CUSTOMER:
        if not set(saved["column"]) <= set(fresh["column"]):
            raise SystemExit(f"{where}: a column of the baseline is gone")
        added = fresh[~fresh["column"].isin(saved["column"])]
        out = pd.concat([saved, added], ignore_index=True).set_index("column")
        return out.loc[list(fresh["column"])].reset_index()
    missing = set(saved.columns) - set(fresh.columns)
    if missing or len(saved) != len(fresh):
        raise SystemExit(f"{where}: columns {sorted(missing)} gone or the row count changed")
    for column in saved.columns:
        if not pd.api.types.is_float_dtype(saved[column].dtype):
            pd.testing.assert_series_equal(
                fresh[column], saved[column], check_dtype=False, obj=where
            )
    out = saved.copy()
    for column in fresh.columns.difference(saved.columns):
        out[column] = fresh[column].to_numpy()
    return out[list(fresh.columns)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also the 1M-line set")
    parser.add_argument(
        "--case", action="append", help="save only this case (repeatable); default all"
    )
    parser.add_argument(
        "--add-columns",
        action="store_true",
        help="only add the columns a saved case lacks, keeping its saved values",
    )
    args = parser.parse_args(argv)
    if args.add_columns and not args.case:
        parser.error("--add-columns needs --case")
    for dataset in ("sample", "messy", *(["large"] if args.large else [])):
        frames = load(dataset)
        (HERE / dataset).mkdir(exist_ok=True)
        chosen = cases(frames)
        unknown = set(args.case or ()) - set(chosen)
        if unknown:
            parser.error(f"unknown case(s): {sorted(unknown)}")
        for case, fn in chosen.items():
            if args.case and case not in args.case:
                continue
            table = compute(dataset, case, fn)
            if args.add_columns:
                table = add_columns(pd.read_parquet(path(dataset, case)), table, dataset, case)
            table.to_parquet(path(dataset, case), compression="zstd")
            print(f"{dataset}/{case}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
