SHELL := /bin/bash
# cardline: every target makes or refreshes the local virtualenv it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# make run serves on PORT and the default data directory every `cardline` command shares
# ($CARDLINE_DATA_DIR, else $XDG_DATA_HOME/cardline, else ~/.local/share/cardline), unless
# DATA_DIR names another.
PORT ?= 8080
DATA_DIR ?=
ARTIFACTS ?= .test-artifacts

TOOLS  ?= .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
DEPLOY_VENV ?= .venv-deploy
TEMPLATE := infra/serverless/template.yaml
LAMBDA_BUILD ?= build/lambda
# The Lambda runtime's Python (template.yaml: python3.13): the charge zip ships byte code
# compiled by it. Found by cardline.deploy.runtime (this variable, python3.13 on PATH,
# pyenv's versions, /usr/bin) unless given; PYTHON_RUNTIME=none builds without byte code.
PYTHON_RUNTIME ?=
# The platform of the wheels put in the backoffice and ivr zips (the template's arm64).
LAMBDA_PLATFORM ?= manylinux2014_aarch64

.PHONY: run demo test lint typecheck unit bench clean tools gateway integrity package deploy chromium screenshots graphviz report mutate

# $(call apt_need,CHECK,PACKAGE,WHAT FOR): install the Debian PACKAGE only when the shell
# command CHECK fails, saying which and why; apt-get's own words only if it fails.
define apt_need
@if ! $(1) >/dev/null 2>&1; then \
	echo "make: installing the Debian package $(2) ($(3))"; \
	if [ "$$EUID" -ne 0 ]; then echo "make: $(2) is missing: sudo apt-get install $(2)" >&2; exit 1; fi; \
	said=$$( { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); } 2>&1 ) \
		|| { echo "$$said" >&2; echo "make: apt-get install $(2) failed" >&2; exit 1; }; \
fi
endef

$(STAMP): pyproject.toml
	$(call apt_need,$(PYTHON) -m venv --help,python3-venv,for the virtualenv)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip==25.3"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

# cfn-lint, checkov and aws-sam-translator for tests/infra, apart from our own packages.
$(TOOLS_STAMP): infra/tools-requirements.txt
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip==25.3"
	$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check -r infra/tools-requirements.txt
	@touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

# Rewrite the template's API definition from src/cardline/http/openapi.yaml.
gateway: $(STAMP)
	$(BIN)/python -m cardline.deploy.gateway $(TEMPLATE)

# Rewrite the console page's integrity hashes and script inventory after changing a
# console file (PCI DSS 6.4.3; cardline.http.console_integrity).
integrity: $(STAMP)
	$(BIN)/python -m cardline.http.console_integrity --write

# The Lambda zips the template points at. The charge zip is our charge-path modules only.
# Each zip's size, as built, is kept in $(LAMBDA_BUILD)/sizes.txt, and its CycloneDX SBOM
# beside it as $(LAMBDA_BUILD)/<zip>.cdx.json (PCI DSS 6.3.2; cyclonedx-py from the tools).
package: $(STAMP) $(TOOLS_STAMP)
	@set -eo pipefail; \
	if [ "$(PYTHON_RUNTIME)" = none ]; then \
		bytecode=; echo "note: PYTHON_RUNTIME=none: charge.zip ships without byte code (slower cold starts)"; \
	else \
		runtime=$$(PYTHON_RUNTIME='$(PYTHON_RUNTIME)' $(BIN)/python -m cardline.deploy.runtime); \
		bytecode="--bytecode-python $$runtime"; echo "charge.zip byte code compiled by $$runtime"; \
	fi; \
	rm -rf $(LAMBDA_BUILD) && mkdir -p $(LAMBDA_BUILD)/site-packages; \
	$(BIN)/python -m cardline.deploy.package charge $(LAMBDA_BUILD)/charge.zip $$bytecode | tee $(LAMBDA_BUILD)/sizes.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --target $(LAMBDA_BUILD)/site-packages \
		--platform $(LAMBDA_PLATFORM) --implementation cp --python-version 3.13 --only-binary=:all: \
		"PyYAML==6.0.3" "boto3==1.44.8" "aws-lambda-powertools==3.37.0" "aws-xray-sdk==2.15.0"
	set -o pipefail; $(BIN)/python -m cardline.deploy.package backoffice $(LAMBDA_BUILD)/backoffice.zip \
		--extra $(LAMBDA_BUILD)/site-packages | tee -a $(LAMBDA_BUILD)/sizes.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --target $(LAMBDA_BUILD)/ivr-site-packages \
		--platform $(LAMBDA_PLATFORM) --implementation cp --python-version 3.13 --only-binary=:all: \
		"boto3==1.44.8" "aws-encryption-sdk==4.0.7" "cryptography==50.0.2"
	set -o pipefail; $(BIN)/python -m cardline.deploy.package ivr $(LAMBDA_BUILD)/ivr.zip \
		--extra $(LAMBDA_BUILD)/ivr-site-packages | tee -a $(LAMBDA_BUILD)/sizes.txt
	$(BIN)/python -m cardline.deploy.sbom $(LAMBDA_BUILD) --tool $(TOOLS)/bin/cyclonedx-py

# sam build + sam deploy --guided (answers are saved in infra/serverless/samconfig.toml).
deploy: package
	@test -x $(DEPLOY_VENV)/bin/sam || ($(PYTHON) -m venv $(DEPLOY_VENV) && \
		$(DEPLOY_VENV)/bin/python -m pip install -q --disable-pip-version-check "aws-sam-cli==1.170.0")
	$(BIN)/python -m cardline.deploy.gateway --check $(TEMPLATE)
	$(BIN)/python -m cardline.http.console_integrity --check
	cd infra/serverless && $(abspath $(DEPLOY_VENV))/bin/sam build --template-file template.yaml
	cd infra/serverless && $(abspath $(DEPLOY_VENV))/bin/sam deploy --guided --config-file samconfig.toml

run: $(STAMP)
	$(BIN)/cardline serve --port $(PORT)$(if $(DATA_DIR), --data-dir $(DATA_DIR))

demo: $(STAMP)
	$(BIN)/cardline demo

lint: $(STAMP)
	$(BIN)/ruff check --no-cache src tests benchmarks
	$(BIN)/ruff format --no-cache --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (never `playwright install`): install it if missing.
chromium:
	$(call apt_need,command -v chromium,chromium,the browser tests drive it)

# Graphviz's `dot` draws the compliance report's diagrams.
graphviz:
	$(call apt_need,command -v dot,graphviz,its dot draws the compliance diagrams)

# The edit-test loop: the unit tests only (no browser, no apt, no tools virtualenv).
unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

# The assessor's report committed in docs/compliance/ (tests/compliance keeps it in step).
report: $(STAMP) graphviz
	$(BIN)/cardline compliance report --out docs/compliance

# The suite runs on TEST_WORKERS processes (pytest-xdist; CI has two cores), each test
# unchanged: TEST_WORKERS=0 runs it in this one process. The leak scan runs last: it reads
# everything the suite left in $(ARTIFACTS).
TEST_WORKERS ?= 2
test: lint typecheck $(TOOLS_STAMP) chromium graphviz
	rm -rf $(ARTIFACTS) && mkdir -p $(ARTIFACTS)
	CARDLINE_TEST_ARTIFACTS=$(abspath $(ARTIFACTS)) $(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) tests 2>&1 | tee $(ARTIFACTS)/pytest-output.txt; exit $${PIPESTATUS[0]}
	$(BIN)/python -m tests.leakscan $(ARTIFACTS)

# Each mutation of tests/mutation/catalog.py applied to a copy of the tree, the tests that
# reach its module run against it; every one must fail (not part of make test, ~5 minutes).
mutate: $(STAMP)
	mkdir -p $(ARTIFACTS)
	$(BIN)/python -m tests.mutation --report $(ARTIFACTS)/mutation-report.md

# The suite RUNS times over (10 unless told: `make flake-check RUNS=3`), as `make test` runs
# it: each run on fresh artifacts, then the leak scan over them. One line per run; fails if
# any run failed. FLAKE_TESTS narrows it to some tests (default: all of them).
RUNS ?= 10
FLAKE_TESTS ?= tests
FLAKE_DIR := $(ARTIFACTS)/flake-check
.PHONY: flake-check
flake-check: $(STAMP) $(TOOLS_STAMP) chromium graphviz
	@rm -rf $(FLAKE_DIR) && mkdir -p $(FLAKE_DIR); failed=0; \
	for run in $$(seq 1 $(RUNS)); do \
		dir=$(abspath $(FLAKE_DIR))/run-$$run; mkdir -p $$dir; \
		CARDLINE_TEST_ARTIFACTS=$$dir $(BIN)/pytest -q -p no:cacheprovider $(FLAKE_TESTS) \
			> $$dir/pytest-output.txt 2>&1; tests=$$?; \
		$(BIN)/python -m tests.leakscan $$dir > $(abspath $(FLAKE_DIR))/leakscan-$$run.txt 2>&1; scan=$$?; \
		summary=$$(tail -n 1 $$dir/pytest-output.txt); \
		if [ $$tests -eq 0 ] && [ $$scan -eq 0 ]; then \
			echo "flake-check: run $$run/$(RUNS) green: $$summary"; \
		else \
			failed=$$((failed + 1)); \
			echo "flake-check: run $$run/$(RUNS) FAILED (pytest $$tests, leak scan $$scan): $$summary"; \
			grep -E "^(FAILED|ERROR) " $$dir/pytest-output.txt | sed 's/^/    /'; \
			grep -E "HIT|FAILED" $(abspath $(FLAKE_DIR))/leakscan-$$run.txt | sed 's/^/    /'; \
		fi; \
	done; \
	echo "flake-check: $$(( $(RUNS) - failed )) of $(RUNS) runs green (outputs in $(FLAKE_DIR))"; \
	test $$failed -eq 0

# The console's pictures in docs/console/, shown in the README (not part of make test).
screenshots: $(STAMP) chromium
	$(BIN)/python -m tests.browser.screenshots docs/console

# `make bench`: results in build/bench/ (benchmarks/results.{json,md} with PUBLISH=1); exits
# non-zero naming each missed target. Its Lambda part needs python3.13 (PYTHON_RUNTIME, PATH or
# pyenv) and setpriv. The peers the charge function is measured against live in their own
# virtualenv, never in the project's dependencies (benchmarks/peers/requirements.txt, pinned).
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): benchmarks/peers/requirements.txt
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip==25.3"
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check -r benchmarks/peers/requirements.txt
	@touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	CARDLINE_BENCH_PEERS_PYTHON=$(abspath $(BENCH_VENV))/bin/python $(BIN)/python -m benchmarks.run $(if $(PUBLISH),--publish)

clean:
	rm -rf $(VENV) $(TOOLS) $(DEPLOY_VENV) $(BENCH_VENV) $(ARTIFACTS) build src/*.egg-info infra/serverless/.aws-sam
