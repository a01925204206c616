"""The commands' Arrow memory pool (loyalty_metrics.cli._memory)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from click.testing import CliRunner

from loyalty_metrics.cli import cli
from loyalty_metrics.cli._memory import use_jemalloc

_HAS_JEMALLOC = True
try:
    pa.jemalloc_memory_pool()
except NotImplementedError:
    _HAS_JEMALLOC = False


@pytest.fixture
def restored_pool():
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def test_a_command_reads_with_jemalloc_where_pyarrow_has_it(restored_pool, monkeypatch):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    pa.set_memory_pool(pa.system_memory_pool())
    result = CliRunner().invoke(cli, ["kpis", "sample_data"])
    assert result.exit_code == 0, result.output
    expected = "jemalloc" if _HAS_JEMALLOC else "system"
    assert pa.default_memory_pool().backend_name == expected


def test_the_users_choice_of_pool_stands(restored_pool, monkeypatch):
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    pa.set_memory_pool(pa.system_memory_pool())
    assert use_jemalloc() == "system"
    assert pa.default_memory_pool().backend_name == "system"
