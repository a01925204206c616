"""The canonical tables: their columns, dtypes and validation rules, declared once.

Every other module refers to columns through the names here. A reader maps a file's own
column names onto these, parses each column by its :class:`Kind`, and applies the rules.

Examples
--------
>>> TABLES["orders"].required
('customer_id', 'order_date', 'amount')
>>> TABLES["surveys"].columns["score"].kind
'nps_score'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DERIVED", "POINT_TYPES", "TABLES", "TABLE_NAMES", "Column", "Kind", "TableSchema"]

#: How a column is parsed and checked.
#: ``id``: string, whitespace stripped; ``date``: datetime64[ns]; ``money``/``number``: float64;
#: ``nps_score``: integer 0-10 (stored as float64 so NaN can mark a missing one);
#: ``csat_score``: integer 1-5; ``duration``: float64 seconds >= 0; ``category``: categorical;
#: ``text``: free text (string); ``bool``: boolean (true/false, yes/no, 1/0, y/n).
Kind = Literal[
    "id",
    "date",
    "money",
    "number",
    "nps_score",
    "csat_score",
    "duration",
    "category",
    "text",
    "bool",
]


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, kind and whether a blank value is allowed."""

    name: str
    kind: Kind
    required: bool = False
    nullable: bool = True


@dataclass(frozen=True)
class TableSchema:
    """A canonical table: name, file stem and columns in canonical order."""

    name: str
    columns: dict[str, Column] = field(default_factory=dict)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the columns every input must have."""
        return tuple(c.name for c in self.columns.values() if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        """Names of the columns an input may have."""
        return tuple(c.name for c in self.columns.values() if not c.required)


def _table(name: str, *columns: Column) -> TableSchema:
    return TableSchema(name=name, columns={c.name: c for c in columns})


TABLES: dict[str, TableSchema] = {
    "orders": _table(
        "orders",
        Column("customer_id", "id", required=True, nullable=False),
        Column("order_date", "date", required=True, nullable=False),
        Column("amount", "money", required=True, nullable=False),
        Column("order_id", "id"),
        Column("category", "category"),
        Column("product_id", "id"),
        Column("quantity", "number"),
        Column("unit_price", "money"),
        Column("cost", "money"),
        Column("channel", "category"),
        # the order id a cancellation line reverses (see loyalty_metrics.link_cancellations)
        Column("cancels", "id"),
    ),
    "surveys": _table(
        "surveys",
        # A blank customer_id is an anonymous response, valid in surveys only.
        Column("customer_id", "id"),
        Column("response_date", "date"),
        # score may be blank only on a row that carries a csat answer (a CSAT-only response).
        Column("score", "nps_score", required=True),
        Column("csat", "csat_score"),
        Column("segment", "category"),
        Column("comment", "text"),
    ),
    "events": _table(
        "events",
        Column("customer_id", "id", required=True, nullable=False),
        Column("timestamp", "date", required=True, nullable=False),
        Column("event_type", "category", required=True, nullable=False),
        Column("duration", "duration"),
    ),
    "spend": _table(
        "spend",
        Column("date", "date", required=True, nullable=False),
        Column("amount", "money", required=True, nullable=False),
        Column("channel", "category"),
    ),
    "customers": _table(
        "customers",
        Column("customer_id", "id", required=True, nullable=False),
        Column("signup_date", "date"),
        Column("acquisition_channel", "category"),
        Column("is_member", "bool"),
        Column("member_since", "date"),
        Column("tier", "category"),
        Column("referred_by", "id"),
    ),
    # The loyalty-programme ledger, one row per movement; type and sign rules: POINT_TYPES.
    "points": _table(
        "points",
        Column("customer_id", "id", required=True, nullable=False),
        Column("date", "date", required=True, nullable=False),
        Column("points", "number", required=True, nullable=False),
        Column("type", "category", required=True, nullable=False),
        Column("order_id", "id"),
        Column("note", "text"),
    ),
}

#: Required columns an input may leave out when it has the columns they are computed from:
#: ``amount = quantity * unit_price`` (DESIGN §2; when both exist, ``amount`` wins).
DERIVED: dict[str, dict[str, tuple[str, ...]]] = {"orders": {"amount": ("quantity", "unit_price")}}

#: The movement types of the points ledger (read case-insensitively) and the sign each
#: type's ``points`` must have: +1 (>= 0), -1 (<= 0) or 0 (either).
POINT_TYPES: dict[str, int] = {"earn": 1, "redeem": -1, "expire": -1, "adjust": 0}

#: The canonical table names, which are also the data folder's file stems (``orders.csv``...).
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)

#: Tolerance for "net amount >= 0": sums of decimal amounts are inexact in floating point.
AMOUNT_TOLERANCE = 1e-6

#: The dates the computations handle (inclusive, ISO). pandas timestamps end at 1677-09-21 and
#: 2262-04-11, and a difference of two must stay under 292 years (pandas.Timedelta); with
#: room for look-backs (churn, cohorts) and horizons (CLV), a date outside this range is
#: refused (a reader rejects it, an option exits 2).
DATE_RANGE: tuple[str, str] = ("1900-01-01", "2100-12-31")

#: The largest amount of money (in absolute value) a row may hold. Sums of amounts near the
#: float limit (1e308) overflow to infinity; no real order line comes near a quadrillion.
AMOUNT_LIMIT = 1e15

#: Score scales: kind -> (lowest, highest, label in messages). Scores are integers.
SCORE_SCALES: dict[str, tuple[int, int, str]] = {
    "nps_score": (0, 10, "NPS score"),
    "csat_score": (1, 5, "CSAT"),
}
