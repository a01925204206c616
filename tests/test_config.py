"""loyalty.toml loading: the schema, unknown keys named with a suggestion, value checks."""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics import MetricOptions, generate_sample, kpis
from loyalty_metrics.config import CONFIG_KEYS, check_config, load_config
from loyalty_metrics.errors import ConfigError

FULL = """
[orders]
file = "exports/orders.csv"
sep = ";"
decimal = ","
thousands = "."
encoding = "cp1252"
dayfirst = true
date_format = "%d.%m.%Y"
[orders.columns]
customer_id = "Kundennummer"
order_date = "Datum"
amount = "Betrag"

[surveys]
file = "nps.tsv"
[surveys.columns]
score = "Recommend"

[events]
file = "events.parquet"

[spend]
sep = "|"

[customers]
columns = { customer_id = "id", is_member = "Member" }

[metrics]
currency = "EUR"
churn_period = "180D"
margin = 0.35
lifespan_years = 3
max_lifespan_years = 5
key_actions = ["purchase", "review"]
engagement_window = "12W"
engagement_weights = [1, 0, 2]
nps_method = "wald"
annual_discount_rate = 0.1
cli_weights = { nps = 2, repeat_purchase_rate = 1, upsell_share = 1 }
cli_nps_scale = "percent"

[report]
title = "Loyalty, week 12"

[export]
table = "kpi_history"
lock_timeout = 30
errors = "reject"
"""


def _write(tmp_path: Path, text: str, name: str = "loyalty.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_loads_and_normalises(tmp_path):
    config = load_config(_write(tmp_path, FULL))
    assert set(config) == {
        "orders",
        "surveys",
        "events",
        "spend",
        "customers",
        "metrics",
        "report",
        "export",
    }
    orders = config["orders"]
    assert orders["columns"] == {
        "customer_id": "Kundennummer",
        "order_date": "Datum",
        "amount": "Betrag",
    }
    assert orders["dayfirst"] is True
    assert orders["file"] == "exports/orders.csv"  # kept as written: the readers resolve it
    metrics = config["metrics"]
    # integers become floats; weights become tables keyed by component
    assert metrics["lifespan_years"] == 3.0 and isinstance(metrics["lifespan_years"], float)
    assert metrics["engagement_weights"] == {"frequency": 1.0, "time": 0.0, "actions": 2.0}
    assert metrics["cli_weights"] == {"nps": 2.0, "repeat_purchase_rate": 1.0, "upsell_share": 1.0}
    assert metrics["key_actions"] == ["purchase", "review"]
    assert config["export"]["lock_timeout"] == 30.0
    assert config["export"]["errors"] == "reject"
    assert config["report"]["title"] == "Loyalty, week 12"


def test_empty_file_is_an_empty_config(tmp_path):
    assert load_config(_write(tmp_path, "")) == {}


@pytest.mark.parametrize(
    ("text", "key", "where", "suggestion"),
    [
        ('[metrics]\ncurency = "EUR"\n', "curency", "[metrics]", "currency"),
        ('[metrics]\nchurn_perod = "90D"\n', "churn_perod", "[metrics]", "churn_period"),
        ('[orders]\nseparator = ";"\n', "separator", "[orders]", None),
        ('[orders]\nfiel = "o.csv"\n', "fiel", "[orders]", "file"),
        (
            '[orders.columns]\ncustomerid = "Kunde"\n',
            "customerid",
            "[orders.columns]",
            "customer_id",
        ),
        ('[report]\ntitel = "x"\n', "titel", "[report]", "title"),
        ("[export]\nlock_timout = 3\n", "lock_timout", "[export]", "lock_timeout"),
        (
            "[metrics]\ncli_weights = { nps = 1, repeat_rate = 1, upsell_share = 1 }\n",
            "repeat_rate",
            "[metrics.cli_weights]",
            "repeat_purchase_rate",
        ),
    ],
)
def test_unknown_key_names_key_section_and_suggestion(tmp_path, text, key, where, suggestion):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    message = str(info.value)
    assert message.startswith("loyalty.toml: ")
    assert f"unknown key {key!r} in {where}" in message
    if suggestion:
        assert f"did you mean {suggestion!r}?" in message
    else:
        assert "did you mean" not in message
    assert "Known keys: " in message


def test_unknown_table_is_named_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown table \[order\]; did you mean \[orders\]\?"):
        load_config(_write(tmp_path, '[order]\nfile = "o.csv"\n'))
    # ("[plots]" is now close to "[points]": a name close to no table gets the list alone)
    with pytest.raises(ConfigError, match=r"unknown table \[widgets\]\. Known tables: \[orders\]"):
        load_config(_write(tmp_path, "[widgets]\nx = 1\n"))
    with pytest.raises(ConfigError, match=r"unknown table \[plots\]; did you mean \[points\]\?"):
        load_config(_write(tmp_path, "[plots]\nx = 1\n"))


def test_top_level_key_says_which_table_it_belongs_to(tmp_path):
    with pytest.raises(
        ConfigError, match=r"unknown top-level key 'margin'; it belongs in \[metrics\]"
    ):
        load_config(_write(tmp_path, "margin = 0.3\n"))
    with pytest.raises(ConfigError, match=r"unknown top-level key 'colour'\. Keys go inside"):
        load_config(_write(tmp_path, 'colour = "red"\n'))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "[metrics]\nmargin = 1.5\n",
            r"\[metrics\] margin must be a number above 0 up to 1; got 1\.5",
        ),
        ("[metrics]\nmargin = 0\n", r"margin must be a number above 0"),
        ("[metrics]\nmargin = true\n", r"margin must be a number"),
        ('[metrics]\nmargin = "high"\n', r"got 'high'"),
        ('[metrics]\nchurn_period = "a year"\n', r'churn_period must be a length such as "365D"'),
        (
            '[metrics]\nnps_method = "exact"\n',
            r"nps_method must be one of 'adjusted-wald', 'wald'",
        ),
        ('[metrics]\nkey_actions = "purchase"\n', r"key_actions must be a list of strings"),
        ("[metrics]\nengagement_weights = [1, 2]\n", r"engagement_weights must be a list of 3"),
        ("[metrics]\nengagement_weights = [0, 0, 0]\n", r"not all zero"),
        ("[metrics]\nengagement_weights = [-1, 1, 1]\n", r"non-negative"),
        (
            "[metrics]\nannual_discount_rate = 1.2\n",
            r"annual_discount_rate must be a number from 0 to 1",
        ),
        ('[metrics]\ncli_nps_scale = "percentage"\n', r"one of 'points', 'percent'"),
        ("[orders]\ndayfirst = 1\n", r"\[orders\] dayfirst must be true or false"),
        ('[orders]\nsep = ""\n', r"sep must be a non-empty string"),
        ('[orders]\ncolumns = "id"\n', r"\[orders\] columns must be a table mapping"),
        (
            "[orders.columns]\namount = 3\n",
            r"\[orders.columns\] amount must be the name of a column",
        ),
        ("[export]\nlock_timeout = -1\n", r"lock_timeout must be a number of at least 0"),
        ('[export]\nerrors = "skip"\n', r"errors must be one of 'raise', 'reject'"),
        ('report = "x"\n', r"\[report\] must be a table, e\.g\. \[report\] on its own line"),
        ("metrics = 3\n", r"\[metrics\] must be a table"),
    ],
)
def test_bad_values_name_the_key_and_what_is_expected(tmp_path, text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(_write(tmp_path, text))


def test_invalid_toml_is_a_config_error_with_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML: .*line 2"):
        load_config(_write(tmp_path, "[metrics]\nmargin = = 3\n", "bad.toml"))


def test_missing_file_is_an_io_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "nope.toml")


def test_every_input_table_takes_its_canonical_columns():
    from loyalty_metrics.schema import TABLES

    for table, schema in TABLES.items():
        config = check_config({table: {"columns": {c: f"file_{c}" for c in schema.columns}}})
        assert config[table]["columns"] == {c: f"file_{c}" for c in schema.columns}


def test_metric_options_have_one_spelling_from_config_to_kpis():
    config = {
        "metrics": {
            "currency": "EUR",
            "churn_period": "90D",
            "margin": 0.3,
            "nps_method": "wald",
            "engagement_window": "30D",
            "engagement_weights": {"frequency": 1.0, "time": 1.0, "actions": 2.0},
            "cli_weights": {"nps": 1.0, "repeat_purchase_rate": 1.0, "upsell_share": 1.0},
        }
    }
    options = MetricOptions.from_config(config)
    # every [metrics] key but the display-only currency is an option of the same name
    assert {k: getattr(options, k) for k in config["metrics"] if k != "currency"} == {
        k: v for k, v in config["metrics"].items() if k != "currency"
    }
    assert set(CONFIG_KEYS["metrics"]) - {"currency"} == {
        f.name for f in dataclasses.fields(MetricOptions)
    } - {"engagement_half_life", "level"}
    assert MetricOptions.from_config(None) == MetricOptions()
    # kpis takes them as one object or as keywords, with the same result
    data = generate_sample(200, seed=1)
    tables = [data[t] for t in ("orders", "surveys", "events", "spend", "customers")]
    keywords = {k: v for k, v in config["metrics"].items() if k != "currency"}
    by_object = kpis(*tables, options=options)
    pd.testing.assert_series_equal(by_object, kpis(*tables, **keywords))
    assert not by_object.equals(kpis(*tables))  # the options do change the figures
    # a keyword left at its default keeps the object's value; another one overrides it
    assert kpis(*tables, options=options, margin=1.0)["clv"] == by_object["clv"]
    assert kpis(*tables, options=options, margin=0.6)["clv"] == pytest.approx(
        2 * by_object["clv"], rel=1e-12
    )


def test_points_programme_keys(tmp_path):
    text = (
        '[metrics]\npoint_value = 0.01\ncost_channel = "loyalty"\ntier_lookback = "12M"\n'
        "tier_thresholds = { silver = 500, gold = 2000 }\n"
        '[points]\nfile = "ledger.csv"\ncolumns = { type = "Kind", points = "Pts" }\n'
    )
    config = load_config(_write(tmp_path, text))
    assert config["metrics"] == {
        "point_value": 0.01,
        "cost_channel": "loyalty",
        "tier_lookback": "12M",
        "tier_thresholds": {"silver": 500.0, "gold": 2000.0},
    }
    assert config["points"]["columns"] == {"type": "Kind", "points": "Pts"}
    # one object carries them, under the config's names (no alias table: the programme's
    # functions are called with its fields, e.g. loyalty_tiers(thresholds=o.tier_thresholds))
    options = MetricOptions.from_config(config)
    assert (options.point_value, options.cost_channel) == (0.01, "loyalty")
    assert options.tier_thresholds == {"silver": 500.0, "gold": 2000.0}
    assert options.tier_lookback == "12M"
    # changed(): all but cost_channel, whose "loyalty" is the default
    assert options.changed() == {k: v for k, v in config["metrics"].items() if k != "cost_channel"}


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("point_value = -1", r"point_value must be a number of at least 0"),
        ("point_value = true", r"point_value must be a number"),
        ("tier_thresholds = { silver = 500, gold = 500 }", r"tier_thresholds must be a table"),
        ('tier_thresholds = { silver = "500" }', r"tier_thresholds must be a table"),
        ("tier_thresholds = [500, 2000]", r"tier_thresholds must be a table"),
        ('tier_lookback = "a year"', r"tier_lookback must be a length"),
        ('cost_channel = ""', r"cost_channel must be a non-empty string"),
    ],
)
def test_bad_points_programme_values(tmp_path, line, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(_write(tmp_path, f"[metrics]\n{line}\n"))


def test_the_schema_lists_the_documented_tables():
    assert list(CONFIG_KEYS) == [
        "orders",
        "surveys",
        "events",
        "spend",
        "customers",
        "points",
        "metrics",
        "report",
        "cancellations",
        "export",
        "engine",
    ]


@settings(max_examples=40, deadline=None)
@given(
    table=st.sampled_from(sorted(CONFIG_KEYS)),
    key=st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12),
)
def test_any_unknown_key_is_refused_by_name(table, key):
    allowed = set(CONFIG_KEYS[table])
    if key in allowed:
        return
    with pytest.raises(ConfigError) as info:
        check_config({table: {key: "x"}})
    assert repr(key) in str(info.value)
    assert f"[{table}]" in str(info.value)


def test_engine_section_is_checked(tmp_path):
    path = tmp_path / "loyalty.toml"
    path.write_text(
        '[engine]\nname = "duckdb"\nmemory_limit = "4GB"\nthreads = 2\n'
        '[engine.spark_config]\n"spark.executor.memory" = "2g"\n'
    )
    assert load_config(path)["engine"] == {
        "name": "duckdb",
        "memory_limit": "4GB",
        "threads": 2.0,
        "spark_config": {"spark.executor.memory": "2g"},
    }
    path.write_text('[engine]\nname = "polars"\n')
    with pytest.raises(ConfigError, match=r"\[engine\] name must be one of"):
        load_config(path)
