"""Renderers: the report's content -> HTML, Markdown, JSON or text (strings; no I/O here)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._format import MISSING, fmt, fmt_change, md_escape, plain

if TYPE_CHECKING:  # pragma: no cover
    from ._figures import ChartWorker

__all__ = ["render_html", "render_json", "render_markdown", "render_text"]

_TEMPLATES = Path(__file__).parent / "templates"

#: KPIs for which a fall is good news (the change is coloured the other way round).
LOWER_IS_BETTER = frozenset({"churn_rate", "cac"})


def _interval(row: dict[str, Any], column: dict[str, Any], currency: str | None) -> str:
    low_key, high_key = column.get("keys", ["ci_low", "ci_high"])
    low, high = row.get(low_key), row.get(high_key)
    if low is None or high is None:
        return MISSING
    unit = row.get(column["of_key"]) if column.get("of_key") else column.get("of", "number")
    return f"{fmt(low, unit, currency=currency)} – {fmt(high, unit, currency=currency)}"


def _cell(row: dict[str, Any], column: dict[str, Any], currency: str | None) -> str:
    """The display text of one cell (flags are rendered by the templates)."""
    unit = column.get("unit", "text")
    if column.get("unit_key"):
        unit = row.get(column["unit_key"]) or "number"
    if unit == "interval":
        return _interval(row, column, currency)
    value = row.get(column["key"])
    if unit == "flag":
        return "low n" if value else ""
    return fmt(value, unit, currency=currency)


def _stat_interval(stat: dict[str, Any], currency: str | None) -> str:
    if stat.get("ci_low") is None or stat.get("ci_high") is None:
        return ""
    unit = stat.get("unit", "number")
    return f"{fmt(stat['ci_low'], unit, currency=currency)} – {fmt(stat['ci_high'], unit, currency=currency)}"


def _stat_n(stat: dict[str, Any]) -> str:
    if stat.get("n") is None:
        return ""
    label = f" {stat['n_label']}" if stat.get("n_label") else ""
    return f"{fmt(stat['n'], 'count')}{label}"


def _level(report: dict[str, Any]) -> str:
    return f"{report.get('level', 0.95) * 100:g}%"


def _shown(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in report["sections"] if s.get("shown")]


def _omitted(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in report["sections"] if not s.get("shown")]


def _inputs(report: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} {fmt(rows, 'count')} rows" for name, rows in report["inputs"].items()
    )


class _Raw(str):
    """Markdown the template itself produced (a macro's output): not escaped again."""


def _md_finalize(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, _Raw):
        return value
    return md_escape(value)


@cache
def _environment(kind: str) -> Any:
    import jinja2

    if kind == "html":
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_TEMPLATES),
            autoescape=True,  # every data string is escaped; nothing is marked safe
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    else:
        # Markdown has no autoescape: ``finalize`` escapes every value a template prints.
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_TEMPLATES),
            autoescape=False,
            finalize=_md_finalize,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    env.filters["change"] = fmt_change
    env.filters["raw"] = _Raw
    env.globals.update(
        cell=_cell,
        fmt=fmt,
        stat_interval=_stat_interval,
        stat_n=_stat_n,
        lower_is_better=LOWER_IS_BETTER,
    )
    return env


def _context(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "report": report,
        "currency": report.get("currency"),
        "level": _level(report),
        "shown": _shown(report),
        "omitted": _omitted(report),
        "inputs": _inputs(report),
    }


def render_html(
    report: dict[str, Any], *, charts: bool = True, worker: ChartWorker | None = None
) -> str:
    """The report as one self-contained HTML page (charts inline as PNG, no network needed).

    Parameters
    ----------
    report : dict
        :func:`build_report` output.
    charts : bool
        Draw the charts (matplotlib); without them the page has the tables only.
    worker : ChartWorker, optional
        A process that draws half of the charts meanwhile (:func:`chart_worker`, started
        before the report is computed); the page is the same.

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics.report import build_report
    >>> orders = pd.DataFrame({"customer_id": ["<b>a</b>"],
    ...     "order_date": pd.to_datetime(["2024-01-05"]), "amount": [10.0]})
    >>> html = render_html(build_report({"orders": orders}), charts=False)
    >>> html.startswith("<!DOCTYPE html>") and "<b>a</b>" not in html
    True
    """
    images: dict[str, str] = {}
    if charts:
        from ._figures import chart_images

        images = chart_images(report, worker=worker)
    return (
        _environment("html")
        .get_template("report.html.j2")
        .render(images=images, **_context(report))
    )


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the same figures and tables as the HTML page, without charts.

    Every value from the data is escaped (pipes, backticks, emphasis, angle brackets,
    line-start markers), so a customer id cannot break a table or inject HTML.

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics.report import build_report
    >>> orders = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-05"]),
    ...                        "amount": [10.0]})
    >>> render_markdown(build_report({"orders": orders})).splitlines()[0]
    '# Customer loyalty report'
    """
    return _environment("md").get_template("report.md.j2").render(**_context(report))


def render_json(report: dict[str, Any]) -> str:
    """The report as JSON: numbers as numbers, NaN as null, keys sorted (deterministic).

    Examples
    --------
    >>> render_json({"b": float("nan"), "a": 1.5})
    '{\\n  "a": 1.5,\\n  "b": null\\n}\\n'
    """
    return (
        json.dumps(plain(report), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
        + "\n"
    )


def render_text(report: dict[str, Any]) -> str:
    """The headline KPIs as an aligned plain-text table, with the notes (for a terminal).

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics.report import build_report
    >>> orders = pd.DataFrame({"customer_id": ["a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-01-06"]), "amount": [10.0, 30.0]})
    >>> print(render_text(build_report({"orders": orders})).splitlines()[3])
    KPI                      Value  Change  n            ...
    """
    currency = report.get("currency")
    window = report["window"]
    lines = [report["title"], "=" * len(report["title"])]
    when = (
        f"Window {window['start']} to {window['end']} (as of {window['as_of']})"
        if window.get("start")
        else "No data"
    )
    lines.append(
        when + (f"; generated {report['generated_at']}" if report.get("generated_at") else "")
    )
    kpis = next((s for s in _shown(report) if s["id"] == "kpis"), None)
    level = _level(report)
    if kpis is not None:
        header = ("KPI", "Value", "Change", "n", f"{level} interval", "")
        rows = [header]
        for stat in kpis["stats"]:
            rows.append(
                (
                    stat["label"],
                    fmt(stat["value"], stat["unit"], currency=currency),
                    fmt_change(stat.get("change"), stat.get("change_kind")),
                    _stat_n(stat),
                    _stat_interval(stat, currency),
                    "low n" if stat.get("low_n") else "",
                )
            )
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
        right = {1, 2}  # numbers right-aligned
        for i, row in enumerate(rows):
            cells = [
                str(v).rjust(widths[j]) if j in right else str(v).ljust(widths[j])
                for j, v in enumerate(row)
            ]
            lines.append("  ".join(cells).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths).rstrip())
        if kpis.get("comparison"):
            lines.append("")
            lines.append(f"Change: {kpis['comparison']['label']}.")
    # A figure with a caveat (e.g. the programme ROI's causal label) is printed with it.
    caveated = [
        stat
        for section in _shown(report)
        if section["id"] != "kpis"
        for stat in section["stats"]
        if stat.get("caveat")
    ]
    if caveated:
        lines.append("")
    for stat in caveated:
        details = [_stat_n(stat) and f"n = {_stat_n(stat)}"]
        interval = _stat_interval(stat, currency)
        details.append(interval and f"{level} interval {interval}")
        figure = fmt(stat["value"], stat["unit"], currency=currency)
        lines.append(
            "; ".join([f"{stat['label']}: {figure} ({stat['caveat']})", *filter(None, details)])
        )
    other = [s["title"] for s in _shown(report) if s["id"] != "kpis"]
    if other:
        lines.append("")
        lines.append("Also in the full report (-o report.html): " + ", ".join(other) + ".")
    notes = _omitted(report)
    if notes:
        lines.append("")
        lines.extend(f"- {s['note']}" for s in notes)
    return "\n".join(lines) + "\n"
