# Development tasks for flask-preconditions. Needs only GNU make and Python 3.10+;
# every tool is installed into .venv from the `dev` dependency group in
# pyproject.toml. The checks themselves are the sessions of noxfile.py: `make`
# runs them in .venv (--no-venv), plain `nox` in a virtual environment each.

PYTHON ?= $(or $(shell command -v python3.11 2>/dev/null),python3)
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

# nox with .venv's tools first on PATH: with --no-venv the sessions run the
# pytest, mypy, ruff and sphinx-build that PATH finds.
NOX = PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nox
IN_VENV = --no-venv --no-install
PYTEST_ARGS ?=

.PHONY: venv $(VENV) test test-lowest test-dev lint format docs demo bench dist clean distclean

venv $(VENV): $(STAMP)

# pip 25.1 is the first that installs dependency groups (--group).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $@

lint: $(STAMP)
	$(NOX) $(IN_VENV) -s style typing

# Everything: ruff, mypy, the docs build and the whole suite, slow tests too.
test: $(STAMP)
	$(NOX) $(IN_VENV) -s style typing docs tests -- $(PYTEST_ARGS)

# The oldest supported dependencies, without the multi-process server tests,
# in .nox/tests_lowest.
test-lowest: $(STAMP)
	$(BIN)/nox -s tests_lowest -- $(PYTEST_ARGS)

# The development branches of Flask and Werkzeug, from the checkouts named by
# FLASK_DEV_CHECKOUT and WERKZEUG_DEV_CHECKOUT.
test-dev: $(STAMP)
	$(BIN)/nox -s tests_dev -- $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)
	$(NOX) $(IN_VENV) -s docs
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
	rm -rf build dist docs/_build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./.nox -prune -o -name __pycache__ -type d -exec rm -rf {} +

# .venv-lowest is where test-lowest used to install, before nox.
distclean: clean
	rm -rf $(VENV) .nox .venv-lowest
