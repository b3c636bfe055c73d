# forja: `make run` builds everything and runs the pipeline; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: setup setup-dev run test bench clean help

help:
	@echo "make setup  - create $(VENV) and install forja (torch first: $(TORCH))"
	@echo "make run    - setup + the whole pipeline on the default corpus (dvc repro)"
	@echo "make test   - setup + the test suite"
	@echo "make bench  - setup + benchmarks against Hugging Face's LlamaForCausalLM"

setup: $(STAMP)
setup-dev: $(DEV_STAMP)

# Torch goes in first and pinned, so a CPU machine gets the small CPU wheel and a
# GPU machine PyPI's CUDA build; `make setup TORCH=torch==X.Y` overrides it.
# `make run` needs only the package; tests and benchmarks add the dev extras.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(DEV_STAMP)

# One local Prefect server for the whole run (flows.server starts and stops it);
# the venv's bin/ goes first on PATH so DVC's `python -m flows.<stage>` uses it.
run: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m flows.server dvc repro

test: setup-dev
	$(BIN)/python -m pytest -q

bench: setup-dev
	$(BIN)/python -m bench.train_throughput
	$(BIN)/python -m bench.generation

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
