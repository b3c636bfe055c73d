# forja: `make run` builds everything and runs the pipeline; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

PORT   ?= 8501
PREFECT_PORT ?= 4200
DASHBOARD_ADDRESS ?= 127.0.0.1

CRON   ?= 0 3 * * *
# `make run PROFILE=gpu` runs profiles/gpu.yaml's overrides as a DVC experiment; GPUS=N trains
# on N GPUs of this machine (torchrun); both empty: params.yaml as it is, in the workspace.
PROFILE ?=
GPUS   ?=
RUN_ARGS := $(if $(PROFILE),--profile profiles/$(PROFILE).yaml) \
            $(if $(GPUS),--set pretrain.launch.nproc_per_node=$(GPUS) --set finetune.launch.nproc_per_node=$(GPUS))

.PHONY: setup setup-dev browser run dashboard prefect schedule sweep test bench clean help

help:
	@echo "make setup  - create $(VENV) and install forja (torch first: $(TORCH))"
	@echo "make run    - setup + the whole pipeline on the default corpus (dvc repro)"
	@echo "               PROFILE=gpu: profiles/gpu.yaml as a DVC experiment; GPUS=N: N GPUs (torchrun)"
	@echo "make test   - setup + the test suite"
	@echo "make dashboard - setup + the web dashboard on http://$(DASHBOARD_ADDRESS):$(PORT) (PORT=, DASHBOARD_ADDRESS=)"
	@echo "make prefect - setup + a Prefect server and its UI on http://127.0.0.1:$(PREFECT_PORT) until Ctrl-C (PREFECT_PORT=);"
	@echo "               make run, dvc repro and the dashboard use it while it runs"
	@echo "make schedule - setup + serve the pipeline as a Prefect deployment, run every night (CRON=\"$(CRON)\", UTC)"
	@echo "               and from the Prefect UI with other params; each run a DVC experiment"
	@echo "make sweep  - setup + the pipeline at each model size of params.yaml's sweep section (after make run):"
	@echo "               plots/sweep/sizes.{csv,svg}, reports/sweep.md"
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

# The pipeline flow runs `dvc repro`, one Prefect task per stage, on the server of `make prefect`
# when one runs, else on a temporary one for the run; the venv's bin/ goes first on PATH so
# DVC's `python -m flows.<stage>` uses it.
run: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m flows.pipeline run $(RUN_ARGS)

# The pipeline served as deployment forja-pipeline/forja: nightly runs named nightly-<date>
# (DVC experiments), and runs triggered from the UI; on the server of `make prefect`.
schedule: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m flows.pipeline serve --cron "$(CRON)" --experiment "nightly-{date}"

# A Prefect server kept running (database and logs in .prefect/), announced in .prefect/api_url
# while it is up: `make run`, a plain `dvc repro` and the dashboard find it there.
prefect: setup
	$(BIN)/python -m flows.server --serve --port $(PREFECT_PORT)

# What more parameters buy: the pipeline at each size of params.yaml's `sweep` section, each
# run a DVC experiment; starts from the workspace's token files (make run first).
sweep: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m flows.sweep

# The dashboard binds 127.0.0.1; `make dashboard DASHBOARD_ADDRESS=0.0.0.0` shares it on the
# network. The file watcher is off: importing torch trips it, and pages reread outputs anyway.
dashboard: setup
	@echo "forja dashboard: http://$(DASHBOARD_ADDRESS):$(PORT)  (Ctrl-C stops it)"
	$(BIN)/streamlit run dashboard/app.py --server.address $(DASHBOARD_ADDRESS) --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false --server.fileWatcherType none --client.toolbarMode minimal

# The browser test drives Debian's chromium (never a downloaded browser). Where it is
# missing and apt can install it, it is installed; otherwise that one test skips, loudly.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get install -y chromium >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1)) \
			|| echo "WARNING: could not install chromium with apt-get: the dashboard's browser test will be skipped"; \
		else echo "WARNING: chromium is missing and cannot be installed here (needs root and apt-get): the dashboard's browser test will be skipped"; fi; }

test: setup-dev browser
	$(BIN)/python -m pytest -q

bench: setup-dev
	$(BIN)/python -m bench.train_throughput
	$(BIN)/python -m bench.generation
	$(BIN)/python -m bench.dashboard

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
