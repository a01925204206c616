"""``loyalty.toml``: column mappings, reader options and metric options, loaded and checked.

A config file has one table per input (``[orders]``, ``[surveys]``, ``[events]``, ``[spend]``,
``[customers]``, ``[points]``) and the tables ``[metrics]``, ``[report]``, ``[cancellations]``,
``[export]`` and ``[engine]``::

    [orders]
    file = "exports/orders_2024.csv"      # relative to the config file's folder
    sep = ";"
    decimal = ","
    dayfirst = true
    [orders.columns]                      # canonical name = column in the file
    customer_id = "Kundennummer"
    order_date = "Datum"
    amount = "Betrag"

    [metrics]
    currency = "EUR"
    margin = 0.35
    churn_period = "365D"
    key_actions = ["purchase", "review"]
    nps_method = "adjusted-wald"
    point_value = 0.01                    # the points programme
    tier_thresholds = {silver = 500, gold = 2000}
    tier_lookback = "365D"
    cost_channel = "loyalty"              # spend channel of the programme's running costs

    [report]
    title = "Loyalty, week 12"

    [engine]                              # where the CLI computes (default: pandas)
    name = "duckdb"
    memory_limit = "4GB"
    temp_directory = "/tmp/duckdb-spill"

Every key is checked: an unknown key is a :class:`~loyalty_metrics.errors.ConfigError` that
names the key and its table and suggests the closest known key. The ``[metrics]`` table is
read as one :class:`~loyalty_metrics.MetricOptions` (``MetricOptions.from_config(config)``),
whose fields have the same names: every layer passes that object, no key is translated.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .schema import TABLES

__all__ = ["CONFIG_KEYS", "INPUT_KEYS", "load_config"]

Check = Callable[[Any], Any]


# ---------------------------------------------------------------------------------------------
# Value checks: each returns the (normalised) value or raises ValueError with what is expected.


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a string")
    return value


def _non_empty_string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a non-empty string")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _number(low: float | None = None, high: float | None = None, *, open_low: bool = False):
    def check(value: Any) -> float:
        # bool is an int subclass; ``margin = true`` is a mistake, not 1.0.
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ValueError(_describe_range(low, high, open_low))
        value = float(value)
        too_low = low is not None and (value <= low if open_low else value < low)
        too_high = high is not None and value > high
        if too_low or too_high:
            raise ValueError(_describe_range(low, high, open_low))
        return value

    return check


def _describe_range(low: float | None, high: float | None, open_low: bool) -> str:
    if low is not None and high is not None:
        return f"a number {'above' if open_low else 'from'} {low:g} {'up ' if open_low else ''}to {high:g}"
    if low is not None:
        return f"a number {'above' if open_low else 'of at least'} {low:g}"
    return "a number"


_PERIOD = re.compile(r"^\s*\d+\s*(D|W|M|MS|ME|Q|QE|QS|Y|YE|YS)\s*$", re.IGNORECASE)


def _period(value: Any) -> str:
    """A look-back length such as ``"365D"``, ``"12W"``, ``"3M"`` or ``"1Y"``."""
    if not isinstance(value, str) or not _PERIOD.match(value):
        raise ValueError('a length such as "365D", "12W", "3M" or "1Y"')
    return value.strip()


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError('a list of strings, e.g. ["purchase", "review"]')
    return list(value)


def _sheet(value: Any) -> str | int:
    """An Excel sheet: its name, or its 0-based number."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError('a sheet name such as "Orders" or a 0-based sheet number')


def _fixed_span(value: Any) -> str:
    """A fixed length of time such as ``"30D"``, ``"12h"`` or ``"2W"`` (no months)."""
    import pandas as pd

    try:
        ok = isinstance(value, str) and pd.Timedelta(value) > pd.Timedelta(0)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError('a fixed length such as "30D", "12h" or "2W"')
    return value.strip()


def _match_columns(value: Any) -> list[str]:
    allowed = ("customer_id", "product_id", "category")
    if (
        not isinstance(value, list)
        or "customer_id" not in value
        or not all(v in allowed for v in value)
    ):
        raise ValueError(
            'a list holding "customer_id" and any of "product_id", "category", e.g. '
            '["customer_id", "product_id"]'
        )
    return list(value)


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError("one of " + ", ".join(repr(c) for c in choices))
        return value

    return check


def _weights(*names: str) -> Check:
    """Weights given as a list in ``names`` order or as a table keyed by ``names``."""

    def check(value: Any) -> dict[str, float]:
        expected = (
            f"a list of {len(names)} non-negative numbers or a table with keys " + ", ".join(names)
        )
        if isinstance(value, list):
            if len(value) != len(names):
                raise ValueError(expected)
            value = dict(zip(names, value, strict=True))
        if not isinstance(value, dict):
            raise ValueError(expected)
        unknown = [k for k in value if k not in names]
        if unknown:
            raise _UnknownKey(unknown[0], names)
        out = {}
        for name in names:
            if name not in value:
                raise ValueError(expected)
            weight = value[name]
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                raise ValueError(expected)
            out[name] = float(weight)
        if sum(out.values()) <= 0:
            raise ValueError(expected + " (not all zero)")
        return out

    return check


def _tier_thresholds(value: Any) -> dict[str, float]:
    """Tier name -> minimum trailing revenue, distinct minimums."""
    expected = (
        "a table of tier names and distinct minimum revenues, e.g. {silver = 500, gold = 2000}"
    )
    if not isinstance(value, dict) or not value:
        raise ValueError(expected)
    out = {}
    for name, minimum in value.items():
        if isinstance(minimum, bool) or not isinstance(minimum, int | float):
            raise ValueError(expected)
        if math.isnan(minimum) or math.isinf(minimum):
            raise ValueError(expected)
        out[name] = float(minimum)
    if len(set(out.values())) < len(out):
        raise ValueError(expected)
    return out


class _UnknownKey(Exception):
    def __init__(self, key: str, known: tuple[str, ...] | list[str]) -> None:
        super().__init__(key)
        self.key = key
        self.known = tuple(known)


# ---------------------------------------------------------------------------------------------
# The schema.

#: Keys of an input table (``[orders]``, ``[surveys]``...): the reader options.
INPUT_KEYS: dict[str, Check] = {
    "file": _non_empty_string,
    "columns": dict,  # checked against the table's canonical columns below
    "sep": _non_empty_string,
    "decimal": _non_empty_string,
    "thousands": _string,
    "encoding": _non_empty_string,
    "dayfirst": _bool,
    "date_format": _non_empty_string,
    "sheet": _sheet,
}

#: Every table of ``loyalty.toml`` and the check of each of its keys.
CONFIG_KEYS: dict[str, dict[str, Check]] = {
    **{table: INPUT_KEYS for table in TABLES},
    "metrics": {
        "currency": _non_empty_string,
        "churn_period": _period,
        "margin": _number(0.0, 1.0, open_low=True),
        "lifespan_years": _number(0.0, open_low=True),
        "max_lifespan_years": _number(0.0, open_low=True),
        "key_actions": _string_list,
        "engagement_window": _period,
        "engagement_weights": _weights("frequency", "time", "actions"),
        "nps_method": _one_of("adjusted-wald", "wald"),
        "annual_discount_rate": _number(0.0, 1.0),
        "cli_weights": _weights("nps", "repeat_purchase_rate", "upsell_share"),
        "cli_nps_scale": _one_of("points", "percent"),
        "point_value": _number(0.0),
        "tier_thresholds": _tier_thresholds,
        "tier_lookback": _period,
        "cost_channel": _non_empty_string,
    },
    "report": {"title": _non_empty_string},
    # link cancellation lines to the orders they reverse (loyalty_metrics.link_cancellations)
    "cancellations": {"within": _fixed_span, "by": _match_columns},
    "export": {
        "table": _non_empty_string,
        "lock_timeout": _number(0.0),
        "errors": _one_of("raise", "reject"),
    },
    # where the CLI computes (DESIGN section 7); the DuckDB and Spark settings of engines.connect
    "engine": {
        "name": _one_of("pandas", "duckdb", "spark"),
        "memory_limit": _non_empty_string,
        "temp_directory": _non_empty_string,
        "threads": _number(1.0),
        "spark_master": _non_empty_string,
        "spark_config": dict,
    },
}


def load_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read and check a ``loyalty.toml`` file.

    Parameters
    ----------
    path : path-like
        The TOML file.

    Returns
    -------
    dict
        ``{table: {key: value}}`` for the tables present in the file. Values are checked and
        normalised: numbers are floats and weights are tables keyed by component. An input's
        ``file`` is kept as written (the readers resolve it against the data folder, else the
        config file's folder).

    Raises
    ------
    ConfigError
        For invalid TOML (with its line), an unknown table or key (naming it, its table and the
        closest known key), or a value of the wrong type or range.
    FileNotFoundError
        When ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "loyalty.toml").write_text('[metrics]\\nmargin = 0.4\\ncurrency = "EUR"\\n')
    >>> load_config(folder / "loyalty.toml")
    {'metrics': {'margin': 0.4, 'currency': 'EUR'}}
    >>> _ = (folder / "bad.toml").write_text('[metrics]\\ncurency = "EUR"\\n')
    >>> load_config(folder / "bad.toml")
    Traceback (most recent call last):
    ...
    loyalty_metrics.errors.ConfigError: bad.toml: unknown key 'curency' in [metrics]; did you mean 'currency'? ...
    """
    path = Path(path)
    with path.open("rb") as handle:
        try:
            raw = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    return check_config(raw, source=path.name)


def check_config(
    raw: dict[str, Any], *, source: str = "loyalty.toml"
) -> dict[str, dict[str, Any]]:
    """Check a config already parsed into a dict (see :func:`load_config`).

    Examples
    --------
    >>> check_config({"report": {"title": "Q1"}})
    {'report': {'title': 'Q1'}}
    """
    out: dict[str, dict[str, Any]] = {}
    for table, values in raw.items():
        if table not in CONFIG_KEYS:
            raise ConfigError(_unknown_table_message(source, table, values))
        if not isinstance(values, dict):
            raise ConfigError(
                f"{source}: [{table}] must be a table, e.g. [{table}] on its own line."
            )
        out[table] = _check_table(table, values, source=source)
    return out


def _check_table(table: str, values: dict[str, Any], *, source: str) -> dict[str, Any]:
    keys = CONFIG_KEYS[table]
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in keys:
            raise ConfigError(_unknown_key_message(source, key, f"[{table}]", tuple(keys)))
        if key == "columns":
            out[key] = _check_columns(table, value, source=source)
            continue
        try:
            checked = keys[key](value)
        except _UnknownKey as exc:
            raise ConfigError(
                _unknown_key_message(source, exc.key, f"[{table}.{key}]", exc.known)
            ) from None
        except ValueError as exc:
            raise ConfigError(f"{source}: [{table}] {key} must be {exc}; got {value!r}.") from None
        out[key] = checked
    return out


def _check_columns(table: str, value: Any, *, source: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{source}: [{table}] columns must be a table mapping canonical names to the file's "
            f'column names, e.g. [{table}.columns] customer_id = "Customer No"; got {value!r}.'
        )
    canonical = tuple(TABLES[table].columns)
    out = {}
    for key, column in value.items():
        if key not in canonical:
            raise ConfigError(_unknown_key_message(source, key, f"[{table}.columns]", canonical))
        if not isinstance(column, str) or not column:
            raise ConfigError(
                f"{source}: [{table}.columns] {key} must be the name of a column in the file "
                f"(a string); got {column!r}."
            )
        out[key] = column
    return out


def _unknown_key_message(source: str, key: str, where: str, known: tuple[str, ...]) -> str:
    message = f"{source}: unknown key {key!r} in {where}"
    match = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if match:
        message += f"; did you mean {match[0]!r}?"
    else:
        message += "."
    return message + " Known keys: " + ", ".join(known) + "."


def _unknown_table_message(source: str, table: str, values: Any) -> str:
    if not isinstance(values, dict):
        # A bare key at the top level: maybe it belongs in a table.
        homes = [t for t, keys in CONFIG_KEYS.items() if table in keys and keys is not INPUT_KEYS]
        message = f"{source}: unknown top-level key {table!r}"
        if homes:
            return message + f"; it belongs in [{homes[0]}]."
        return (
            message + ". Keys go inside a table: " + ", ".join(f"[{t}]" for t in CONFIG_KEYS) + "."
        )
    message = f"{source}: unknown table [{table}]"
    match = difflib.get_close_matches(table, tuple(CONFIG_KEYS), n=1, cutoff=0.6)
    if match:
        message += f"; did you mean [{match[0]}]?"
    else:
        message += "."
    return message + " Known tables: " + ", ".join(f"[{t}]" for t in CONFIG_KEYS) + "."
