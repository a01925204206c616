# The team's vocabulary. Every target sets itself up from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint format docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench,duckdb,spark]"
	touch $(STAMP)

demo: $(STAMP)  ## The main job on the bundled sample data.
	$(BIN)/loyalty demo sample_data --out out

test: $(STAMP)  ## The whole test suite (unit, property, doctest, notebooks).
	$(BIN)/python -m pytest -q

bench: $(STAMP)  ## Speed and memory against plain pandas / DuckDB (minutes; 10M lines).
	$(BIN)/python benchmarks/run.py $(if $(LINES),--lines $(LINES))

lint: $(STAMP)  ## ruff (lint + format check) and mypy (lenient; see pyproject.toml).
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)  ## Regenerate docs/cli.md, docs/config.md and the KPI tables of docs/metrics.md.
	$(BIN)/python -m loyalty_metrics.cli._docs > docs/cli.md
	$(BIN)/python -m loyalty_metrics._config_reference > docs/config.md
	$(BIN)/python -m loyalty_metrics.metrics.registry docs/metrics.md

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .hypothesis
