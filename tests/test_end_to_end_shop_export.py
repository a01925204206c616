"""From a raw shop export folder to a report and an export, figures computed by hand.

``tests/data/shop_export`` is written by hand in the shape of the UCI Online Retail export
(``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country``): ids written as ``17850.0``, two guest-checkout lines without a customer id, a
77,183.60 order cancelled 16 minutes later on invoice ``C541433``, and a final month holding
9 days (2011-02-01..09). ``loyalty.toml`` maps the columns, links cancellations within 30
days and lets the export reject bad rows. ``customers.csv`` keys customers the plain way
(``17850``) and adds a lead (``99999``).

Order lines (amount = quantity * unit price):

======== ========= ================ ===================== =========
invoice  customer  date             lines                 net
======== ========= ================ ===================== =========
536365   17850     2010-12-01       6 * 2.55 + 6 * 3.39    35.64
536367   13047     2010-12-01       32 * 1.69              54.08
536370   (guest)   2010-12-01       24 * 3.75              90.00
536400   14688     2010-12-02       12 * 0.55               6.60
536366   17850     2010-12-15       2 * 1.85                3.70
537000   17850     2011-01-10       4 * 2.55               10.20
541431   12346     2011-01-18       74215 * 1.04       77,183.60
C541433  12346     2011-01-18       -74215 * 1.04     -77,183.60  -> linked into 541431: 0.00
541500   12346     2011-01-20       1 * 2.90                2.90
539000   (guest)   2011-02-03       2 * 3.75                7.50
540000   13047     2011-02-09       6 * 2.10               12.60
======== ========= ================ ===================== =========

Identified customers 17850, 13047, 14688, 12346 (4); purchases 3 + 2 + 1 + 2 = 8 (541431
nets 0.00: a $0 order is a purchase); revenue 35.64 + 3.70 + 10.20 + 54.08 + 12.60 + 6.60 +
0 + 2.90 = 125.72; average ticket 125.72 / 8 = 15.715; repeat rate 3 / 4 = 75 %; guests
90.00 + 7.50 = 97.50; total 223.22. Known customers: the 4 buyers and the lead 99999 = 5.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from loyalty_metrics.cli import cli

FOLDER = Path(__file__).parent / "data" / "shop_export"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    work = tmp_path_factory.mktemp("shop")
    data = work / "data"
    shutil.copytree(FOLDER, data)
    runner = CliRunner()
    report = runner.invoke(
        cli, ["report", str(data), "--format", "json", "-o", str(work / "r.json")]
    )
    export = runner.invoke(cli, ["export", str(data), "--to", str(work / "kpis.csv")])
    assert report.exit_code == 0, report.output
    assert export.exit_code == 0, export.output
    content = json.loads((work / "r.json").read_text())
    return content, report.stderr, pd.read_csv(work / "kpis.csv"), export.stderr


def _section(content, section_id):
    return next(s for s in content["sections"] if s["id"] == section_id)


def test_report_headline_figures(outputs):
    content, _, _, _ = outputs
    stats = {s["key"]: s for s in _section(content, "kpis")["stats"]}
    assert stats["customers"]["value"] == 4
    assert stats["purchases"]["value"] == 8
    assert stats["revenue"]["value"] == pytest.approx(125.72)
    assert stats["revenue"]["label"] == "Revenue, identified customers"
    assert stats["average_ticket"]["value"] == pytest.approx(15.715)
    assert stats["repeat_purchase_rate"]["value"] == 75.0
    # units: 6 + 6 + 32 + 12 + 2 + 4 + 74215 - 74215 + 1 + 6 = 69 over 8 purchases
    assert stats["average_units"]["value"] == pytest.approx(69 / 8)
    assert stats["guest_revenue"]["value"] == pytest.approx(97.50)
    assert stats["total_revenue"]["value"] == pytest.approx(223.22)


def test_ids_join_the_customers_table(outputs):
    content, _, _, _ = outputs
    ladder = _section(content, "ladder")
    assert ladder["stats"][0]["value"] == 5  # not 9: 17850.0 and 17850 are one customer
    funnel = {row["stage"]: row["customers"] for row in ladder["tables"][0]["rows"]}
    assert funnel == {"lead": 1, "buyer": 1, "repeat": 3, "advocate": 0}
    quality = _section(content, "data_quality")
    assert not any("match an id" in note for note in quality["notes"])


def test_caveats_and_notes_reach_the_report_and_stderr(outputs):
    content, stderr, _, _ = outputs
    about = {tuple(c["about"])[0] for c in content["caveats"]}
    assert about == {"new_customers", "cohort_table"}  # the window starts with the data
    assert "Note: 1 of 1 cancellation lines linked to the purchase they reverse" in stderr
    assert "Warning: orders.csv: 2 of 12 rows left out" in stderr  # the two guest lines
    assert "Warning: new_customers equals customers" in stderr


def test_trend_marks_the_nine_day_month_partial(outputs):
    content, _, _, _ = outputs
    trend = next(t for t in _section(content, "kpis")["tables"] if t["id"] == "trend")
    rows = {row["period"]: row for row in trend["rows"]}
    assert {p: r["status"] for p, r in rows.items()} == {
        "2010-12-31": "complete",
        "2011-01-31": "complete",
        "2011-02-09": "partial",
    }
    # per month: Dec 35.64 + 54.08 + 6.60 + 3.70 = 100.02; Jan 10.20 + 0 + 2.90 = 13.10;
    # Feb (9 days) 12.60
    assert [rows[p]["revenue"] for p in sorted(rows)] == pytest.approx([100.02, 13.10, 12.60])


def test_export_rows(outputs):
    _, _, kpis, stderr = outputs
    assert kpis["period"].tolist() == ["2010-12-31", "2011-01-31", "2011-02-28"]
    assert kpis["period_end"].tolist() == ["2010-12-31", "2011-01-31", "2011-02-09"]
    assert kpis["status"].tolist() == ["complete", "complete", "partial"]
    assert set(kpis["as_of"]) == {"2011-02-09"}
    # expanding from 2010-12-01: Dec 100.02; Jan + 13.10 = 113.12; Feb + 12.60 = 125.72
    assert kpis["revenue"].tolist() == pytest.approx([100.02, 113.12, 125.72])
    assert kpis["customers"].tolist() == [3, 4, 4]  # 12346 first buys in January
    assert kpis["guest_revenue"].tolist() == pytest.approx([90.0, 90.0, 97.5])
    assert kpis["total_revenue"].tolist() == pytest.approx([190.02, 203.12, 223.22])
    # [export] errors = "reject": the guest lines are logged, not fatal (cron reads the line)
    assert (
        stderr
        == "loyalty export: orders.csv: 2 of 12 rows rejected: customer_id: blank value (2)\n"
    )
