# Two commands do all set-up on a fresh machine with Python 3.11:
#   make demo   - create the environment, install, run the product on a synthetic borough
#   make test   - create the environment, install test needs, lint, type-check, run every test
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
CORE := early_warning features models flows review_ui
FRONTEND := review_ui/frontend

.PHONY: demo test lint typecheck imports unit env assets browser clean bench

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The environment is rebuilt whenever the lock file changes.
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

# The review app's static files: GOV.UK and MOJ Frontend and htmx from npm
# (package-lock.json pins them), compiled into review_ui/frontend/dist.
$(FRONTEND)/dist/.built: $(FRONTEND)/package-lock.json $(FRONTEND)/council.scss $(FRONTEND)/app.js $(FRONTEND)/build.sh
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	$(FRONTEND)/build.sh
	touch $@

assets: $(FRONTEND)/dist/.built

# Debian's Chromium, driven by Playwright in the browser tests.
browser:
	bash scripts/install-chromium.sh

env: $(VENV)/.synced assets

demo: env
	$(BIN)/early-warning demo

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: env
	$(BIN)/mypy

imports: env
	$(BIN)/lint-imports

unit: env browser
	$(BIN)/pytest

test: lint typecheck imports unit

# The README's table of a whole night at 100k and 300k residents (about 10 minutes).
bench: env
	$(BIN)/early-warning bench --residents 100000 --incremental
	$(BIN)/early-warning bench --residents 300000 --incremental

clean:
	rm -rf $(VENV) $(TOOLS) .early-warning $(FRONTEND)/node_modules $(FRONTEND)/dist .pytest_cache .mypy_cache .ruff_cache
