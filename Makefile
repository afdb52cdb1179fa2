# Balkort's everyday commands. `make` (or `make help`) lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

# The packages mypy checks; a package joins once it has an __init__.py.
TYPED_PACKAGES := $(patsubst %/__init__.py,%,$(wildcard domain/__init__.py services/__init__.py projections/__init__.py))

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help .venv install demo services test lint format typecheck check bench clean distclean

help: ## Show this list of targets
	@echo "Usage: make <target>"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (Debian: apt-get install python3.11 python3.11-venv)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

.venv: $(STAMP) ## Create .venv and install Balkort with its dev tools (same as install)

install: $(STAMP) ## Create .venv and install Balkort with its dev tools

demo: install ## Seed demo data (once) and serve http://127.0.0.1:8000 on the embedded default
	$(BIN)/balkort demo seed --if-empty
	$(BIN)/balkort serve

services: ## Make sure PostgreSQL and Redis answer (start them if installed but stopped)
	bash deploy/local/services.sh ensure

test: install services ## Run the whole test suite (extra arguments: PYTEST_ARGS="-k name -x")
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install ## Check lint rules and formatting with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Reformat the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install ## Type-check with mypy (strict on domain/ and services/)
	$(BIN)/mypy $(TYPED_PACKAGES)

# Runs all three even when one fails, so a single run reports every problem.
check: install ## Lint, type-check and test: everything CI runs
	@failed=""; \
	for step in lint typecheck test; do \
		echo "==> make $$step"; \
		$(MAKE) $$step || failed="$$failed $$step"; \
	done; \
	if [ -n "$$failed" ]; then echo "make check failed:$$failed" >&2; exit 1; fi; \
	echo "make check passed"

bench: install services ## Run every bench/*.py
	@shopt -s nullglob; found=0; \
	for script in bench/*.py; do \
		found=1; echo "==> $$script"; $(BIN)/python "$$script"; \
	done; \
	if [ "$$found" = 0 ]; then echo "no benchmarks in bench/"; fi

clean: ## Remove var/ (embedded data), test artifacts and caches
	rm -rf var/ test-artifacts/ build/ .pytest_cache/ .mypy_cache/ .ruff_cache/ .hypothesis/
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean ## Also remove .venv
	rm -rf $(VENV)
