# Development tasks for flask-preconditions. Needs only GNU make and Python 3.10+;
# every tool is installed into .venv from the `test` extra in pyproject.toml.

PYTHON ?= $(or $(shell command -v python3.11 2>/dev/null),python3)
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

# Oldest supported Flask and Werkzeug: keep equal to the lower bounds in
# pyproject.toml and to LOWEST in noxfile.py.
LOWEST_PINS = flask==3.0.0 werkzeug==3.0.0
LOWEST_VENV = .venv-lowest
LOWEST_BIN = $(LOWEST_VENV)/bin
LOWEST_STAMP = $(LOWEST_VENV)/.installed

SPHINXBUILD = $(BIN)/sphinx-build -W --keep-going -E -q -b html docs docs/_build/html
PYTEST_ARGS ?=

.PHONY: venv $(VENV) test test-lowest lint format docs demo bench dist clean distclean

venv $(VENV): $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(LOWEST_STAMP): pyproject.toml Makefile
	test -x $(LOWEST_BIN)/python || $(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_BIN)/python -m pip install --quiet --upgrade pip
	$(LOWEST_BIN)/python -m pip install --quiet -e '.[test]' $(LOWEST_PINS)
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint docs
	$(BIN)/pytest $(PYTEST_ARGS)

# The oldest Flask/Werkzeug, without the multi-process server tests.
test-lowest: $(LOWEST_STAMP)
	$(LOWEST_BIN)/python -m pip list 2>/dev/null | grep -iE '^(flask|werkzeug) '
	$(LOWEST_BIN)/pytest -m "not slow" $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)
	$(SPHINXBUILD)
	@echo 'HTML documentation in docs/_build/html/'

demo: $(STAMP)
	$(BIN)/python examples/demo.py

bench: $(STAMP)
	test ! -f benchmarks/requirements.txt || $(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf build dist docs/_build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis .nox
	find . -path ./$(VENV) -prune -o -path ./$(LOWEST_VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(LOWEST_VENV)
