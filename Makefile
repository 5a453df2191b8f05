# One bootstrap for every target: a fresh clone needs only Python 3.11, Node 20 and the registries.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_gateway/node_modules/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck pytest nodetest bench bench-soak install clean-data tools types

run: install
	$(BIN)/daodao-ai run

install: $(INSTALLED) $(NODE_INSTALLED)

# torch first, pinned to the local CPU build, or pip resolves a multi-GB CUDA build.
# llama-cpp-python compiles from source once; pip caches the wheel for later runs. It is built
# for any x86-64 with AVX2, not for this machine's own CPU: a native build uses AMX tile
# instructions where the CPU lists them, and a VM that does not enable them kills the worker
# with SIGILL (seen here).
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(INSTALLED): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	@echo "installing Python dependencies (the first run compiles llama-cpp-python: ~5-15 min)"
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_INSTALLED): node_gateway/package-lock.json
	@command -v npm >/dev/null || { echo "need Node.js 20 and npm on PATH"; exit 1; }
	cd node_gateway && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages the tests and benchmarks use: docker-compose 1.29 validates
# docker-compose.yml offline (no Docker engine needed); wrk drives the HTTP benchmarks;
# chromium runs the console page's browser test (playwright-core drives it; nothing downloads),
# and a CJK font lets its screenshot show the Chinese text.
DEBIAN_TOOLS := docker-compose:docker-compose wrk:wrk chromium:chromium
DEBIAN_FONTS := fonts-noto-cjk
tools:
	@missing=""; for pair in $(DEBIAN_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	for font in $(DEBIAN_FONTS); do \
	  dpkg -s $$font >/dev/null 2>&1 || missing="$$missing $$font"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install tools
	$(BIN)/pytest

# Unit tests, the client's JSDoc types against the generated API types, a check that those
# types match the API, then integration, fault and browser tests against a real stack.
nodetest: install tools
	cd node_gateway && npm run typecheck && node scripts/types.js --check && npm test
	cd node_gateway && npm run test:integration

# After changing the API: regenerate node_gateway/openapi.json and the gateway's types.
types: install
	$(BIN)/daodao-ai openapi --out node_gateway/openapi.json
	cd node_gateway && npm run types

test: lint typecheck pytest nodetest

bench: install tools
	$(BIN)/python -m bench --data ../shared/data

# Five minutes of mixed load at 70 % of measured capacity (`make bench` runs one minute of it).
bench-soak: install
	$(BIN)/python -m bench.soak --seconds 300

clean-data:
	rm -rf .data
