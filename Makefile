# payment-callback: one entry point for people, the README and CI.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_MODULES_STAMP := node_modules/.package-lock.json
PROTO_FILES := $(shell find proto -name '*.proto' | sort)
GEN_DIR := src/gen
PRETTIER_FILES := 'src/**/*.ts' 'gateway/**/*.ts' 'tools/**/*.ts' 'harness/**/*.ts' 'test/**/*.ts' 'bench/**/*.ts' '*.mjs'

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NODE_MODULES_STAMP) ## install the locked npm dependencies

# Incremental: make compares the sources' times with the stamp (nothing to do: no tsc at all), and
# tsc --incremental (dist/.tsbuildinfo) re-checks only what a change can affect. The stamp is
# touched only when tsc succeeds, so a failed build is tried again next time.
TS_SOURCES := $(shell find src gateway tools harness test bench \( -name '*.ts' -o -name '*.json' \) -not -path 'bench/results/*')
BUILD_STAMP := dist/.build-stamp

$(BUILD_STAMP): $(NODE_MODULES_STAMP) tsconfig.json $(TS_SOURCES)
	node_modules/.bin/tsc -p tsconfig.json
	@touch $@

build: $(BUILD_STAMP) ## compile TypeScript into dist/ (only when a source changed)

proto: deps ## regenerate src/gen/ from proto/ (needs protoc: Debian packages protobuf-compiler, libprotobuf-dev)
	scripts/gen-proto.sh $(GEN_DIR)

proto-check: deps ## fail when src/gen/ is not what proto/ generates
	scripts/gen-proto.sh --check $(GEN_DIR)

contract-check: deps ## buf lint format the contract, and fail on a breaking change against the released one (proto/released.binpb)
	npx buf lint
	npx buf breaking --against proto/released.binpb

contract-release: deps ## record proto/ as the released contract that later changes must stay compatible with
	npx buf build -o proto/released.binpb

config-schemas: build ## regenerate config/*.schema.json (the merchants and callers files' JSON Schemas) from src/config/
	node dist/tools/config-schemas.js

run: build ## run the core and the gateway on the embedded defaults (SQLite, in-process lock, demo merchant)
	node dist/tools/cli/run-local.js

migrate: build ## apply database migrations to DATABASE_URL and exit
	node dist/src/cli/migrate.js

notify: build ## create an order and send a signed notification to a running gateway (see README)
	node dist/tools/cli/notify.js $(ARGS)

lint: deps ## Prettier's format check, ESLint over every TypeScript folder, and knip: no unused file, export or exported type
	npx prettier --check --log-level warn $(PRETTIER_FILES)
	npx eslint src gateway tools harness test bench
	npx knip --include exports,types,files

format: deps ## reformat every TypeScript file with Prettier (.prettierrc.json)
	npx prettier --write --log-level warn $(PRETTIER_FILES)

test: deps ## run every test against throwaway real servers (installs missing Debian packages when root)
	harness/ensure-binaries.sh
	$(MAKE) --no-print-directory proto-check contract-check lint
	$(MAKE) --no-print-directory build
	node --test --test-timeout=180000 $$(find dist/test -name '*.test.js' | sort)

reliability: build ## the full fault-and-load suite, ~10 minutes (see RELIABILITY.md)
	harness/ensure-binaries.sh
	node --test --test-timeout=900000 dist/test/reliability/full.suite.js

# `make model MODEL_RUNS=500`; a failure prints the MODEL_SEED, MODEL_PATH and MODEL_REPLAY_PATH that replay it.
MODEL_ALL_BACKENDS := sqlite,postgres,mariadb
model: build ## the model-based test, longer (MODEL_RUNS, MODEL_SEED to replay)
	harness/ensure-binaries.sh
	MODEL_RUNS='$(or $(MODEL_RUNS),150)' MODEL_COMMANDS='$(or $(MODEL_COMMANDS),25)' \
	MODEL_BACKENDS='$(or $(MODEL_BACKENDS),$(MODEL_ALL_BACKENDS))' MODEL_SHRINK_MS='$(or $(MODEL_SHRINK_MS),60000)' \
	  node --test --test-timeout=7200000 dist/test/model/money-model.test.js

# The full run takes ~7 minutes with one run; RUNS=3 repeats the scenarios and same-run references
# (about 15 minutes) and judges every target on all three.
bench: build ## run the benchmark (see bench/README.md); RUNS=3 judges the targets on three runs
	harness/ensure-binaries.sh
	node dist/bench/run.js --runs=$(or $(RUNS),1)

clean: ## remove build output
	rm -rf dist

.PHONY: help deps build proto proto-check contract-check contract-release config-schemas run migrate notify lint format test reliability model bench clean
