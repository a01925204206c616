"""The report's loyalty programme section and the two charts it draws."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import loyalty_metrics as lm
from loyalty_metrics import charts
from loyalty_metrics.programs import CAUSALITY
from loyalty_metrics.report import (
    build_report,
    render_html,
    render_json,
    render_markdown,
    render_text,
)
from loyalty_metrics.report._figures import chart_images
from loyalty_metrics.report._section_points import ROI_LABELS

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
CONFIG = {"metrics": {"point_value": 0.01, "margin": 0.35,
                      "tier_thresholds": {"silver": 300.0, "gold": 1000.0}}}  # fmt: skip


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return lm.read_folder(SAMPLE, errors="reject")


@pytest.fixture(scope="module")
def report(frames) -> dict:
    return build_report(frames, config=CONFIG, generated_at="2025-01-06", strict=True)


def _points(report: dict) -> dict:
    return next(s for s in report["sections"] if s["id"] == "points")


def test_json_carries_the_points_kpis_value_by_value(frames, report):
    window = {"start": report["window"]["start"], "end": report["window"]["end"]}
    expected = lm.points_kpis(frames["points"], frames["customers"], frames["orders"],
                              point_value=0.01, **window)  # fmt: skip
    section = _points(json.loads(render_json(report)))
    assert section["shown"] and section["title"] == "Loyalty programme"
    assert sorted(section["values"]) == sorted(lm.POINTS_KPI_KEYS)
    for key, value in expected.items():
        assert section["values"][key] == (None if math.isnan(value) else float(value)), key
    stats = {s["key"]: s for s in section["stats"]}
    assert stats["points_liability"]["unit"] == "money"
    # every rate carries its n and interval, around the value
    for key in ("redemption_rate", "breakage_rate", "member_activity_rate", "redeemer_share"):
        stat = stats[key]
        assert stat["n"] > 0 and stat["ci_low"] <= stat["value"] <= stat["ci_high"], key
    assert stats["redemption_rate"]["n_label"] == "customers"
    assert stats["redeemer_share"]["n_label"] == "members"


def test_roi_states_its_basis_and_causal_strength(report):
    roi = next(s for s in _points(report)["stats"] if s["key"] == "program_roi")
    assert roi["unit"] == "ratio" and roi["ci_low"] <= roi["value"] <= roi["ci_high"]
    assert "Basis: difference in differences" in roi["definition"]
    assert CAUSALITY["difference_in_differences"] in roi["definition"]


class _Card(HTMLParser):
    """The text of each div of one card (by class), in the order the page shows them."""

    def __init__(self, card_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.card_id, self.depth, self.divs, self.current = card_id, 0, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("id") == self.card_id:
            self.depth = 1
        elif tag == "div" and self.depth:
            self.depth += 1
            self.current = [attrs.get("class", ""), ""]
            self.divs.append(self.current)

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.current[1] += data


def test_roi_labels_keep_each_bases_causal_strength():
    assert set(ROI_LABELS) == set(CAUSALITY)
    for basis, label in ROI_LABELS.items():
        strength = CAUSALITY[basis].split(":")[0]  # e.g. "not causal"
        assert basis.replace("_", " ").split()[0] in label and strength in label, basis


def test_roi_causal_label_is_next_to_the_figure_in_every_format(report):
    label = "difference in differences: closest to causal, assumes parallel trends"
    roi = next(s for s in _points(report)["stats"] if s["key"] == "program_roi")
    assert roi["caveat"] == label == ROI_LABELS["difference_in_differences"]
    figure = f"{roi['value']:,.2f}"
    # HTML: the card's div right after the value holds the label
    card = _Card("stat-program_roi")
    card.feed(render_html(report, charts=False))
    classes = [c for c, _ in card.divs]
    texts = dict(card.divs)
    assert classes.index("caveat") == classes.index("value") + 1
    assert texts["value"] == figure and texts["caveat"] == label
    # Markdown: the value cell of the ROI row
    row = next(
        r for r in render_markdown(report).splitlines() if r.startswith("| Programme ROI |")
    )
    assert row.split(" | ")[1] == f"{figure} ({label})"
    # JSON: the stat carries it
    stats = _points(json.loads(render_json(report)))["stats"]
    assert next(s for s in stats if s["key"] == "program_roi")["caveat"] == label
    # text: one line with the figure, the label, n and the interval
    line = next(r for r in render_text(report).splitlines() if r.startswith("Programme ROI"))
    assert line.startswith(f"Programme ROI: {figure} ({label}); n = {roi['n']:,} members; ")
    assert line.endswith(f"interval {roi['ci_low']:,.2f} – {roi['ci_high']:,.2f}")


def test_tables_and_charts_with_tier_thresholds(report):
    section = _points(report)
    tables = {t["id"]: t for t in section["tables"]}
    assert {"flow", "redemption_by_tier", "tiers", "migration"} <= set(tables)
    assert {c["id"] for c in section["charts"]} == {"flow", "tiers", "migration"}
    flow = pd.DataFrame(tables["flow"]["rows"])
    steps = flow["outstanding"].diff().iloc[1:].to_numpy()
    assert steps == pytest.approx(flow["net_change"].iloc[1:].to_numpy())
    migration = pd.DataFrame(tables["migration"]["rows"]).set_index("tier_at_start")
    assert list(migration.index) == ["new", "base", "silver", "gold"]
    assert list(migration.columns) == ["base", "silver", "gold"]
    tiers = pd.DataFrame(tables["tiers"]["rows"])
    # the last row of the distribution and the migration's columns count the same customers
    assert tiers[["base", "silver", "gold"]].iloc[-1].tolist() == migration.sum().tolist()
    images = chart_images(report)
    assert {"points/flow", "points/tiers", "points/migration"} <= set(images)


def test_without_thresholds_tiers_are_a_note(frames):
    report = build_report(frames, generated_at="2025-01-06", strict=True)
    section = _points(report)
    assert "tiers" not in {t["id"] for t in section["tables"]}
    assert any("tier_thresholds" in note for note in section["notes"])
    html = render_html(report, charts=False)
    assert "Loyalty programme" in html and "tier_thresholds" in html
    # the older members-vs-non-members section has a title of its own
    assert "Member impact and referrals" in html and "Loyalty programme and" not in html
    assert "Points outstanding" in render_markdown(report)


def test_points_flow_chart_axes_hold_the_data():
    flow = lm.points_flow(
        pd.DataFrame({
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10"]),
            "points": [100.0, -40.0, -10.0],
            "type": ["earn", "redeem", "expire"],
        })
    )  # fmt: skip
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert charts.points_flow_chart(flow, ax=ax) is fig
    issued, redeemed, expired = ax.containers
    assert [b.get_height() for b in issued] == [100.0, 0.0]
    assert [b.get_height() for b in redeemed] == [0.0, -40.0]
    assert [(b.get_y(), b.get_height()) for b in expired][1] == (-40.0, -10.0)  # under redeemed
    assert fig.axes[1].lines[0].get_ydata().tolist() == [100.0, 50.0]


def test_tier_migration_heatmap_annotates_counts():
    matrix = pd.DataFrame([[2, 0], [1, 3]], index=["new", "base"], columns=["base", "gold"])
    fig = charts.tier_migration_heatmap(matrix)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["2", "0", "1", "3"]
    assert ax.images[0].get_array().tolist() == [[100.0, 0.0], [25.0, 75.0]]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["new", "base"]


def test_cli_report_and_export_pick_up_the_ledger_and_the_config(tmp_path):
    from click.testing import CliRunner

    from loyalty_metrics.cli import cli

    folder = tmp_path / "data"
    lm.write_sample(folder, customers=400, seed=5, months=14)
    (folder / "loyalty.toml").write_text(
        "[metrics]\npoint_value = 0.02\ntier_thresholds = { silver = 200, gold = 800 }\n"
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["report", str(folder), "-o", str(tmp_path / "r.json"), "-q"])
    assert result.exit_code == 0, result.output
    section = _points(json.loads((tmp_path / "r.json").read_text()))
    assert {t["id"] for t in section["tables"]} >= {"flow", "tiers", "migration"}
    tables = lm.read_folder(folder)
    dates = tables["orders"]["order_date"]  # the report's and the export's window
    expected = lm.points_kpis(tables["points"], tables["customers"], tables["orders"],
                              point_value=0.02, start=dates.min(), end=dates.max())  # fmt: skip
    assert section["values"]["points_liability"] == pytest.approx(expected["points_liability"])

    target = tmp_path / "kpis.csv"
    result = runner.invoke(cli, ["export", str(folder), "--to", str(target), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(target)
    assert list(rows.columns[-len(lm.POINTS_KPI_KEYS) :]) == list(lm.POINTS_KPI_KEYS)
    assert rows["points_liability"].iloc[-1] == pytest.approx(expected["points_liability"])
