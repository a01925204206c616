"""Folders: find each table's file and read them all."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError
from ..schema import TABLES
from ._columns import _quote_list
from ._options import READ_OPTIONS, Errors, _param_error
from .readers import READERS

#: File name endings :func:`read_folder` looks for, in order of preference.
FOLDER_EXTENSIONS = (
    ".csv",
    ".csv.gz",
    ".txt",
    ".txt.gz",
    ".tsv",
    ".tsv.gz",
    ".parquet",
    ".pq",
    ".xlsx",
    ".xls",
)


def _load_config(config: Any) -> tuple[dict[str, Any], Path | None]:
    if config is None:
        return {}, None
    if isinstance(config, Mapping):
        return dict(config), None
    from ..config import load_config  # lazy: config is a module of the parent package

    path = Path(config)
    return dict(load_config(path)), path.parent


def find_table_files(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    files: Mapping[str, Any] | None = None,
    config: Any = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The input of each table and its reader options, as :func:`read_folder` resolves them.

    Parameters
    ----------
    data_dir, files, config
        As for :func:`read_folder`.

    Returns
    -------
    (dict, dict)
        Table -> path (or frame) found, and table -> reader keyword options from the
        config. Tables without an input are absent.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "Orders.CSV").write_text("customer_id,order_date,amount\\n")
    >>> paths, options = find_table_files(folder, config={"orders": {"sep": ","}})
    >>> paths["orders"].name, options["orders"]
    ('Orders.CSV', {'sep': ','})
    """
    if config is None and data_dir is not None and (Path(data_dir) / "loyalty.toml").is_file():
        config = Path(data_dir) / "loyalty.toml"
    cfg, cfg_dir = _load_config(config)
    files = dict(files or {})
    unknown = [k for k in files if k not in TABLES]
    if unknown:
        raise ConfigError(
            f"files= has unknown table(s) {_quote_list(unknown)}; tables are {_quote_list(list(TABLES))}"
        )
    # a relative [table] file: in the data folder, else next to the config file
    bases = [Path(b) for b in (data_dir, cfg_dir) if b is not None]
    if data_dir is not None and not Path(data_dir).is_dir():
        raise FileNotFoundError(f"{data_dir}: no such folder")
    listing = (
        sorted(p for p in Path(data_dir).iterdir() if p.is_file()) if data_dir is not None else []
    )
    found: dict[str, Any] = {}
    options: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        section = cfg.get(table) or {}
        if not isinstance(section, Mapping):
            raise ConfigError(f"[{table}] must be a table of options, got {section!r}")
        bad = [k for k in section if k not in (*READ_OPTIONS, "file")]
        if bad:
            raise ConfigError(
                f"[{table}] has unknown key(s) {_quote_list(bad)}; allowed: {_quote_list(['file', *READ_OPTIONS])}"
            )
        options[table] = {k: v for k, v in section.items() if k in READ_OPTIONS}
        if table in files:
            found[table] = files[table]
        elif "file" in section:
            path = Path(section["file"])
            if not path.is_absolute() and bases:
                candidates = [b / path for b in bases]
                path = next((c for c in candidates if c.exists()), candidates[0])
            found[table] = path
        else:
            names = [table + ext for ext in FOLDER_EXTENSIONS]
            hits = [p for p in listing if p.name.lower() in names]
            if len(hits) > 1:
                raise ConfigError(
                    f"{data_dir}: several {table} files ({_quote_list([p.name for p in hits])}); "
                    f"keep one, or name it in loyalty.toml ([{table}] file = ...) or files="
                )
            if hits:
                found[table] = hits[0]
    return found, {t: options[t] for t in found}


def read_folder(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    files: Mapping[str, Any] | None = None,
    config: Any = None,
    errors: Errors = "raise",
) -> dict[str, pd.DataFrame]:
    """Read every table found in a data folder (orders required).

    Parameters
    ----------
    data_dir : path, optional
        Folder holding ``orders``, ``surveys``, ``events``, ``spend``, ``customers`` files
        named ``<table>.csv``, ``.csv.gz``, ``.txt``, ``.tsv`` (optionally ``.gz``),
        ``.parquet``, ``.pq``, ``.xlsx`` or ``.xls`` (case-insensitive; two candidates for
        one table are an error).
    files : dict, optional
        Table -> path (or DataFrame); overrides everything else for that table.
    config : dict or path, optional
        A loaded ``loyalty.toml`` (as :func:`loyalty_metrics.load_config` returns) or its
        path; default ``data_dir/loyalty.toml`` when it exists. Each ``[table]`` may set
        ``file`` (relative: found in ``data_dir``, else next to the config file) and the reader
        options ``columns``, ``sep``, ``decimal``, ``thousands``, ``encoding``,
        ``dayfirst``, ``date_format``, ``sheet``.
    errors : {"raise", "reject"}, default "raise"
        As for :func:`read_orders`; each frame's report is ``lm.read_report(frame)``.

    Returns
    -------
    dict
        Table name -> validated frame, for the tables found, in canonical table order.

    Raises
    ------
    FileNotFoundError
        No orders input (the message lists the names looked for), or a named file is
        missing.
    ConfigError
        Unknown table or option, or two candidate files for one table.
    DataValidationError
        As the readers.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "orders.csv").write_text("customer_id;order_date;amount\\nc1;2024-01-05;9,90\\n")
    >>> _ = (folder / "surveys.tsv").write_text("score\\tcsat\\n9\\t5\\n")
    >>> tables = read_folder(folder)
    >>> sorted(tables), tables["orders"]["amount"].tolist()
    (['orders', 'surveys'], [9.9])
    """
    if errors not in ("raise", "reject"):
        raise _param_error("read_folder", "errors", "one of {'raise', 'reject'}", errors)
    if data_dir is None and not files and config is None:
        raise ConfigError("read_folder needs a data_dir, files= or a config naming the files")
    found, options = find_table_files(data_dir, files=files, config=config)
    if "orders" not in found:
        where = f"in {data_dir}" if data_dir is not None else "in files= or the config"
        raise FileNotFoundError(
            f"no orders file {where} (looked for "
            f"{', '.join('orders' + ext for ext in FOLDER_EXTENSIONS)}); "
            "name it in loyalty.toml ([orders] file = ...) or pass files={'orders': ...}"
        )
    return {t: READERS[t](src, errors=errors, **options[t]) for t, src in found.items()}
