"""Reader options: the keywords every reader takes, and their checks."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError

#: Reader keyword options that ``loyalty.toml`` may set per table.
READ_OPTIONS = (
    "columns",
    "sep",
    "decimal",
    "thousands",
    "encoding",
    "dayfirst",
    "date_format",
    "sheet",
)
Errors = Literal["raise", "reject"]
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class _Options:
    columns: Mapping[str, str] | None = None
    sep: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    encoding: str | None = None
    dayfirst: bool | None = None
    date_format: str | None = None
    errors: str = "raise"
    sheet: str | int | None = None


def _param_error(func: str, name: str, allowed: str, value: Any) -> ConfigError:
    return ConfigError(
        f"The {name!r} parameter of {func} must be {allowed}. Got {value!r} instead."
    )


def _check_options(func: str, opts: _Options) -> _Options:
    if opts.errors not in ("raise", "reject"):
        raise _param_error(func, "errors", "one of {'raise', 'reject'}", opts.errors)
    if opts.sep is not None and not (isinstance(opts.sep, str) and len(opts.sep) == 1):
        raise _param_error(func, "sep", "a single character such as ',' ';' '\\t' '|'", opts.sep)
    if opts.sep in ('"', "\n", "\r"):
        raise _param_error(
            func, "sep", "a single character other than a quote or newline", opts.sep
        )
    if opts.decimal not in (None, ".", ","):
        raise _param_error(func, "decimal", "one of {'.', ','} or None", opts.decimal)
    if opts.thousands is not None and not (
        isinstance(opts.thousands, str) and len(opts.thousands) <= 1
    ):
        raise _param_error(
            func, "thousands", "a single character, '' (none) or None (auto)", opts.thousands
        )
    if opts.thousands and opts.thousands == (opts.decimal or "."):
        raise _param_error(func, "thousands", "different from the decimal mark", opts.thousands)
    if opts.encoding is not None:
        try:
            codecs.lookup(opts.encoding)
        except (LookupError, TypeError):
            raise _param_error(
                func,
                "encoding",
                "a known Python codec such as 'cp1250' or 'latin-1'",
                opts.encoding,
            ) from None
    if opts.dayfirst not in (None, True, False):
        raise _param_error(func, "dayfirst", "True, False or None", opts.dayfirst)
    if opts.date_format is not None and not (
        isinstance(opts.date_format, str) and "%" in opts.date_format
    ):
        raise _param_error(
            func, "date_format", "a strptime format such as '%d.%m.%Y'", opts.date_format
        )
    if opts.sheet is not None and not (
        isinstance(opts.sheet, str)
        or (isinstance(opts.sheet, int) and not isinstance(opts.sheet, bool) and opts.sheet >= 0)
    ):
        raise _param_error(
            func, "sheet", "a sheet name or a 0-based sheet number, or None", opts.sheet
        )
    if opts.columns is not None and not (
        isinstance(opts.columns, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in opts.columns.items())
    ):
        raise _param_error(
            func, "columns", "a mapping of canonical name -> input column name", opts.columns
        )
    return opts
