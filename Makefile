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
ACTION_SERVER_URL ?= http://localhost:$(ACTION_PORT)/webhook

.PHONY: help install system-deps train migrate run shell test validate bench evaluate clean

help:
	@echo "make run    set up, train if needed, start Medius (Rasa :$(RASA_PORT), actions :$(ACTION_PORT))"
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

# Debian packages the tests use: PostgreSQL (the lead store as in production).
system-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installing Debian's postgresql package (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

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
	@echo "Medius is starting. Chat over the REST channel:"
	@echo "  curl -s localhost:$(RASA_PORT)/webhooks/rest/webhook -d '{\"sender\": \"me\", \"message\": \"hi\", \"metadata\": {\"clinic\": \"stl\"}}'"
	@echo "or in a terminal: make shell (in a second terminal). Stop with Ctrl-C."
	@echo "Leads: $(PY) -m bot leads list (or export --format json|csv)."
	@echo
	RASA_PORT=$(RASA_PORT) ACTION_PORT=$(ACTION_PORT) ACTION_SERVER_URL=$(ACTION_SERVER_URL) $(VENV)/bin/honcho start -f Procfile

shell: $(MODEL)
	ACTION_SERVER_URL=$(ACTION_SERVER_URL) $(RASA) shell --model $(MODEL) --endpoints endpoints.yml

validate: $(VENV)/.installed
	ACTION_SERVER_URL=$(ACTION_SERVER_URL) $(RASA) data validate --fail-on-warnings

test: validate system-deps $(MODEL)
	$(PY) -m pytest -p no:cacheprovider
	ACTION_SERVER_URL=$(ACTION_SERVER_URL) $(RASA) test core --model $(MODEL) --stories tests/test_conversations.yml --fail-on-prediction-errors --out results/core

evaluate: $(MODEL)
	$(PY) -m bench.holdout

bench: $(MODEL)
	$(PY) -m bench.speed

clean:
	rm -rf models results var .rasa
