"""The loyalty report: content built once, rendered to HTML, Markdown, JSON or text.

:func:`build_report` computes everything and returns plain data; the renderers turn it into
strings; :func:`write_report` writes one atomically. Rendering never reads the clock, so the
same inputs give byte-identical files.

Examples
--------
>>> import pandas as pd
>>> from loyalty_metrics.report import build_report, render_json
>>> orders = pd.DataFrame({"customer_id": ["a", "b"],
...     "order_date": pd.to_datetime(["2024-01-05", "2024-01-09"]), "amount": [10.0, 5.0]})
>>> content = build_report({"orders": orders}, generated_at="2024-02-01T08:00:00")
>>> [s["id"] for s in content["sections"] if s["shown"]][:2]
['kpis', 'cohorts']
>>> render_json(content) == render_json(build_report({"orders": orders},
...                                                  generated_at="2024-02-01T08:00:00"))
True
"""

from ._content import SECTION_TITLES, build_report
from ._figures import ChartWorker, chart_worker
from ._render import render_html, render_json, render_markdown, render_text
from ._write import FORMATS, format_for_path, write_atomic, write_report

__all__ = [
    "FORMATS",
    "SECTION_TITLES",
    "ChartWorker",
    "build_report",
    "format_for_path",
    "chart_worker",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
    "write_atomic",
    "write_report",
]


def render(
    report: dict,
    format: str = "html",
    *,
    charts: bool = True,
    worker: ChartWorker | None = None,
) -> str:
    """Render ``report`` in ``format`` (``"html"``, ``"md"``, ``"json"`` or ``"text"``);
    ``worker``: see :func:`render_html`.

    Examples
    --------
    >>> render({"a": 1}, "json")
    '{\\n  "a": 1\\n}\\n'
    """
    if format == "html":
        return render_html(report, charts=charts, worker=worker)
    if format == "md":
        return render_markdown(report)
    if format == "json":
        return render_json(report)
    if format == "text":
        return render_text(report)
    raise ValueError(
        "The 'format' parameter of render must be one of {'html', 'md', 'json', 'text'}. "
        f"Got {format!r} instead."
    )
