# golive — every target creates the virtualenv it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test unit integration reliability demo lint schemas dashboards tools bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint,embedded]'
	touch $(STAMP)

## tools: Debian's prometheus, prometheus-alertmanager and chromium (+ fonts) for the tests (no-op once there)
tools:
	scripts/install-tools.sh

## test: the whole suite (unit + integration); the fault runs are `make reliability`
test: $(STAMP) tools
	$(BIN)/pytest tests/unit tests/integration

## reliability: fault runs (kill -9, Postgres and broker restarts, disk full, rebalance storm): produced / applied / duplicated / lost, in build/reliability.json
reliability: $(STAMP)
	$(BIN)/pytest tests/reliability

## bench: throughput, latency, memory and KPI cost benchmarks (slow; not part of make test)
bench: $(STAMP)
	$(BIN)/python -m bench

## demo: embedded broker + Postgres, golive, and a simulated production rollout
demo: $(STAMP)
	$(BIN)/golive demo

## integration: the tests with a real broker and Postgres only
integration: $(STAMP)
	$(BIN)/pytest tests/integration

## unit: the pure, fast tests only
unit: $(STAMP)
	$(BIN)/pytest tests/unit

## lint: ruff + mypy --strict
lint: $(STAMP)
	$(BIN)/ruff check service tests grafana bench
	$(BIN)/ruff format --check service tests grafana bench
	$(BIN)/mypy service grafana bench

## schemas: regenerate schemas/ from the pydantic models
schemas: $(STAMP)
	$(BIN)/python -m golive.contract.schema_export schemas

## dashboards: regenerate grafana/dashboards/*.json from the code in grafana/
dashboards: $(STAMP)
	$(BIN)/python -m grafana.build

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
