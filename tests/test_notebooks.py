"""The notebooks run top to bottom in a fresh kernel and their committed outputs are current.

Each notebook in ``notebooks/`` is executed with nbclient in a new kernel that runs *this*
interpreter (the venv's python, see ``_kernel_manager``), from ``notebooks/`` as the working
directory, on the repository's own data. The test then compares the re-executed outputs with
the committed ones, so a change in the library that moves a number makes the notebook stale
and fails here (re-run the notebook and commit its outputs).

What is compared, per code cell, in order:

- ``stream`` output (stdout) text, consecutive chunks joined (the kernel may split a print
  into chunks differently from run to run);
- ``execute_result`` / ``display_data``: the ``text/plain`` text and the set of MIME types;
- nothing else of rich outputs: ``text/html`` renders the same frame as ``text/plain``, and
  images (``image/png``) are compared by **presence, not bytes** (pixels depend on the
  matplotlib and FreeType versions, not on our numbers; the numbers drawn are covered by
  tests/test_charts.py, which inspects the axes' data).

The only normalisation is of memory addresses (``0x7f...``); no number is rounded or masked, so
notebooks must be deterministic: seeded randomness, no clock, no timing output. They must not
write to stderr (warnings carry file paths and line numbers, which differ by checkout) and
must not raise. Each cell has a 60 s time-out, a guard against hangs, not a benchmark (each
notebook takes well under a minute; speed targets live in benchmarks/).
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ("01_quickstart.ipynb", "02_predictive_clv.ipynb", "03_loyalty_program.ipynb")
CELL_TIMEOUT = 60
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


class _ThisPythonKernelSpecs(KernelSpecManager):
    """Resolve every kernel name to an IPython kernel on ``sys.executable``.

    The installed ``python3`` spec says ``python``, which jupyter_client maps to
    ``sys.executable``; but a user-level spec (``~/.local/share/jupyter/kernels/python3``)
    would win and could point at another interpreter without this package. Building the
    spec here makes the kernel run the venv's python in any fresh clone.
    """

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (ipykernel)",
            language="python",
            resource_dir=str(NOTEBOOKS),
        )


def _kernel_manager() -> KernelManager:
    return KernelManager(kernel_name="python3", kernel_spec_manager=_ThisPythonKernelSpecs())


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"  # set iteration order never leaks into an output
    return env


def _execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        km=_kernel_manager(),
        timeout=CELL_TIMEOUT,
        startup_timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute(env=_kernel_env())
    return nb


def _normalise(text: str) -> str:
    return _ADDRESS.sub("0x...", text)


def _comparable(outputs: list) -> list[tuple]:
    """The outputs of one cell as comparable tuples (see the module docstring)."""
    out: list[tuple] = []
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            text = _normalise(output["text"])
            if out and out[-1][0] == "stream" and out[-1][1] == output["name"]:
                out[-1] = ("stream", output["name"], out[-1][2] + text)
            else:
                out.append(("stream", output["name"], text))
        elif kind in ("execute_result", "display_data"):
            data = output["data"]
            out.append(("data", tuple(sorted(data)), _normalise(data.get("text/plain", ""))))
        else:  # "error": allow_errors=False raises before, but a committed one is stale too
            out.append((kind, output.get("ename"), output.get("evalue")))
    return out


def _code_cells(nb: nbformat.NotebookNode) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _notebook_ids() -> list[str]:
    return sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_the_three_notebooks_are_there() -> None:
    assert tuple(_notebook_ids()) == EXPECTED


def test_kernel_runs_this_python() -> None:
    km = _kernel_manager()
    km.start_kernel(env=_kernel_env())
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=CELL_TIMEOUT)
        seen: list[str] = []

        def keep(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                seen.append(msg["content"]["text"])

        kc.execute_interactive(
            "import sys, loyalty_metrics; print(sys.executable); print(loyalty_metrics.__file__)",
            output_hook=keep,
            timeout=CELL_TIMEOUT,
        )
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    executable, package = "".join(seen).split()
    assert Path(executable) == Path(sys.executable)
    assert Path(package).resolve().is_relative_to(ROOT)  # the checkout, not another install


@pytest.mark.parametrize("name", EXPECTED)
def test_committed_notebook_is_clean(name: str) -> None:
    """Committed after a fresh top-to-bottom run: every cell ran once, in order, no errors."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    cells = _code_cells(nb)
    assert cells
    assert [c.get("execution_count") for c in cells] == list(range(1, len(cells) + 1))
    for cell in cells:
        kinds = {o["output_type"] for o in cell.outputs}
        assert "error" not in kinds, cell.source
        streams = {o.get("name") for o in cell.outputs if o["output_type"] == "stream"}
        assert "stderr" not in streams, f"stderr output (a warning?) in: {cell.source[:80]}"
    # Each code cell comes right after a markdown cell saying why it is there.
    for before, cell in zip(nb.cells, nb.cells[1:], strict=False):
        if cell.cell_type == "code":
            assert before.cell_type == "markdown", f"code cell without a why: {cell.source[:80]}"
    assert nb.cells[0].cell_type == "markdown"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_reads_only_the_repository_data(name: str) -> None:
    """Paths in the code are relative and stay inside the checkout; no network, no clock."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in _code_cells(nb):
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                assert not value.startswith(("http://", "https://", "/", "~")), value
                if (
                    re.search(r"\.(csv|txt|parquet|toml|db|html)$", value)
                    or "sample_data" in value
                ):
                    target = (NOTEBOOKS / value).resolve()
                    assert target.is_relative_to(ROOT), value
            if isinstance(node, ast.Attribute) and node.attr in ("now", "today", "time"):
                owner = ast.unparse(node.value)
                assert owner not in (
                    "datetime",
                    "datetime.datetime",
                    "date",
                    "time",
                    "pd.Timestamp",
                ), f"wall-clock read in {name}: {ast.unparse(node)}"


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_and_outputs_are_current(name: str) -> None:
    path = NOTEBOOKS / name
    committed = nbformat.read(path, as_version=4)
    fresh = _execute(path)
    old_cells, new_cells = _code_cells(committed), _code_cells(fresh)
    assert len(old_cells) == len(new_cells)
    for number, (old, new) in enumerate(zip(old_cells, new_cells, strict=True), start=1):
        assert _comparable(new.outputs) == _comparable(old.outputs), (
            f"{name}, code cell {number} is stale (re-run the notebook and commit it):\n"
            f"{old.source}"
        )
