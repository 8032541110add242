# The two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/medius.tar.gz
# What the model is trained from. The other data files (topics, causes, typed
# answers, clinics, widget) are read by the actions and the web server at run time.
TRAIN_INPUTS := config.yml domain.yml data/triage.yml data/red_flag_corpus.yml data/red_flag_categories.yml \
	$(shell find data/nlu data/rules data/stories data/responses -type f -name '*.yml' 2>/dev/null)

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
WEB_HOST ?= 0.0.0.0
# What supervisord.conf reads: the model, Rasa's endpoints, action-server processes, the notifier,
# and where supervisord keeps its socket (`python -m bot run` makes that folder, 0700, and starts
# supervisord with umask 077: every file under var/ is its owner's only).
MEDIUS_MODEL ?= $(MODEL)
MEDIUS_ENDPOINTS ?= endpoints.yml
RASA_WORKERS ?= 1
ACTION_WORKERS ?= 1
# `make run-prod`: Rasa processes and action-server workers.
PROD_RASA_WORKERS ?= 2
PROD_ACTION_WORKERS ?= 2
MEDIUS_NOTIFIER ?= true
MEDIUS_RUN_DIR ?= $(CURDIR)/var/run
ACTION_SERVER_URL ?= http://127.0.0.1:$(ACTION_PORT)/webhook
MEDIUS_RASA_URL ?= http://127.0.0.1:$(RASA_PORT)
# The secret the web server, Rasa and the action server share: from .env, or made
# once per machine into var/internal-token (readable by its owner only).
TOKEN_FILE := var/internal-token
WITH_TOKEN = MEDIUS_INTERNAL_TOKEN=$${MEDIUS_INTERNAL_TOKEN:-$$(cat $(TOKEN_FILE))}

.PHONY: help install requirements system-deps train image migrate run run-prod shell lint test test-fast validate bench evaluate clean

help:
	@echo "make run    set up, train if needed, start Medius (public: web :$(WEB_PORT); on loopback: Rasa :$(RASA_PORT), actions :$(ACTION_PORT))"
	@echo "make test   set up and run every check"
	@echo "make test-fast  the unit tests alone (tests/unit/): no training, no Debian packages, no servers"
	@echo "make run-prod  the production topology on this machine (PostgreSQL, Redis, several Rasa and action processes)"
	@echo "make shell  chat in the terminal (with 'make run' going in another terminal)"
	@echo "make image  build the production image with buildah (deploy/Dockerfile; see docs/deploy.md)"
	@echo "make bench  speed, load and memory, against Rasa's stock default config"
	@echo "make evaluate  held-out intent accuracy and answer-level scores (ours against Rasa's stock default config), and the safety net's figures"

# One venv for running and testing: the runtime packages (requirements.txt, all the production
# image installs) and the tests' and checks' (requirements-dev.txt), both compiled by `make requirements`.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@[ -x $(PY) ] || "$$(scripts/find_python310)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip==23.3.2"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $@

install: $(VENV)/.installed

# Pin every package from requirements.in (runtime) and requirements-dev.in (tests, checks), keeping the
# versions already pinned (`make requirements UPGRADE="--upgrade-package NAME"` moves one). pip-tools lives in
# a venv of its own: its `build` needs a packaging newer than Rasa 3.6 allows.
TOOLS_VENV := .venv-tools
PIN = CUSTOM_COMPILE_COMMAND="make requirements" $(TOOLS_VENV)/bin/pip-compile --quiet \
	--resolver=backtracking --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links $(UPGRADE)

$(TOOLS_VENV)/.installed:
	"$$(scripts/find_python310)" -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "pip-tools==7.7.0"
	@touch $@

requirements: $(TOOLS_VENV)/.installed
	$(PIN) requirements.in -o requirements.txt
	$(PIN) requirements-dev.in -o requirements-dev.txt

# Debian packages the tests and `make run-prod` use: PostgreSQL (leads and
# conversations as in production), Redis (Rasa's lock store) and Chromium (the widget's browser tests; Playwright drives this one and never
# downloads its own); buildah and debootstrap build the production image (`make image`).
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/bin/buildah ] || missing="$$missing buildah"; \
	[ -x /usr/sbin/debootstrap ] || missing="$$missing debootstrap"; \
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
	# --force: Rasa's cache cannot see the red-flag corpus the safety component reads.
	$(RASA) train --force --fixed-model-name medius --out models
	@touch $@

train: $(MODEL)

# The production image (deploy/Dockerfile, named as in deploy/*.yaml), built with buildah: deploy/build-image.sh.
image: $(MODEL) system-deps
	deploy/build-image.sh

$(TOKEN_FILE):
	@mkdir -p $(dir $@)
	@umask 077 && "$$(scripts/find_python310)" -c 'import secrets; print(secrets.token_urlsafe(32))' > $@

migrate: $(VENV)/.installed
	$(PY) -m bot check
	$(PY) -m bot migrate

run: $(MODEL) migrate $(TOKEN_FILE)
	@echo
	@echo "Medius is starting (the assistant takes about a minute to load). Open a demo clinic page:"
	@echo "  http://localhost:$(WEB_PORT)/demo/stl      (or /demo/boston; all demos at http://localhost:$(WEB_PORT)/)"
	@echo "Or chat in a terminal: make shell (in a second terminal). Stop with Ctrl-C."
	@echo "Leads: $(PY) -m bot leads list (or export --format json|csv)."
	@echo "Staff inbox: http://localhost:$(WEB_PORT)/inbox, after making an account:"
	@echo "  $(PY) -m bot staff add --clinic stl --email you@example.com   (type the password, then Enter)"
	@echo
	$(WITH_TOKEN) $(PY) -m bot run

# Production topology on this machine: PostgreSQL (conversations, leads), Redis (Rasa's lock store),
# several Rasa processes and action-server workers, the notifier; DATABASE_URL and REDIS_URL from .env,
# or local servers under var/ started for it. See README "Production".
run-prod: $(MODEL) system-deps $(TOKEN_FILE)
	$(WITH_TOKEN) $(PY) -m bot run-prod --rasa-workers $(PROD_RASA_WORKERS) --action-workers $(PROD_ACTION_WORKERS)

shell: $(MODEL) $(TOKEN_FILE)
	$(WITH_TOKEN) $(RASA) shell --model $(MODEL) --endpoints endpoints.yml

validate: $(VENV)/.installed
	$(RASA) data validate --fail-on-warnings

# Lint, types and the layering, as configured in pyproject.toml. ruff only checks: it never reformats.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check bot actions components tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint validate system-deps node_modules/.installed $(MODEL) $(TOKEN_FILE)
	$(PY) -m pytest -p no:cacheprovider
	$(WITH_TOKEN) $(RASA) test core --model $(MODEL) --stories tests/test_conversations.yml --fail-on-prediction-errors --out results/core

# The unit tests alone: no trained model, no Debian packages, no servers; under two minutes.
test-fast: install
	$(PY) -m pytest -p no:cacheprovider tests/unit -q

evaluate: $(MODEL)
	$(PY) -m bench.holdout
	$(PY) -m bench.safety --report docs/safety-report.md
	$(PY) -m bench.answers

bench: $(MODEL) system-deps
	$(PY) -m bench.speed
	$(PY) -m bench.load --skip-training --topologies stock,embedded,production --visitors 1,50
	$(PY) -m bench.widget
	$(PY) -m bench.hop

clean:
	rm -rf models results var .rasa
