# same — two commands for a newcomer: `make run` and `make test`.
# Both create .venv from the pinned requirements on first use.

PYTHON ?= $(shell command -v python3.13 >/dev/null 2>&1 && python3.13 -c '' 2>/dev/null && echo python3.13 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-unit test-browser lint lock install clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "same needs Python 3.12 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

## Run the app on its embedded default (SQLite, local files, demo data) at http://127.0.0.1:8000
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

## Run the whole test suite: unit and integration tests, then the browser tests in their own process
test: install
	$(BIN)/python -m pytest -n auto --ignore=tests/browser
	$(BIN)/python -m pytest -p no:asyncio -n 2 --dist worksteal tests/browser

test-unit: install
	$(BIN)/python -m pytest -n auto --ignore=tests/browser

test-browser: install
	$(BIN)/python -m pytest -p no:asyncio -n 2 --dist worksteal tests/browser

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

## Re-pin dependencies after editing requirements*.in
lock: install
	$(BIN)/pip-compile --quiet --strip-extras --no-header --allow-unsafe -o requirements.txt requirements.in
	$(BIN)/pip-compile --quiet --strip-extras --no-header --allow-unsafe -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
