# Balkort's everyday commands. `make` (or `make help`) lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv installs exactly what uv.lock records; it lives in a venv of its own, bootstrapped by pip
# from a hash-pinned requirement, so `uv sync` never uninstalls the tool that runs it.
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
PYTEST_ARGS ?=

# The packages mypy checks; a package joins once it has an __init__.py.
TYPED_PACKAGES := $(patsubst %/__init__.py,%,$(wildcard domain/__init__.py services/__init__.py projections/__init__.py))

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help .venv install lock lock-check demo services test test-citus citus citus-stop lint validate-deploy format typecheck check bench clean distclean

help: ## Show this list of targets
	@echo "Usage: make <target>"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV): deploy/requirements-uv.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (Debian: apt-get install python3.11 python3.11-venv)" >&2; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes -r deploy/requirements-uv.txt
	@touch $@

# Installs the locked versions, and only when pyproject.toml or uv.lock changes. `--locked`
# fails when uv.lock does not match pyproject.toml instead of quietly resolving anew.
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra dev --python $(PYTHON) --quiet
	@touch $@

.venv: $(STAMP) ## Create .venv and install Balkort with its dev tools (same as install)

install: $(STAMP) ## Create .venv and install Balkort with its dev tools, at the versions uv.lock records

lock: $(UV) ## Upgrade every dependency to its newest allowed release and rewrite uv.lock (on purpose)
	$(UV) lock --upgrade --python $(PYTHON)

lock-check: $(UV) ## Fail when uv.lock does not match pyproject.toml
	$(UV) lock --check --python $(PYTHON)

demo: install ## Seed demo data (once) and serve http://127.0.0.1:8000 on the embedded default
	$(BIN)/balkort demo seed --if-empty
	$(BIN)/balkort serve

services: ## Make sure PostgreSQL and Redis answer (start them if installed but stopped)
	bash deploy/local/services.sh ensure

test: install services ## Run the whole test suite (extra arguments: PYTEST_ARGS="-k name -x")
	$(BIN)/pytest $(PYTEST_ARGS)

# A local Citus cluster: a coordinator and two workers on private ports and data directories,
# owned by the `postgres` OS user; Citus is built from source the first time (docs/adr/0025).
CITUS := bash deploy/local/citus.sh
CITUS_DIR ?= /tmp/balkort-citus
CITUS_PORT ?= 55432
# `make test-citus` runs on a cluster of its own, made afresh and removed afterwards.
CITUS_TEST_DIR ?= /tmp/balkort-citus-test
CITUS_TEST_PORT ?= 56432
CITUS_TEST := $(CITUS) --dir $(CITUS_TEST_DIR) --port $(CITUS_TEST_PORT)
CITUS_TESTS ?= tests/integration tests/e2e tests/security

citus: ## Start a local Citus cluster (coordinator on 127.0.0.1:55432, workers on 55433-55434)
	$(CITUS) start --dir $(CITUS_DIR) --port $(CITUS_PORT)

citus-stop: ## Stop the local Citus cluster (its data stays in /tmp/balkort-citus)
	$(CITUS) stop --dir $(CITUS_DIR)

test-citus: install services ## Run the PostgreSQL tests again on a fresh three-node Citus cluster
	$(CITUS_TEST) destroy
	$(CITUS_TEST) start
	status=0; \
	BALKORT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:$(CITUS_TEST_PORT)/postgres BALKORT_TEST_CITUS=1 \
		$(BIN)/pytest -m postgres $(CITUS_TESTS) $(PYTEST_ARGS) || status=$$?; \
	$(CITUS_TEST) destroy; \
	exit $$status

lint: install lock-check validate-deploy ## Check lint rules, formatting, the floors of the imports, uv.lock, and the manifests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# Every manifest, Jobs included, against the API schemas of the oldest Kubernetes we support;
# --strict refuses a misspelt field rather than letting the cluster ignore it.
KUBERNETES_VERSION ?= 1.29.0
validate-deploy: install ## Validate every Kubernetes manifest in deploy/kubernetes/ against the API schemas
	$(BIN)/kubernetes-validate --strict --quiet --kubernetes-version $(KUBERNETES_VERSION) $$(find deploy/kubernetes -name '*.yaml' | sort)

format: install ## Reformat the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install ## Type-check with mypy (strict on domain/ and services/)
	$(BIN)/mypy $(TYPED_PACKAGES)

# Runs all three even when one fails, so a single run reports every problem.
check: install ## Lint, type-check, test, and test again on Citus: everything CI runs
	@failed=""; \
	for step in lint typecheck test test-citus; do \
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

distclean: clean ## Also remove .venv and the installer's .tools
	rm -rf $(VENV) $(TOOLS)
