"""docs/config.md is generated from the config schema and stays in sync with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from loyalty_metrics._config_reference import KEY_HELP, config_reference
from loyalty_metrics.config import CONFIG_KEYS, INPUT_KEYS, check_config

CONFIG_MD = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def test_docs_config_md_is_in_sync():
    assert CONFIG_MD.read_text(encoding="utf-8") == config_reference(), "run `make docs`"


def test_every_key_is_documented_and_nothing_else():
    for table, keys in CONFIG_KEYS.items():
        documented = KEY_HELP["<input>"] if keys is INPUT_KEYS else KEY_HELP[table]
        assert set(documented) == set(keys), table


@pytest.mark.parametrize(
    ("table", "key"),
    [("orders", key) for key in INPUT_KEYS]
    + [(t, k) for t, keys in CONFIG_KEYS.items() if keys is not INPUT_KEYS for k in keys],
)
def test_every_example_passes_the_config_checks(table, key):
    entries = KEY_HELP["<input>"] if CONFIG_KEYS[table] is INPUT_KEYS else KEY_HELP[table]
    example = entries[key][0]
    raw = tomllib.loads(f"[{table}]\n{key} = {example}\n")
    assert check_config(raw)[table][key] is not None


def test_the_opening_example_is_a_valid_config():
    text = config_reference()
    block = re.search(r"```toml\n(.*?)```", text, flags=re.S).group(1)
    config = check_config(tomllib.loads(block))
    assert config["orders"]["columns"]["order_id"] == "InvoiceNo"
    assert config["cancellations"] == {"within": "30D"}
