"""Cron-friendly KPI exports: one row per period, upserted safely into a file or SQLite table.

:func:`export_kpis` computes :func:`loyalty_metrics.snapshot.kpis_by_period` and hands the rows to
:func:`write_export`, the generic writer underneath. Targets:

============================  =====================================================
``kpis.csv``                  CSV, UTF-8, ``\\n`` line ends, header row
``kpis.jsonl``                JSON Lines, one object per row, keys in column order
``kpis.parquet``              Parquet (pyarrow), typed columns
``sqlite:///path/kpis.db``    a table (default ``kpis``) in a SQLite database; also
                              ``sqlite:////abs/path.db`` or a path ending in ``.db``,
                              ``.sqlite`` or ``.sqlite3``
============================  =====================================================

Guarantees
----------
* **Upsert on the period key.** Rows whose ``period`` is in the new export replace the target's
  rows for those periods; every other row is kept as it was. Rows are sorted by ``period``.
* **Deterministic.** No wall-clock value is ever written. Floats are written in the shortest
  form that reads back to the same float (``repr``; integral values below 1e15 without
  ``.0``), missing values as an empty CSV cell or JSON ``null`` (infinities too in JSON, which
  has no infinity). The same inputs give byte-identical files, and a run that would not change
  the target leaves it untouched (SQLite included).
* **Atomic.** Files are written to a temporary file in the target's folder, flushed and
  ``fsync``-ed, renamed over the target with :func:`os.replace` and the folder is ``fsync``-ed:
  a crash or ``kill -9`` at any moment leaves the old or the new complete file. Leftover
  temporary files of a killed run are removed by the next run: only the exact names this module
  generates (``.NAME.<12 hex digits>.tmp``), nothing else. SQLite writes happen in one
  ``BEGIN IMMEDIATE ... COMMIT`` transaction.
* **One writer at a time.** An exclusive ``flock`` on the sidecar file ``TARGET.lock`` (kept,
  never deleted: deleting lock files races) is held from reading the target to replacing it.
  A second export waits up to ``lock_timeout`` seconds, then raises
  :class:`~loyalty_metrics.errors.LockTimeoutError`. POSIX only. The lock file is opened
  without following symlinks and must be a regular file; an existing one is never truncated
  (the holder's process id is written only into an empty lock file or one holding a process
  id, so a file planted there is never overwritten).
* **Only regular files are written, and only where they are named.** A target that is a
  symlink is refused (its folder's writer could point it anywhere a cron job running as root
  can write); ``follow_symlinks=True`` (``loyalty export --follow-symlinks``) allows it.
  Folders on the way to the target may be symlinks. A target (or, when following, the file a
  symlink points to) that is a device, FIFO or socket is refused before it is opened for
  reading or writing; an empty file counts as an empty export only when named directly, not
  through a symlink.
* **Never clobbers foreign data.** An existing target is only rewritten when it is a KPI export
  of this tool: it must have the key column and the stamp columns ``as_of``,
  ``loyalty_metrics_version`` and ``input_hash``, unique keys, the same ``freq`` and columns of
  compatible types. Otherwise :class:`~loyalty_metrics.errors.ExportError` is raised and the
  target is not touched. An empty (0-byte) file counts as an empty export.
* **Schema evolution.** A column new to the target (a KPI added in a newer version) is added,
  empty for the old rows; a column of the target that the new export lacks is kept with its
  values for the rows not replaced.
* **CSV formula injection.** In CSV output a text cell (or header) that begins with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading single quote
  (``'=cmd()``) so spreadsheets show it as text instead of running it (OWASP's advice). Numbers
  are not text: ``-3.5`` in a numeric column stays a number. Reading a CSV export back removes
  that quote again. JSONL, Parquet and SQLite hold the text unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import logging
import os
import re
import secrets
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from . import __version__
from ._csv import FORMULA_START, neutralise
from ._window import DateLike, Window, period_status, resolve_window, to_day
from .errors import ConfigError, DataValidationError, ExportError, LockTimeoutError
from .options import KPI_OPTIONS, MetricOptions

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "EXPORT_FORMATS",
    "STAMP_COLUMNS",
    "ExportResult",
    "export_kpis",
    "input_hash",
    "kpi_rows",
    "write_export",
]

logger = logging.getLogger(__name__)

Format = Literal["csv", "jsonl", "parquet", "sqlite"]
Freq = Literal["W", "M", "Q", "Y"]

EXPORT_FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet", "sqlite")
FREQS: tuple[str, ...] = ("W", "M", "Q", "Y")
#: Columns every KPI export row starts with, in this order.
STAMP_COLUMNS: tuple[str, ...] = (
    "period",
    "freq",
    "as_of",
    "loyalty_metrics_version",
    "input_hash",
)
#: Columns (besides the key) that mark a target as an export of this tool.
MARKER_COLUMNS: tuple[str, ...] = ("as_of", "loyalty_metrics_version", "input_hash")
DEFAULT_LOCK_TIMEOUT = 60.0
INPUT_TABLES: tuple[str, ...] = ("orders", "surveys", "events", "spend", "customers", "points")

_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
}
_SQLITE_URL = "sqlite:///"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_TMP_SUFFIX = ".tmp"
_TMP_TOKEN_BYTES = 6
_PARQUET_MARKER = b"loyalty_metrics.export"

Kind = Literal["number", "bool", "text", "empty"]


@dataclass(frozen=True, eq=False)
class ExportResult:
    """What one export run did.

    Attributes
    ----------
    target : str
        The file path or ``sqlite:///`` URL written.
    format : {"csv", "jsonl", "parquet", "sqlite"}
    table : str or None
        The SQLite table (None for files).
    keys : tuple of str
        The keys (periods) upserted by this run, sorted.
    added, replaced : int
        Rows new to the target / rows that replaced a row with the same key.
    rows : int
        Rows in the target after the run.
    changed : bool
        False when the target already held exactly these rows (it was left untouched).
    frame : pandas.DataFrame
        The rows of this run, as given to :func:`write_export`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> orders = pd.DataFrame({"customer_id": ["a", "b"], "amount": [5.0, 7.0],
    ...                        "order_date": pd.to_datetime(["2024-01-05", "2024-02-01"])})
    >>> result = export_kpis(orders, target=pathlib.Path(tempfile.mkdtemp()) / "k.jsonl")
    >>> result.format, result.keys, result.added, result.replaced, result.rows
    ('jsonl', ('2024-01-31', '2024-02-29'), 2, 0, 2)
    """

    target: str
    format: Format
    table: str | None
    keys: tuple[str, ...]
    added: int
    replaced: int
    rows: int
    changed: bool
    frame: pd.DataFrame = field(repr=False)


# ---------------------------------------------------------------------------------------------
# Public API


def export_kpis(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    spend: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    points: pd.DataFrame | None = None,
    *,
    target: str | os.PathLike[str],
    freq: Freq = "M",
    as_of: DateLike | None = None,
    since: DateLike | None = None,
    window: Literal["expanding", "period"] = "expanding",
    table: str = "kpis",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    options: MetricOptions | None = None,
    guests: pd.DataFrame | None = None,
    engine: Any = "pandas",
    columns: Mapping[str, Mapping[str, str]] | None = None,
    follow_symlinks: bool = False,
) -> ExportResult:
    """Compute the KPI snapshot of every period and upsert one row per period into ``target``.

    Parameters
    ----------
    orders, surveys, events, spend, customers, points : pandas.DataFrame
        Validated frames (see :mod:`loyalty_metrics.io`); only ``orders`` is required. With
        a points ledger every row also carries the :data:`~loyalty_metrics.POINTS_KPI_KEYS`
        (:func:`~loyalty_metrics.points_kpis_by_period` over the same periods and window).
    target : str or path-like
        ``*.csv``, ``*.jsonl``, ``*.parquet`` or ``sqlite:///path/kpis.db`` (see the module
        docstring for what each guarantees).
    freq : {"W", "M", "Q", "Y"}, default "M"
        The period length. A target holds one frequency: exporting ``"Q"`` rows into a monthly
        target raises :class:`~loyalty_metrics.errors.ExportError`.
    as_of : date-like, optional
        The last day of data used (inclusive); default the last order date. Stamped on every row.
    since : date-like, optional
        Only export the periods from the one containing ``since`` up to the one containing
        ``as_of`` (a backfill; ``since`` in the ``as_of`` period exports that single period).
        Default: every period from the first order on. Rows of other periods are kept.
    window : {"expanding", "period"}, default "expanding"
        ``"expanding"``: each row is :func:`~loyalty_metrics.snapshot.kpis_by_period`'s row,
        the snapshot as of the period's end (``kpis(end=period_end)``). ``"period"``: each row
        holds the KPIs of its period alone (revenue, customers, NPS... of that month), the
        usual shape for a dashboard. A target holds one kind: its ``freq`` column reads ``M``
        for expanding rows and ``M/period`` for per-period rows, and mixing them is refused.
    table : str, default "kpis"
        The SQLite table (ignored for files).
    lock_timeout : float, default 60
        Seconds to wait for another export of the same target to finish.
    options : MetricOptions, optional
        The KPI options (:class:`~loyalty_metrics.MetricOptions`, e.g.
        ``MetricOptions.from_config(config)``), passed on to ``kpis_by_period``;
        ``point_value`` goes to the points KPIs. Those that differ from the defaults are part
        of the input hash.
    guests : pandas.DataFrame, optional
        Guest-checkout lines (no customer id), as :func:`~loyalty_metrics.guests.guest_orders`
        reads them back from a lenient read. When given, each row also gets
        ``guest_revenue`` (their net amount in the row's window) and ``total_revenue``
        (``revenue`` of the identified customers + ``guest_revenue``). Part of the input hash.
    engine : {"pandas", "duckdb", "spark"} or an Ibis backend, default "pandas"
        Where the KPIs are computed (:mod:`loyalty_metrics.engines`, the same numbers): with
        a SQL engine the tables may also be paths or globs of CSV/Parquet files (read by the
        engine, ``columns`` mapping each table's canonical names to its columns), only the
        KPI rows come back, and the input hash covers the files' bytes instead of the frames.
        The points KPIs are computed in pandas only (``points`` is refused), and so are
        guest lines: order lines without a customer id (or a date, or an amount) are refused
        as the readers' ``errors="raise"`` does, and ``guests`` may only be empty (then
        ``guest_revenue`` is 0).
    follow_symlinks : bool, default False
        As in :func:`write_export`.

    Returns
    -------
    ExportResult
        What was written. The rows (``result.frame``) have the columns ``period`` (ISO date of
        the calendar end of the period, the upsert key), ``freq``, ``as_of`` (ISO date),
        ``loyalty_metrics_version``, ``input_hash`` (see :func:`input_hash`), ``period_end``
        (the last day the row covers: ``kpis_by_period``'s label, ``as_of`` for the current
        period), ``status`` (``"complete"``, or ``"partial"`` when the row does not cover the
        whole calendar period: a current month computed as of its 9th), then the KPI keys
        of :func:`~loyalty_metrics.snapshot.kpis` as float columns (NaN where undefined), then
        ``guest_revenue`` and ``total_revenue`` when ``guests`` is given, then the points
        KPIs when a ledger is given (an older target gains those columns, empty for its rows
        that are not replaced).

    Raises
    ------
    DataValidationError
        When there is no order on or before ``as_of``.
    ExportError
        When the target is not a KPI export of this tool, or cannot be written.
    LockTimeoutError
        When another export held the target's lock for more than ``lock_timeout`` seconds.

    Notes
    -----
    Either way a row does not depend on where the run started: ``since`` only chooses which
    periods are written (an expanding row is always computed from the first order on), so a
    backfill writes the same values as a full run. Look-back metrics (churn, new customers)
    reach back from the period's end over all earlier data. The last
    period usually ends after ``as_of``: its row is the snapshot so far (data up to ``as_of``)
    under the period's calendar key, replaced by the next run.

    The input hash covers the whole frames given (see :func:`input_hash`) and
    the options that differ from their defaults; it is the same on every row of a run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-03", "2024-02-10"]),
    ...     "amount": [10.0, 20.0, 5.0],
    ... })
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "kpis.csv"
    >>> result = export_kpis(orders, target=out, freq="M")
    >>> result.keys, result.added
    (('2024-01-31', '2024-02-29'), 2)
    >>> export_kpis(orders, target=out, freq="M").changed  # same inputs: file untouched
    False
    """
    from .snapshot import kpis_by_period  # kpis is heavy; import when used

    _check_choice("freq", freq, FREQS, "export_kpis")
    _check_choice("window", window, ("expanding", "period"), "export_kpis")
    _check_timeout(lock_timeout, "export_kpis")
    dest = _parse_target(target, "export_kpis")
    if dest.is_symlink and not follow_symlinks:
        raise _symlink_refused(dest)  # before any computation
    sources = {"orders": orders, "surveys": surveys, "events": events, "spend": spend,
               "customers": customers}  # fmt: skip
    in_engine = engine is not None and not (isinstance(engine, str) and engine == "pandas")
    if in_engine:
        tables = _engine_tables(engine, sources, columns, points=points, guests=guests)
        first, last = tables.order_span(to_day(as_of, name="as_of"))
        data_window = Window(
            start=first.normalize(), end=to_day(as_of, name="as_of") or last.normalize()
        )
        no_orders = pd.isna(first)
    else:
        data_window = resolve_window(orders["order_date"], None, as_of)
        no_orders = data_window.empty or not data_window.up_to_end(orders["order_date"]).any()
    if no_orders:
        raise DataValidationError(
            "No orders on or before the as-of date: there is no period to export.",
            table="orders",
        )
    as_of_day = data_window.end
    start = None
    since_day = to_day(since, name="since")
    if since_day is not None:
        if since_day > as_of_day:
            raise ValueError(
                f"The 'since' parameter of export_kpis must be on or before as_of "
                f"({as_of_day.date()}). Got {since_day.date()} instead."
            )
        # Whole periods only: a period that starts before `since` is still computed in full.
        start = pd.Period(since_day, freq=freq).start_time
    hashed = _hashed_options(options)
    frames = {**sources, "points": points, "guests": guests}
    # Before computing: an input the hash cannot read is refused first.
    engine_digest = _source_hash(frames, hashed) if in_engine else None
    # An expanding row is the snapshot from the first order on, whatever `since` says; a
    # per-period row needs nothing before its period (look-backs reach back by themselves).
    row_start = start if window == "period" else None
    if in_engine:
        from .engines import kpis_by_period as engine_kpis_by_period

        frame = engine_kpis_by_period(
            *tables.tables.values(), freq=freq, window=window, start=row_start,
            end=as_of_day, engine=tables.engine, options=options,
        )  # fmt: skip
    else:
        frame = kpis_by_period(
            orders, surveys, events, spend, customers, freq=freq, window=window,
            start=row_start, end=as_of_day, options=options,
        )  # fmt: skip
    if guests is not None:
        first = None if window == "period" else data_window.start
        frame = _with_guest_revenue(frame, guests, freq=freq, first=first)
    if points is not None:
        from .points import points_kpis_by_period

        by_period = points_kpis_by_period(
            points, customers, orders, freq=freq, window=window,
            start=data_window.start if row_start is None else row_start, end=as_of_day,
            point_value=(options or MetricOptions()).point_value,
        )  # fmt: skip
        frame = frame.join(by_period.reindex(frame.index))
    digest = engine_digest or input_hash(frames, options=hashed)
    rows = kpi_rows(frame, freq=freq, as_of=as_of_day, input_hash=digest)
    # The key stays the calendar end (one row per period across runs); period_end is the
    # last day the row was computed to, as kpis_by_period labels it, and status says whether
    # that covers the whole period.
    computed_to = pd.DatetimeIndex(frame.index)
    rows.insert(len(STAMP_COLUMNS), "period_end", list(computed_to.strftime("%Y-%m-%d")))
    first = data_window.start if window == "period" else None
    rows.insert(
        len(STAMP_COLUMNS) + 1,
        "status",
        period_status(computed_to, freq, start=first, end=as_of_day),
    )
    if window == "period":
        rows["freq"] = f"{freq}/period"
    if start is not None:
        rows = rows[rows["period"] >= _period_key(pd.DatetimeIndex([start]), freq)[0]]
    return write_export(
        rows,
        dest.given,
        key="period",
        table=table,
        lock_timeout=lock_timeout,
        follow_symlinks=follow_symlinks,
    )


def _engine_tables(
    engine: Any,
    sources: Mapping[str, Any],
    columns: Mapping[str, Mapping[str, str]] | None,
    *,
    points: Any,
    guests: Any,
) -> Any:
    """The inputs loaded into ``engine`` (:func:`loyalty_metrics.engines.load_tables`), after
    refusing what only the pandas engine computes."""
    from .engines import load_tables

    if points is not None:
        raise ConfigError(
            "export_kpis computes the points KPIs in pandas only: leave the points ledger out "
            "with a SQL engine, or export with engine='pandas' (--engine pandas)."
        )
    if guests is not None and len(guests):
        raise ConfigError(
            "export_kpis reads guest-checkout lines (a lenient read's rejects) in pandas only: "
            "export them with engine='pandas' (--engine pandas --errors reject)."
        )
    return load_tables(engine, sources, columns)


def _source_hash(sources: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """:func:`input_hash` of the DataFrames given, or, when some input is a path or glob, a
    SHA-256 of the files' bytes (each file's name within its folder, size and content, files
    in name order) and the options. An engine table has no content to hash: refused."""
    from .engines import source_files

    if all(s is None or isinstance(s, pd.DataFrame) for s in sources.values()):
        return input_hash(sources, options=options)
    digest = hashlib.sha256(b"loyalty_metrics input hash v1 files\n")
    for name in sorted(sources):
        source = sources[name]
        if source is None:
            continue
        if isinstance(source, pd.DataFrame):
            digest.update(f"table {name} frame {input_hash({name: source})}\n".encode())
            continue
        if not isinstance(source, str | os.PathLike):
            raise ConfigError(
                f"export_kpis stamps each row with a hash of its inputs, and the {name} input "
                f"({type(source).__name__}) is a table of the engine whose content it cannot "
                "read: give DataFrames or files."
            )
        files = source_files(os.fspath(source))
        for file in files:
            line = f"table {name} file {os.path.basename(file)} {os.path.getsize(file)}\n"
            digest.update(line.encode())
            with open(file, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    if options:
        digest.update(json.dumps(dict(options), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _with_guest_revenue(
    frame: pd.DataFrame, guests: pd.DataFrame, *, freq: str, first: pd.Timestamp | None
) -> pd.DataFrame:
    """Add ``guest_revenue`` (window of each row: from ``first``, else its period) and
    ``total_revenue``."""
    from .guests import guest_revenue

    ends = pd.DatetimeIndex(frame.index)
    starts = ends.to_period(freq).start_time if first is None else [first] * len(ends)
    guest = [guest_revenue(guests, start=s, end=e) for s, e in zip(starts, ends, strict=True)]
    return frame.assign(guest_revenue=guest, total_revenue=frame["revenue"] + guest)


def kpi_rows(frame: pd.DataFrame, *, freq: Freq, as_of: DateLike, input_hash: str) -> pd.DataFrame:
    """Turn a ``kpis_by_period`` frame into export rows: stamp columns, then the KPI columns.

    The key ``period`` is the ISO date of the calendar end of the period containing each index
    date, so a current period whose index is clipped to ``as_of`` keeps one key all along.

    Examples
    --------
    >>> kp = pd.DataFrame({"customers": [2, 3]},
    ...                   index=pd.to_datetime(["2024-01-31", "2024-02-15"]))
    >>> kpi_rows(kp, freq="M", as_of="2024-02-15", input_hash="ab12").iloc[:, [0, 1, 2, 5]]
           period freq       as_of  customers
    0  2024-01-31    M  2024-02-15        2.0
    1  2024-02-29    M  2024-02-15        3.0
    """
    _check_choice("freq", freq, FREQS, "kpi_rows")
    as_of_day = to_day(as_of, name="as_of")
    index = pd.DatetimeIndex(frame.index)
    kpis = frame.reset_index(drop=True).astype("float64")  # KPIs are numbers; counts too
    stamps = pd.DataFrame(
        {
            "period": pd.Series(_period_key(index, freq), index=kpis.index, dtype="str"),
            "freq": freq,
            "as_of": as_of_day.strftime("%Y-%m-%d"),  # type: ignore[union-attr]  # as_of is given
            "loyalty_metrics_version": __version__,
            "input_hash": input_hash,
        },
        index=kpis.index,
    )
    clash = [c for c in kpis.columns if c in STAMP_COLUMNS]
    if clash:
        raise ValueError(f"KPI columns may not reuse the export's stamp columns: {clash}.")
    return pd.concat([stamps, kpis], axis=1)


def _hashed_options(options: MetricOptions | None) -> dict[str, Any]:
    """The options that shape an export's rows (the KPIs' and ``point_value``) and differ from
    the defaults: what the input hash records of them."""
    shaping = {*KPI_OPTIONS, "point_value"}
    changed = (options or MetricOptions()).changed()
    return {name: value for name, value in changed.items() if name in shaping}


def input_hash(
    frames: Mapping[str, pd.DataFrame | None], *, options: Mapping[str, Any] | None = None
) -> str:
    """A SHA-256 hex digest of the input frames' content (and options), for provenance.

    Independent of row order and column order; sensitive to every value, column name and
    table name. Datetimes are hashed at nanosecond resolution whatever their unit, categories
    by value. Rows are hashed with :func:`pandas.util.hash_pandas_object`, the sorted row hashes
    are fed to SHA-256: the digest is stable for a given pandas major version.

    Examples
    --------
    >>> a = pd.DataFrame({"customer_id": ["x", "y"], "amount": [1.0, 2.0]})
    >>> h = input_hash({"orders": a})
    >>> h == input_hash({"orders": a.iloc[::-1][["amount", "customer_id"]]})
    True
    >>> h == input_hash({"orders": a.assign(amount=[1.0, 2.5])})
    False
    """
    digest = hashlib.sha256(b"loyalty_metrics input hash v1\n")
    for name in sorted(frames):
        df = frames[name]
        if df is None:
            continue
        columns = sorted(map(str, df.columns))
        canon = df.set_axis(list(map(str, df.columns)), axis=1)[columns]
        for column in columns:
            if pd.api.types.is_datetime64_any_dtype(canon[column]):
                # pandas 3 may infer us/s resolution; the hash must not depend on it.
                canon[column] = canon[column].dt.as_unit("ns")
        digest.update(f"table {name} rows {len(canon)}\n".encode())
        digest.update(("\x1f".join(columns) + "\n").encode())
        if len(columns) and len(canon):
            rows = pd.util.hash_pandas_object(canon, index=False).to_numpy(dtype="<u8")
            digest.update(np.sort(rows).tobytes())  # sorted: row order does not matter
    if options:
        digest.update(json.dumps(dict(options), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def write_export(
    frame: pd.DataFrame,
    target: str | os.PathLike[str],
    *,
    key: str = "period",
    table: str = "kpis",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    follow_symlinks: bool = False,
) -> ExportResult:
    """Upsert the rows of ``frame`` into ``target``: atomically, under a lock, deterministically.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows. Must have the ``key`` column (unique, no missing values) and the stamp columns
        ``as_of``, ``loyalty_metrics_version`` and ``input_hash`` that mark a KPI export.
        Numeric, boolean and text columns are kept as such; datetimes are written as ISO text
        (a date when every value is at midnight), categoricals as text.
    target : str or path-like
        ``*.csv``, ``*.jsonl``, ``*.parquet``, ``sqlite:///path/db`` (or ``*.db``,
        ``*.sqlite``, ``*.sqlite3``).
    key : str, default "period"
        The upsert key: target rows with a key in ``frame`` are replaced, others kept.
    table : str, default "kpis"
        The SQLite table (ignored for files).
    lock_timeout : float, default 60
        Seconds to wait for the lock on ``TARGET.lock`` held by another export.
    follow_symlinks : bool, default False
        Write through a target that is a symlink (into the file it points to, with the lock
        and temporary files beside that file). By default such a target is refused.

    Returns
    -------
    ExportResult

    Raises
    ------
    ExportError
        The target is not a KPI export of this tool (unrelated file or table, different schema,
        other ``freq``), is a symlink (unless ``follow_symlinks``), or cannot be written
        (missing folder, permissions, disk full). The target is left untouched.
    LockTimeoutError
        The lock was not obtained within ``lock_timeout`` seconds.

    Notes
    -----
    See the module docstring for the guarantees (atomicity, locking, formula injection, schema
    evolution). Rows are sorted by ``key``; columns keep the target's order, new columns are
    appended in ``frame`` order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> rows = pd.DataFrame({
    ...     "period": ["2024-01-31", "2024-02-29"], "as_of": "2024-02-29",
    ...     "loyalty_metrics_version": "0.1.0", "input_hash": "ab12",
    ...     "nps": [12.5, float("nan")], "note": ["ok", "=HYPERLINK()"],
    ... })
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "kpis.csv"
    >>> write_export(rows, out).added
    2
    >>> print(out.read_text(), end="")
    period,as_of,loyalty_metrics_version,input_hash,nps,note
    2024-01-31,2024-02-29,0.1.0,ab12,12.5,ok
    2024-02-29,2024-02-29,0.1.0,ab12,,'=HYPERLINK()
    >>> write_export(rows.iloc[[1]].assign(nps=-3.0), out).replaced
    1
    >>> print(out.read_text().splitlines()[2])
    2024-02-29,2024-02-29,0.1.0,ab12,-3,'=HYPERLINK()
    """
    _check_timeout(lock_timeout, "write_export")
    dest = _parse_target(target, "write_export", follow_symlinks=follow_symlinks)
    if dest.is_symlink and not follow_symlinks:
        raise _symlink_refused(dest)
    if dest.format == "sqlite":
        _check_table_name(table)
    new, kinds = _normalise(frame, key)
    if dest.format == "sqlite":
        return _write_sqlite(dest, table, new, kinds, key, lock_timeout, frame)
    return _write_file(dest, new, kinds, key, lock_timeout, frame)


# ---------------------------------------------------------------------------------------------
# Parameters and targets


@dataclass(frozen=True)
class _Target:
    given: str
    format: Format
    path: str  # resolved (symlinks followed) filesystem path
    linked: bool = False  # the given path goes through a symlink
    is_symlink: bool = False  # the given path itself (its last component) is a symlink
    follow_symlinks: bool = True  # False: the target itself must not be a symlink

    @property
    def lock_path(self) -> str:
        return self.path + ".lock"


def _check_choice(name: str, value: Any, choices: Sequence[str], func: str) -> None:
    if value not in choices:
        options = "{" + ", ".join(repr(c) for c in choices) + "}"
        raise ValueError(
            f"The {name!r} parameter of {func} must be one of {options}. Got {value!r} instead."
        )


def _check_timeout(value: Any, func: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(
            f"The 'lock_timeout' parameter of {func} must be a number of seconds >= 0. "
            f"Got {value!r} instead."
        )


def _check_table_name(table: Any) -> None:
    if not isinstance(table, str) or not table or table.lower().startswith("sqlite_"):
        raise ValueError(
            "The 'table' parameter must be a non-empty table name not starting with "
            f"'sqlite_'. Got {table!r} instead."
        )


def _parse_target(target: Any, func: str, *, follow_symlinks: bool = True) -> _Target:
    """Recognise the format of ``target``; the path is resolved through symlinks."""
    fmt: Format | None
    if isinstance(target, str) and target.startswith("sqlite:"):
        if not target.startswith(_SQLITE_URL) or len(target) == len(_SQLITE_URL):
            raise ValueError(
                f"The 'target' parameter of {func} must be a SQLite URL like "
                f"'sqlite:///relative/kpis.db' or 'sqlite:////absolute/kpis.db'. "
                f"Got {target!r} instead."
            )
        path, fmt = target[len(_SQLITE_URL) :], "sqlite"
    elif isinstance(target, str | os.PathLike):
        path = os.fspath(target)
        fmt = _SUFFIXES.get(os.path.splitext(path)[1].lower())
        if fmt is None:
            raise ValueError(
                f"The 'target' parameter of {func} must be a path ending in .csv, .jsonl or "
                f".parquet, or a SQLite URL 'sqlite:///path/kpis.db'. Got {str(target)!r} instead."
            )
    else:
        raise ValueError(
            f"The 'target' parameter of {func} must be a path or a 'sqlite:///' URL. "
            f"Got {target!r} instead."
        )
    real = os.path.realpath(path)
    return _Target(
        given=os.fspath(target),
        format=fmt,
        path=real,
        linked=real != os.path.abspath(path),
        is_symlink=os.path.islink(path),
        follow_symlinks=follow_symlinks,
    )


def _symlink_refused(dest: _Target) -> ExportError:
    return ExportError(
        f"{dest.given} is a symlink (to {dest.path}): refused, an export writes only the file "
        "it is given. It was left untouched; give the real path, or allow writing through the "
        "link with --follow-symlinks (follow_symlinks=True)."
    )


# ---------------------------------------------------------------------------------------------
# Frames: normalise, read back, merge


def _period_key(index: pd.DatetimeIndex, freq: str) -> list[str]:
    """ISO date of the calendar end of the period containing each date."""
    ends = index.to_period(freq).end_time.normalize()
    return list(ends.strftime("%Y-%m-%d"))


def _kind_of(series: pd.Series) -> Kind:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "number"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "empty":
        return "empty"
    if inferred == "boolean":
        return "bool"
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        return "number"
    return "text"


def _normalise(frame: pd.DataFrame, key: str) -> tuple[pd.DataFrame, dict[str, Kind]]:
    """Check the rows to write and bring every column to a number, bool or text column."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"write_export needs a pandas DataFrame; got {type(frame).__name__}.")
    if key not in frame.columns and frame.index.name == key:
        frame = frame.reset_index()
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise ValueError(f"The frame to export has duplicate column names: {columns}.")
    missing = [c for c in (key, *MARKER_COLUMNS) if c not in columns]
    if missing:
        raise ValueError(
            f"The frame to export lacks the column(s) {missing}: an export frame has the key "
            f"{key!r} and the stamp columns {list(MARKER_COLUMNS)} (export_kpis adds them)."
        )
    out = {}
    kinds: dict[str, Kind] = {}
    for name, column in zip(columns, frame.columns, strict=True):
        s = frame[column].reset_index(drop=True)
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object).where(s.notna().to_numpy(), None)
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            midnight = s.dropna().dt.normalize().eq(s.dropna()).all()
            s = s.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S.%f")
        kind = _kind_of(s)
        if kind == "number" and pd.api.types.is_extension_array_dtype(s.dtype):
            # nullable Int64/Float64: plain numpy dtypes (NaN for missing) are written alike
            exact_int = pd.api.types.is_integer_dtype(s.dtype) and not s.isna().any()
            s = s.astype("int64" if exact_int else "float64")
        elif kind == "number" and not pd.api.types.is_numeric_dtype(s.dtype):
            s = pd.to_numeric(s)
        elif kind == "bool":
            s = s.astype(object).where(s.notna().to_numpy(), None)
        elif kind == "text":
            s = s.astype(object).where(s.notna().to_numpy(), None)
            s = s.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        kinds[name] = kind
        out[name] = s
    new = pd.DataFrame(out)
    if new[key].isna().any():
        raise ValueError(f"The key column {key!r} of the frame to export has missing values.")
    if new[key].duplicated().any():
        dupes = sorted(map(str, new.loc[new[key].duplicated(), key].unique()))[:5]
        raise ValueError(f"The key column {key!r} of the frame to export repeats {dupes}.")
    return new, kinds


def _compatible(old: Kind, new: Kind) -> bool:
    return old == "empty" or new == "empty" or old == new


def _not_ours(dest: _Target, why: str, table: str | None = None) -> ExportError:
    what = f"table {table!r} in {dest.given}" if table else dest.given
    fix = "choose another --table" if table else "choose another --to path"
    return ExportError(
        f"Refusing to overwrite {what}: it is not a KPI export of loyalty_metrics ({why}). "
        f"It was left untouched; {fix}."
    )


def _check_ours(
    dest: _Target,
    columns: Sequence[str],
    old_kinds: Mapping[str, Kind],
    new_kinds: Mapping[str, Kind],
    key: str,
    table: str | None = None,
) -> None:
    missing = [c for c in (key, *MARKER_COLUMNS) if c not in columns]
    if missing:
        shown = ", ".join(map(repr, list(columns)[:8])) + (" ..." if len(columns) > 8 else "")
        raise _not_ours(
            dest, f"no column {', '.join(map(repr, missing))}; its columns: {shown}", table
        )
    for column, kind in new_kinds.items():
        if column in old_kinds and not _compatible(old_kinds[column], kind):
            raise _not_ours(
                dest,
                f"different schema: column {column!r} holds {old_kinds[column]} values, "
                f"the new rows have {kind} values",
                table,
            )


def _check_freq(
    dest: _Target, old_freqs: Sequence[Any], new: pd.DataFrame, table: str | None = None
) -> None:
    if "freq" not in new.columns:
        return
    new_freqs = set(new["freq"].dropna())
    other = sorted({str(f) for f in old_freqs if f is not None and f == f} - new_freqs)
    if other:
        what = f"table {table!r} in {dest.given}" if table else dest.given
        fix = "another --table" if table else "another --to path"
        raise ExportError(
            f"{what} holds {'/'.join(other)} periods; it cannot take "
            f"{'/'.join(sorted(map(str, new_freqs)))} rows (one frequency per target). "
            f"It was left untouched; export to {fix}."
        )


def _merge(
    old: pd.DataFrame | None,
    old_kinds: Mapping[str, Kind],
    new: pd.DataFrame,
    kinds: Mapping[str, Kind],
    key: str,
) -> tuple[pd.DataFrame, dict[str, Kind], int]:
    """Upsert ``new`` into ``old``: (merged rows sorted by key, column kinds, rows replaced)."""
    if old is None:
        merged, merged_kinds, replaced = new, dict(kinds), 0
    else:
        hit = old[key].isin(new[key]).to_numpy()
        replaced = int(hit.sum())
        kept = old.loc[~hit]
        columns = list(old.columns) + [c for c in new.columns if c not in old.columns]
        parts = [p.reindex(columns=columns) for p in (kept, new) if len(p)]
        merged = pd.concat(parts, ignore_index=True) if parts else new.reindex(columns=columns)
        merged_kinds = {}
        for c in columns:
            a, b = old_kinds.get(c, "empty"), kinds.get(c, "empty")
            merged_kinds[c] = b if a == "empty" else a
        for c, kind in merged_kinds.items():
            if kind == "number" and not pd.api.types.is_numeric_dtype(merged[c].dtype):
                merged[c] = pd.to_numeric(merged[c]).astype("float64")  # all-missing column
            elif kind in ("text", "bool"):  # NaN-filled text/bool columns stay object
                merged[c] = merged[c].astype(object).where(merged[c].notna().to_numpy(), None)
    order = np.argsort(merged[key].to_numpy(dtype=object if kinds[key] == "text" else None),
                       kind="stable")  # fmt: skip
    merged = merged.iloc[order].reset_index(drop=True)
    return merged, merged_kinds, replaced


def _typed_from_text(
    column: pd.Series, kind: Kind | None
) -> tuple[pd.Series, Kind] | tuple[None, None]:
    """A CSV column read as raw strings ("" = missing) in the kind wanted (None: inferred)."""
    present = column != ""
    values = column[present]
    if not len(values):
        return pd.Series([None] * len(column), dtype=object), kind or "empty"
    if kind in (None, "number"):
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().all() and not values.str.lower().isin(["true", "false"]).any():
            out = pd.to_numeric(column.where(present.to_numpy(), None))
            return out, "number"
        if kind == "number":
            return None, None
    if kind in (None, "bool"):
        lower = values.str.lower()
        if lower.isin(["true", "false"]).all():
            out = column.str.lower().map({"true": True, "false": False}).astype(object)
            return out.where(present.to_numpy(), None), "bool"
        if kind == "bool":
            return None, None
    # text: undo the formula-injection quote this module adds
    text = column.astype(object)
    quoted = column.str.match("'" + FORMULA_START).to_numpy()
    text = text.where(~quoted, column.str.slice(1))
    return text.where(present.to_numpy(), None), "text"


def _read_csv(raw: bytes, new_kinds: Mapping[str, Kind], dest: _Target, key: str):
    try:
        text = pd.read_csv(
            io.BytesIO(raw), dtype=str, keep_default_na=False, na_filter=False,
            encoding="utf-8-sig", encoding_errors="strict",
        )  # fmt: skip
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise _not_ours(dest, f"not readable as CSV: {str(exc).splitlines()[0]}") from None
    if any(str(c).startswith("Unnamed: ") for c in text.columns):
        raise _not_ours(dest, "its header has blank column names")
    text.columns = [c[1:] if re.match("'" + FORMULA_START, c) else c for c in text.columns]
    _check_ours(dest, list(text.columns), {}, {}, key)
    out, kinds = {}, {}
    for column in text.columns:
        wanted = new_kinds.get(column)
        values, kind = _typed_from_text(
            text[column], None if wanted in (None, "empty") else wanted
        )
        if values is None:
            _, found = _typed_from_text(text[column], None)
            raise _not_ours(
                dest,
                f"different schema: column {column!r} holds {found} values, "
                f"the new rows have {wanted} values",
            )
        out[column], kinds[column] = values.reset_index(drop=True), kind
    return pd.DataFrame(out, columns=list(text.columns)), kinds


def _read_jsonl(raw: bytes, dest: _Target):
    records = []
    try:
        # split on LF only: str.splitlines would also split inside strings holding U+2028,
        # U+0085... which json.dumps(ensure_ascii=False) leaves unescaped.
        for number, line in enumerate(raw.decode("utf-8").split("\n"), start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError(f"line {number} is not a JSON object")
            records.append(record)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise _not_ours(dest, f"not readable as JSON Lines: {exc}") from None
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.columns = [str(c) for c in frame.columns]
    kinds: dict[str, Kind] = {}
    for column in frame.columns:
        s = frame[column]
        kind = _kind_of(s)
        if kind == "number" and not pd.api.types.is_numeric_dtype(s.dtype):
            s = pd.to_numeric(s)
        elif kind != "number":
            s = s.astype(object).where(s.notna().to_numpy(), None)
        frame[column], kinds[column] = s, kind
    return frame, kinds


def _read_parquet(path: str, dest: _Target):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise _not_ours(dest, f"not readable as Parquet: {exc}") from None
    kinds: dict[str, Kind] = {}
    for f in arrow.schema:
        t = f.type
        if pa.types.is_boolean(t):
            kinds[f.name] = "bool"
        elif pa.types.is_integer(t) or pa.types.is_floating(t):
            kinds[f.name] = "number"
        elif pa.types.is_null(t):
            kinds[f.name] = "empty"
        else:
            kinds[f.name] = "text"
    frame = arrow.to_pandas()
    for column, kind in kinds.items():
        if kind != "number":
            s = frame[column]
            frame[column] = s.astype(object).where(s.notna().to_numpy(), None)
    return frame, kinds


def _read_target(dest: _Target, limit: int = -1) -> bytes | None:
    """The target's bytes (the first ``limit``; None when it does not exist).

    Anything but a regular file is refused before it is opened (opening a device can act on
    it); O_NONBLOCK and the check on the opened descriptor close the race with a swap.
    """
    # Not following: a symlink swapped in since the target was checked is refused too.
    status, nofollow = (os.stat, 0) if dest.follow_symlinks else (os.lstat, os.O_NOFOLLOW)
    flags = os.O_RDONLY | os.O_NONBLOCK | nofollow | getattr(os, "O_CLOEXEC", 0)
    try:
        _check_regular(dest, status(dest.path).st_mode)
        fd = os.open(dest.path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP and nofollow:
            raise _symlink_refused(dest) from None
        raise ExportError(f"Cannot read {dest.given}: {exc.strerror or exc}.") from None
    try:
        _check_regular(dest, os.fstat(fd).st_mode)
        raw = os.read(fd, limit) if limit >= 0 else _read_all(fd)
    except OSError as exc:
        raise ExportError(f"Cannot read {dest.given}: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)
    if not raw and dest.linked:
        raise _not_ours(
            dest,
            "it is an empty file reached through a symlink (an empty file counts as an empty "
            "export only when named directly)",
        )
    return raw


def _check_regular(dest: _Target, mode: int) -> None:
    if stat.S_ISLNK(mode):
        raise _symlink_refused(dest)
    if stat.S_ISDIR(mode):
        raise ExportError(f"{dest.given} is a folder; give a file path to --to.")
    if not stat.S_ISREG(mode):
        raise _not_ours(dest, "it is not a regular file (a device, FIFO or socket)")


def _read_all(fd: int) -> bytes:
    with os.fdopen(os.dup(fd), "rb") as handle:
        return handle.read()


def _read_file(dest: _Target, new_kinds: Mapping[str, Kind], key: str):
    """The target's rows and column kinds, or (None, {}) when there is no target yet."""
    raw = _read_target(dest)
    if raw is None:
        return None, {}, None
    if not raw:
        return None, {}, raw
    if dest.format == "csv":
        old, kinds = _read_csv(raw, new_kinds, dest, key)
    elif dest.format == "jsonl":
        old, kinds = _read_jsonl(raw, dest)
    else:
        old, kinds = _read_parquet(dest.path, dest)
    _check_ours(dest, list(old.columns), kinds, new_kinds, key)
    if old[key].isna().any() or old[key].duplicated().any():
        raise _not_ours(dest, f"its {key!r} column has missing or repeated values")
    return old, kinds, raw


# ---------------------------------------------------------------------------------------------
# Rendering


def _format_numbers(values: pd.Series) -> np.ndarray:
    """Shortest round-trip text of each number; integral values below 1e15 without ``.0``.

    Returns strings with "" for missing values.
    """
    arr = pd.to_numeric(values).to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype(str).to_numpy(dtype=object)
    out = np.array(list(map(repr, arr.tolist())), dtype=object)  # repr: shortest round-trip
    finite = np.isfinite(arr)
    integral = np.zeros(len(arr), dtype=bool)
    integral[finite] = (np.trunc(arr[finite]) == arr[finite]) & (np.abs(arr[finite]) < 1e15)
    out[integral] = arr[integral].astype(np.int64).astype(str)
    out[np.isnan(arr)] = ""
    return out


def _csv_cells(values: pd.Series, kind: Kind) -> pd.Series:
    if kind == "number":
        return pd.Series(_format_numbers(values), dtype=object)
    present = values.notna().to_numpy()
    if kind == "bool":
        text = np.where(values.to_numpy(dtype=object) == True, "true", "false")  # noqa: E712
        return pd.Series(np.where(present, text, ""), dtype=object)
    if kind == "empty":
        return pd.Series([""] * len(values), dtype=object)
    text = pd.Series(np.where(present, values.to_numpy(dtype=object), ""), dtype=object)
    return neutralise(text)


def _render_csv(frame: pd.DataFrame, kinds: Mapping[str, Kind], handle: IO[bytes]) -> None:
    header = _quote_csv(neutralise(pd.Series([str(c) for c in frame.columns], dtype=object)))
    handle.write((",".join(header) + "\n").encode("utf-8"))
    if not len(frame):
        return
    cells = [_quote_csv(_csv_cells(frame[c], kinds[c])) for c in frame.columns]
    lines = cells[0].str.cat(cells[1:], sep=",") if len(cells) > 1 else cells[0]
    handle.write((lines.str.cat(sep="\n") + "\n").encode("utf-8"))


def _quote_csv(cells: pd.Series) -> pd.Series:
    """RFC 4180 quoting: cells holding a comma, quote, CR or LF are quoted, quotes doubled."""
    s = cells.astype(str)
    needs = s.str.contains(r'[",\r\n]', regex=True).to_numpy()
    if not needs.any():
        return s.astype(object)
    quoted = '"' + s.str.replace('"', '""', regex=False) + '"'
    return s.where(~needs, quoted).astype(object)


def _json_fragments(values: pd.Series, kind: Kind) -> np.ndarray:
    if kind == "number":
        out = _format_numbers(values)
        if not pd.api.types.is_integer_dtype(values.dtype):
            arr = pd.to_numeric(values).to_numpy(dtype="float64", na_value=np.nan)
            out[~np.isfinite(arr)] = "null"  # JSON has no NaN nor infinity
        return out
    present = values.notna().to_numpy()
    if kind == "bool":
        text = np.where(values.to_numpy(dtype=object) == True, "true", "false")  # noqa: E712
        return np.where(present, text, "null").astype(object)
    if kind == "empty":
        return np.full(len(values), "null", dtype=object)
    out = np.full(len(values), "null", dtype=object)
    out[present] = [
        json.dumps(v, ensure_ascii=False) for v in values.to_numpy(dtype=object)[present]
    ]
    return out


def _render_jsonl(frame: pd.DataFrame, kinds: Mapping[str, Kind], handle: IO[bytes]) -> None:
    if not len(frame):
        return
    parts = []
    for column in frame.columns:
        name = json.dumps(str(column), ensure_ascii=False) + ":"
        parts.append(
            pd.Series(_json_fragments(frame[column], kinds[column]), dtype=object).radd(name)
        )
    lines = parts[0].str.cat(parts[1:], sep=",") if len(parts) > 1 else parts[0]
    body = "{" + lines.str.cat(sep="}\n{") + "}\n"
    handle.write(body.encode("utf-8"))


def _render_parquet(frame: pd.DataFrame, kinds: Mapping[str, Kind], handle: IO[bytes]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays, fields = [], []
    for column in frame.columns:
        kind, values = kinds[column], frame[column]
        if kind == "number":
            arr = pa.array(values.to_numpy(), from_pandas=True)
        elif kind == "bool":
            arr = pa.array(values.to_numpy(dtype=object), type=pa.bool_(), from_pandas=True)
        else:  # text, or a column with no value at all (kept as text)
            arr = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        arrays.append(arr)
        fields.append(pa.field(str(column), arr.type))
    marker = json.dumps({"format": "kpi-export", "version": 1}).encode()
    schema = pa.schema(fields, metadata={_PARQUET_MARKER: marker})
    table = pa.Table.from_arrays(arrays, schema=schema)
    pq.write_table(table, handle)


_RENDERERS: dict[str, Callable[[pd.DataFrame, Mapping[str, Kind], IO[bytes]], None]] = {
    "csv": _render_csv,
    "jsonl": _render_jsonl,
    "parquet": _render_parquet,
}


# ---------------------------------------------------------------------------------------------
# Locking and atomic file replacement


@contextlib.contextmanager
def _exclusive_lock(dest: _Target, timeout: float) -> Iterator[None]:
    """Hold ``flock(LOCK_EX)`` on ``TARGET.lock``, waiting up to ``timeout`` seconds."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        raise ExportError(
            "KPI exports need POSIX file locks (fcntl); not available here."
        ) from None
    folder = os.path.dirname(dest.path) or "."
    if not os.path.isdir(folder):
        raise ExportError(f"Cannot write {dest.given}: the folder {folder} does not exist.")
    fd = _open_lock_file(dest)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.005
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise ExportError(f"Cannot lock {dest.lock_path}: {exc.strerror}.") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = _lock_holder(fd)
                raise LockTimeoutError(
                    f"Another export{holder} is writing {dest.given}: gave up waiting for the "
                    f"lock {dest.lock_path} after {timeout:g} s. Nothing was written; try again "
                    "later or allow a longer --lock-timeout."
                )
            if not waiting:
                logger.info("waiting up to %g s for the lock %s", timeout, dest.lock_path)
                waiting = True
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.1)
        _record_holder(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _open_lock_file(dest: _Target) -> int:
    """Open (or create) ``TARGET.lock``: never through a symlink, only a regular file.

    O_NOFOLLOW: a symlink planted at the lock path would otherwise make us open (and write)
    whatever it points to; O_NONBLOCK: a FIFO there must not hang the open.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(dest.lock_path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            reason = "it is a symlink; remove it (the lock file must be a regular file)"
        else:
            reason = exc.strerror or str(exc)
        raise ExportError(f"Cannot open the lock file {dest.lock_path}: {reason}.") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ExportError(
            f"Cannot use the lock file {dest.lock_path}: it is not a regular file; remove it."
        )
    return fd


# The holder's process id, right-aligned in a fixed width so that rewriting it over an older
# (shorter) id never needs a truncate.
_PID_RECORD = 21
_PID_TEXT = re.compile(rb"\s*\d*\s*")


def _record_holder(fd: int) -> None:
    """Write our process id into the lock file (diagnostics only), never over foreign bytes.

    Only a file with one link that is empty or holds nothing but a process id is written to;
    the file is never truncated.
    """
    with contextlib.suppress(OSError):
        info = os.fstat(fd)
        if info.st_nlink != 1 or info.st_size > _PID_RECORD:
            return
        if not _PID_TEXT.fullmatch(os.pread(fd, _PID_RECORD, 0)):
            return
        os.pwrite(fd, f"{os.getpid():>{_PID_RECORD - 1}}\n".encode(), 0)


def _lock_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, _PID_RECORD, 0).decode().strip())
        return f" (process {pid})"
    return ""


def _temp_name(name: str) -> str:
    """The name of a temp file for target ``name``: ``.NAME.<12 hex digits>.tmp``."""
    return f".{name}.{secrets.token_hex(_TMP_TOKEN_BYTES)}{_TMP_SUFFIX}"


def _remove_stale_temps(dest: _Target) -> None:
    """Remove temp files of killed runs; safe because we hold the target's lock.

    Only names :func:`_temp_name` generates, and only regular files or dangling leftovers:
    ``.NAME.backup.tmp`` or anything else a person put there is left alone.
    """
    folder, name = os.path.split(dest.path)
    ours = re.compile(
        re.escape(f".{name}.") + f"[0-9a-f]{{{2 * _TMP_TOKEN_BYTES}}}" + re.escape(_TMP_SUFFIX)
    )
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return
    for entry in entries:
        if not ours.fullmatch(entry):
            continue
        stale = os.path.join(folder, entry)
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(stale).st_mode):
                os.unlink(stale)
                logger.info("removed %s left by an interrupted export", stale)


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same_content(path: str, raw: bytes | None) -> bool:
    if raw is None or os.path.getsize(path) != len(raw):
        return False
    with open(path, "rb") as handle:
        return handle.read() == raw


def _replace_atomically(
    dest: _Target, render: Callable[[IO[bytes]], None], old_raw: bytes | None
) -> bool:
    """Write via a temp file in the same folder, fsync, rename, fsync the folder.

    Returns False (and writes nothing) when the new content equals ``old_raw``.
    """
    folder, name = os.path.split(dest.path)
    tmp = os.path.join(folder, _temp_name(name))
    try:
        mode = os.stat(dest.path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    # O_EXCL: never follow or reuse someone else's file; 0o666 lets the umask decide as for
    # any new file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            render(handle)
            handle.flush()
            if _same_content(tmp, old_raw):
                os.unlink(tmp)
                return False
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # keep the target's permissions
        os.replace(tmp, dest.path)
        _fsync_dir(folder or ".")
        return True
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_file(
    dest: _Target,
    new: pd.DataFrame,
    kinds: dict[str, Kind],
    key: str,
    lock_timeout: float,
    frame: pd.DataFrame,
) -> ExportResult:
    with _exclusive_lock(dest, lock_timeout):
        _remove_stale_temps(dest)
        old, old_kinds, raw = _read_file(dest, kinds, key)
        if old is not None and "freq" in old.columns:
            _check_freq(dest, old["freq"].unique().tolist(), new)
        merged, merged_kinds, replaced = _merge(old, old_kinds, new, kinds, key)
        render = _RENDERERS[dest.format]
        try:
            changed = _replace_atomically(
                dest, lambda handle: render(merged, merged_kinds, handle), raw
            )
        except OSError as exc:
            raise ExportError(
                f"Cannot write {dest.given}: {exc.strerror or exc}. It was left as it was."
            ) from None
    result = ExportResult(
        target=dest.given,
        format=dest.format,
        table=None,
        keys=tuple(map(str, new[key].sort_values(kind="stable"))),
        added=len(new) - replaced,
        replaced=replaced,
        rows=len(merged),
        changed=changed,
        frame=frame,
    )
    _log_result(result)
    return result


def _log_result(result: ExportResult) -> None:
    where = result.target + (f" (table {result.table})" if result.table else "")
    if result.changed:
        logger.info(
            "wrote %s: %d row(s) added, %d replaced, %d in total",
            where, result.added, result.replaced, result.rows,
        )  # fmt: skip
    else:
        logger.info("%s already up to date (%d rows); left untouched", where, result.rows)


# ---------------------------------------------------------------------------------------------
# SQLite


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_kind(declared: str) -> Kind:
    """SQLite's type-affinity rules, reduced to our kinds."""
    d = declared.upper()
    if "INT" in d:
        return "number"
    if any(t in d for t in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if not d or "BLOB" in d:
        return "empty"
    return "number"  # REAL, FLOA, DOUB, NUMERIC...


def _sqlite_type(values: pd.Series, kind: Kind) -> str:
    if kind == "number":
        return "INTEGER" if pd.api.types.is_integer_dtype(values.dtype) else "REAL"
    if kind == "bool":
        return "INTEGER"
    return "TEXT"


def _python_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain Python values, NaN as None (SQLite NULL)."""
    columns = []
    for column in frame.columns:
        s = frame[column]
        values = s.astype(object).where(s.notna().to_numpy(), None).tolist()
        columns.append(values)
    return list(zip(*columns, strict=True)) if columns else []


def _write_sqlite(
    dest: _Target,
    table: str,
    new: pd.DataFrame,
    kinds: dict[str, Kind],
    key: str,
    lock_timeout: float,
    frame: pd.DataFrame,
) -> ExportResult:
    with _exclusive_lock(dest, lock_timeout):
        # Refuse a file that is not a database (or not a regular file) before SQLite touches it.
        head = _read_target(dest, len(_SQLITE_MAGIC))
        if head and head != _SQLITE_MAGIC:
            raise _not_ours(dest, "the file is not a SQLite database")
        try:
            con = sqlite3.connect(dest.path, timeout=lock_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise ExportError(f"Cannot open {dest.given}: {exc}.") from None
        try:
            result = _sqlite_upsert(con, dest, table, new, kinds, key, frame)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LockTimeoutError(
                    f"{dest.given} stayed locked by another SQLite client for more than "
                    f"{lock_timeout:g} s ({exc}). Nothing was written; try again later."
                ) from None
            raise ExportError(f"Cannot write {dest.given}: {exc}. Nothing was written.") from None
        except sqlite3.DatabaseError as exc:
            raise _not_ours(dest, f"SQLite says: {exc}") from None
        finally:
            con.close()
    _log_result(result)
    return result


def _sqlite_upsert(
    con: sqlite3.Connection,
    dest: _Target,
    table: str,
    new: pd.DataFrame,
    kinds: dict[str, Kind],
    key: str,
    frame: pd.DataFrame,
) -> ExportResult:
    q_table, q_key = _quote(table), _quote(key)
    con.execute("BEGIN IMMEDIATE")  # take the write lock before reading: no lost update
    try:
        info = con.execute(f"PRAGMA table_info({q_table})").fetchall()
        changed = False
        if not info:
            defs = [
                f"{_quote(c)} {_sqlite_type(new[c], kinds[c])}"
                + (" NOT NULL PRIMARY KEY" if c == key else "")
                for c in new.columns
            ]
            # WITHOUT ROWID: rows are stored (and read back) in key order.
            con.execute(f"CREATE TABLE {q_table} ({', '.join(defs)}) WITHOUT ROWID")
            columns = list(new.columns)
            changed = True
        else:
            columns = [row[1] for row in info]
            old_kinds = {row[1]: _sqlite_kind(row[2]) for row in info}
            check_kinds = {c: ("number" if k == "bool" else k) for c, k in kinds.items()}
            _check_ours(dest, columns, old_kinds, check_kinds, key, table)
            if "freq" in columns:
                freqs = [r[0] for r in con.execute(f'SELECT DISTINCT "freq" FROM {q_table}')]
                _check_freq(dest, freqs, new, table)
            for c in new.columns:
                if c not in columns:  # schema evolution: a new KPI column
                    con.execute(
                        f"ALTER TABLE {q_table} ADD COLUMN {_quote(c)} "
                        f"{_sqlite_type(new[c], kinds[c])}"
                    )
                    columns.append(c)
                    changed = True
        con.execute("CREATE TEMP TABLE _export_keys (k PRIMARY KEY)")
        con.executemany("INSERT INTO temp._export_keys VALUES (?)", _python_rows(new[[key]]))
        select = ", ".join(_quote(c) for c in columns)
        existing = con.execute(
            f"SELECT {select} FROM {q_table} WHERE {q_key} IN (SELECT k FROM temp._export_keys) "
            f"ORDER BY {q_key}"
        ).fetchall()
        ordered = new.iloc[np.argsort(new[key].to_numpy(dtype=object), kind="stable")]
        rows = _python_rows(ordered.reindex(columns=columns))
        changed = changed or existing != rows
        if changed:
            con.execute(
                f"DELETE FROM {q_table} WHERE {q_key} IN (SELECT k FROM temp._export_keys)"
            )
            marks = ", ".join("?" * len(columns))
            con.executemany(f"INSERT INTO {q_table} ({select}) VALUES ({marks})", rows)
        total = con.execute(f"SELECT COUNT(*) FROM {q_table}").fetchone()[0]
        if changed:
            con.execute("COMMIT")
        else:
            con.execute("ROLLBACK")  # nothing to change: leave the file byte-identical
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        with contextlib.suppress(sqlite3.Error):
            con.execute("DROP TABLE IF EXISTS temp._export_keys")
    return ExportResult(
        target=dest.given,
        format="sqlite",
        table=table,
        keys=tuple(map(str, ordered[key])),
        added=len(new) - len(existing),
        replaced=len(existing),
        rows=int(total),
        changed=changed,
        frame=frame,
    )
