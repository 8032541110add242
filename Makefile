# The two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/medius.tar.gz
TRAIN_INPUTS := config.yml domain.yml $(shell find data -type f -name '*.yml' 2>/dev/null)

# Settings from .env (if present) reach every command below.
-include .env
export
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning
RASA_PORT ?= 5005
ACTION_PORT ?= 5055
WEB_PORT ?= 8000
ACTION_SERVER_URL ?= http://localhost:$(ACTION_PORT)/webhook

.PHONY: help install system-deps train migrate run shell test validate bench evaluate clean

help:
	@echo "make run    set up, train if needed, start Medius (web :$(WEB_PORT), Rasa :$(RASA_PORT), actions :$(ACTION_PORT))"
	@echo "make test   set up and run every check"
	@echo "make shell  chat in the terminal (with 'make run' going in another terminal)"
	@echo "make bench  speed and memory, against Rasa's stock default config"
	@echo "make evaluate  held-out intent accuracy, ours against Rasa's stock default config"

$(VENV)/.installed: requirements.txt pyproject.toml
	@[ -x $(PY) ] || "$$(scripts/find_python310)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip==23.3.2"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $@

install: $(VENV)/.installed

# Debian packages the tests use: PostgreSQL (the lead store as in production)
# and Chromium (the widget's browser tests; Playwright drives this one and never
# downloads its own).
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# axe-core, the accessibility checker the browser tests inject into the page.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Retrain only when training data, domain or config changed.
$(MODEL): $(VENV)/.installed $(TRAIN_INPUTS)
	$(RASA) train --fixed-model-name medius --out models
	@touch $@

train: $(MODEL)

migrate: $(VENV)/.installed
	$(PY) -m bot check
	$(PY) -m bot migrate

run: $(MODEL) migrate
	@echo
	@echo "Medius is starting (the assistant takes about a minute to load). Open a demo clinic page:"
	@echo "  http://localhost:$(WEB_PORT)/demo/stl      (or /demo/boston; all demos at http://localhost:$(WEB_PORT)/)"
	@echo "Or chat in a terminal: make shell (in a second terminal). Stop with Ctrl-C."
	@echo "Leads: $(PY) -m bot leads list (or export --format json|csv)."
	@echo
	RASA_PORT=$(RASA_PORT) ACTION_PORT=$(ACTION_PORT) WEB_PORT=$(WEB_PORT) ACTION_SERVER_URL=$(ACTION_SERVER_URL) \
	  MEDIUS_CHAT_URL=$${MEDIUS_CHAT_URL:-http://localhost:$(RASA_PORT)/webhooks/widget/webhook} \
	  $(VENV)/bin/honcho start -f Procfile

shell: $(MODEL)
	ACTION_SERVER_URL=$(ACTION_SERVER_URL) $(RASA) shell --model $(MODEL) --endpoints endpoints.yml

validate: $(VENV)/.installed
	ACTION_SERVER_URL=$(ACTION_SERVER_URL) $(RASA) data validate --fail-on-warnings

test: validate system-deps node_modules/.installed $(MODEL)
	$(PY) -m pytest -p no:cacheprovider
	ACTION_SERVER_URL=$(ACTION_SERVER_URL) $(RASA) test core --model $(MODEL) --stories tests/test_conversations.yml --fail-on-prediction-errors --out results/core

evaluate: $(MODEL)
	$(PY) -m bench.holdout

bench: $(MODEL) system-deps
	$(PY) -m bench.speed
	$(PY) -m bench.widget

clean:
	rm -rf models results var .rasa
