# The two commands a newcomer needs: `make demo` and `make test`.
# Each creates the virtual environment on first use.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[emulator,dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/alertd demo

lint: $(BIN)/.installed
	$(BIN)/ruff check --no-cache alertd tests bench
	$(BIN)/ruff format --no-cache --check alertd tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python bench/queries_per_tick.py

clean:
	rm -rf $(VENV)
