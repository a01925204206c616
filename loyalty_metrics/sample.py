"""A deterministic, coherent sample data set: customers, orders, surveys, events, spend, points.

The generator simulates a small online shop over ``months`` months. Customers sign up at a
slowly growing pace through five acquisition channels; some join the loyalty programme and
some were referred by an earlier customer. Purchases follow a BG/NBD-like process
(Fader, Hardie & Lee 2005): each buyer has a gamma-distributed purchase rate and a
beta-distributed probability of dropping out after each purchase, and programme members buy
more often once they joined. Survey scores, engagement events and marketing spend are drawn
from the same customers, so they relate to behaviour: repeat buyers and members score
higher, customers who stop buying stop logging in, spend follows the new customers of each
channel. Programme members earn a point per currency unit of each purchase; some redeem
blocks of points, balances expire after twelve months without earning, and a few
adjustments (refund clawbacks, goodwill credits) complete the ledger.

Everything is vectorised (no Python loop over customers or rows) and driven by one seeded
:class:`numpy.random.Generator`, so the same arguments always give the same frames and
byte-identical files.

Examples
--------
>>> tables = generate_sample(200, seed=1)
>>> sorted(tables)
['customers', 'events', 'orders', 'points', 'spend', 'surveys']
>>> tables["customers"]["customer_id"].is_unique
True
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ._sample_points import sample_config
from ._sample_simulation import (
    _NS_PER_DAY,
    _POINTS_STREAM,
    _simulate_customers,
    _simulate_purchases,
)
from ._sample_tables import (
    _customers_table,
    _events_table,
    _orders_table,
    _points_table,
    _spend_table,
    _surveys_table,
)
from ._window import DateLike, to_day
from .schema import TABLES

__all__ = ["SAMPLE_FILES", "generate_sample", "write_sample"]

#: Canonical columns the sample leaves out: it gives ``amount`` (so no ``unit_price`` to
#: compute it from) and its returns reference their order by ``order_id`` (no ``cancels``).
NOT_GENERATED: dict[str, tuple[str, ...]] = {"orders": ("unit_price", "cancels")}

#: File names :func:`write_sample` writes, by table (the canonical data-folder names), and the
#: ``loyalty.toml`` with tier thresholds fitted to the sample (``config``).
SAMPLE_FILES: dict[str, str] = {
    **{name: f"{name}.csv" for name in TABLES},
    "config": "loyalty.toml",
}


def generate_sample(
    customers: int = 3000,
    *,
    seed: int = 0,
    start: DateLike = "2023-01-01",
    months: int = 24,
) -> dict[str, pd.DataFrame]:
    """Generate a coherent sample data set, the same for the same arguments.

    Parameters
    ----------
    customers : int, default 3000
        Number of customers (rows of the ``customers`` table). About 92% of them buy;
        the rest sign up and only browse. Orders come to about 7 lines per customer.
    seed : int, default 0
        Seed of the :class:`numpy.random.Generator` that drives everything.
    start : date-like, default "2023-01-01"
        First day of the simulated period.
    months : int, default 24
        Length of the period in calendar months; nothing is dated on or after
        ``start + months``.

    Returns
    -------
    dict of str to pandas.DataFrame
        The six canonical tables (``orders``, ``surveys``, ``events``, ``spend``,
        ``customers``, ``points``) with the canonical column names in schema order and the canonical
        dtypes: ids ``str``, dates ``datetime64[ns]``, money / quantity / scores / durations
        ``float64``, categories ``category``, ``is_member`` ``boolean``.

        - ``customers``: ``customer_id`` (``C00001``... in sign-up order), ``signup_date``,
          ``acquisition_channel`` (search, social, email, referral, direct), ``is_member``,
          ``member_since`` (>= ``signup_date``; NaT for non-members), ``tier`` (bronze,
          silver, gold; members only) and ``referred_by`` (an earlier customer; referral
          sign-ups only).
        - ``orders``: one row per order line; ``order_id`` groups the lines of an order.
          Partial returns are negative lines of the original order dated a few days later;
          full refunds are separate orders ``R<number>`` negating every line of order
          ``O<number>``. ``channel`` is the marketing channel the order is attributed to
          (a customer's first order: their acquisition channel).
        - ``surveys``: NPS ``score`` (0-10) and ``csat`` (1-5) responses, some NPS-only
          (blank ``csat``), some CSAT-only (blank ``score``), some anonymous (blank
          ``customer_id``); ``segment`` is the respondent's region; optional ``comment``.
        - ``events``: ``login``, ``view``, ``add_to_cart`` (in sessions), ``purchase`` (one
          per order) and ``review`` events with a ``duration`` in whole seconds.
        - ``spend``: marketing spend per paid channel (search, social, email, referral) and
          month, dated on the first day of the month.
        - ``points``: the loyalty-programme ledger. Members ``earn`` one point per whole
          currency unit of each purchase made since they joined (``order_id`` names it);
          about 45% of members ``redeem`` 250 points on the day a purchase takes their
          earnings past each multiple of 250; a member's whole balance expires
          (``expire``) 365 days after their last earning; ``adjust`` rows claw back the points
          of refunded orders
          (``note`` "refund R...") and credit a few goodwill bonuses (``note`` "goodwill").

    Notes
    -----
    Purchase process (BG/NBD-like): rates ``lambda ~ Gamma(0.6, 1/25)`` per day, dropout
    probabilities ``p ~ Beta(1.4, 3.5)``. After the first purchase, repeats arrive as a Poisson
    process (rate x1.8 once the customer is a programme member) until the customer drops
    out, which happens after each repeat with probability ``p``.

    Examples
    --------
    >>> tables = generate_sample(100, seed=7, start="2024-01-01", months=6)
    >>> orders = tables["orders"]
    >>> bool(orders["order_date"].min() >= pd.Timestamp("2024-01-01"))
    True
    >>> bool(orders["order_date"].max() < pd.Timestamp("2024-07-01"))
    True
    >>> bool(orders["customer_id"].isin(tables["customers"]["customer_id"]).all())
    True
    >>> generate_sample(100, seed=7, start="2024-01-01", months=6)["orders"].equals(orders)
    True
    """
    _check_int("customers", customers, minimum=1)
    _check_int("seed", seed, minimum=0)
    _check_int("months", months, minimum=1)
    first_day = to_day(start, name="start")
    if first_day is None:
        raise ValueError(
            f"The 'start' parameter of generate_sample must be a date. Got {start!r} instead."
        )
    end_exclusive = first_day + pd.DateOffset(months=months)
    n_days = int((end_exclusive - first_day).days)

    rng = np.random.default_rng(seed)
    population = _simulate_customers(rng, customers, n_days)
    purchases = _simulate_purchases(rng, population, n_days)
    origin = first_day.value
    orders, returned = _orders_table(rng, population, purchases, n_days, origin)
    surveys = _surveys_table(rng, population, purchases, returned, n_days, origin)
    events = _events_table(rng, population, purchases, n_days, origin)
    spend = _spend_table(rng, population, first_day, months)
    customers_table = _customers_table(population, origin)
    # The ledger draws from its own stream, so adding it left the other tables unchanged.
    points_rng = np.random.default_rng([seed, _POINTS_STREAM])
    points = _points_table(points_rng, population, orders, n_days, origin)
    return {
        "orders": orders,
        "surveys": surveys,
        "events": events,
        "spend": spend,
        "customers": customers_table,
        "points": points,
    }


def write_sample(
    out_dir: str | os.PathLike[str],
    *,
    customers: int = 3000,
    seed: int = 0,
    start: DateLike = "2023-01-01",
    months: int = 24,
) -> dict[str, Path]:
    """Generate a sample data set and write it as CSV files, with its loyalty.toml, into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Folder to write to (created if missing). Existing sample files are replaced;
        each file is written to a temporary file first and moved into place.
    customers, seed, start, months
        As in :func:`generate_sample`.

    Returns
    -------
    dict of str to pathlib.Path
        Table name -> file written: ``orders.csv``, ``surveys.csv``, ``events.csv``,
        ``spend.csv``, ``customers.csv``, ``points.csv``, and ``config``: ``loyalty.toml``
        (only ``[metrics] tier_thresholds``, fitted to the sample's spend). UTF-8, comma-separated, ``\\n`` line ends, ISO
        dates (``YYYY-MM-DD``, or ``YYYY-MM-DD HH:MM:SS`` for event timestamps), money in
        the shortest form that reads back exactly (``12.5``), whole numbers without
        decimals, ``is_member`` as true/false, blanks for missing values. The same arguments give byte-identical files.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_sample(tmp, customers=50, seed=3)
    ...     header = paths["orders"].read_text().splitlines()[0]
    >>> sorted(p.name for p in paths.values())
    ['customers.csv', 'events.csv', 'loyalty.toml', 'orders.csv', 'points.csv', 'spend.csv', 'surveys.csv']
    >>> header
    'customer_id,order_date,amount,order_id,category,product_id,quantity,cost,channel'
    """
    tables = generate_sample(customers, seed=seed, start=start, months=months)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        path = out / SAMPLE_FILES[name]
        _write_csv(name, frame, path)
        written[name] = path
    written["config"] = out / SAMPLE_FILES["config"]
    _write_atomic(sample_config(tables["orders"]).encode("utf-8"), written["config"])
    return written


# --------------------------------------------------------------------------- helpers


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(
            f"The {name!r} parameter of generate_sample must be an int >= {minimum}. "
            f"Got {value!r} instead."
        )


def _for_csv(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as it is written: whole numbers as integers, booleans as true/false."""
    out = frame.copy()
    for column, spec in TABLES[name].columns.items():
        if column not in out.columns:
            continue
        if spec.kind in ("number", "nps_score", "csat_score", "duration"):
            out[column] = out[column].astype("Int64")
        elif spec.kind == "bool":
            out[column] = np.where(
                out[column].to_numpy(dtype=bool, na_value=False), "true", "false"
            )
    return out


def _csv_bytes(frame: pd.DataFrame, *, quoted_text: bool) -> bytes:
    """CSV text of ``frame``: dates-only columns as ``YYYY-MM-DD``, others to the second.

    Tables without free text go through pyarrow's writer (ten times faster than pandas');
    free text needs pandas' minimal quoting. Both give the same bytes for the same values.
    """
    if quoted_text:
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for position, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            ns = frame[field.name].to_numpy(dtype="datetime64[ns]").view("int64")
            valid = ns != np.iinfo(np.int64).min
            unit = pa.date32() if not (ns[valid] % _NS_PER_DAY).any() else pa.timestamp("s")
            table = table.set_column(position, field.name, pc.cast(table.column(position), unit))
    sink = pa.BufferOutputStream()
    header = (",".join(frame.columns) + "\n").encode("utf-8")
    # quoting_style="none" raises if a value holds a comma, quote or newline: nothing is
    # written wrongly, it fails loudly.
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    return header + sink.getvalue().to_pybytes()


def _write_csv(name: str, frame: pd.DataFrame, path: Path) -> None:
    """Write atomically: a temporary file in the same folder, then an atomic rename."""
    has_text = any(spec.kind == "text" for spec in TABLES[name].columns.values())
    _write_atomic(_csv_bytes(_for_csv(name, frame), quoted_text=has_text), path)


def _write_atomic(data: bytes, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
