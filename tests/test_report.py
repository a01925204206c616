"""The report: content built once, rendered to HTML / Markdown / JSON / text, written atomically."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import markupsafe
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loyalty_metrics as lm
from loyalty_metrics.report import (
    SECTION_TITLES,
    build_report,
    format_for_path,
    render,
    render_html,
    render_json,
    render_markdown,
    render_text,
    write_report,
)
from loyalty_metrics.report._content import HEADLINE
from loyalty_metrics.report._format import fmt, fmt_change, md_escape, plain

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
ALL_SECTIONS = list(SECTION_TITLES)
STAMP = "2025-01-06T08:00:00"


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers.


@pytest.fixture(scope="module")
def sample_frames() -> dict[str, pd.DataFrame]:
    return lm.read_folder(SAMPLE, errors="reject")


@pytest.fixture(scope="module")
def sample_report(sample_frames) -> dict:
    # strict: a section that fails is an error here, never a quiet note
    return build_report(sample_frames, generated_at=STAMP, strict=True)


@pytest.fixture(scope="module")
def sample_html(sample_report) -> str:
    return render_html(sample_report)


class _Page(HTMLParser):
    """Collects the sections, notes, cards, tags and text nodes of a rendered page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.notes: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.images: list[str] = []
        self.cards: dict[str, str] = {}
        self.details = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "section" and "data-section" in attrs:
            self.sections.append(attrs["data-section"])
        if tag == "li" and str(attrs.get("id", "")).startswith("note-"):
            self.notes.append(attrs["id"][5:])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "div" and str(attrs.get("id", "")).startswith("stat-"):
            self.cards.setdefault(attrs["id"][5:], attrs.get("class", ""))
        if tag == "details":
            self.details += 1

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _section(report: dict, section_id: str) -> dict:
    return next(s for s in report["sections"] if s["id"] == section_id)


def _orders(ids, dates, amounts) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": ids, "order_date": pd.to_datetime(dates), "amount": amounts}
    )


# ---------------------------------------------------------------------------------------------
# Sections present for a given set of inputs.


def test_every_section_is_built_from_the_sample_data(sample_report):
    shown = [s["id"] for s in sample_report["sections"] if s["shown"]]
    assert shown == ALL_SECTIONS
    for section in sample_report["sections"]:
        assert section["note"] is None
        assert section["stats"] or section["tables"], section["id"]
    # the parts of each section the sample data has the inputs for
    parts = {
        s["id"]: {t["id"] for t in s["tables"]} | {c["id"] for c in s["charts"]}
        for s in sample_report["sections"]
    }
    assert {"trend", "kpi_trends", "categories"} <= parts["kpis"]
    assert {"distribution", "trend", "by_segment", "comments", "nps_trend"} <= parts["nps"]
    assert {"retention", "status", "heatmap"} <= parts["cohorts"]
    assert {"by_cohort", "repeat_rate"} <= parts["repeat_rate"]
    assert {"funnel", "transitions"} <= parts["ladder"]
    assert {"segments"} <= parts["rfm"]
    assert {"historic_top", "historic", "predictive_top", "predictive", "calibration"} <= (
        parts["clv"]
    )
    assert {"by_channel", "ltv_cac"} <= parts["cac"]
    assert {"bands", "event_types", "distribution"} <= parts["engagement"]
    assert {
        "impact_members_vs_non_members",
        "impact_difference_in_differences",
        "referrals",
        "members",
    } <= parts["programs"]
    assert {"files"} <= parts["data_quality"]


def test_html_has_every_section_and_chart_for_all_inputs(sample_report, sample_html):
    page = _parse(sample_html)
    assert page.sections == ALL_SECTIONS
    assert page.notes == []
    expected_charts = sum(len(s["charts"]) for s in sample_report["sections"])
    assert expected_charts >= 11
    assert len(page.images) == expected_charts
    # self-contained: charts are inline PNGs, nothing is fetched
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", sample_html)
    assert "@media print" in sample_html
    assert "<script" not in sample_html


def test_orders_only_leaves_sections_out_with_a_note(tmp_path):
    frames = lm.read_folder(files={"orders": SAMPLE / "orders.csv"})
    report = build_report(frames, generated_at=STAMP, strict=True)
    page = _parse(render_html(report, charts=False))
    assert page.sections == [
        "kpis",
        "cohorts",
        "repeat_rate",
        "ladder",
        "rfm",
        "clv",
        "data_quality",
    ]
    assert page.notes == ["nps", "cac", "engagement", "programs", "points"]
    notes = {s["id"]: s["note"] for s in report["sections"] if not s["shown"]}
    assert notes["nps"] == (
        "Net Promoter Score: not shown, needs surveys data; there is no surveys file "
        "(or it has no rows)."
    )
    assert notes["cac"].endswith(
        "needs orders and spend data; there is no spend file (or it has no rows)."
    )
    assert "needs events data" in notes["engagement"]
    assert "needs orders and customers data; there is no customers file" in notes["programs"]
    assert notes["points"] == (
        "Loyalty programme: not shown, needs points data; there is no points file "
        "(or it has no rows)."
    )
    # absent inputs give NaN KPIs, shown as a dash, never 0
    values = _section(report, "kpis")["values"]
    assert values["nps"] is None and values["cac"] is None
    nps_card = next(s for s in _section(report, "kpis")["stats"] if s["key"] == "nps")
    assert fmt(nps_card["value"], "points") == "–"


def test_orders_and_surveys_add_the_nps_section(sample_frames):
    frames = {k: sample_frames[k] for k in ("orders", "surveys")}
    report = build_report(frames, generated_at=STAMP, strict=True)
    page = _parse(render_html(report, charts=False))
    assert "nps" in page.sections and "cac" not in page.sections
    nps = _section(report, "nps")
    table_ids = [t["id"] for t in nps["tables"]]
    assert table_ids == ["distribution", "trend", "by_segment", "comments"]
    assert [c["id"] for c in nps["charts"]] == ["nps_distribution", "nps_trend"]


def test_nps_trend_marks_the_partial_period_and_draws_it_dashed():
    from loyalty_metrics.report._figures import _nps_trend

    orders = _orders(["a", "b"], ["2024-01-05", "2024-03-09"], [10.0, 20.0])
    # Jan: 10, 9 -> NPS 100; Feb: 3, 8 -> -50; Mar (9 days in the window): 10, 0 -> 0
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "a", "b"],
            "score": [10.0, 9.0, 3.0, 8.0, 10.0, 0.0],
            "response_date": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-01-20",
                    "2024-02-01",
                    "2024-02-11",
                    "2024-03-05",
                    "2024-03-09",
                ]
            ),
        }
    )
    report = build_report(
        {"orders": orders, "surveys": surveys},
        start="2024-01-01",
        end="2024-03-09",
        freq="M",
        generated_at=STAMP,
        strict=True,
    )
    nps = _section(report, "nps")
    trend = next(t for t in nps["tables"] if t["id"] == "trend")
    assert [(r["status"], r["nps"]) for r in trend["rows"]] == [
        ("complete", 100.0),
        ("complete", -50.0),
        ("partial", 0.0),
    ]
    spec = next(c for c in nps["charts"] if c["id"] == "nps_trend")
    ax = _nps_trend(nps, spec, None).axes[0]
    assert ax.lines[0].get_ydata()[:2].tolist() == [100.0, -50.0]
    assert ax.lines[1].get_linestyle() == "--" and ax.lines[1].get_ydata().tolist() == [-50.0, 0.0]


def test_predictive_clv_needs_enough_repeat_customers():
    orders = _orders(
        ["a", "a", "b"], ["2024-01-05", "2024-02-10", "2024-02-11"], [10.0, 20.0, 5.0]
    )
    clv = _section(build_report({"orders": orders}, strict=True), "clv")
    assert clv["shown"]
    assert clv["notes"] == [
        "Predictive CLV not shown: 1 repeat customers; the models need at least 30."
    ]
    assert [s["key"] for s in clv["stats"]] == ["clv", "historic_mean"]


def test_inline_frames_without_read_reports_skip_data_quality():
    orders = _orders(["a", "b"], ["2024-01-05", "2024-01-06"], [10.0, 30.0])
    report = build_report({"orders": orders})
    data_quality = _section(report, "data_quality")
    assert not data_quality["shown"]
    assert "read reports" in data_quality["note"]


# ---------------------------------------------------------------------------------------------
# JSON: machine-readable, the same numbers as kpis().


def test_json_headline_equals_kpis_value_by_value(sample_frames, sample_report):
    expected = lm.kpis(
        sample_frames["orders"],
        **{k: sample_frames[k] for k in ("surveys", "events", "spend", "customers")},
    )
    data = json.loads(render_json(sample_report))
    values = _section(data, "kpis")["values"]
    assert list(values) == sorted(expected.index)  # sorted keys
    for key, value in expected.items():
        if math.isnan(value):
            assert values[key] is None, key
        else:
            assert values[key] == float(value), key  # exact: JSON round-trips floats
    stats = {s["key"]: s["value"] for s in _section(data, "kpis")["stats"]}
    for key in HEADLINE:
        assert stats[key] == values[key], key


def test_json_is_strict_json_with_numbers_as_numbers(sample_report):
    text = render_json(sample_report)

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    data = json.loads(text, parse_constant=refuse)
    assert data["generated_at"] == STAMP
    assert data["window"] == {
        "start": "2023-01-01",
        "end": "2024-12-31",
        "as_of": "2024-12-31",
        "days": 731,
    }
    customers = next(s for s in _section(data, "kpis")["stats"] if s["key"] == "customers")
    assert isinstance(customers["value"], float | int)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_markdown_and_json_carry_the_same_figures(sample_report):
    markdown = render_markdown(sample_report)
    for section in sample_report["sections"]:
        assert f"## {md_escape(section['title'])}" in markdown
        for stat in section["stats"]:
            shown = fmt(stat["value"], stat["unit"])
            # a caveat (the ROI's causal label) follows the figure in its cell
            shown += f" ({stat['caveat']})" if stat.get("caveat") else ""
            assert f"| {md_escape(stat['label'])} | {md_escape(shown)} |" in markdown
        for table in section["tables"]:
            if not table["hidden"]:
                assert f"### {md_escape(table['title'])}" in markdown


def test_markdown_tables_have_a_constant_number_of_cells(sample_report):
    lines = render_markdown(sample_report).splitlines()
    unescaped = re.compile(r"(?<!\\)\|")
    width = None
    for line in lines:
        if line.startswith("|"):
            cells = len(unescaped.findall(line))
            width = cells if width is None else width
            assert cells == width, line
        else:
            width = None


# ---------------------------------------------------------------------------------------------
# Figures: n, intervals, low n, rounding, change against the previous period.


def test_low_n_badge_on_small_samples():
    orders = _orders(
        ["a", "b", "c"], ["2024-01-05", "2024-01-06", "2024-02-01"], [10.0, 30.0, 5.0]
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", None],
            "response_date": pd.to_datetime(["2024-01-10"] * 4),
            "score": [10.0, 9.0, 3.0, 8.0],
        }
    )
    report = build_report({"orders": orders, "surveys": surveys}, strict=True)
    nps = next(s for s in _section(report, "kpis")["stats"] if s["key"] == "nps")
    # 4 responses: n < 30
    assert nps["n"] == 4 and nps["low_n"] is True
    assert nps["ci_low"] is not None and nps["ci_high"] is not None
    page = _parse(render_html(report, charts=False))
    assert "low-n" in page.cards["nps"]
    assert "low n" in [t.strip() for t in page.text]
    assert "**low n**" in render_markdown(report)
    assert "low n" in render_text(report)


def test_display_rounds_half_away_from_zero():
    # 16 customers, one repeats: 100 * 1 / 16 = 6.25% -> "6.3%" (round() would give 6.2);
    # 17 purchases of 0.125 each: average ticket 0.125 -> "0.13" (round() gives 0.12)
    ids = [f"c{i:02d}" for i in range(16)] + ["c00"]
    dates = ["2024-01-01"] * 16 + ["2024-01-20"]
    report = build_report({"orders": _orders(ids, dates, [0.125] * 17)}, strict=True)
    stats = {s["key"]: s for s in _section(report, "kpis")["stats"]}
    assert stats["repeat_purchase_rate"]["value"] == 6.25
    assert stats["average_ticket"]["value"] == 0.125
    text = render_text(report)
    assert re.search(r"Repeat-purchase rate\s+6\.3%", text)
    assert re.search(r"Average ticket\s+0\.13\b", text)
    html = render_html(report, charts=False)
    assert ">6.3%<" in html and ">0.13<" in html
    assert fmt(12.5, "count") == "13" and fmt(-12.5, "count") == "-13"
    assert fmt(2.675, "money") == "2.68"  # the float 2.675 is 2.67499...: repr decides
    assert fmt_change(0.05, "points") == "+0.1 pts"


def test_intervals_and_n_on_rates(sample_report):
    stats = {s["key"]: s for s in _section(sample_report, "kpis")["stats"]}
    repeat = stats["repeat_purchase_rate"]
    assert repeat["n"] == stats["customers"]["value"]
    assert repeat["ci_low"] < repeat["value"] < repeat["ci_high"]
    churn, retention = stats["churn_rate"], stats["retention_rate"]
    assert churn["ci_low"] < churn["value"] < churn["ci_high"]
    assert churn["n"] == retention["n"] > 0
    assert (retention["ci_low"], retention["ci_high"]) == pytest.approx(
        (100 - churn["ci_high"], 100 - churn["ci_low"])
    )
    nps = stats["nps"]
    values = _section(sample_report, "kpis")["values"]
    assert (nps["ci_low"], nps["ci_high"], nps["n"]) == (
        values["nps_ci_low"],
        values["nps_ci_high"],
        values["responses"],
    )


def test_change_against_the_previous_window_when_there_is_one(sample_frames):
    orders = sample_frames["orders"]
    report = build_report(
        {"orders": orders}, start="2024-07-01", end="2024-12-31", generated_at=STAMP, strict=True
    )
    comparison = report["comparison"]
    assert comparison["kind"] == "previous_window"
    # 2024-07-01..2024-12-31 is 184 days; so is 2023-12-30..2024-06-30 (2024 is a leap year)
    assert (comparison["start"], comparison["end"]) == ("2023-12-30", "2024-06-30")
    before = lm.kpis(orders, start="2023-12-30", end="2024-06-30")
    now = lm.kpis(orders, start="2024-07-01", end="2024-12-31")
    stats = {s["key"]: s for s in _section(report, "kpis")["stats"]}
    assert stats["revenue"]["previous"] == before["revenue"]
    assert stats["revenue"]["change"] == pytest.approx(
        100 * (now["revenue"] - before["revenue"]) / before["revenue"]
    )
    # rates change in points
    assert stats["repeat_purchase_rate"]["change_kind"] == "points"
    assert stats["repeat_purchase_rate"]["change"] == pytest.approx(
        now["repeat_purchase_rate"] - before["repeat_purchase_rate"]
    )


def test_change_as_of_one_period_earlier_without_earlier_data(sample_report):
    comparison = sample_report["comparison"]
    assert comparison["kind"] == "as_of"
    assert (comparison["start"], comparison["end"]) == ("2023-01-01", "2024-11-30")


def test_definitions_footer_states_the_conventions():
    orders = _orders(["a", "a"], ["2024-01-05", "2024-03-05"], [10.0, 20.0])
    config = {
        "metrics": {
            "churn_period": "180D",
            "margin": 0.3,
            "nps_method": "wald",
            "annual_discount_rate": 0.1,
            "cli_nps_scale": "percent",
            "currency": "EUR",
        }
    }
    report = build_report({"orders": orders}, config=config, generated_at=STAMP)
    terms = {d["term"]: d["text"] for d in report["definitions"]}
    assert (
        "2024-01-05 to 2024-03-05" in terms["Window"] and "as_of = 2024-03-05" in terms["Window"]
    )
    assert "P = 180D" in terms["Churn"]
    assert "annual discount rate 10%" in terms["Discount rate"]
    assert "30% of net revenue" in terms["Margin basis"]
    assert terms["NPS interval"].startswith("95% Wald")
    assert "rescaled to 0..100" in terms["Customer Loyalty Index"]
    assert "half away from zero" in terms["Rounding"]
    assert terms["Currency"] == "money in EUR."
    page = _parse(render_html(report, charts=False))
    for term in (
        "Window",
        "Churn",
        "Discount rate",
        "Margin basis",
        "NPS interval",
        "Customer Loyalty Index",
    ):
        assert term in page.text
    # the headline money figures carry the currency
    assert "10.00 EUR" not in render_text(report) or True
    assert re.search(r"Revenue\s+30\.00 EUR", render_text(report))


def test_every_kpi_has_its_definition_one_click_away(sample_html):
    page = _parse(sample_html)
    assert page.details >= len(HEADLINE)
    assert "Definition" in page.text


def test_data_quality_lists_rejected_rows_with_reasons(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "customer_id,order_date,amount\n"
        "a,2024-01-05,10\n"
        "b,2024-01-06,ten\n"
        ",2024-01-07,5\n"
        "c,2024-01-08,7\n",
        encoding="utf-8",
    )
    frames = lm.read_folder(tmp_path, errors="reject")
    report = build_report(frames, strict=True)
    section = _section(report, "data_quality")
    files = section["tables"][0]["rows"]
    assert files == [
        {
            "table": "orders",
            "source": "orders.csv",
            "rows_read": 4,
            "rows_kept": 2,
            "rows_rejected": 2,
        }
    ]
    reasons = section["tables"][1]["rows"]
    assert {r["lines"] for r in reasons} == {"3", "4"}
    assert all(r["rows"] == 1 for r in reasons)
    assert any("amount" in r["reason"] for r in reasons)
    assert any("customer_id" in r["reason"] for r in reasons)


# ---------------------------------------------------------------------------------------------
# Safety: every string from the data is escaped.


def _evil(field: str, value: object = "") -> str:
    return f"<script>alert('{field}')</script> | pipes | `{field}` *{value}*"


def _poisoned() -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    tables = lm.generate_sample(300, seed=2)
    shown: dict[str, str] = {}

    def ids(series: pd.Series) -> pd.Series:
        return series.map(lambda v: v if pd.isna(v) else _evil("id", v))

    for name in ("orders", "surveys", "events", "customers"):
        tables[name]["customer_id"] = ids(tables[name]["customer_id"])
    tables["customers"]["referred_by"] = ids(tables["customers"]["referred_by"])
    tables["orders"]["order_id"] = tables["orders"]["order_id"].map(lambda v: _evil("order", v))
    tables["orders"]["product_id"] = tables["orders"]["product_id"].map(
        lambda v: _evil("product", v)
    )
    categorical = {
        "orders": ["category", "channel"],
        "surveys": ["segment"],
        "events": ["event_type"],
        "spend": ["channel"],
        "customers": ["acquisition_channel", "tier"],
    }
    for name, columns in categorical.items():
        for column in columns:
            tables[name][column] = tables[name][column].cat.rename_categories(
                lambda c, column=column: _evil(column, c)
            )
            shown[column] = _evil(column, tables[name][column].cat.categories[0][-6:])
    tables["surveys"]["comment"] = tables["surveys"]["comment"].map(
        lambda v: v if pd.isna(v) else _evil("comment", v) + "\n# heading\n1. list"
    )
    return tables, shown


def test_every_text_field_is_escaped_in_html_and_markdown():
    tables, _ = _poisoned()
    report = build_report(tables, generated_at=STAMP, strict=True)
    html = render_html(report)
    markdown = render_markdown(report)
    # nothing from the data became markup
    assert "<script" not in html and "<script" not in markdown
    page = _parse(html)
    assert "script" not in page.tags
    texts = "\n".join(page.text)
    # the values are there, as text: ids, segment, channels, category, tier, event types,
    # comments (order and product ids and referrers are not shown anywhere)
    for field in (
        "id",
        "segment",
        "channel",
        "category",
        "tier",
        "event_type",
        "acquisition_channel",
        "comment",
    ):
        assert f"<script>alert('{field}')</script> | pipes |" in texts, field
        escaped = str(markupsafe.escape(f"<script>alert('{field}')</script> | pipes |"))
        assert escaped in html, field
        assert md_escape(f"<script>alert('{field}')</script> | pipes |") in markdown, field
    # no raw pipe from the data: every table row keeps its cell count
    unescaped = re.compile(r"(?<!\\)\|")
    width = None
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = len(unescaped.findall(line))
            width = cells if width is None else width
            assert cells == width, line
        else:
            width = None
            # a comment's "# heading" never starts a Markdown heading of its own
            assert not line.startswith("# heading") and not line.startswith("1. list")
    text = render_text(report)
    assert "<script" not in text or "alert" in text  # text output is plain: nothing to escape


def test_md_escape_neutralises_markdown():
    assert md_escape("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("`code` *em* _em_ [link](x) ~s~ !") == (
        "\\`code\\` \\*em\\* \\_em\\_ \\[link\\](x) \\~s\\~ \\!"
    )
    assert md_escape("# h") == "\\# h" and md_escape("- item") == "\\- item"
    assert md_escape("1. item") == "1\\. item"
    assert md_escape("line\nbreak") == "line break"
    assert md_escape("-12.5") == "-12.5"  # numbers stay readable
    assert md_escape(None) == "–"


# ---------------------------------------------------------------------------------------------
# Determinism and writing.


def test_rendering_is_deterministic():
    tables = lm.generate_sample(150, seed=3)
    first = build_report(tables, generated_at=STAMP, strict=True)
    second = build_report(tables, generated_at=STAMP, strict=True)
    assert first == second
    for fmt_name in ("html", "md", "json", "text"):
        assert render(first, fmt_name).encode() == render(second, fmt_name).encode(), fmt_name


def test_generated_at_is_passed_in_never_read_from_the_clock():
    orders = _orders(["a", "b"], ["2024-01-05", "2024-01-06"], [10.0, 30.0])
    first = build_report({"orders": orders}, generated_at=STAMP)
    later = build_report({"orders": orders}, generated_at="2025-02-01T00:00:00")
    assert later["generated_at"] == "2025-02-01T00:00:00"
    assert render_json(later).replace("2025-02-01T00:00:00", STAMP) == render_json(first)
    assert build_report({"orders": orders})["generated_at"] is None


def test_write_report_is_atomic(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old\n", encoding="utf-8")
    write_report("# new\n", target)
    assert target.read_text(encoding="utf-8") == "# new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]  # no temp left
    with pytest.raises(FileNotFoundError):
        write_report("x", tmp_path / "missing" / "report.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_format_for_path_and_render_dispatch():
    assert [format_for_path(p) for p in ("a.html", "b.HTM", "c.md", "d.json", "e.txt", "f")] == [
        "html",
        "html",
        "md",
        "json",
        "text",
        None,
    ]
    with pytest.raises(ValueError, match="'format' parameter of render"):
        render({}, "pdf")


def test_text_report_aligns_the_headline_table(sample_report):
    lines = render_text(sample_report).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("KPI"))
    rows = lines[header + 2 : header + 2 + len(HEADLINE)]
    value_end = lines[header].index("Value") + len("Value")
    for row in rows:
        # every value is right-aligned on the header's "Value"
        assert row[value_end - 1] != " ", row
        assert row[value_end] == " ", row
    assert rows[0].startswith("Customers ")


# ---------------------------------------------------------------------------------------------
# Graceful degradation, but no silent bugs.


def test_a_failing_section_becomes_a_note_unless_strict(monkeypatch):
    orders = _orders(
        ["a", "a", "b"], ["2024-01-05", "2024-02-10", "2024-02-11"], [10.0, 20.0, 5.0]
    )

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("loyalty_metrics.cohorts.cohort_table", broken)  # what the section calls
    report = build_report({"orders": orders})
    cohorts = _section(report, "cohorts")
    assert not cohorts["shown"]
    assert cohorts["note"] == (
        "Cohort retention: not shown, it failed (RuntimeError: boom). "
        "Run with --debug for details."
    )
    with pytest.raises(RuntimeError, match="boom"):
        build_report({"orders": orders}, strict=True)


def test_bad_freq_is_refused():
    orders = _orders(["a"], ["2024-01-05"], [1.0])
    with pytest.raises(ValueError, match="'freq' parameter of build_report must be one of"):
        build_report({"orders": orders}, freq="D")


def test_plain_converts_to_json_ready_values():
    import numpy as np

    assert plain(
        {
            "a": [np.float64("nan"), np.int64(2), pd.Timestamp("2024-01-02 03:04:05")],
            "b": pd.Period("2024-01", freq="M"),
            "c": np.bool_(True),
            "d": pd.NA,
        }
    ) == {"a": [None, 2, "2024-01-02T03:04:05"], "b": "2024-01", "c": True, "d": None}


def test_category_table_shows_the_top_categories_and_other():
    from loyalty_metrics.report._content import build_report
    from loyalty_metrics.report._section_kpis import TOP_CATEGORIES

    # 40 categories c00..c39 with revenue 1..40 (c39 largest), one customer each, plus
    # customer "z" who buys c00 and c01 too
    n = 40
    orders = pd.DataFrame(
        {
            "customer_id": [f"k{i}" for i in range(n)] + ["z", "z"],
            "order_date": pd.to_datetime(["2024-01-05"] * (n + 2)),
            "amount": [float(i + 1) for i in range(n)] + [1.0, 1.0],
            "category": [f"c{i:02d}" for i in range(n)] + ["c00", "c01"],
        }
    )
    report = build_report({"orders": orders}, strict=True)
    kpis = next(s for s in report["sections"] if s["id"] == "kpis")
    table = next(t for t in kpis["tables"] if t["id"] == "categories")
    assert table["title"] == f"Revenue by category (top {TOP_CATEGORIES} of 40)"
    rows = table["rows"]
    assert len(rows) == TOP_CATEGORIES + 1
    assert rows[0]["category"] == "c39" and rows[0]["revenue"] == 40.0
    other = rows[-1]
    assert other["category"] == "other (25 categories)"
    # c00..c24: revenue 1 + ... + 25 = 325, plus z's 2.00; buyers k0..k24 and z = 26
    assert other["revenue"] == 327.0 and other["buyers"] == 26
    total = sum(range(1, n + 1)) + 2  # 822
    assert other["revenue_share"] == pytest.approx(100 * 327 / total)


@settings(max_examples=80, deadline=None)
@given(
    clv=st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=0, max_size=40),
    p_alive=st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=40, max_size=40),
    n=st.integers(1, 12),
)
def test_top_customers_equal_a_full_stable_sort(clv, p_alive, n):
    from loyalty_metrics.report._section_clv import _top

    frame = pd.DataFrame(
        {
            "clv": [np.nan if v is None else float(v) for v in clv],
            "p_alive": [np.nan if v is None else float(v) for v in p_alive[: len(clv)]],
        },
        index=[f"c{i}" for i in range(len(clv))],
    )
    expected = frame.sort_values(["clv", "p_alive"], ascending=False, kind="stable").head(n)
    pd.testing.assert_frame_equal(_top(frame, ["clv", "p_alive"], n), expected)


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.integers(0, 4), min_size=0, max_size=50),
    seed=st.integers(0, 1000),
    big=st.booleans(),
)
def test_distinct_buyers_per_category_bitmap_and_hash_agree(groups, seed, big):
    from loyalty_metrics.report import _section_kpis

    rng = np.random.default_rng(seed)
    group = np.asarray(groups, dtype="int64")
    value = rng.integers(0, 8, len(group)).astype("int64")
    if big:  # past the bitmap's size: the hashing path
        value = value * (1 << 26)
    expected = [len(set(value[group == g].tolist())) for g in range(5)]
    assert _section_kpis._distinct_per_group(group, value, 5).tolist() == expected


# ---------------------------------------------------------------------------------------------
# Charts drawn by a second process: the same images, and a dead worker costs nothing.


def _sample_report():
    data = lm.generate_sample(300, seed=3)
    return build_report(data, generated_at="2024-03-01")


def test_a_chart_worker_draws_the_same_images():
    from loyalty_metrics.report._figures import chart_images, chart_worker

    content = _sample_report()
    alone = chart_images(content)
    worker = chart_worker()
    assert worker is not None  # CI machines have two cores
    try:
        worker.warm_up.result(timeout=120)  # the worker imports matplotlib first
        assert worker.ready()
        shared = chart_images(content, worker=worker)
    finally:
        worker.shutdown()
    assert len(alone) >= 4
    assert shared == alone  # same keys, same PNG bytes


def test_a_dead_chart_worker_leaves_the_drawing_here():
    import os

    from loyalty_metrics.report._figures import chart_images, chart_worker

    content = _sample_report()
    worker = chart_worker()
    assert worker is not None
    try:
        worker.warm_up.result(timeout=120)
        # the worker process dies: the pool is broken, the next task cannot run there
        worker.pool.submit(os._exit, 1).exception(timeout=120)
        assert chart_images(content, worker=worker) == chart_images(content)
    finally:
        worker.shutdown()


def test_charts_given_while_the_report_is_computed_come_from_the_worker():
    from loyalty_metrics.report._figures import chart_images, chart_worker

    data = lm.generate_sample(300, seed=3)
    alone = chart_images(build_report(data, generated_at="2024-03-01"))
    worker = chart_worker()
    assert worker is not None
    try:
        content = build_report(data, generated_at="2024-03-01", on_section=worker.draw_section)
        given = dict(worker.given)
        assert set(given) == set(alone)  # every chart was given as its section was computed
        for _, future in given.values():
            future.result(timeout=120)  # drawn there, before the page is rendered
        assert chart_images(content, worker=worker) == alone
        assert worker.given == {}  # taken
    finally:
        worker.shutdown()


def test_a_chart_given_with_other_content_is_drawn_again_from_the_report():
    from loyalty_metrics.report._figures import chart_images, chart_worker

    content = _sample_report()
    kpis = next(s for s in content["sections"] if s["id"] == "kpis")
    stale = json.loads(json.dumps(kpis))
    trend = next(t for t in stale["tables"] if t["id"] == "trend")
    trend["rows"] = trend["rows"][:2]  # what was given differs from the final report
    worker = chart_worker()
    assert worker is not None
    try:
        worker.draw_section(stale, content["currency"])
        assert "kpis/kpi_trends" in worker.given
        assert chart_images(content, worker=worker) == chart_images(content)
    finally:
        worker.shutdown()


def test_charts_given_to_a_worker_that_dies_are_drawn_here():
    import os
    import signal
    import time
    from concurrent.futures import BrokenExecutor

    from loyalty_metrics.report._figures import chart_images, chart_worker

    data = lm.generate_sample(300, seed=3)
    worker = chart_worker()
    assert worker is not None
    try:
        pid = worker.pool.submit(os.getpid).result(timeout=120)
        busy = worker.pool.submit(time.sleep, 60)
        content = build_report(data, generated_at="2024-03-01", on_section=worker.draw_section)
        assert worker.given  # queued behind the sleep
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenExecutor):
            busy.result(timeout=120)
        assert chart_images(content, worker=worker) == chart_images(content)
    finally:
        worker.shutdown()


#: Per-customer values as a report section meets them: blanks, fractions, whole numbers.
_PER_CUSTOMER_VALUES = st.lists(
    st.one_of(st.none(), st.floats(-1e9, 1e9, allow_nan=False), st.integers(-1000, 1000)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(_PER_CUSTOMER_VALUES)
def test_distribution_table_equals_the_series_statistics(raw):
    # numpy on the bare array (fast on millions of customers) == Series.mean / .quantile
    from loyalty_metrics.report._blocks import _distribution_table

    values = pd.Series([np.nan if v is None else float(v) for v in raw], dtype="float64")
    present = values.dropna()
    expected = [present.mean(), *present.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).to_numpy()]
    got = _distribution_table(values)["value"].tolist()
    assert len(got) == 6
    for a, b in zip(got, expected, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=200, deadline=None)
@given(_PER_CUSTOMER_VALUES)
def test_the_centre_of_a_distribution_equals_the_series_statistics(raw):
    # on the bare array: the same mean and median as the Series', and the text index of
    # millions of customers never builds its hash table (160 MB at 2.6M ids)
    from loyalty_metrics.report._blocks import _centre

    ids = pd.Index([f"c{i}" for i in range(len(raw))], dtype="str")
    values = pd.Series([np.nan if v is None else float(v) for v in raw], index=ids)
    present = values.dropna()
    ids._cache.pop("_engine", None)  # dropna built it: the pandas path this one avoids
    got = _centre(values)
    assert "_engine" not in ids._cache
    assert got["n"] == len(present)
    if len(present):
        assert (got["mean"], got["median"]) == (present.mean(), present.median())
    else:
        assert got["mean"] is None and got["median"] is None
