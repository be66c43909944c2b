#!/usr/bin/env bash
# Latency of a login and of GET /snacks/ under a short local load, on the release binary.
#
#   benches/http-latency.sh               # 10 s per endpoint, 2 threads, 16 connections
#   DURATION=30s CONNECTIONS=64 benches/http-latency.sh
#
# Extra variables (DATABASE_URL, SNACKDRAWER_SCRYPT_LOG_N, …) are passed to the server; the
# default store here is memory. Prints wrk's latency distribution (p50/p75/p90/p99) and
# requests/s for each endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh

build_release
start_server DATABASE_URL="${DATABASE_URL:-memory}"
json_post /auth/users '{"username": "bench", "password": "bench password"}' >/dev/null

echo "== POST /auth/login ($DURATION, $THREADS threads, $CONNECTIONS connections)"
wrk --latency -d "$DURATION" -t "$THREADS" -c "$CONNECTIONS" -s benches/login.lua "$base/auth/login"
echo
echo "== GET /snacks/ ($DURATION, $THREADS threads, $CONNECTIONS connections)"
wrk --latency -d "$DURATION" -t "$THREADS" -c "$CONNECTIONS" "$base/snacks/"
