"""Tests of loyalty_metrics/cancellations.py, its CLI/config wiring and the CLV history flag."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

import loyalty_metrics as lm
from loyalty_metrics.cli import cli
from loyalty_metrics.config import check_config
from loyalty_metrics.errors import ConfigError
from loyalty_metrics.models import flag_clv_above_history

# Customer a orders 77,183.60 of p1 and cancels it 7 minutes later on another invoice;
# a also buys p2 twice (2.50 each). b cancels a p1 line 40 days after buying it.
LINES = pd.DataFrame(
    {
        "customer_id": ["a", "a", "a", "a", "b", "b"],
        "order_id": ["536001", "C536002", "536003", "536004", "536005", "C536006"],
        "product_id": ["p1", "p1", "p2", "p2", "p1", "p1"],
        "order_date": pd.to_datetime(
            [
                "2024-01-05 10:00",
                "2024-01-05 10:07",
                "2024-02-01 09:00",
                "2024-03-01 09:00",
                "2024-01-10 12:00",
                "2024-02-19 12:00",
            ]
        ),
        "amount": [77183.6, -77183.6, 2.5, 2.5, 20.0, -20.0],
    }
)


def test_a_cancellation_joins_the_order_it_reverses():
    linked = lm.link_cancellations(LINES, within="30D")
    assert linked["order_id"].tolist() == [
        "536001",
        "536001",
        "536003",
        "536004",
        "536005",
        "C536006",
    ]
    assert linked["cancels"].isna().tolist() == [True, False, True, True, True, True]
    assert linked["amount"].sum() == LINES["amount"].sum()  # revenue does not move
    before, after = lm.customer_summary(LINES), lm.customer_summary(linked)
    # a: purchases 536001 (77183.6) + 536003 + 536004 before; after, 536001 nets to 0.00
    # and stays a purchase ($0 orders are purchases), so a's purchases are unchanged ...
    assert before.loc["a", "purchases"] == after.loc["a", "purchases"] == 3
    # ... but a's spend per purchase is no longer 77,183.60 on the first one: revenue 5.00
    assert after.loc["a", "revenue"] == pytest.approx(5.0)
    # b's cancellation came 40 days later: outside 30D, it stays a return of its own
    assert lm.link_cancellations(LINES, within="60D")["order_id"].iloc[5] == "536005"


def test_matching_needs_the_same_product_and_an_earlier_purchase():
    lines = LINES.assign(product_id=["p1", "p9", "p2", "p2", "p1", "p1"])
    assert lm.link_cancellations(lines)["cancels"].isna().all()
    by_customer = lm.link_cancellations(lines, by=("customer_id",))
    assert by_customer["order_id"].iloc[1] == "536001"


def test_an_explicit_cancels_column_wins_and_must_name_an_order_of_the_customer():
    lines = LINES.assign(cancels=[None, "536001", None, None, None, "536001"])
    linked = lm.link_cancellations(lines, within=None)
    # b's line names a's order: not linked (an order belongs to one customer)
    assert linked["order_id"].tolist()[1] == "536001" and linked["order_id"].iloc[5] == "C536006"


def test_orders_without_order_id_get_row_numbers():
    linked = lm.link_cancellations(LINES.drop(columns="order_id"))
    assert linked["order_id"].tolist() == ["0", "0", "2", "3", "4", "5"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"within": "1M"}, "positive fixed span"),
        ({"within": "-3D"}, "positive fixed span"),
        ({"by": ("product_id",)}, "must list 'customer_id'"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lm.link_cancellations(LINES, **kwargs)
    with pytest.raises(ValueError, match="no 'product_id' column"):
        lm.link_cancellations(LINES.drop(columns="product_id"))


def test_config_table_is_checked():
    assert check_config({"cancellations": {"within": "30D", "by": ["customer_id"]}}) == {
        "cancellations": {"within": "30D", "by": ["customer_id"]}
    }
    with pytest.raises(ConfigError, match='within must be a fixed length such as "30D"'):
        check_config({"cancellations": {"within": "1M"}})


def test_cli_option_and_config_link_before_the_figures(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    LINES.assign(order_date=LINES["order_date"].dt.strftime("%Y-%m-%d %H:%M")).to_csv(
        data / "orders.csv", index=False
    )
    runner = CliRunner()
    plain = runner.invoke(cli, ["kpis", str(data), "--format", "json", "--kpi", "average_ticket"])
    linked = runner.invoke(
        cli,
        ["kpis", str(data), "--format", "json", "--kpi", "average_ticket",
         "--link-cancellations", "30D"],
    )  # fmt: skip
    assert plain.exit_code == linked.exit_code == 0, linked.output
    assert "Note: 1 of 2 cancellation lines linked" in linked.stderr
    # revenue 5.00 + 0.00 = 5.00 either way; purchases: 4 (536001, 536003, 536004, 536005;
    # returns are not purchases) -> ticket (77183.6 - 77183.6 + 5 + 20 - 20) / 4 = 1.25
    assert '"average_ticket": 1.25' in plain.stdout and '"average_ticket": 1.25' in linked.stdout
    (data / "loyalty.toml").write_text('[cancellations]\nwithin = "30D"\n')
    from_config = runner.invoke(cli, ["kpis", str(data), "--kpi", "purchases"])
    assert "Note: 1 of 2 cancellation lines linked" in from_config.stderr


def test_flag_predicted_value_far_above_net_history():
    breakdown = pd.DataFrame({"clv": [9000.0, 40.0, 30.0, 25.0, 60.0]}, index=list("abcde"))
    summary = pd.DataFrame({"revenue": [2.9, 35.0, 1.0, 20.0, -5.0]}, index=list("abcde"))
    flagged = flag_clv_above_history(breakdown, summary)
    # median CLV 40: a (9000 > 5 * 2.9) and e (60 > 5 * 0, net negative) are flagged;
    # c (30 > 5 * 1) is not above the median
    assert flagged["far_above_history"].tolist() == [True, False, False, False, True]
    assert flagged["net_history"].tolist() == [2.9, 35.0, 1.0, 20.0, -5.0]
    with pytest.raises(ValueError, match="factor"):
        flag_clv_above_history(breakdown, summary, factor=0)
