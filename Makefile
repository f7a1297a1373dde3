# The two commands: `make run` (embedded default) and `make test` (whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check
# Links in the banner, GitHub issues, Slack messages and alerts point at the server being run,
# unless AOS_BASE_URL is set (e.g. to the public URL behind a proxy).
AOS_BASE_URL ?= http://$(HOST):$(PORT)
NEW_KEY ?=

.PHONY: run test lint install install-run migrate seed clean worker beat check demos fuzz e2e load bench bench-http js-install js-types js-test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip

# Serving needs requirements.txt only; testing and linting add requirements-dev.txt.
$(RUN_STAMP): $(BIN)/python requirements.txt sdk/python/pyproject.toml
	$(PIP_INSTALL) -r requirements.txt
	touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP) requirements-dev.txt
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $(DEV_STAMP)

install-run: $(RUN_STAMP)

install: $(DEV_STAMP)

migrate: install-run
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	AOS_BASE_URL=$(AOS_BASE_URL) $(BIN)/python manage.py seed_demo --base-url $(AOS_BASE_URL) $(if $(filter 1,$(NEW_KEY)),--new-key)

# The port is checked before anything is migrated or seeded: a second `make run` changes nothing.
# The banner (it holds the key, hence umask 077) is printed by serve_demo once the port is bound.
run: install-run
	@$(BIN)/python manage.py check_port $(HOST):$(PORT)
	@$(BIN)/python manage.py migrate --noinput --verbosity 0
	@umask 077 && AOS_BASE_URL=$(AOS_BASE_URL) $(BIN)/python manage.py seed_demo --base-url $(AOS_BASE_URL) $(if $(filter 1,$(NEW_KEY)),--new-key) > $(VENV)/demo-banner.txt
	@AOS_BASE_URL=$(AOS_BASE_URL) DJANGO_RUNSERVER_HIDE_WARNING=true $(BIN)/python manage.py serve_demo --skip-checks --banner-file $(VENV)/demo-banner.txt $(HOST):$(PORT)

# The three demos (examples/) against loopback stand-ins and a server started like `make run`.
demos: install
	$(BIN)/python examples/_local/run_demos.py

# Celery needs REDIS_URL (the broker); the embedded default runs tasks eagerly, without them.
# WORKER_ARGS, e.g. "--concurrency=4 -Q celery"; AOS_WORKER_METRICS_PORT serves its /metrics.
WORKER_ARGS ?=
worker: install
	$(BIN)/celery -A aosproject worker -l info $(WORKER_ARGS)

# The scheduler of CELERY_BEAT_SCHEDULE (heartbeat, notify sweep, retention crontab): exactly one.
BEAT_SCHEDULE ?= .celerybeat-schedule
beat: install
	$(BIN)/celery -A aosproject beat -l info --schedule=$(BEAT_SCHEDULE)

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# Fails when any test fails or when no test is collected (pytest exit code 5).
# TEST_WORKERS pytest-xdist processes (0: one process, no xdist), a test file per worker at a time;
# tests/xdist_env.py gives each worker its own Redis database (pytest-django: its own test database).
TEST_WORKERS ?= 2
test: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest -p tests.xdist_env -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# A long Schemathesis run (all phases, coverage included) against a live server on the test database;
# prints operations, test cases and requests. FUZZ_EXAMPLES per operation, FUZZ_SEED (empty = random).
FUZZ_EXAMPLES ?= 100
FUZZ_SEED ?=
FUZZ_WORKERS ?= 2
FUZZ_PHASES ?= examples,coverage,fuzzing,stateful
fuzz: install
	LOG_LEVEL=WARNING FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_WORKERS=$(FUZZ_WORKERS) \
	FUZZ_PHASES=$(FUZZ_PHASES) $(BIN)/pytest -p no:cacheprovider -q -s tests/contract/test_fuzz.py

# The production shape on this machine (e2e/stack.py: gunicorn, Celery worker and beat, PostgreSQL, its own
# Redis, Alertmanager, Prometheus, the Pushgateway, the GitHub stand-in; DEBUG=0, free loopback ports), the
# e2e/ suite through HTTP, then `e2e_report` of its JUnit XML. Everything started is stopped, also on failure.
# E2E_ARGS: extra pytest arguments (e.g. "-x" or "-k health"); E2E_PG_SERVER: the PostgreSQL server to use.
E2E_ARGS ?=
e2e: install
	$(BIN)/python -m e2e run $(E2E_ARGS)

# locust against the same stack: /health alone, then simulate + async runs + parity; `slo_report --strict`;
# the report (date, machine facts, figures, targets) saved under load-tests/results/.
LOAD_USERS ?= 25
LOAD_SECONDS ?= 60
load: install
	LOAD_USERS=$(LOAD_USERS) LOAD_SECONDS=$(LOAD_SECONDS) $(BIN)/python -m e2e load

# The hot path against a bare Django + DRF baseline under deploy/gunicorn.conf.py, wrk (apt-installed when
# missing), alternating BENCH_ROUNDS times, BENCH_SECONDS per endpoint; prints req/s, p50, p99 and the ratios.
# PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set (use a database of the benchmark's own).
# BENCH_BEFORE=<git revision> also serves that revision and compares, endpoint by endpoint, in the same run.
BENCH_SECONDS ?= 12
BENCH_ROUNDS ?= 2
BENCH_BEFORE ?=
bench-http: install-run
	BENCH_SECONDS=$(BENCH_SECONDS) BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_BEFORE=$(BENCH_BEFORE) $(BIN)/python bench/bench_http.py

bench: bench-http

# The JS/TypeScript SDK (sdk/js): node_modules from the committed lock file, re-made when it changes.
JS_DIR := sdk/js
JS_STAMP := $(JS_DIR)/node_modules/.installed
$(JS_STAMP): $(JS_DIR)/package-lock.json $(JS_DIR)/package.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

js-install: $(JS_STAMP)

# Regenerates sdk/js/src/schema.ts (openapi-typescript) from the live schema of a running server
# (`make run`); AOS_SCHEMA_URL names another, AOS_TYPES_OUT another output file.
AOS_SCHEMA_URL ?= $(AOS_BASE_URL)/api/schema/
AOS_TYPES_OUT ?= src/schema.ts
js-types: js-install
	cd $(JS_DIR) && node scripts/generate-types.mjs "$(AOS_SCHEMA_URL)" "$(abspath $(if $(filter /%,$(AOS_TYPES_OUT)),$(AOS_TYPES_OUT),$(JS_DIR)/$(AOS_TYPES_OUT)))"

# The JS SDK's own tests (node --test); the live-server part runs inside `make test` (tests/sdk/test_js_sdk.py).
js-test: js-install
	cd $(JS_DIR) && npm test

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd sdk/python && ../../$(BIN)/mypy

clean:
	rm -rf $(VENV) db.sqlite3 .demo-key .pytest_cache .ruff_cache .mypy_cache
