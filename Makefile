# ghl-sync developer entry points. Every target bootstraps .venv when it is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# A Python 3.13 interpreter that really runs (a pyenv shim may exist without one behind it):
# $PYTHON313 if set, else python3.13 on PATH, else the newest under pyenv's versions.
PYTHON313 ?= $(shell for p in "$$(command -v python3.13)" $$(ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV); do \
	[ -n "$$p" ] && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$p"; break; }; done)
# sam build looks for python3.13 on PATH; the venv provides it.
export PATH := $(abspath $(BIN)):$(PATH)
export SAM_CLI_TELEMETRY := 0

FN ?=
EVENT ?=
ENV_VARS ?=

.PHONY: help venv test lint typecheck validate build invoke bench demo dev clean

help:
	@echo "make demo      run the demo scenario on this machine (moto + sandboxes)"
	@echo "make test      lint, type-check, validate the template and run the whole suite"
	@echo "make dev       run the whole stack on 127.0.0.1 (gateway, worker, schedules, sandboxes)"
	@echo "make invoke FN=<LogicalId> EVENT=events/<file>.json [ENV_VARS=env.json]"
	@echo "make lint | typecheck | validate | build | bench | clean"

$(STAMP): requirements-dev.txt layers/shared/requirements.txt pyproject.toml
	@if [ -z "$(PYTHON313)" ]; then echo "error: Python 3.13 not found; install it (e.g. 'pyenv install 3.13') or set PYTHON313=/path/to/python3.13" >&2; exit 1; fi
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

validate: $(STAMP)
	$(BIN)/sam validate --lint

# One pytest worker per core (pytest-xdist): the integration suite is CPU-bound moto work.
test: lint typecheck validate
	$(BIN)/pytest -n auto

build: $(STAMP)
	$(BIN)/sam build

invoke: $(STAMP)
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<LogicalId> EVENT=events/<file>.json [ENV_VARS=env.json]" >&2; exit 2; }
	$(PY) -m sandbox.stack.invoke $(FN) --event $(EVENT) $(if $(ENV_VARS),--env-vars $(ENV_VARS))

bench: $(STAMP)
	$(PY) -m bench

demo: $(STAMP)
	$(PY) -m sandbox.demo

dev: $(STAMP)
	$(PY) -m sandbox.stack.dev

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
