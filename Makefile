# intacct-sync: the team's interface. Every target installs what it needs on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The tools' Python (.venv, .venv-sam): 3.11 or newer, with venv (checked before a venv is made).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
# sam build compiles the layer's bytecode with the Lambda runtime's Python (Globals Runtime python3.12;
# layers/common/Makefile): bytecode only loads in the interpreter version that wrote it, so no other
# Python can stand in. Found on PATH, under pyenv or uv, or in the usual install folders, each one asked
# its version; or named: make build LAYER_PYTHON=/path/to/python3.12. Nothing else in the build needs it.
LAYER_PYTHON_VERSION := 3.12
LAYER_PYTHON ?= $(shell for p in "$$(command -v python$(LAYER_PYTHON_VERSION))" \
	$$(pyenv root 2>/dev/null)/versions/$(LAYER_PYTHON_VERSION)*/bin/python$(LAYER_PYTHON_VERSION) \
	$$HOME/.local/share/uv/python/cpython-$(LAYER_PYTHON_VERSION)*/bin/python$(LAYER_PYTHON_VERSION) \
	/usr/local/bin/python$(LAYER_PYTHON_VERSION) /usr/bin/python$(LAYER_PYTHON_VERSION) \
	/opt/python/$(LAYER_PYTHON_VERSION)*/bin/python$(LAYER_PYTHON_VERSION); do \
	[ -x "$$p" ] && "$$p" -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(LAYER_PYTHON_VERSION)")' \
	2>/dev/null && { echo "$$p"; break; }; done)

ARGS ?=

.PHONY: help install run test lint format typecheck validate build tests unit integration e2e bench deploy \
	requirements clean \
	check-python check-layer-python

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# A clear line instead of a pip or venv traceback when the machine's Python cannot make the venvs.
check-python:
	@test -n "$(PYTHON)" || { echo "make: no python3 on PATH: install Python 3.11 or newer, or run make PYTHON=/path/to/python3" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "make: $(PYTHON) is Python %d.%d; intacct-sync needs 3.11 or newer: install it, or run make PYTHON=/path/to/python3.11" % sys.version_info[:2])'
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { v=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		echo "make: $(PYTHON) cannot create virtual environments (no venv/ensurepip); on Debian or Ubuntu: apt-get install python$$v-venv" >&2; exit 1; }

check-layer-python:
	@test -n "$(LAYER_PYTHON)" || { echo "make: sam build needs Python $(LAYER_PYTHON_VERSION), the Lambda runtime's, to compile the layer's bytecode, and found none (looked on PATH, under pyenv and uv, in /usr/local/bin, /usr/bin and /opt/python). Install it (e.g. pyenv install $(LAYER_PYTHON_VERSION), uv python install $(LAYER_PYTHON_VERSION), apt-get install python$(LAYER_PYTHON_VERSION) where the distribution has it, or python.org), or name it: make $(or $(MAKECMDGOALS),build) LAYER_PYTHON=/path/to/python$(LAYER_PYTHON_VERSION)" >&2; exit 1; }
	@$(LAYER_PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(v != "$(LAYER_PYTHON_VERSION)" and f"make: LAYER_PYTHON=$(LAYER_PYTHON) is Python {v}, not $(LAYER_PYTHON_VERSION)")'

$(VENV)/.installed: pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# setuptools warns on every editable install that a folder in the working directory named like a
	@# package could shadow it; none is (the packages live under layers/common/ and local/), so that one
	@# informational warning is silenced (pyproject.toml has no setting for it) and nothing else.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(SAM_VENV)/.installed: | check-python
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

install: $(VENV)/.installed $(SAM_VENV)/.installed ## create .venv (app + dev tools) and .venv-sam (SAM CLI)

run: $(VENV)/.installed ## export 50,000 simulated customers locally (ARGS="--records 1000000 ...")
	@$(BIN)/intacct-sync run $(ARGS)

test: check-layer-python lint typecheck validate build tests ## everything CI runs: lint, types, template, sam build, all tests

lint: $(VENV)/.installed ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed ## mypy over the layer package, handlers and local tools
	$(BIN)/mypy

validate: $(VENV)/.installed $(SAM_VENV)/.installed ## sam validate --lint, cfn-lint (+ serverless rules), statelint
	$(SAM) validate --lint --template template.yaml
	$(BIN)/cfn-lint --template template.yaml --append-rules cfn_lint_serverless.rules
	$(BIN)/statelint statemachine/*.asl.json

# The layer builds with layers/common/Makefile: wheels for Lambda plus precompiled bytecode, so cold starts
# do not compile the layer's modules (a layer on read-only /opt cannot cache bytecode).
build: check-layer-python $(SAM_VENV)/.installed ## sam build (no Docker; needs Python 3.12 for the layer)
	LAYER_PYTHON="$(LAYER_PYTHON)" $(SAM) build --template template.yaml

# Tests by cost: unit (pure logic and the template, no simulator; the template's checks transform it with
# SAM and may use moto's IAM model; seconds), integration
# (the simulator over real HTTP, emulated AWS, one step at a time), e2e (the real state machine end to end).
tests: $(VENV)/.installed ## every test (ARGS="-k name" to pick)
	$(BIN)/python -m pytest $(ARGS)

unit: $(VENV)/.installed ## the fast tests: tests/unit and tests/template (well under a minute)
	$(BIN)/python -m pytest tests/unit tests/template $(ARGS)

integration: $(VENV)/.installed ## the simulator, the client over real HTTP, handlers and adapters on emulated AWS
	$(BIN)/python -m pytest tests/sim tests/integration $(ARGS)

e2e: $(VENV)/.installed ## the real state machine end to end, security and hostile-input runs included
	$(BIN)/python -m pytest tests/e2e tests/security $(ARGS)

bench: $(VENV)/.installed ## benchmarks: print figures (ARGS="--quick" for a tiny run)
	$(BIN)/python -m benchmarks.run $(ARGS)

requirements: ## regenerate layers/common/requirements.txt from pyproject.toml
	$(BIN)/python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" > layers/common/requirements.txt

deploy: build ## sam deploy with samconfig.toml (ENV=prod for the production environment)
	$(SAM) deploy --config-env $(or $(ENV),default)

clean: ## remove build output and local run output
	rm -rf .aws-sam out .pytest_cache .mypy_cache .ruff_cache
