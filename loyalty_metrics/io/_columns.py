"""Column matching: the input's header onto the canonical columns."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, DataValidationError
from ..schema import DERIVED, TableSchema
from ._aliases import alias_rank
from ._options import _DELIMITERS

#: Kinds whose values are numbers: never suggested from a header that merely looks alike.
_NUMBER_KINDS = ("money", "number", "duration", "nps_score", "csat_score")


def _norm(name: Any) -> str:
    """Header normal form: case, surrounding space, BOM and ``-``/``.``/space runs ignored."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-.]+", "_", text)


def _closest(name: str, candidates: list[str], *, spelling_only: bool = False) -> str | None:
    """The candidate most like ``name``: containing it, else the closest spelling.

    ``spelling_only=False`` skips the fuzzy match (for number columns: ``country`` is close
    to ``amount`` as a word and useless as an amount).
    """
    by_norm = {_norm(c): c for c in candidates}
    target = _norm(name)
    # A header containing the name ("order_amount" for "amount") is the likeliest match.
    containing = [c for n, c in by_norm.items() if n and (target in n or n in target)]
    if containing:
        return containing[0]
    if spelling_only:
        return None
    close = difflib.get_close_matches(target, list(by_norm), n=1, cutoff=0.5)
    return by_norm[close[0]] if close else None


def _is_number(schema: TableSchema, name: str) -> bool:
    return schema.columns[name].kind in _NUMBER_KINDS


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
        fix = (
            f'pick one: columns = {{ {canonical} = "{names[0]}" }} under [{schema.name}] in '
            "loyalty.toml (columns= in Python)"
        )
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
    # The usual spellings (InvoiceNo, CustomerID, Unit Price...), best spelling first.
    for canonical in schema.columns:
        if canonical in matched:
            continue
        ranked = sorted(
            (rank, i)
            for i, f in enumerate(found)
            if i not in used and (rank := alias_rank(schema.name, canonical, f)) is not None
        )
        if ranked:
            matched[canonical] = ranked[0][1]
            used.add(ranked[0][1])
    derived = DERIVED.get(schema.name, {})
    computable = {c for c, sources in derived.items() if all(s in matched for s in sources)}
    missing = [c for c in schema.required if c not in matched and c not in computable]
    if missing:
        free = [str(f) for i, f in enumerate(found) if i not in used]
        hints = []
        for name in missing:
            close = _closest(name, free, spelling_only=_is_number(schema, name))
            hint = f"{name!r} -> {close!r}" if close else f"{name!r} -> no close match"
            if name in derived:
                hint += f" (or columns {' and '.join(map(repr, derived[name]))}: " + (
                    f"{name} = {' * '.join(derived[name])})"
                )
            hints.append(hint)
        plural = "s" if len(missing) > 1 else ""
        if len(found) == 1 and any(d in str(found[0]) for d in _DELIMITERS):
            # one merged header: the delimiter is wrong
            raise DataValidationError(
                f"{source}: a single column {str(found[0])!r} was found: the delimiter seems "
                f'wrong; set sep = ";" (or "\\t", "|") under [{schema.name}] in loyalty.toml '
                "(sep= in Python)",
                source=source,
                table=schema.name,
            )
        example = "; ".join(
            f'{name} = "{_closest(name, free, spelling_only=_is_number(schema, name)) or "..."}"'
            for name in missing
        )
        raise DataValidationError(
            f"{source}: missing required column{plural} {_quote_list(missing)} "
            f"(columns found: {_quote_list(found)}; closest match{'es' if plural else ''}: "
            f"{'; '.join(hints)}); rename the column, or map it under [{schema.name}.columns] "
            f"in loyalty.toml ({example}) or with columns= in Python",
            source=source,
            table=schema.name,
        )
    return dict(sorted(matched.items(), key=lambda kv: list(schema.columns).index(kv[0])))
