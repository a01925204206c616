"""The package surface: the literal ``__all__``, the type checkers' imports, import weight."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import loyalty_metrics as lm

INIT = Path(lm.__file__)


def _module_node(name: str) -> ast.AST:
    for node in ast.parse(INIT.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(getattr(t, "id", None) == name for t in targets):
            return node.value
    raise AssertionError(f"{name} not assigned at module level")


def test_all_is_a_literal_list_equal_to_the_lazy_table():
    node = _module_node("__all__")
    assert isinstance(node, ast.List), "__all__ must be a literal list for static tools"
    literal = [ast.literal_eval(e) for e in node.elts]
    assert literal == sorted(lm._EXPORTS)
    assert lm.__all__ == literal


def test_type_checking_imports_match_the_lazy_table():
    guarded = next(
        node
        for node in ast.parse(INIT.read_text()).body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    imported = {
        alias.name: node.module
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert all(node.level == 1 for node in guarded.body if isinstance(node, ast.ImportFrom))
    assert imported == lm._EXPORTS


@pytest.mark.parametrize("name", sorted(lm._EXPORTS))
def test_every_public_name_resolves(name):
    assert getattr(lm, name) is not None


def test_kpis_do_not_import_heavy_dependencies():
    code = (
        "import sys\n"
        "import pandas as pd\n"
        "import loyalty_metrics as lm\n"
        "lm.kpis; lm.nps_breakdown\n"
        "orders = lm.read_orders(pd.DataFrame({'customer_id': ['a', 'a', 'b'],\n"
        "    'order_date': ['2024-01-05', '2024-02-05', '2024-01-09'], 'amount': [5, 7, 9]}))\n"
        "surveys = lm.read_surveys(pd.DataFrame({'score': [9, 10, 3, 7],\n"
        "    'response_date': ['2024-01-05'] * 4}))\n"
        "lm.kpis(orders, surveys=surveys)\n"
        "lm.nps_breakdown(surveys, freq='M')\n"
        "lm.nps_difference(surveys, surveys)\n"
        "heavy = ['scipy', 'matplotlib', 'jinja2', 'click', 'duckdb', 'ibis', 'pyspark']\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("scores_a", "scores_b"),
    [
        ([10] * 30 + [3] * 10, [10] * 20 + [3] * 20),  # z about 2.3
        ([10] * 5 + [8] * 5, [0] * 4 + [9] * 6),  # small samples
        ([10] * 400 + [2] * 10, [1] * 300 + [10] * 100),  # far tail: z about 31, p about 2e-215
        ([9, 9, 1, 7], [9, 9, 1, 7]),  # z = 0, p = 1
    ],
)
def test_nps_difference_p_value_agrees_with_scipy(scores_a, scores_b):
    from scipy import stats

    a = lm.read_surveys(pd.DataFrame({"score": scores_a}))
    b = lm.read_surveys(pd.DataFrame({"score": scores_b}))
    result = lm.nps_difference(a, b)
    expected = 2 * stats.norm.sf(abs(result["z"]))
    assert result["p_value"] == pytest.approx(expected, rel=1e-12, abs=0)
