"""The sample-data generator, the committed sample_data/, and the `sample` / `demo` commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics import read_folder, read_report
from loyalty_metrics._sample_points import sample_config
from loyalty_metrics.cli import cli
from loyalty_metrics.cli._common import EXIT_DATA, EXIT_IO, EXIT_OK, EXIT_USAGE
from loyalty_metrics.config import load_config
from loyalty_metrics.points import points_kpis
from loyalty_metrics.sample import NOT_GENERATED, SAMPLE_FILES, generate_sample, write_sample
from loyalty_metrics.schema import TABLES
from loyalty_metrics.summary import customer_summary
from loyalty_metrics.tiers import loyalty_tiers

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_sample(1500, seed=11)


def _nps(scores: pd.Series) -> float:
    scores = scores.dropna()
    return 100 * ((scores >= 9).mean() - (scores <= 6).mean())


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames() -> None:
    first = generate_sample(300, seed=5)
    second = generate_sample(300, seed=5)
    assert sorted(first) == ["customers", "events", "orders", "points", "spend", "surveys"]
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_different_seed_gives_different_data() -> None:
    a = generate_sample(300, seed=5)
    b = generate_sample(300, seed=6)
    for name in ("orders", "surveys", "events", "spend", "customers", "points"):
        assert not a[name].equals(b[name]), name


def test_write_sample_is_byte_identical(tmp_path: Path) -> None:
    one = write_sample(tmp_path / "one", customers=200, seed=2)
    two = write_sample(tmp_path / "two", customers=200, seed=2)
    assert {name: p.name for name, p in one.items()} == SAMPLE_FILES
    for name in one:
        assert one[name].read_bytes() == two[name].read_bytes(), name
    # no temporary files left behind
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(SAMPLE_FILES.values())


# --------------------------------------------------------------------------- contract


_KIND_DTYPE = {
    "id": pd.StringDtype(na_value=np.nan),
    "text": pd.StringDtype(na_value=np.nan),
    "date": np.dtype("datetime64[ns]"),
    "money": np.dtype("float64"),
    "number": np.dtype("float64"),
    "nps_score": np.dtype("float64"),
    "csat_score": np.dtype("float64"),
    "duration": np.dtype("float64"),
    "bool": pd.BooleanDtype(),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_canonical_columns_and_dtypes(tables: dict[str, pd.DataFrame], name: str) -> None:
    frame = tables[name]
    schema = TABLES[name]
    generated = [c for c in schema.columns if c not in NOT_GENERATED.get(name, ())]
    assert list(frame.columns) == generated
    for column, spec in schema.columns.items():
        if column not in generated:
            continue
        dtype = frame[column].dtype
        if spec.kind == "category":
            assert isinstance(dtype, pd.CategoricalDtype), column
            categories = list(dtype.categories)
            assert categories == sorted(categories), column
            assert dtype.categories.dtype == pd.StringDtype(na_value=np.nan), column
        else:
            assert dtype == _KIND_DTYPE[spec.kind], (column, dtype)
        if not spec.nullable:
            assert frame[column].notna().all(), column
    assert frame.index.equals(pd.RangeIndex(len(frame)))


def test_written_files_read_back_as_the_generated_frames(tmp_path: Path) -> None:
    # The files carry everything: the readers rebuild exactly the generated frames.
    write_sample(tmp_path, customers=400, seed=9)
    read = read_folder(tmp_path, errors="raise")
    generated = generate_sample(400, seed=9)
    assert sorted(read) == sorted(generated)
    for name in generated:
        pd.testing.assert_frame_equal(read[name], generated[name])


def test_file_format(tmp_path: Path) -> None:
    paths = write_sample(tmp_path, customers=300, seed=4)
    orders = paths["orders"].read_text(encoding="utf-8").splitlines()
    assert orders[0] == ",".join(
        c for c in TABLES["orders"].columns if c not in NOT_GENERATED["orders"]
    )
    # dates without a time, whole quantities without decimals
    fields = orders[1].split(",")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", fields[1])
    assert re.fullmatch(r"-?\d+", fields[6])
    events = paths["events"].read_text(encoding="utf-8").splitlines()
    assert re.fullmatch(r"C\d{5},\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\w+,\d+", events[1])
    customers = paths["customers"].read_text(encoding="utf-8").splitlines()
    assert {line.split(",")[3] for line in customers[1:]} == {"true", "false"}
    raw = b"".join(p.read_bytes() for p in paths.values())
    assert b"\r\n" not in raw


# --------------------------------------------------------------------------- coherence


def _check_coherent(t: dict[str, pd.DataFrame], start: str, months: int) -> None:
    first = pd.Timestamp(start)
    end = first + pd.DateOffset(months=months)  # exclusive
    customers, orders = t["customers"], t["orders"]
    surveys, events, spend = t["surveys"], t["events"], t["spend"]
    ids = set(customers["customer_id"])
    assert customers["customer_id"].is_unique

    # every id refers to a known customer
    assert set(orders["customer_id"]) <= ids
    assert set(events["customer_id"]) <= ids
    assert set(surveys["customer_id"].dropna()) <= ids
    referred = customers.dropna(subset=["referred_by"])
    assert set(referred["referred_by"]) <= ids
    assert (referred["acquisition_channel"] == "referral").all()
    assert not (referred["referred_by"] == referred["customer_id"]).any()
    signup = customers.set_index("customer_id")["signup_date"]
    assert (
        signup.loc[referred["referred_by"]].to_numpy() <= referred["signup_date"].to_numpy()
    ).all()

    # membership
    members = customers[customers["is_member"]]
    others = customers[~customers["is_member"]]
    assert (members["member_since"] >= members["signup_date"]).all()
    assert members["tier"].notna().all() and members["member_since"].notna().all()
    assert others["tier"].isna().all() and others["member_since"].isna().all()
    assert set(members["tier"].astype(str)) <= {"bronze", "silver", "gold"}

    # dates inside the period
    for frame, column in (
        (orders, "order_date"),
        (surveys, "response_date"),
        (events, "timestamp"),
        (spend, "date"),
        (customers, "signup_date"),
        (members, "member_since"),
    ):
        assert (frame[column] >= first).all() and (frame[column] < end).all(), column
    # nobody orders, answers or logs in before signing up
    for frame, column in ((orders, "order_date"), (events, "timestamp")):
        joined = signup.loc[frame["customer_id"]].to_numpy()
        assert (frame[column].to_numpy() >= joined).all(), column
    month_starts = {first + pd.DateOffset(months=k) for k in range(months)}
    assert set(spend["date"]) == month_starts
    assert (spend["amount"] >= 0).all()

    # survey scales: integers, NPS blank only on CSAT-only rows
    score, csat = surveys["score"], surveys["csat"]
    assert score.dropna().between(0, 10).all() and (score.dropna() % 1 == 0).all()
    assert csat.dropna().between(1, 5).all() and (csat.dropna() % 1 == 0).all()
    assert csat[score.isna()].notna().all()
    assert (events["duration"] >= 0).all() and (events["duration"] % 1 == 0).all()

    # orders: ids and returns
    assert orders["order_id"].str.fullmatch(r"[OR]\d{7,}").all()
    assert orders["product_id"].str.fullmatch(r"P\d{4}").all()
    assert (orders.groupby("product_id", observed=True)["category"].nunique() <= 1).all()
    assert (orders["quantity"] % 1 == 0).all() and (orders["quantity"] != 0).all()
    assert ((orders["amount"] < 0) == (orders["quantity"] < 0)).all()
    assert (orders.groupby("order_id")["customer_id"].nunique() == 1).all()
    assert orders["order_date"].is_monotonic_increasing
    _check_points(t, first, end)


def _check_points(t: dict[str, pd.DataFrame], first: pd.Timestamp, end: pd.Timestamp) -> None:
    points, orders, customers = t["points"], t["orders"], t["customers"]
    assert points["date"].is_monotonic_increasing
    assert ((points["date"] >= first) & (points["date"] < end)).all()
    member_since = customers.set_index("customer_id")["member_since"]
    assert (points["date"].to_numpy() >= member_since.loc[points["customer_id"]].to_numpy()).all()
    kind = points["type"].astype(str)
    sign = np.sign(points["points"])
    assert (sign[kind == "earn"] > 0).all() and (sign[kind == "expire"] < 0).all()
    assert (points.loc[kind == "redeem", "points"] == -250).all()
    assert (points["points"] % 1 == 0).all()
    # an earning is the whole currency units of its order's positive lines, on its day
    earn = points[kind == "earn"].set_index("order_id")
    sales = orders[(orders["amount"] > 0) & orders["order_id"].str.startswith("O")]
    per_order = sales.groupby("order_id").agg(
        customer_id=("customer_id", "first"), date=("order_date", "min"), amount=("amount", "sum")
    )
    assert earn.index.is_unique
    matched = per_order.loc[earn.index]
    assert (matched["customer_id"] == earn["customer_id"]).all()
    assert (matched["date"] == earn["date"]).all()
    assert (np.floor(matched["amount"] + 1e-9) == earn["points"]).all()
    # a clawback takes back the points of a refunded order, after it
    claw = points[points["note"].str.startswith("refund", na=False)]
    assert ("refund R" + claw["order_id"].str[1:] == claw["note"]).all()
    assert set(claw["note"].str[7:]) <= set(orders["order_id"])
    assert (-claw.set_index("order_id")["points"] == earn.loc[claw["order_id"], "points"]).all()
    # an expiry empties the balance, a year to the day after the member's last earning
    balance = points.groupby("customer_id")["points"].cumsum()
    assert (balance[kind == "expire"] == 0).all()
    last_earn = points["date"].where(kind == "earn").groupby(points["customer_id"]).ffill()
    gap = (points["date"] - last_earn)[kind == "expire"]
    assert (gap == pd.Timedelta(days=365)).all()


def test_generated_data_is_coherent(tables: dict[str, pd.DataFrame]) -> None:
    _check_coherent(tables, "2023-01-01", 24)


def test_refund_orders_negate_their_original_order(tables: dict[str, pd.DataFrame]) -> None:
    orders = tables["orders"]
    refunds = orders[orders["order_id"].str.startswith("R")]
    assert len(refunds) > 0
    originals = orders[orders["order_id"].isin("O" + refunds["order_id"].str[1:])]
    originals = originals[originals["amount"] > 0]  # without its partial returns, if any
    key = ["customer_id", "product_id", "category"]
    left = refunds.assign(order_id="O" + refunds["order_id"].str[1:]).sort_values(
        ["order_id", "product_id", "amount"]
    )
    right = originals.sort_values(
        ["order_id", "product_id", "amount"], ascending=[True, True, False]
    )
    assert (left[["order_id", *key]].to_numpy() == right[["order_id", *key]].to_numpy()).all()
    assert np.allclose(left["amount"].to_numpy(), -right["amount"].to_numpy())
    assert (left["order_date"].to_numpy() > right["order_date"].to_numpy()).all()
    # a refund order nets below zero: a return, not a purchase
    assert (refunds.groupby("order_id")["amount"].sum() < 0).all()


def test_partial_returns_belong_to_an_earlier_purchase(tables: dict[str, pd.DataFrame]) -> None:
    orders = tables["orders"]
    returns = orders[(orders["amount"] < 0) & orders["order_id"].str.startswith("O")]
    assert len(returns) > 0
    first_line = orders.groupby("order_id")["order_date"].min()
    assert (
        returns["order_date"].to_numpy() > first_line.loc[returns["order_id"]].to_numpy()
    ).all()
    net = orders.groupby("order_id")["amount"].sum()
    assert (net.loc[returns["order_id"].unique()] >= 0).all()


@settings(max_examples=15, deadline=None)
@given(
    customers=st.integers(1, 80),
    seed=st.integers(0, 2**32 - 1),
    months=st.integers(1, 30),
    start=st.dates(
        min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()
    ),
)
def test_any_size_and_period_is_coherent(customers: int, seed: int, months: int, start) -> None:
    t = generate_sample(customers, seed=seed, start=str(start), months=months)
    assert len(t["customers"]) == customers
    _check_coherent(t, str(start), months)


# --------------------------------------------------------------------------- realism


def test_realistic_shape(tables: dict[str, pd.DataFrame]) -> None:
    orders, customers, surveys = tables["orders"], tables["customers"], tables["surveys"]
    summary = customer_summary(orders)
    repeat_share = (summary["purchases"] >= 2).mean()
    assert 0.3 < repeat_share < 0.75
    lines = orders.groupby("order_id").size()
    assert (lines > 1).mean() > 0.3  # multi-line orders are common
    net = orders.groupby("order_id")["amount"].sum()
    assert 0 < (net < 0).mean() < 0.05  # some full refunds
    assert (net.abs() < 1e-6).sum() > 0  # some free orders
    assert 5 <= orders["category"].nunique() <= 8
    assert 0.2 < customers["is_member"].mean() < 0.45
    assert customers["referred_by"].notna().sum() > 0
    assert 0.8 < len(summary) / len(customers) < 1.0  # a few sign-ups never buy
    assert 5 < len(orders) / len(customers) < 10
    assert surveys["customer_id"].isna().sum() > 0  # anonymous responses
    assert surveys["csat"].isna().sum() > 0 and surveys["score"].isna().sum() > 0
    assert surveys["comment"].notna().sum() > 0
    assert set(tables["events"]["event_type"]) == {
        "login",
        "view",
        "add_to_cart",
        "purchase",
        "review",
    }
    assert set(tables["spend"]["channel"]) == {"search", "social", "email", "referral"}


def test_points_ledger_is_realistic(tables: dict[str, pd.DataFrame]) -> None:
    k = points_kpis(tables["points"], tables["customers"], tables["orders"])
    assert set(tables["points"]["type"]) == {"earn", "redeem", "expire", "adjust"}
    assert 20 < k["redemption_rate"] < 60
    assert 10 < k["breakage_rate"] < 50
    assert 40 < k["member_activity_rate"] < 80
    assert 5 < k["redeemer_share"] < 40
    assert k["points_outstanding"] > 0
    notes = tables["points"]["note"].dropna()
    assert (notes == "goodwill").sum() > 0 and notes.str.startswith("refund R").sum() > 0


def test_members_buy_more_and_score_higher(tables: dict[str, pd.DataFrame]) -> None:
    summary = customer_summary(tables["orders"])
    member = tables["customers"].set_index("customer_id")["is_member"]
    purchases = summary["purchases"].groupby(member.reindex(summary.index)).mean()
    assert purchases[True] > 1.3 * purchases[False]

    surveys = tables["surveys"].dropna(subset=["customer_id"])
    is_member = member.loc[surveys["customer_id"]].to_numpy()
    assert _nps(surveys["score"][is_member]) > _nps(surveys["score"][~is_member]) + 15
    repeat = summary["purchases"].reindex(surveys["customer_id"]).fillna(0).to_numpy() >= 2
    assert _nps(surveys["score"][repeat]) > _nps(surveys["score"][~repeat]) + 10


def test_spend_follows_new_customers(tables: dict[str, pd.DataFrame]) -> None:
    customers, spend = tables["customers"], tables["spend"]
    assert len(spend) == 24 * 4  # 24 months x 4 paid channels
    by_channel = spend.groupby("channel", observed=True)["amount"].sum()
    new = customers["acquisition_channel"].value_counts()
    # search brings the most customers and costs the most
    assert by_channel.idxmax() == "search" == new.idxmax()


def test_period_and_start_are_respected() -> None:
    t = generate_sample(200, seed=1, start="2024-03-15", months=3)
    assert t["orders"]["order_date"].min() >= pd.Timestamp("2024-03-15")
    assert t["orders"]["order_date"].max() < pd.Timestamp("2024-06-15")
    assert list(t["spend"]["date"].drop_duplicates().dt.strftime("%Y-%m-%d")) == [
        "2024-03-15",
        "2024-04-15",
        "2024-05-15",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"customers": 0},
            "The 'customers' parameter of generate_sample must be an int >= 1. Got 0",
        ),
        ({"customers": 2.5}, "The 'customers' parameter"),
        ({"customers": True}, "The 'customers' parameter"),
        ({"customers": 10, "months": 0}, "The 'months' parameter"),
        ({"customers": 10, "seed": -1}, "The 'seed' parameter"),
        ({"customers": 10, "start": "someday"}, "The 'start' parameter must be a date"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        generate_sample(**kwargs)


# --------------------------------------------------------------------------- sample_data/


def _documented_command() -> list[str]:
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```sh\n(loyalty sample [^\n]+)\n```", readme)
    assert match, "sample_data/README.md must show the command that generated the files"
    return match.group(1).split()[1:]


def test_committed_sample_data_is_what_the_documented_command_writes(tmp_path: Path) -> None:
    args = _documented_command()
    assert args == ["sample", "--customers", "3000", "--seed", "0", "--out", "sample_data"]
    args[-1] = str(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == EXIT_OK, result.output
    for name in SAMPLE_FILES.values():
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
    total = sum((SAMPLE_DIR / name).stat().st_size for name in SAMPLE_FILES.values())
    assert total < 5_000_000


def test_committed_sample_data_reads_cleanly() -> None:
    frames = read_folder(SAMPLE_DIR, errors="reject")
    assert sorted(frames) == sorted(TABLES)
    for frame in frames.values():
        report = read_report(frame)
        assert report.rows_rejected == 0 and report.rows_read == len(frame)


def test_committed_loyalty_toml_holds_tier_thresholds_fitted_to_the_spend() -> None:
    config = load_config(SAMPLE_DIR / "loyalty.toml")
    assert config == {"metrics": {"tier_thresholds": {"silver": 540.0, "gold": 1500.0}}}
    orders = read_folder(SAMPLE_DIR)["orders"]
    # net revenue of the last 365 days' buyers (2024-01-02..2024-12-31), as the tiers count it
    recent = orders.loc[orders["order_date"] >= "2024-01-02"]
    revenue = recent.groupby("customer_id")["amount"].sum()
    assert revenue.quantile(0.80) == pytest.approx(540, abs=5)  # 539.2, two figures: 540
    assert revenue.quantile(0.95) == pytest.approx(1500, abs=50)  # 1490.4 -> 1500
    tiers = loyalty_tiers(orders, config["metrics"]["tier_thresholds"], as_of="2024-12-31")
    buyers = tiers.loc[revenue.index, "tier"].value_counts(normalize=True)
    assert buyers["gold"] == pytest.approx(0.05, abs=0.005)
    assert buyers["silver"] + buyers["gold"] == pytest.approx(0.20, abs=0.005)


def test_sample_config_falls_back_without_enough_buyers() -> None:
    orders = generate_sample(5, seed=1)["orders"]
    assert sample_config(orders).endswith("tier_thresholds = { silver = 500, gold = 2000 }\n")
    assert "too few buyers" in sample_config(orders)


def test_report_on_committed_sample_data_shows_the_tiers(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["report", str(SAMPLE_DIR), "-o", str(target), "-q"])
    assert result.exit_code == EXIT_OK, result.output
    points = next(s for s in json.loads(target.read_text())["sections"] if s["id"] == "points")
    assert {"tiers", "migration"} <= {t["id"] for t in points["tables"]}
    assert not any("tier_thresholds" in note for note in points["notes"])


# --------------------------------------------------------------------------- loyalty sample


def test_cli_sample_writes_files(tmp_path: Path) -> None:
    out = tmp_path / "new" / "data"
    result = CliRunner().invoke(
        cli, ["sample", "--customers", "120", "--seed", "3", "--out", str(out)]
    )
    assert result.exit_code == EXIT_OK, result.output
    expected = write_sample(tmp_path / "lib", customers=120, seed=3)
    for name, path in expected.items():
        assert (out / path.name).read_bytes() == path.read_bytes(), name
    # one line per file: path, rows, size
    lines = result.output.splitlines()
    assert len(lines) == len(SAMPLE_FILES)  # six tables and loyalty.toml
    orders_rows = len(generate_sample(120, seed=3)["orders"])
    assert (
        lines[0] == f"{out / 'orders.csv'}  {orders_rows:,} rows  " + lines[0].rsplit("  ", 1)[1]
    )


def test_cli_sample_quiet_prints_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sample", "--customers", "20", "--out", str(tmp_path), "-q"])
    assert result.exit_code == EXIT_OK
    assert result.output == ""
    assert (tmp_path / "orders.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "0"], "Invalid value for '--customers'"),
        (["--seed", "-3"], "Invalid value for '--seed'"),
        (["--months", "0"], "Invalid value for '--months'"),
        (
            ["--start", "soon"],
            "Invalid value for '--start': 'soon' is not a date; use YYYY-MM-DD.",
        ),
    ],
)
def test_cli_sample_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["sample", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code == EXIT_USAGE
    assert message in result.output
    assert not (tmp_path / "x").exists()


def test_cli_sample_requires_out() -> None:
    result = CliRunner().invoke(cli, ["sample"])
    assert result.exit_code == EXIT_USAGE
    assert "Missing option '--out'" in result.output


def test_cli_sample_out_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = CliRunner().invoke(cli, ["sample", "--customers", "5", "--out", str(target)])
    assert result.exit_code == EXIT_USAGE
    assert "is a file" in result.output


def test_cli_sample_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["sample", "--help"])
    assert result.exit_code == EXIT_OK
    assert "loyalty sample --customers 100000 --seed 1 --out big_sample/" in result.output


# --------------------------------------------------------------------------- loyalty demo


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    write_sample(folder, customers=150, seed=8)
    return folder


def test_cli_demo_prints_reads_and_headline_figures(small_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["demo", str(small_folder), "--out", str(out)])
    assert result.exit_code == EXIT_OK, result.output
    t = generate_sample(150, seed=8)
    summary = customer_summary(t["orders"])
    purchases = int(summary["purchases"].sum())
    repeat = int((summary["purchases"] >= 2).sum())
    revenue = t["orders"]["amount"].sum()
    text = result.stdout
    n = len(t["orders"])
    assert re.search(rf"\n  orders\.csv +{n:,} read +{n:,} kept +0 rejected\n", text)
    assert re.search(rf"  customers +{len(summary):,}\n", text)
    assert re.search(rf"  purchases +{purchases:,}\n", text)
    assert re.search(rf"  revenue +{revenue:,.2f}\n", text)
    assert re.search(
        rf"  repeat customers +{repeat:,} \({100 * repeat / len(summary):.1f}%\)\n", text
    )
    assert re.search(rf"  purchases per customer +{purchases / len(summary):.2f}\n", text)
    first, last = t["orders"]["order_date"].min(), t["orders"]["order_date"].max()
    days = (last - first).days + 1
    assert f"  window                  {first:%Y-%m-%d} to {last:%Y-%m-%d} ({days} days)\n" in text
    report_line = f"\nReport written to {out / 'report.html'} (open it in a browser).\n"
    assert text.endswith(report_line)
    assert (out / "summary.txt").read_text(encoding="utf-8") == text[: -len(report_line)]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Headline KPIs" in html
    written = pd.read_csv(out / "customer_summary.csv", index_col="customer_id")
    assert list(written.index) == list(summary.index)
    assert written["purchases"].tolist() == summary["purchases"].tolist()
    assert not (out / "rejected").exists()


def test_cli_demo_reports_rejected_rows(small_folder: Path, tmp_path: Path) -> None:
    orders = small_folder / "orders.csv"
    lines = orders.read_text(encoding="utf-8").splitlines()
    # line 3 gets an unparseable amount, line 5 a blank customer id
    fields = lines[2].split(",")
    fields[2] = "twelve"
    lines[2] = ",".join(fields)
    fields = lines[4].split(",")
    fields[0] = ""
    lines[4] = ",".join(fields)
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["demo", str(small_folder), "--out", str(out)])
    assert result.exit_code == EXIT_OK, result.output
    n = len(lines) - 1
    assert re.search(rf"\n  orders\.csv +{n:,} read +{n - 2:,} kept +2 rejected\n", result.output)
    assert "       1 x amount: unparseable number" in result.output
    assert "       1 x customer_id: blank value" in result.output
    rejected = pd.read_csv(out / "rejected" / "orders.csv")
    assert rejected["line"].tolist() == [3, 5]
    # a clean rerun removes the stale rejected file
    write_sample(small_folder, customers=150, seed=8)
    result = CliRunner().invoke(cli, ["demo", str(small_folder), "--out", str(out)])
    assert result.exit_code == EXIT_OK
    assert not (out / "rejected").exists()


def test_cli_demo_on_committed_sample_data(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", str(SAMPLE_DIR), "--out", str(tmp_path)])
    assert result.exit_code == EXIT_OK, result.output
    assert "  customers               2,724\n" in result.output
    assert "  window                  2023-01-01 to 2024-12-31 (731 days)\n" in result.output


def test_cli_demo_window_options(small_folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            str(small_folder),
            "--out",
            str(tmp_path),
            "--start",
            "2024-01-01",
            "--end",
            "2024-06-30",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    summary = customer_summary(
        generate_sample(150, seed=8)["orders"], start="2024-01-01", end="2024-06-30"
    )
    assert re.search(rf"  customers +{len(summary):,}\n", result.output)
    assert "  window                  2024-01-01 to 2024-06-30 (182 days)\n" in result.output


def test_cli_demo_without_orders_file(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    result = CliRunner().invoke(cli, ["demo", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == EXIT_IO
    assert result.output.startswith("Error: no orders file")
    assert len(result.output.splitlines()) == 1


def test_cli_demo_needs_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == EXIT_USAGE
    assert "give a DATA_DIR or at least --orders" in result.output


def test_cli_demo_missing_required_column(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "orders.csv").write_text("customer_id,order_date\nc1,2024-01-01\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == EXIT_DATA
    assert "amount" in result.output and result.output.startswith("Error: ")


def test_cli_demo_with_explicit_orders_file(small_folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--orders", str(small_folder / "orders.csv"), "--out", str(tmp_path)]
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "orders.csv" in result.output and "surveys.csv" not in result.output
