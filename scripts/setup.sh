#!/usr/bin/env bash
# Installs what a fresh machine lacks to build (and, with --test, to test) pairdesk.
# Idempotent: tools already at the right version are not rebuilt. Never downloads a
# prebuilt binary from anywhere but the package registries (crates.io, npm, Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_nats=0
[ "${1:-}" = "--test" ] && want_test=1 && want_nats=1
# --cluster: what `make cluster-demo` needs beyond the build (nats-server).
[ "${1:-}" = "--cluster" ] && want_nats=1

TRUNK_VERSION=0.21.14          # 0.22 needs a newer rustc than this machine's 1.95
BINARYEN_VERSION=132.0.0       # Debian's wasm-opt 108 produces bundles that never hydrate
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(trunk --version 2>/dev/null || true)" != "trunk $TRUNK_VERSION" ]; then
  say "installing trunk $TRUNK_VERSION"
  cargo install --locked "trunk@$TRUNK_VERSION"
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (the version in Cargo.lock)"
  # --locked first; its lockfile can name crate versions the registry mirror lacks, then
  # fall back to resolving afresh (same wasm-bindgen-cli version either way).
  cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" \
    || cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# wasm-opt from npm's binaryen, kept inside the project (target/ is disposable).
TOOLS=target/tools
if [ "$("$TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_VERSION%%.*}" ]; then
  say "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
fi

# Cluster-mode tests (server/tests/cluster.rs) and `make cluster-demo` start their own JetStream server: Debian's
# nats-server 2.9 (installing it starts no service here; Debian puts it in /usr/sbin).
if [ "$want_nats" = 1 ] && ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  say "installing nats-server (cluster-mode tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
fi
if [ "$want_test" = 1 ] && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  say "installing chromium and chromium-driver (browser tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# The backtest cross-check (server/tests/backtest_cli.rs) runs tools/backtest_ref.py with
# pinned pandas / numpy from PyPI in a venv inside target/ (never the system Python's packages).
PANDAS_VERSION=3.1.1
NUMPY_VERSION=2.4.6
PY=target/tools/py/bin/python
if [ "$want_test" = 1 ] && [ "$("$PY" -c 'import pandas, numpy; print(pandas.__version__, numpy.__version__)' 2>/dev/null || true)" != "$PANDAS_VERSION $NUMPY_VERSION" ]; then
  say "creating the Python venv target/tools/py (pandas $PANDAS_VERSION, numpy $NUMPY_VERSION)"
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "pandas $PANDAS_VERSION needs Python >= 3.11, found $(python3 --version)" >&2; exit 1; }
  rm -rf target/tools/py
  python3 -m venv target/tools/py
  "$PY" -m pip install --quiet --disable-pip-version-check "pandas==$PANDAS_VERSION" "numpy==$NUMPY_VERSION"
fi
# Fuzzing (`make fuzz`, part of `make test`): cargo-fuzz needs a nightly toolchain.
CARGO_FUZZ_VERSION=0.13.2
if [ "$want_test" = 1 ] && ! rustup toolchain list | grep -q '^nightly-'; then
  say "installing the nightly toolchain (cargo fuzz)"
  rustup toolchain install nightly --profile minimal
fi
if [ "$want_test" = 1 ] && [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  # --locked first; as with wasm-bindgen-cli, its lockfile may name a crate version the
  # registry mirror lacks: then resolve afresh (same cargo-fuzz version either way).
  cargo install --locked "cargo-fuzz@$CARGO_FUZZ_VERSION" \
    || cargo install "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi
say "tools ready"
