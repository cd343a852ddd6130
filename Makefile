# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Links in previews and emails point at the local server unless told otherwise.
GHARART_PUBLIC_URL ?= http://127.0.0.1:$(PORT)
export GHARART_PUBLIC_URL
# Every handle's site on its own origin, {handle}.localhost:{port}: browsers send every
# *.localhost name to loopback, so no DNS set-up is needed.
# Only `make run` exports it: the test suite sets its own.
GHARART_SITES_DOMAIN ?= localhost:$(PORT)
run: export GHARART_SITES_DOMAIN := $(GHARART_SITES_DOMAIN)

.PHONY: run test install migrate seed web worker lint screenshots bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Migrate, seed the demo handle, then serve the dashboard and run a Celery worker (Ctrl-C stops both).
run: install
	GHARART_DEV=1 $(BIN)/python manage.py migrate --noinput
	GHARART_DEV=1 $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	GHARART_DEV=1 $(BIN)/python manage.py demo_seed
	@echo ""
	@echo "  Dashboard:   http://127.0.0.1:$(PORT)/   (log in as owner, webmanager, partners, ...)"
	@echo "  Live site:   http://gharart.$(GHARART_SITES_DOMAIN)/   (its own origin; sandboxed copy: http://127.0.0.1:$(PORT)/profiles/gharart/)"
	@echo "  API docs:    http://127.0.0.1:$(PORT)/v2/docs"
	@echo ""
	GHARART_DEV=1 $(BIN)/python scripts/run_dev.py --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

screenshots: install
	GHARART_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/browser -m browser $(PYTEST_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache
