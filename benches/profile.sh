#!/usr/bin/env bash
# Where a request's processor time goes: samples the release binary with `perf` while wrk sends
# one route, then prints the share of samples per kind of work (benches/profile.awk sorts each
# sample's innermost frames into kinds: wake-ups and switches, SQLite itself, sea-orm and sqlx,
# hyper and the socket, tokio, logging, metrics, allocation…), the share of samples on the SQLite
# driver's threads, and the hottest functions.
#
#   benches/profile.sh                                 # SQLite, GET /snacks/, 10 s
#   STORE=memory benches/profile.sh
#   ROUTE=/drawers/ benches/profile.sh                 # a drawer of five snacks, read by its owner
#   CACHE_TTL=0 benches/profile.sh                     # SQLite with no kept reads
#   RUST_LOG=warn benches/profile.sh                   # without the access lines (on by default)
#
# Needs perf (`apt-get install -y linux-perf`) and permission to sample a process you started
# (kernel.perf_event_paranoid at most 2 does). Call stacks are unwound from the release binary's
# unwind tables; functions inlined into their callers count as their callers.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-32}
source benches/lib.sh
command -v perf >/dev/null || { echo "perf is needed: apt-get install -y linux-perf" >&2; exit 1; }
STORE=${STORE:-sqlite}
ROUTE=${ROUTE:-/snacks/}
DURATION=${DURATION:-10s}
workdir=$(mktemp -d)
trap 'stop_server; rm -rf "$workdir"' EXIT

build_release
case $STORE in
  memory) url=memory ;;
  sqlite) url="sqlite://$workdir/profile.db?mode=rwc" ;;
  *) echo "STORE must be memory or sqlite" >&2; exit 2 ;;
esac
start_server DATABASE_URL="$url" SNACKDRAWER_JWT_SECRET=bench-secret-bench-secret-bench-secret RUST_LOG="${RUST_LOG:-info}" \
  ${CACHE_TTL:+SNACKDRAWER_CACHE_TTL=$CACHE_TTL}
token=""
path=$ROUTE
if [[ $ROUTE == /drawers/ ]]; then
  read -r token path < <(drawer_of_five)
fi

wrk -d 2s -t 2 -c "$CONNECTIONS" ${token:+-H "Authorization: Bearer $token"} "$base$path" >/dev/null
wrk -d "$DURATION" -t 2 -c "$CONNECTIONS" ${token:+-H "Authorization: Bearer $token"} "$base$path" \
  >"$workdir/wrk.txt" &
wrk_pid=$!
perf record -q -F 1999 --call-graph dwarf,16384 -p "$server" -o "$workdir/perf.data" \
  -- sleep "${DURATION%s}" || { echo "perf could not sample the server (kernel.perf_event_paranoid?)" >&2; kill "$wrk_pid"; exit 1; }
wait "$wrk_pid"
echo "$STORE store, GET $ROUTE, $CONNECTIONS connections: $(awk '/Requests\/sec/ {print $2}' "$workdir/wrk.txt") requests/s while sampled"
perf script -i "$workdir/perf.data" -F comm,ip,sym 2>/dev/null | awk -f benches/profile.awk
