"""Column matching: the input's header onto the canonical columns."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, DataValidationError
from ..schema import TableSchema
from ._options import _DELIMITERS


def _norm(name: Any) -> str:
    """Header normal form: case, surrounding space, BOM and ``-``/``.``/space runs ignored."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-.]+", "_", text)


def _closest(name: str, candidates: list[str]) -> str | None:
    by_norm = {_norm(c): c for c in candidates}
    target = _norm(name)
    # A header containing the name ("order_amount" for "amount") is the likeliest match.
    containing = [c for n, c in by_norm.items() if n and (target in n or n in target)]
    if containing:
        return containing[0]
    close = difflib.get_close_matches(target, list(by_norm), n=1, cutoff=0.5)
    return by_norm[close[0]] if close else None


def _quote_list(names: list[str]) -> str:
    return ", ".join(repr(str(n)) for n in names) if names else "none"


def _ambiguous(
    schema: TableSchema, source: str, canonical: str, names: list[Any], *, mapped: bool
) -> DataValidationError:
    """Two input columns would both be read as ``canonical``: never pick one silently."""
    names = [str(n) for n in names]
    if mapped or len(set(names)) < len(names):
        fix = "rename all but one of them"
    else:
        fix = f"pick one with columns={{{canonical!r}: {names[0]!r}}}"
    return DataValidationError(
        f"{source}: columns {_quote_list(names)} would all be read as {canonical!r}; {fix}",
        source=source,
        table=schema.name,
    )


def _match_columns(
    schema: TableSchema, found: list[str], mapping: Mapping[str, str] | None, source: str
) -> dict[str, int]:
    """Canonical column -> position in ``found`` (only the columns present)."""
    mapping = dict(mapping or {})
    unknown = [k for k in mapping if k not in schema.columns]
    if unknown:
        hints = [
            f"{k!r} (closest: {close!r})"
            if (close := _closest(k, list(schema.columns)))
            else repr(k)
            for k in unknown
        ]
        raise ConfigError(
            f"columns= names {', '.join(hints)}, not a column of the {schema.name} table; "
            f"its columns are {_quote_list(list(schema.columns))}"
        )
    normed = [_norm(f) for f in found]
    matched: dict[str, int] = {}
    used: set[int] = set()
    for canonical, wanted in mapping.items():
        pos = [i for i, f in enumerate(found) if str(f) == wanted]
        if not pos:  # headers are read stripped
            pos = [i for i, f in enumerate(found) if str(f).strip() == str(wanted).strip()]
        if not pos:
            pos = [i for i, n in enumerate(normed) if n == _norm(wanted)]
        if len(pos) > 1:
            raise _ambiguous(schema, source, canonical, [found[i] for i in pos], mapped=True)
        if not pos:
            close = _closest(wanted, [str(f) for f in found])
            raise DataValidationError(
                f"{source}: columns= maps {canonical!r} to {wanted!r}, which is not a column "
                f"of the input (columns found: {_quote_list(found)}; closest match: "
                f"{close!r})"
                if close
                else f"{source}: columns= maps {canonical!r} to {wanted!r}, which is not a "
                f"column of the input (columns found: {_quote_list(found)}; no close match)",
                source=source,
                table=schema.name,
            )
        matched[canonical] = pos[0]
        used.add(pos[0])
    for canonical in schema.columns:
        if canonical in matched:
            continue
        pos = [i for i, n in enumerate(normed) if n == canonical and i not in used]
        if len(pos) > 1:
            raise _ambiguous(schema, source, canonical, [found[i] for i in pos], mapped=False)
        if pos:
            matched[canonical] = pos[0]
            used.add(pos[0])
    missing = [c for c in schema.required if c not in matched]
    if missing:
        free = [str(f) for i, f in enumerate(found) if i not in used]
        hints = []
        for name in missing:
            close = _closest(name, free)
            hints.append(f"{name!r} -> {close!r}" if close else f"{name!r} -> no close match")
        plural = "s" if len(missing) > 1 else ""
        if len(found) == 1 and any(d in str(found[0]) for d in _DELIMITERS):
            # one merged header: the delimiter is wrong
            raise DataValidationError(
                f"{source}: a single column {str(found[0])!r} was found: the delimiter seems "
                "wrong; pass sep= (for example sep=';' or sep='\\t')",
                source=source,
                table=schema.name,
            )
        example = ", ".join(f"{name!r}: {(_closest(name, free) or '...')!r}" for name in missing)
        raise DataValidationError(
            f"{source}: missing required column{plural} {_quote_list(missing)} "
            f"(columns found: {_quote_list(found)}; closest match{'es' if plural else ''}: "
            f"{'; '.join(hints)}); rename the column or pass columns={{{example}}}",
            source=source,
            table=schema.name,
        )
    return dict(sorted(matched.items(), key=lambda kv: list(schema.columns).index(kv[0])))
