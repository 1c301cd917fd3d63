# Every target depends on the idempotent `setup`; nothing is installed globally.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
CDK := node_modules/.bin/cdk
PORT ?= 3000

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := 1
export PYTHONPATH := $(CURDIR):$(CURDIR)/runtime

.PHONY: help setup test-tools test lint bench demo local synth deploy clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

setup: $(VENV)/.installed node_modules/.installed  ## .venv from pinned requirements + local aws-cdk CLI (idempotent)

$(VENV)/.installed: requirements.txt requirements-dev.txt runtime/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

test-tools: setup $(CHECKOV_VENV)/.installed
	@bash tests/install_browser.sh

test: test-tools  ## the whole suite: unit, end to end, synth snapshot, cdk-nag, cfn-lint, checkov, browser
	$(PY) -m pytest

lint: setup $(CHECKOV_VENV)/.installed  ## ruff, mypy, hadolint, cfn-lint and checkov on the synthesized template
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint runtime/Dockerfile
	$(CDK) synth --quiet
	$(VENV)/bin/cfn-lint cdk.out/*.template.json --ignore-checks W3005
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download -f cdk.out/BedrockStreamingStack.template.json -f runtime/Dockerfile

bench: setup  ## run the benchmarks and write bench/RESULTS.md
	$(PY) -m bench

demo: setup  ## stream one prompt through emulator, runtime, handler and the offline Bedrock stand-in
	$(PY) -m emulator demo

local: setup  ## serve the emulator on 127.0.0.1:$(PORT) until Ctrl-C (chat page at /_emulator/)
	$(PY) -m emulator serve --port $(PORT)

synth: setup  ## cdk synth (offline) into cdk.out
	$(CDK) synth --quiet

deploy: setup  ## cdk deploy (needs AWS credentials and a Docker engine)
	$(CDK) deploy

clean:  ## remove build output (keeps the venvs)
	rm -rf cdk.out bench/out .pytest_cache .mypy_cache .ruff_cache
