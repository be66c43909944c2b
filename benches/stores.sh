#!/usr/bin/env bash
# The same short load on each store: GET /snacks/ (the seeded catalogue of 12) and
# GET /drawers/{id} (a drawer holding 5 snacks, read by its owner), on the release binary.
#
#   benches/stores.sh                      # memory, SQLite, and PostgreSQL if reachable
#   POSTGRES_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres benches/stores.sh
#
# PostgreSQL runs in a database created for the run (snackdrawer_bench) and dropped after it.
# Prints one line per store and endpoint: requests/s, p50 and p99 as wrk measured them.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh

POSTGRES_ADMIN_URL=${POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
workdir=$(mktemp -d)

measure() { # measure STORE-LABEL PATH [TOKEN]
  local out
  out=$(wrk --latency -d "$DURATION" -t "$THREADS" -c "$CONNECTIONS" \
    ${3:+-H "Authorization: Bearer $3"} "$base$2")
  printf '%-10s %-16s %12s req/s   p50 %9s   p99 %9s\n' "$1" "GET $2" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")"
}

run_store() { # run_store LABEL DATABASE_URL
  start_server DATABASE_URL="$2" SNACKDRAWER_JWT_SECRET=bench-secret-bench-secret-bench-secret
  local token path
  read -r token path < <(drawer_of_five)
  measure "$1" /snacks/
  measure "$1" "$path" "$token"
  stop_server
}

build_release
echo "$DURATION each, $THREADS wrk threads, $CONNECTIONS connections"
run_store memory memory
run_store sqlite "sqlite://$workdir/bench.db?mode=rwc"
if psql "$POSTGRES_ADMIN_URL" -qc 'DROP DATABASE IF EXISTS snackdrawer_bench' 2>/dev/null &&
   psql "$POSTGRES_ADMIN_URL" -qc 'CREATE DATABASE snackdrawer_bench'; then
  run_store postgres "${POSTGRES_ADMIN_URL%/*}/snackdrawer_bench"
  psql "$POSTGRES_ADMIN_URL" -qc 'DROP DATABASE snackdrawer_bench WITH (FORCE)'
else
  echo "postgres   skipped: no server at $POSTGRES_ADMIN_URL"
fi
rm -rf "$workdir"
