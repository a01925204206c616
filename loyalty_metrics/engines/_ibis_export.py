"""What :func:`loyalty_metrics.export_kpis` needs of an engine besides the KPIs.

The tables are loaded once (a CSV is parsed once, then every query reads its typed temporary
table), and one query gives the order lines' first and last dates up to the as-of day and
the count of lines without a customer id, a date or an amount: the pandas readers reject
those lines (``--errors raise`` stops the export), an engine would count them silently, so
the export refuses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._window import ONE_DAY
from ..errors import DataValidationError
from ._backend import Engine, describe_source, load_table, resolve_engine
from ._ibis_kernel import _ts

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["EngineTables", "load_tables"]

#: The order columns a line cannot do without (the readers reject a line missing one).
_REQUIRED = ("customer_id", "order_date", "amount")


@dataclass
class EngineTables:
    """The export's input tables as tables of one engine (None where not given)."""

    engine: Engine
    tables: dict[str, ir.Table | None]
    sources: dict[str, Any]

    def order_span(self, end: pd.Timestamp | None) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first and last order dates on or before ``end`` (all when None; NaT when
        there are none). Raises DataValidationError when some order line lacks a customer
        id, a date or an amount."""
        lines = self.tables["orders"]
        assert lines is not None  # the export requires orders
        dates = lines.order_date
        upto = None if end is None else dates < _ts(end + ONE_DAY)
        fields: dict[str, Any] = {"first": dates.min(where=upto), "last": dates.max(where=upto)}
        for column in _REQUIRED:
            fields[column] = lines[column].isnull().sum()
        row = self.engine.backend.to_pyarrow(lines.aggregate(**fields)).to_pylist()[0]
        for column in _REQUIRED:
            missing = int(row[column] or 0)
            if missing:
                raise DataValidationError(
                    f"{describe_source(self.sources['orders'])}: {missing:,} order "
                    f"line{'s' if missing != 1 else ''} without {column}. The "
                    f"{self.engine.name} engine reads the lines as they are and cannot set "
                    "them aside: fix the file, or export with --engine pandas (--errors "
                    "reject leaves them out and counts guest lines as guest_revenue).",
                    source=describe_source(self.sources["orders"]),
                    table="orders",
                )
        return _stamp(row["first"]), _stamp(row["last"])


def _stamp(value: Any) -> pd.Timestamp:
    return pd.NaT if value is None else pd.Timestamp(value)


def load_tables(
    engine: Any,
    sources: Mapping[str, Any],
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> EngineTables:
    """Each given source (DataFrame, path or glob, engine table) as a table of ``engine``
    with its canonical columns; ``columns``: each table's mapping (canonical -> source)."""
    eng = resolve_engine(engine)
    mapping = dict(columns or {})
    tables = {
        name: None if source is None else load_table(eng, source, name, mapping.get(name))
        for name, source in sources.items()
    }
    return EngineTables(engine=eng, tables=tables, sources=dict(sources))
