#!/usr/bin/env bash
# `make cluster-demo`: cluster mode on one machine — a nats-server (JetStream, store in
# target/cluster-demo), the fake exchange, two redundant `pairdesk ingest` processes and two
# `pairdesk serve --nats` servers; prints the URLs and stops everything on Ctrl-C.
# Ports: NATS_PORT (4222), FAKE_PORT (9100), SERVER_PORTS ("3000 3001").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${PAIRDESK_BIN:-target/release/pairdesk}
NATS_PORT=${NATS_PORT:-4222}
FAKE_PORT=${FAKE_PORT:-9100}
read -r -a SERVER_PORTS <<< "${SERVER_PORTS:-3000 3001}"
SYMBOLS=btcusdt,ethusdt,solusdt
DIR=target/cluster-demo
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$NATS_SERVER" ] || { echo "nats-server not found: run scripts/setup.sh --test (installs Debian's nats-server)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "$BIN not found: run make build" >&2; exit 1; }
mkdir -p "$DIR"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on $1" >&2; exit 1; }

"$NATS_SERVER" -js -sd "$DIR/nats" -a 127.0.0.1 -p "$NATS_PORT" >"$DIR/nats.log" 2>&1 & pids+=($!)
wait_port "$NATS_PORT"
"$BIN" fake-exchange --bind "127.0.0.1:$FAKE_PORT" >"$DIR/fake.log" 2>&1 & pids+=($!)
wait_port "$FAKE_PORT"
NATS="nats://127.0.0.1:$NATS_PORT"
for i in 1 2; do
  "$BIN" ingest --nats "$NATS" --symbols "$SYMBOLS" \
    --binance-ws-url "ws://127.0.0.1:$FAKE_PORT/market" --binance-rest-url "http://127.0.0.1:$FAKE_PORT" \
    >"$DIR/ingest-$i.log" 2>&1 & pids+=($!)
done
for port in "${SERVER_PORTS[@]}"; do
  "$BIN" serve --nats "$NATS" --symbols "$SYMBOLS" --bind "127.0.0.1:$port" --data-dir "$DIR/data-$port" \
    --history 0 >"$DIR/serve-$port.log" 2>&1 & pids+=($!)
done
for port in "${SERVER_PORTS[@]}"; do wait_port "$port"; done
echo "NATS JetStream: $NATS (stream PAIRDESK_MARKET, subjects pairdesk.trades.<SYMBOL>)"
echo "fake exchange:  http://127.0.0.1:$FAKE_PORT"
echo "two ingests publishing $SYMBOLS; logs in $DIR/"
for port in "${SERVER_PORTS[@]}"; do echo "dashboard:      http://127.0.0.1:$port"; done
echo "Ctrl-C stops everything."
wait -n "${pids[@]}" || true
echo "a process exited; stopping (see $DIR/*.log)" >&2
