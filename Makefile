# Jemput: `make up` runs the system on this machine; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv must use the machine's Python: there is nothing to download it from.
export UV_PYTHON_DOWNLOADS := never
# uv itself lives in the checkout (.tools, a venv of python3), the same version as the images'
# (deploy/docker/Dockerfile): nothing is looked up on, or added to, PATH.
UV_VERSION := 0.13.9
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/bin/uv

TEST_KAFKA_PORT ?= 19092
TEST_PG_PORT ?= 55432
PYTEST_ARGS ?=

.PHONY: help setup up down status demo test test-only lint format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: ## install uv into .tools and the locked dependencies into .venv (./jemput runs the CLI)
	@deploy/local/install-uv.sh "$(TOOLS)" "$(UV_VERSION)"
	@$(UV) sync --locked --quiet
	@echo "Dependencies installed in .venv; the jemput command is ./jemput"

up: setup ## start Kafka and the four services on SQLite under var/ (local credentials in var/auth)
	@deploy/kafka/kafka.sh start
	@$(UV) run --locked python deploy/local/stack.py up

down: ## stop what `make up` started
	@if [ -x .venv/bin/python ]; then .venv/bin/python deploy/local/stack.py down; fi
	@deploy/kafka/kafka.sh stop

status: ## which services are running
	@.venv/bin/python deploy/local/stack.py status || true
	@deploy/kafka/kafka.sh status || true

DEMO_ARGS ?=
demo: setup ## on the running `make up` stack: import the synthetic OKI register and play a drive (DEMO_ARGS="--seed 2 --scale 0.1")
	@$(UV) run --locked jemput demo drive $(DEMO_ARGS)

lint: setup ## ruff and mypy
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked mypy

format: setup ## format the code
	$(UV) run --locked ruff format .
	$(UV) run --locked ruff check --fix .

test: setup ## lint, start a test Kafka and PostgreSQL, run every test, stop them
	@$(MAKE) --no-print-directory lint
	@deploy/browser/chromium.sh ensure
	@KAFKA_PORT=$(TEST_KAFKA_PORT) deploy/kafka/kafka.sh start
	@JEMPUT_PG_PORT=$(TEST_PG_PORT) deploy/postgres/pg.sh start
	@status=0; \
	JEMPUT_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$(TEST_KAFKA_PORT) \
	JEMPUT_TEST_PG_DSN=$$(JEMPUT_PG_PORT=$(TEST_PG_PORT) deploy/postgres/pg.sh dsn) \
	$(UV) run --locked pytest $(PYTEST_ARGS) || status=$$?; \
	KAFKA_PORT=$(TEST_KAFKA_PORT) KAFKA_WIPE=1 deploy/kafka/kafka.sh stop; \
	JEMPUT_PG_PORT=$(TEST_PG_PORT) deploy/postgres/pg.sh stop; \
	exit $$status

bench: setup ## run the benchmarks (see bench/README.md)
	@$(MAKE) --no-print-directory -C bench run UV="$(UV)"

clean: down ## stop everything and delete var/ (all local data)
	rm -rf var
