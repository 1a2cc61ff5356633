# intacct-sync: the team's interface. Every target installs what it needs on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
# sam build looks for the Lambda runtime's interpreter (python3.12) on PATH; pyenv provides it here.
PY312 := $(shell command -v pyenv >/dev/null && pyenv versions --bare 2>/dev/null | grep -E '^3\.12' | tail -1)
PY311 := $(shell command -v pyenv >/dev/null && pyenv versions --bare 2>/dev/null | grep -E '^3\.11' | tail -1)
SAM_ENV := $(if $(PY312),PYENV_VERSION=$(PY311)$(if $(PY311),:)$(PY312),)

ARGS ?=

.PHONY: help install run test lint format typecheck validate build unit e2e bench deploy requirements clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

install: $(VENV)/.installed $(SAM_VENV)/.installed ## create .venv (app + dev tools) and .venv-sam (SAM CLI)

run: $(VENV)/.installed ## export 50,000 simulated customers locally (ARGS="--records 1000000 ...")
	$(BIN)/intacct-sync run $(ARGS)

test: lint typecheck validate build unit ## everything CI runs: lint, types, template, sam build, all tests

lint: $(VENV)/.installed ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed ## mypy over the layer package, handlers and local tools
	$(BIN)/mypy

validate: $(VENV)/.installed $(SAM_VENV)/.installed ## sam validate --lint and cfn-lint
	$(SAM) validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml

# The layer builds with layers/common/Makefile: wheels for Lambda plus precompiled bytecode, so cold starts
# do not compile the layer's modules (a layer on read-only /opt cannot cache bytecode).
build: $(SAM_VENV)/.installed ## sam build (no Docker); the layer ships precompiled bytecode
	$(SAM_ENV) $(SAM) build --template template.yaml

unit: $(VENV)/.installed ## the pytest suite (unit, integration against the simulator, end to end)
	$(BIN)/python -m pytest $(ARGS)

bench: $(VENV)/.installed ## benchmarks: print figures (ARGS="--quick" for a tiny run)
	$(BIN)/python -m benchmarks.run $(ARGS)

requirements: ## regenerate layers/common/requirements.txt from pyproject.toml
	$(BIN)/python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" > layers/common/requirements.txt

deploy: build ## sam deploy with samconfig.toml (ENV=prod for the production environment)
	$(SAM) deploy --config-env $(or $(ENV),default)

clean: ## remove build output and local run output
	rm -rf .aws-sam out .pytest_cache .mypy_cache .ruff_cache
