# Every target bootstraps what it needs: a local .venv (and ./node_modules when npm exists).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PYTEST_ARGS ?=
# Both cores: tests that share an expensive fixture (Prism, the built packages) are marked with
# one xdist_group and run on one worker.
XDIST := -n auto --dist loadgroup

.DEFAULT_GOAL := help
.PHONY: help install generate spec-diff check-generated lint test test-fast test-chaos test-matrix demo bench fuzz mutation dist docs clean

help:
	@echo "make demo             run a flash-call verification story against FakeBird on loopback"
	@echo "make test             lint, check-generated and the whole test suite (what CI runs)"
	@echo "make test-fast        lint, unit tests, verification on memory and SQLite (the edit loop)"
	@echo "make test-chaos       faults on real servers under load: kills, pauses, full memory and disk"
	@echo "make generate         merge openapi/, report what changed, regenerate generated/"
	@echo "make spec-diff        only report what changed in openapi/ against the committed spec"
	@echo "make check-generated  fail if openapi/ or generated/ differ from a fresh merge + generation"
	@echo "make lint             ruff on our code, mypy --strict on wrapper/"
	@echo "make bench            benchmarks against raw httpx (not part of make test)"
	@echo "make fuzz             the fuzz tests with many more examples"
	@echo "make test-matrix      unit, reliability, security, FakeBird tests on Python 3.11-3.13, lowest and newest deps"
	@echo "make dist             build the sdist and the wheel into dist/ and check them with twine"
	@echo "make docs             render the API reference into site/"
	@echo "make mutation         mutation testing of the decision modules (not part of make test)"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e . --group dev
	touch $@

# Prism for the contract tests; skipped (and those tests skip) where npm is missing.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the Prism contract tests will be skipped (install Node.js 20 to run them)"; \
	fi

install: $(VENV)/.installed node_modules/.installed

# Stops before writing on an invalid spec, and on a breaking change unless ACCEPT_BREAKING=1
# and the CHANGELOG's Unreleased section names it.
generate: $(VENV)/.installed
	$(PY) openapi/generate.py

spec-diff: $(VENV)/.installed
	$(PY) openapi/spec_diff.py

check-generated: $(VENV)/.installed
	$(PY) openapi/check_generated.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install lint check-generated
	$(BIN)/pytest $(XDIST) --ignore=tests/chaos $(PYTEST_ARGS)

# One experiment at a time: each measures what its fault does under load (tests/chaos/results.md).
test-chaos: $(VENV)/.installed
	$(BIN)/pytest tests/chaos -p no:cacheprovider $(PYTEST_ARGS)

test-fast: $(VENV)/.installed lint
	$(BIN)/pytest $(XDIST) tests/unit tests/verification -m "not redis and not slow" $(PYTEST_ARGS)

# The other Pythons come from pyenv where it has them; nox names any it cannot find, and fails.
PYENV_BINS := $(wildcard $(HOME)/.pyenv/versions/3.1[123]*/bin)
test-matrix: $(VENV)/.installed
	PATH="$(subst $(eval) ,:,$(PYENV_BINS)):$$PATH" $(BIN)/nox $(NOX_ARGS)

dist: $(VENV)/.installed
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

docs: $(VENV)/.installed
	rm -rf site
	$(BIN)/pdoc --docformat restructuredtext --output-directory site \
		bird_flashcalls bird_flashcalls.errors bird_flashcalls.testing bird_flashcalls.verification \
		bird_flashcalls.verification.stores.sqlite bird_flashcalls.verification.stores.redis \
		2>&1 | grep -v "in bird_flashcalls.verification.__all__, but it does not resolve" || true
	@test -f site/bird_flashcalls.html
	@echo "API reference in site/index.html"

demo: $(VENV)/.installed
	$(BIN)/bird-flashcalls demo

bench: $(VENV)/.installed
	$(PY) tests/bench/run_all.py

fuzz: $(VENV)/.installed
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/reliability tests/security -k fuzz $(PYTEST_ARGS)

# Writes tests/mutation/results.md; fails when a module scores under its target.
mutation: $(VENV)/.installed
	$(PY) tests/mutation/run_mutation.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .nox dist site
