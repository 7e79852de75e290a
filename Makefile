# `make run`: create the virtualenv, install, run the nightly job on the demo inbox.
# `make test`: the whole test suite (what CI runs).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

.PHONY: run test install
install: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/prepaid demo

test: $(BIN)/.installed
	$(BIN)/pytest
