"""``docs/config.md``: the ``loyalty.toml`` reference, generated from the config schema.

Run ``python -m loyalty_metrics._config_reference > docs/config.md`` (``make docs``). Every key
of :data:`loyalty_metrics.config.CONFIG_KEYS` needs an entry in :data:`KEY_HELP` (a test checks,
and runs each example through the config checks), so the reference never drifts from the code.
"""

from __future__ import annotations

from .config import CONFIG_KEYS, INPUT_KEYS
from .schema import DERIVED, TABLES

__all__ = ["KEY_HELP", "config_reference"]

#: Table -> key -> (example value as TOML, what it means). Input tables share ``"<input>"``.
KEY_HELP: dict[str, dict[str, tuple[str, str]]] = {
    "<input>": {
        "file": (
            '"exports/orders_2024.csv"',
            "The file to read (CSV, CSV.gz, TSV, Parquet, .xlsx/.xls). Relative paths are "
            "looked up in the data folder, then next to loyalty.toml. Default: "
            "`<table>.csv` (or another known extension) in the data folder.",
        ),
        "columns": (
            '{ customer_id = "Kundennummer", order_date = "Datum" }',
            "Canonical column = the file's column name. Usually written as its own table "
            "(`[orders.columns]`). Unmapped columns are found by name (case, spaces, `-`, `.` "
            "ignored), then by their usual spellings (`InvoiceNo`, `CustomerID`, `Qty`...). "
            "`loyalty validate` prints a ready table for your files.",
        ),
        "sep": (
            '";"',
            "Field delimiter: one character. Default: sniffed among comma, semicolon, tab, pipe.",
        ),
        "decimal": ('","', 'Decimal mark, `"."` or `","`. Default: decided from the numbers.'),
        "thousands": (
            '"."',
            'Thousands separator; `""` for none. Default: recognised in 3-digit groups.',
        ),
        "encoding": (
            '"cp1250"',
            "Any Python codec name. Default: UTF-8 (with or without BOM), else cp1252.",
        ),
        "dayfirst": (
            "true",
            "Day before month in dates such as `05/03/2024`. Default: decided per column.",
        ),
        "date_format": ('"%d.%m.%Y"', "An explicit strptime format for every date column."),
        "sheet": (
            '"Orders"',
            "Excel only: the sheet's name or 0-based number. Default: the first.",
        ),
    },
    "metrics": {
        "currency": ('"EUR"', "Currency code shown next to money in reports (display only)."),
        "churn_period": (
            '"365D"',
            "Churn's period p: customers of (end - 2p, end - p] who did not buy in "
            "(end - p, end]. A length such as `90D`, `12W`, `3M`, `1Y`.",
        ),
        "margin": ("0.35", "Profit share of revenue for CLV, above 0 up to 1. Default 1."),
        "lifespan_years": (
            "3",
            "Customer lifespan for the simple CLV. Default: 1 / yearly churn, capped.",
        ),
        "max_lifespan_years": ("5", "Cap of the estimated lifespan. Default 5."),
        "key_actions": (
            '["purchase", "review"]',
            "Event types that count as key actions in the engagement score. Default: all.",
        ),
        "engagement_window": ('"90D"', "Look-back of the engagement score. Default 90D."),
        "engagement_weights": (
            "{ frequency = 1, time = 1, actions = 2 }",
            "Weights of the engagement components (or a list of three). Default: equal.",
        ),
        "nps_method": (
            '"adjusted-wald"',
            'NPS interval: `"adjusted-wald"` (default) or `"wald"`.',
        ),
        "annual_discount_rate": (
            "0.10",
            "Yearly discount rate of predictive CLV, 0 to 1. Default 0.10.",
        ),
        "cli_weights": (
            "[2, 1, 1]",
            "Weights of NPS, repeat-purchase rate and upsell share in the Customer Loyalty "
            "Index (or a table keyed by those names). Default: equal.",
        ),
        "cli_nps_scale": (
            '"points"',
            'NPS in the index on its own -100..100 scale (`"points"`) or rescaled to 0..100 '
            '(`"percent"`).',
        ),
        "point_value": ("0.01", "Money value of one loyalty point (points liability). Default 1."),
        "tier_thresholds": (
            "{ silver = 500, gold = 2000 }",
            "Tier name = minimum net revenue over the tier look-back (distinct minimums).",
        ),
        "tier_lookback": ('"365D"', "Look-back of the tier thresholds. Default 365D."),
        "cost_channel": (
            '"loyalty"',
            "The spend channel that is the loyalty programme's cost. Default `loyalty`.",
        ),
    },
    "report": {"title": ('"Loyalty, week 12"', "Title of the HTML/Markdown report.")},
    "cancellations": {
        "within": (
            '"30D"',
            "Link each cancellation line (negative amount) to the latest purchase line of the "
            "same customer and product at most this long before it, so the order nets out. "
            "A fixed length (`30D`, `12h`, `2W`). Absent: no linking (also `--link-cancellations`).",
        ),
        "by": (
            '["customer_id", "product_id"]',
            'What a cancellation must share with the purchase: `"customer_id"` and any of '
            '`"product_id"`, `"category"`. Default: customer and product.',
        ),
    },
    "export": {
        "table": ('"kpi_history"', "SQLite table of `loyalty export`. Default `kpis`."),
        "lock_timeout": (
            "300",
            "Seconds to wait for another export of the same target. Default 60.",
        ),
        "errors": (
            '"reject"',
            '`"raise"` (default): any bad input row stops the export (exit 1). `"reject"`: bad '
            "rows are left out and logged with their count per reason.",
        ),
    },
    "engine": {
        "name": (
            '"duckdb"',
            'Where `loyalty kpis`, `cohorts`, `export` and `report` compute: `"pandas"` (default, in '
            'memory), `"duckdb"` (reads the files itself and spills to disk) or `"spark"`. '
            "`--engine` overrides it. A SQL engine takes only `file` and `columns` of the "
            "input tables (comma-separated or Parquet files, ISO dates).",
        ),
        "memory_limit": ('"4GB"', "DuckDB's memory limit. Default: DuckDB's (80% of RAM)."),
        "temp_directory": (
            '"/scratch/duckdb"',
            "Where DuckDB spills what does not fit in memory. Default: DuckDB's.",
        ),
        "threads": ("2", "DuckDB's worker threads (1 or more). Default: one per core."),
        "spark_master": (
            '"local[4]"',
            "The Spark master URL of the session `--engine spark` starts. Default `local[*]`.",
        ),
        "spark_config": (
            '{ "spark.driver.memory" = "4g" }',
            "Spark settings of that session (key = value).",
        ),
    },
}


def _entries(table: str) -> dict[str, tuple[str, str]]:
    return KEY_HELP["<input>"] if CONFIG_KEYS[table] is INPUT_KEYS else KEY_HELP[table]


def config_reference() -> str:
    """docs/config.md as a string.

    Examples
    --------
    >>> config_reference().splitlines()[0]
    '# loyalty.toml reference'
    """
    inputs = [t for t in CONFIG_KEYS if CONFIG_KEYS[t] is INPUT_KEYS]
    parts = [
        "# loyalty.toml reference",
        "",
        "<!-- Generated by `make docs` (python -m loyalty_metrics._config_reference) from the "
        "config schema. Do not edit by hand. -->",
        "",
        "`loyalty.toml` sits in the data folder (or is given with `--config`); every command "
        "reads it. Every key is checked: an unknown key or a value of the wrong type stops the "
        "command (exit 2) with the closest known key. `loyalty validate DATA_DIR` prints a "
        "ready `[table]` / `[table.columns]` block for files whose columns it recognised.",
        "",
        "```toml",
        "[orders]",
        'file = "Online Retail.xlsx"',
        'sheet = "Online Retail"',
        "[orders.columns]",
        'order_id = "InvoiceNo"',
        'customer_id = "CustomerID"',
        'order_date = "InvoiceDate"',
        'quantity = "Quantity"',
        'unit_price = "UnitPrice"',
        'product_id = "StockCode"',
        "",
        "[metrics]",
        'currency = "GBP"',
        "",
        "[cancellations]",
        'within = "30D"',
        "```",
        "",
        "## Input tables: " + ", ".join(f"`[{t}]`" for t in inputs),
        "",
        "Each input table takes the reader options below, and `[<table>.columns]` maps the "
        "canonical columns:",
        "",
    ]
    for table in inputs:
        schema = TABLES[table]
        required = [f"`{c}`" for c in schema.required]
        derived = DERIVED.get(table, {})
        note = "".join(
            f" (or `{' * '.join(src)}` for `{target}`)" for target, src in derived.items()
        )
        parts.append(
            f"- `[{table}.columns]`: required {', '.join(required)}{note}; optional "
            + ", ".join(f"`{c}`" for c in schema.optional)
            + "."
        )
    parts += ["", *_key_table("<input>", _entries(inputs[0]))]
    for table in CONFIG_KEYS:
        if table in inputs:
            continue
        parts += ["", f"## `[{table}]`", "", *_key_table(table, _entries(table))]
    return "\n".join(parts) + "\n"


def _key_table(table: str, entries: dict[str, tuple[str, str]]) -> list[str]:
    rows = ["| key | example | meaning |", "|---|---|---|"]
    for key, (example, meaning) in entries.items():
        rows.append(f"| `{key}` | `{key} = {example}` | {meaning} |")
    return rows


if __name__ == "__main__":  # pragma: no cover - make docs
    print(config_reference(), end="")
