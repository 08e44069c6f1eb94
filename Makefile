# The two commands a newcomer needs: `make demo` and `make test`.
# Each creates the virtual environment on first use.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: demo test lint bench clean constraints

# Installed at the versions constraints.txt pins (the tested ones); pyproject.toml keeps
# ranges. `make constraints` records the versions installed now.
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt -e '.[emulator,dev]'
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

constraints: $(BIN)/.installed
	@echo "# Tested versions: make and the container image install from these." > constraints.txt
	@echo "# Regenerate with make constraints after changing pyproject.toml." >> constraints.txt
	$(BIN)/pip freeze --exclude-editable | LC_ALL=C sort >> constraints.txt

clean:
	rm -rf $(VENV)
