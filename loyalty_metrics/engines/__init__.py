"""Engines: the summary, KPIs and cohorts computed inside DuckDB, Spark or any Ibis backend.

DESIGN section 7. The relational expressions are written once with Ibis (the order kernel
and the summary in ``_ibis_kernel.py``, the KPI aggregates in ``_ibis_kpis.py``, the cohort
cells in ``_ibis_cohorts.py``) and run wherever the data is; only results come back: O(1)
for :func:`kpis`, O(periods) for :func:`kpis_by_period`, O(cohorts x periods) for
:func:`cohort_table`, O(customers) for :func:`customer_summary` (or an engine table with
``keep=True``). The public functions of the library call these when given
``engine="duckdb"``, ``engine="spark"`` or a connected Ibis backend; nothing here is
imported by ``import loyalty_metrics``, and Ibis, DuckDB and PySpark are imported on first use.

Inputs may be DataFrames, paths or globs of CSV/Parquet files, or tables of the engine. See
``_backend.py`` for what the engine path does not validate.
"""

from __future__ import annotations

from ._backend import Engine, connect, resolve_engine, source_files
from ._ibis_cohorts import cohort_status, cohort_table
from ._ibis_export import EngineTables, load_tables
from ._ibis_kpis import kpis, kpis_by_period
from ._ibis_models import rfm_counts
from ._ibis_summary import count_lines, customer_summary, order_window, purchases_by_customer

__all__ = [
    "Engine",
    "EngineTables",
    "cohort_status",
    "cohort_table",
    "connect",
    "count_lines",
    "customer_summary",
    "kpis",
    "kpis_by_period",
    "load_tables",
    "order_window",
    "purchases_by_customer",
    "resolve_engine",
    "rfm_counts",
    "source_files",
]
