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

.PHONY: help setup test-tools test fuzz soak lint bench demo local smoke synth deploy clean

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

lint: setup $(CHECKOV_VENV)/.installed  ## ruff, mypy, import-linter contracts, hadolint, cfn-lint and checkov on the synthesized template
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/hadolint runtime/Dockerfile
	$(CDK) synth --quiet
	$(VENV)/bin/cfn-lint cdk.out/*.template.json --ignore-checks W3005
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download -f cdk.out/BedrockStreamingStack.template.json -f runtime/Dockerfile

FUZZ_EXAMPLES ?= 2000
fuzz: setup  ## hypothesis fuzzing at full size (FUZZ_EXAMPLES per test, random seed printed; FUZZ_SEED=N replays)
	@seed=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzz seed: $$seed (replay: make fuzz FUZZ_SEED=$$seed)"; \
	FUZZ_SEED=$$seed FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest --timeout=0 \
		tests/reliability/test_fuzz_function_url.py tests/reliability/test_fuzz_openai.py \
		tests/reliability/test_fuzz_surface.py tests/reliability/test_fuzz_rest_front.py

SOAK_SECONDS ?= 60
SOAK_INVOCATIONS ?= 2000
soak: setup  ## soak and load at full size: sequential invocations, then 8 parallel clients for SOAK_SECONDS
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_INVOCATIONS=$(SOAK_INVOCATIONS) $(PY) -m pytest -s --timeout=0 tests/reliability/test_soak_load.py

bench: setup  ## run the benchmarks and write bench/RESULTS.md
	$(PY) -m bench

demo: setup  ## stream one prompt through emulator, runtime, handler and the offline Bedrock stand-in
	$(PY) -m emulator demo

local: setup  ## serve the emulator on 127.0.0.1:$(PORT) and its Lambda API on 127.0.0.1:3001 until Ctrl-C (chat page at /_emulator/)
	$(PY) -m emulator serve --port $(PORT) --lambda-api-port 3001 $(ARGS)

# `make smoke` without URL stops here, before any set-up, with a one-line message.
ifneq ($(filter smoke,$(MAKECMDGOALS)),)
ifeq ($(strip $(URL)),)
$(error URL is missing: make smoke URL=https://<id>.lambda-url.<region>.on.aws/ [ARGS="--api-key KEY | --sign"])
endif
endif
smoke: setup  ## smoke-test a deployed endpoint, at most 8 small requests: make smoke URL=… [ARGS="--api-key KEY"]
	$(PY) -m stream_client smoke '$(URL)' $(ARGS)

synth: setup  ## cdk synth (offline) into cdk.out
	$(CDK) synth --quiet

deploy: setup  ## cdk deploy (needs AWS credentials and a Docker engine)
	$(CDK) deploy

clean:  ## remove build output (keeps the venvs)
	rm -rf cdk.out bench/out .pytest_cache .mypy_cache .ruff_cache
