# pairdesk: `make run` sets up, builds and starts the demo; `make test` sets up and runs
# every check CI runs. Tools land in ~/.cargo/bin and target/tools (see scripts/setup.sh).

SHELL := /bin/bash
export PATH := $(CURDIR)/target/tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true
ARGS ?= --demo

.PHONY: setup setup-test bundle build run test lint tests fuzz cluster-demo

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

# Cluster mode on this machine: nats-server, the fake exchange, two ingests, two servers
# (ports 4222, 9100, 3000 and 3001; see scripts/cluster-demo.sh).
cluster-demo: build
	scripts/setup.sh --cluster
	scripts/cluster-demo.sh

lint:
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

# Unit, golden, property, integration and browser end-to-end tests (the browser tests
# drive the real `pairdesk` binary against the bundle `make bundle` built).
tests:
	cargo test --locked --workspace

# Coverage-guided fuzzing (nightly, cargo-fuzz, libFuzzer; see README "Fuzzing"): every target in
# fuzz/fuzz_targets for FUZZ_SECONDS, starting from its committed corpus fuzz/corpus/<target>.
# New inputs go to fuzz/target/corpus (never into the committed corpus); a crash fails the
# run and leaves its input in fuzz/artifacts/<target>/.
FUZZ_SECONDS ?= 15
FUZZ_TARGETS := $(basename $(notdir $(wildcard fuzz/fuzz_targets/*.rs)))
# Overflow checks on; no AddressSanitizer (the parsers are safe Rust; ASan costs build time and exec/s);
# 16 codegen units: a cold build in 6 min instead of 8 for ~10 % fewer exec/s.
FUZZ_FLAGS := --debug-assertions --sanitizer none --codegen-units 16
fuzz:
	cd fuzz && cargo +nightly fuzz build $(FUZZ_FLAGS)
	set -eo pipefail; cd fuzz; for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/corpus/$$t; \
	  cargo +nightly fuzz run $(FUZZ_FLAGS) $$t target/corpus/$$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=5 -print_final_stats=1 2>&1 | grep -Ev '^(#[0-9]+\s+(NEW|REDUCE|pulse)|"|###### )'; \
	done

test: setup-test bundle lint tests fuzz
