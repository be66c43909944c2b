#!/usr/bin/env bash
# Latency of a login and of GET /snacks/ under a short local load, on the release binary.
#
#   bench/http-latency.sh                 # 10 s per endpoint, 2 threads, 16 connections
#   DURATION=30s CONNECTIONS=64 bench/http-latency.sh
#
# Extra variables (DATABASE_URL, SNACKDRAWER_SCRYPT_LOG_N, …) are passed to the server.
# Prints wrk's latency distribution (p50/p75/p90/p99) and requests/s for each endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
base="http://127.0.0.1:$PORT"

cargo build --release --quiet
SNACKDRAWER_LISTEN="127.0.0.1:$PORT" SNACKDRAWER_LOG_FORMAT=json RUST_LOG=warn \
  ./target/release/snackdrawer >/tmp/snackdrawer-bench.log 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "$base/snacks/" >/dev/null && break; sleep 0.1; done

curl -fs -X POST "$base/auth/users" -H 'content-type: application/json' \
  -d '{"username": "bench", "password": "bench password"}' >/dev/null

echo "== POST /auth/login ($DURATION, $THREADS threads, $CONNECTIONS connections)"
wrk --latency -d "$DURATION" -t "$THREADS" -c "$CONNECTIONS" -s bench/login.lua "$base/auth/login"
echo
echo "== GET /snacks/ ($DURATION, $THREADS threads, $CONNECTIONS connections)"
wrk --latency -d "$DURATION" -t "$THREADS" -c "$CONNECTIONS" "$base/snacks/"
