# Two commands set everything up on a fresh machine:
#   make run    install into .venv, then run the whole default pipeline (dvc repro)
#   make test   install into .venv, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
# On a machine without a GPU and without a local CPU wheel, point pip at the CPU builds of torch, e.g.
#   make run TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
TORCH_INDEX_URL ?=
export PATH := $(BIN):$(PATH)

.PHONY: install run test test-fast lint check-docs bench mlflow-ui clean

# torch comes first through pip, which takes a machine's local CPU wheel (or TORCH_INDEX_URL's build);
# uv then resolves and installs everything else in parallel, keeping that torch (it satisfies torch==2.13.0).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ -n "$(TORCH_INDEX_URL)" ]; then \
	  $(BIN)/python -m pip install --quiet "torch==2.13.0" --index-url "$(TORCH_INDEX_URL)"; fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8" "torch==2.13.0"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	test -d .dvc || $(BIN)/dvc init $$(git rev-parse --git-dir >/dev/null 2>&1 || echo --no-scm)
	$(BIN)/dvc repro
	$(BIN)/dvc metrics show

test: install
	$(BIN)/python -m pytest -q --timeout=600 --durations=15 -n auto --maxprocesses=4

# Style, types and the import layers (the same checks as .pre-commit-config.yaml).
lint: install
	$(BIN)/ruff check src pipelines tests benchmarks
	$(BIN)/ruff format --check src pipelines tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Figures in README.md, docs/results/ and benchmarks/NOTES.md against their committed result files;
# `make check-docs WRITE=1` regenerates the tables from those files.
check-docs: install
	$(BIN)/python -m betavae.report.results_docs $(if $(WRITE),--write,)

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow" --timeout=300

# Throughput against this machine's measured limits; `make bench BENCH_ARGS=--quick` for the < 60 s subset.
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

mlflow-ui: install
	@echo "MLflow UI (model-training view): http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --default-artifact-root ./mlruns --host 127.0.0.1

clean:
	rm -rf data/datasets data/validation models metrics plots .prefect
