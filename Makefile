# `make run`: create the virtualenv, install, run the nightly job on the demo inbox.
# `make test`: the whole test suite (what CI runs).
# `make lock`: re-resolve requirements.lock from pyproject.toml (after changing a dependency).
# Another Python or folder: `make test PYTHON=python3.13 VENV=.venv313`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# the tool that writes requirements.lock; pinned so that `make lock` resolves the same way everywhere
UV := uv>=0.9,<0.14

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The exact versions of requirements.lock (the tested set, for every supported Python), then
# the project itself on top without letting pip re-resolve anything.
$(BIN)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

.PHONY: run test install lock
install: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/prepaid demo

test: $(BIN)/.installed
	$(BIN)/pytest

# One resolution valid on every Python that pyproject.toml's requires-python allows (markers
# where versions differ), for the project and its dev extra (which includes the dask extra).
lock: $(BIN)/python
	$(BIN)/pip install --quiet '$(UV)'
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	    --custom-compile-command "make lock" --annotation-style line --quiet -o requirements.lock
