# Two user-facing targets (see README):
#   make demo   create .venv, install runql, run the main job against the embedded demo backend
#   make test   create .venv, install with test extras, run ruff, mypy and pytest
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: demo test

$(VENV)/.installed-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-base
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed-base
	$(PY) examples/demo.py

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest
