# One Makefile for people and CI. `make run` and `make test` need nothing
# configured: they start PostgreSQL and a pinned NATS 2.15 when missing.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/opeka-target
# Tests have their own NATS port, so `make run`'s server (4233, with the
# deployment's exact permissions) and the test server never meet.
TEST_NATS_PORT ?= 4234
export OPEKA_TEST_NATS_URL ?= nats://127.0.0.1:$(TEST_NATS_PORT)
# 1: the test NATS refuses anonymous clients; every test process connects as
# its service's user (opeka nats-config --test-server). A server already
# started by scripts/nats.sh with another configuration is restarted.
NATS_TEST_AUTH ?= 1
CARGO ?= cargo

.PHONY: run test bench lint fmt helm-lint services web build clean-test-dbs

services: ## PostgreSQL + NATS 2.15 (started if not running)
	@bash scripts/postgres.sh
	@if [ "$(NATS_TEST_AUTH)" = 1 ]; then \
		$(CARGO) run -q -p opeka -- nats-config --test-server > $${OPEKA_STATE_DIR:-$$HOME/.cache/opeka-state}/nats-test.auth.conf && \
		OPEKA_NATS_PORT=$(TEST_NATS_PORT) NATS_SCRATCH=1 NATS_CONFIG=$${OPEKA_STATE_DIR:-$$HOME/.cache/opeka-state}/nats-test.auth.conf bash scripts/nats.sh; \
	else \
		OPEKA_NATS_PORT=$(TEST_NATS_PORT) NATS_SCRATCH=1 bash scripts/nats.sh; \
	fi

web: ## front-end packages for the gateway (htmx) from npm
	@bash scripts/web.sh

build: web
	$(CARGO) build -p opeka

run: web ## ensure PostgreSQL and NATS, migrate, seed the demo tenant, serve everything
	@bash scripts/run.sh

clean-test-dbs:
	@bash scripts/clean-test-dbs.sh

test: services web clean-test-dbs ## every test against real PostgreSQL and NATS
	@bash scripts/chromium.sh
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

bench: services ## throughput benchmarks, printed as ratios to a same-run baseline
	$(CARGO) bench -p opeka-integration-tests --bench auth
	$(CARGO) bench -p opeka-integration-tests --bench reminders
	$(CARGO) bench -p opeka-cases --bench registry
	$(CARGO) bench -p opeka-cases --bench appeals

fmt:
	$(CARGO) fmt --all

lint: ## formatting, clippy with warnings as errors, buf lint and buf breaking on proto/
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@bash scripts/buf.sh lint
	@bash scripts/buf.sh breaking

helm-lint: ## helm lint --strict, helm template, kubernetes-validate
	@bash scripts/helm-lint.sh
