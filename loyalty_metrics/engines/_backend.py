"""Connecting to an engine and turning the caller's inputs into Ibis tables of it.

Inputs may be pandas DataFrames (DuckDB scans them in place; Spark gets a DataFrame made
through Arrow), paths or globs of CSV/Parquet files (read by the engine itself), Ibis tables
of the engine, or Spark DataFrames. Whatever came in, the table handed on has the canonical
column names and types of ``schema.py``: ids as trimmed text, dates as timestamps, money and
numbers as float64, categories as text.

What the engine path does *not* do, unlike :func:`loyalty_metrics.read_orders`: no delimiter
or encoding sniffing (DuckDB sniffs the delimiter, Spark reads commas), no decimal comma, no
day-first dates (ISO dates only), no per-row validation and no rejected-rows report. Files
must use the canonical column names, or a ``columns=`` mapping (canonical -> file column).
A value the engine cannot cast is an error of the engine, not a named-row error.
"""

from __future__ import annotations

import functools
import glob
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ConfigError
from ..schema import TABLES

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

__all__ = ["Engine", "connect", "resolve_engine", "source_files"]

# Text the readers treat as a blank cell (io.py's null tokens, in their usual spellings).
_NULL_TOKENS = ["", "NA", "N/A", "n/a", "na", "NaN", "nan", "NULL", "null", "None", "none", "#N/A"]
# Columns no engine computation reads.
_UNUSED = {"orders": ("cost",), "surveys": ("segment", "comment")}
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
_KIND_TYPES = {
    "id": "string",
    "date": "timestamp",
    "money": "float64",
    "number": "float64",
    "nps_score": "float64",
    "csat_score": "float64",
    "duration": "float64",
    "category": "string",
    "text": "string",
    "bool": "boolean",
}


@dataclass
class Engine:
    """An Ibis backend and the name of its kind (``duckdb``, ``pyspark`` or another)."""

    backend: BaseBackend
    name: str

    @property
    def is_duckdb(self) -> bool:
        return self.name == "duckdb"

    @property
    def is_spark(self) -> bool:
        return self.name == "pyspark"

    def execute(self, expr: ir.Expr) -> Any:
        return self.backend.execute(expr)


def connect(
    name: str = "duckdb",
    *,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    master: str | None = None,
    config: Mapping[str, str] | None = None,
) -> BaseBackend:
    """A connected Ibis backend to pass as ``engine=``.

    Parameters
    ----------
    name : {"duckdb", "spark"}
        The engine.
    memory_limit, temp_directory, threads
        DuckDB settings: the memory it may use (``"4GB"``), where it spills beyond that, and
        its worker threads.
    master, config
        Spark: the master URL of a new session (default ``local[*]``, ignored when a session
        is active) and extra ``spark.*`` settings.

    Returns
    -------
    ibis.backends.BaseBackend
        An Ibis backend (DuckDB in memory, or PySpark on the active or a new session).

    Examples
    --------
    >>> import pandas as pd
    >>> import loyalty_metrics as lm
    >>> con = connect("duckdb", memory_limit="1GB")
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
    ...     "amount": [10.0, 20.0, 5.0],
    ... })
    >>> float(lm.kpis(orders, engine=con)["repeat_purchase_rate"])  # a bought twice, b once
    50.0

    A Parquet folder works the same way: ``lm.kpis("orders/*.parquet", engine=con)``.
    """
    if name == "duckdb":
        import ibis

        settings: dict[str, Any] = {}
        if memory_limit is not None:
            settings["memory_limit"] = str(memory_limit)
        if temp_directory is not None:
            settings["temp_directory"] = os.fspath(temp_directory)
        if threads is not None:
            settings["threads"] = int(threads)
        return ibis.duckdb.connect(**settings)
    if name == "spark":
        import ibis
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is None:
            builder = SparkSession.builder.master(master or "local[*]").appName("loyalty_metrics")
            settings = {"spark.ui.enabled": "false", "spark.sql.session.timeZone": "UTC"}
            settings.update(config or {})
            for key, value in settings.items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
        return ibis.pyspark.connect(session)
    raise ConfigError(
        "The 'engine' parameter must be one of {'pandas', 'duckdb', 'spark'} or a connected "
        f"Ibis backend. Got {name!r} instead."
    )


def resolve_engine(engine: Any) -> Engine:
    """The :class:`Engine` for an ``engine=`` argument (a name or an Ibis backend)."""
    if isinstance(engine, Engine):
        return engine
    if isinstance(engine, str):
        backend = connect(engine)
    else:
        from ibis.backends import BaseBackend

        if not isinstance(engine, BaseBackend):
            raise ConfigError(
                "The 'engine' parameter must be one of {'pandas', 'duckdb', 'spark'} or a "
                f"connected Ibis backend. Got {type(engine).__name__} instead."
            )
        backend = engine
    return Engine(backend=backend, name=backend.name)


# ---------------------------------------------------------------------------------------------
# Inputs.


def load_table(
    engine: Engine,
    source: Any,
    table: str,
    columns: Mapping[str, str] | None = None,
    *,
    only: tuple[str, ...] | None = None,
) -> ir.Table:
    """``source`` as an Ibis table of ``engine`` with the canonical columns of ``table``.

    CSV text is parsed and cast once, into a temporary table of the engine (DuckDB spills it
    to its temp directory beyond its memory limit; Spark caches it): every query after that
    reads typed columns instead of parsing the file again. DataFrames and Parquet are read
    where they lie. ``only``: keep just these canonical columns (those present).
    """
    raw = _raw_table(engine, source, table)
    canonical = _canonical(raw, table, columns)
    if only is not None:
        canonical = canonical.select(*[c for c in only if c in canonical.columns])
    if not _is_csv(source):
        return canonical
    if engine.is_spark:
        return canonical.cache()
    return engine.backend.create_table(temp_name(), canonical, temp=True)


def _is_csv(source: Any) -> bool:
    if not isinstance(source, str | os.PathLike):
        return False
    return _kind(source_files(os.fspath(source))[0]) == "csv"


def _raw_table(engine: Engine, source: Any, table: str) -> ir.Table:
    import ibis.expr.types as ir

    if isinstance(source, ir.Table):
        return source
    if isinstance(source, pd.DataFrame):
        return _from_frame(engine, source)
    if isinstance(source, str | os.PathLike):
        return _from_path(engine, os.fspath(source), table)
    if engine.is_spark and type(source).__name__ == "DataFrame" and hasattr(source, "rdd"):
        name = temp_name()
        source.createOrReplaceTempView(name)
        return engine.backend.table(name)
    raise ConfigError(
        f"The {table} input must be a DataFrame, a path or glob of CSV/Parquet files, or a "
        f"table of the engine. Got {type(source).__name__} instead."
    )


def temp_name() -> str:
    return f"loyalty_{uuid.uuid4().hex[:12]}"


def _from_frame(engine: Engine, frame: pd.DataFrame) -> ir.Table:
    name = temp_name()
    if engine.is_duckdb:
        # DuckDB scans the DataFrame where it lies (a view, no copy through Arrow).
        engine.backend.con.register(name, frame)
        return engine.backend.table(name)
    plain = frame.copy(deep=False)
    for column in plain.columns:  # categoricals travel as text
        if isinstance(plain[column].dtype, pd.CategoricalDtype):
            plain[column] = plain[column].astype("str").where(plain[column].notna(), None)
    if engine.is_spark:
        session = engine.backend._session
        session.createDataFrame(plain).createOrReplaceTempView(name)
        return engine.backend.table(name)
    return engine.backend.create_table(name, plain, temp=True)


def source_files(path: str) -> list[str]:
    """The CSV or Parquet files a path, folder or glob names (sorted), as the engine reads them."""
    if os.path.isdir(path):
        found = sorted(
            p for p in glob.glob(os.path.join(path, "**", "*"), recursive=True) if _kind(p)
        )
    elif glob.has_magic(path):
        found = sorted(glob.glob(path, recursive=True))
    else:
        found = [path] if os.path.exists(path) else []
    if not found:
        raise ConfigError(f"No CSV or Parquet file found at {path!r}.")
    kinds = {_kind(p) for p in found}
    if len(kinds) != 1 or None in kinds:
        raise ConfigError(
            f"{path!r} must name CSV or Parquet files of one kind; found {sorted(map(str, kinds))}."
        )
    return found


def _kind(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(_PARQUET):
        return "parquet"
    if lower.endswith(_CSV):
        return "csv"
    return None


def _from_path(engine: Engine, path: str, table: str) -> ir.Table:
    files = source_files(path)
    backend = engine.backend
    if _kind(files[0]) == "parquet":
        return backend.read_parquet(files if len(files) > 1 else files[0])
    target = files if len(files) > 1 else files[0]
    if engine.is_duckdb:
        return backend.read_csv(target, all_varchar=True, nullstr=_NULL_TOKENS, header=True)
    if engine.is_spark:
        return backend.read_csv(target, header=True, inferSchema=False)
    return backend.read_csv(target)


def _canonical(raw: ir.Table, table: str, columns: Mapping[str, str] | None) -> ir.Table:
    """Rename to canonical names and cast each column as its kind says."""
    schema = TABLES[table]
    mapping = dict(columns or {})
    unknown = sorted(set(mapping) - set(schema.columns) - {"unit_price"})
    if unknown:
        raise ConfigError(f"columns= names unknown {table} columns: {unknown}.")
    source_of = {c: mapping.get(c, c) for c in [*schema.columns, "unit_price"]}
    present = {c: s for c, s in source_of.items() if s in raw.columns}
    if (
        table == "orders"
        and "amount" not in present
        and {"quantity", "unit_price"} <= set(present)
    ):
        qty = _cast(raw[present["quantity"]], "number")
        price = _cast(raw[present["unit_price"]], "money")
        exprs = {"amount": (qty * price)}
    else:
        exprs = {}
    missing = [c for c in schema.required if c not in present and c not in exprs]
    if missing:
        raise ConfigError(
            f"The {table} table has no column {missing[0]!r} (found {list(raw.columns)}); "
            "the engine path needs canonical column names or a columns= mapping."
        )
    for name, column in schema.columns.items():
        if name in present and name not in exprs and name not in _UNUSED.get(table, ()):
            exprs[name] = _cast(raw[present[name]], column.kind)
    if table == "orders" and "category" in exprs:
        exprs.pop("product_id", None)  # categories come from category when there is one
    order = [c for c in schema.columns if c in exprs]
    return raw.select(**{c: exprs[c].name(c) for c in order})


def _cast(value: ir.Column, kind: str) -> ir.Column:
    import ibis

    target = _KIND_TYPES[kind]
    dtype = value.type()
    if kind == "id":
        if dtype.is_floating():  # 17850.0 -> "17850", as the readers do
            whole = value == value.round()
            return ibis.ifelse(whole, value.cast("int64").cast("string"), value.cast("string"))
        return _trim()(value.cast("string")).nullif("")
    if kind in ("category", "text"):
        return _trim()(value.cast("string")).nullif("")
    if kind == "date":
        if dtype.is_timestamp():
            return value.cast("timestamp") if dtype.timezone is None else value
        if dtype.is_date():
            return value.cast("timestamp")
        return value.cast("timestamp")  # the engines' casts ignore surrounding blanks
    return value.cast(target)


@functools.cache
def _trim() -> Any:
    """The engine's own ``trim`` (spaces): Ibis' ``strip`` names every whitespace character,
    which makes DuckDB three times slower on a large CSV."""
    import ibis

    @ibis.udf.scalar.builtin(name="trim")
    def trim(value: str) -> str:  # type: ignore[empty-body]  # pragma: no cover - a declaration, run by the engine
        ...

    return trim


def describe_source(source: Any) -> str:
    """A short name of an input for messages."""
    if isinstance(source, str | Path):
        return os.fspath(source)
    return type(source).__name__
