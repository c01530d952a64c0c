# pairdesk: `make run` sets up, builds and starts the demo; `make test` sets up and runs
# every check CI runs. Tools land in ~/.cargo/bin and target/tools (see scripts/setup.sh).

SHELL := /bin/bash
export PATH := $(CURDIR)/target/tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true
ARGS ?= --demo

.PHONY: setup setup-test bundle build run test lint tests

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

# The browser bundle (Trunk → target/site/pkg).
bundle:
	trunk build --release

build: setup bundle
	cargo build --release --locked -p server

run: build
	target/release/pairdesk serve $(ARGS)

lint:
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

# Unit, golden, property, integration and browser end-to-end tests (the browser tests
# drive the real `pairdesk` binary against the bundle `make bundle` built).
tests:
	cargo test --locked --workspace

test: setup-test bundle lint tests
