SHELL := /bin/bash
# cardline: every target makes or refreshes the local virtualenv it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA_DIR ?= .cardline
ARTIFACTS ?= .test-artifacts

.PHONY: run demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-venv)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip==25.3"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cardline serve --data-dir $(DATA_DIR)

demo: $(STAMP)
	$(BIN)/cardline demo

lint: $(STAMP)
	$(BIN)/ruff check --no-cache src tests benchmarks
	$(BIN)/ruff format --no-cache --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# The leak scan runs last: it reads everything the suite left in $(ARTIFACTS).
test: lint typecheck
	rm -rf $(ARTIFACTS) && mkdir -p $(ARTIFACTS)
	CARDLINE_TEST_ARTIFACTS=$(abspath $(ARTIFACTS)) $(BIN)/pytest -p no:cacheprovider tests 2>&1 | tee $(ARTIFACTS)/pytest-output.txt; exit $${PIPESTATUS[0]}
	$(BIN)/python -m tests.leakscan $(ARTIFACTS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) $(ARTIFACTS) build src/*.egg-info
