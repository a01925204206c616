"""The data quality section: what each reader read, kept and rejected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._blocks import _column, _stat, _table
from ._context import _Context, _Skip


def _section_data_quality(ctx: _Context, read_reports: Sequence[Any] | None) -> dict[str, Any]:
    reports = list(read_reports or [])
    if not reports:
        reports = _reports_from_frames(ctx.frames)
    if not reports:
        raise _Skip("needs the read reports of the input files.")
    files: list[dict[str, Any]] = []
    reasons: list[dict[str, Any]] = []
    notes = [str(w) for report in reports for w in getattr(report, "warnings", ())]
    for report in reports:
        source = _source_name(getattr(report, "source", None))
        table = getattr(report, "table", None)
        files.append(
            {
                "table": table,
                "source": source,
                "rows_read": getattr(report, "rows_read", None),
                "rows_kept": getattr(report, "rows_kept", None),
                "rows_rejected": getattr(report, "rows_rejected", None),
            }
        )
        rejected = getattr(report, "rejected", None)
        if isinstance(rejected, pd.DataFrame) and len(rejected) and "reason" in rejected:
            lines = rejected["line"] if "line" in rejected else pd.Series(np.nan, rejected.index)
            grouped = pd.DataFrame({"reason": rejected["reason"].astype("str"), "line": lines})
            for reason, group in grouped.groupby("reason", sort=True):
                first = group["line"].dropna().astype("int64").sort_values().head(5).tolist()
                reasons.append(
                    {
                        "table": table,
                        "source": source,
                        "reason": reason,
                        "rows": len(group),
                        "lines": ", ".join(map(str, first)),
                    }
                )
    files.sort(key=lambda r: (str(r["table"]), str(r["source"])))
    reasons.sort(key=lambda r: (str(r["table"]), -r["rows"], r["reason"]))
    read = sum(r["rows_read"] or 0 for r in files)
    rejected_total = sum(r["rows_rejected"] or 0 for r in files)
    stats = [
        _stat("rows_read", "Rows read", read, "count"),
        _stat("rows_rejected", "Rows rejected", rejected_total, "count"),
    ]
    tables = [
        _table(
            "files",
            "Rows per file",
            pd.DataFrame(files),
            [
                _column("table", "Table"),
                _column("source", "File"),
                _column("rows_read", "Read", "count"),
                _column("rows_kept", "Kept", "count"),
                _column("rows_rejected", "Rejected", "count"),
            ],
        )
    ]
    if reasons:
        tables.append(
            _table(
                "reasons",
                "Rejected rows by reason",
                pd.DataFrame(reasons),
                [
                    _column("table", "Table"),
                    _column("source", "File"),
                    _column("reason", "Reason"),
                    _column("rows", "Rows", "count"),
                    _column("lines", "First lines"),
                ],
            )
        )
    notes += [n for n in (_mapping_note(report) for report in reports) if n]
    from ..caveats import id_match_caveats

    notes += [f"Warning: {note}" for note in id_match_caveats(ctx.frames)]
    return {"stats": stats, "tables": tables, "charts": [], "notes": notes}


def _mapping_note(report: Any) -> str:
    """Columns recognised by their usual spellings, and a computed amount, in one line."""
    settings = getattr(report, "settings", {}) or {}
    parts = [f"{c} = {h!r}" for c, h in settings.get("auto_mapped", {}).items()]
    if "amount" in settings:
        parts.append(f"amount = {settings['amount']}")
    if not parts:
        return ""
    source = _source_name(getattr(report, "source", None))
    return f"{source}: columns mapped automatically: {', '.join(parts)}."


def _reports_from_frames(frames: Mapping[str, pd.DataFrame]) -> list[Any]:
    from ..io import read_report

    reports = []
    for frame in frames.values():
        try:
            reports.append(read_report(frame))
        except (KeyError, ValueError, TypeError):
            # Frames made in memory carry no read report: say what we know.
            return []
    return reports


def _source_name(source: Any) -> str | None:
    if source is None:
        return None
    text = str(source)
    # Only the file name: the report may travel, the reader's folders need not.
    return text.replace("\\", "/").rsplit("/", 1)[-1]
