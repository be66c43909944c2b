#!/usr/bin/env bash
# The kept-read cache's real capacity (issue 21, item 3): `GET /snacks/` throughput for
# catalogues below and above where the cache used to stop keeping the list (about 6,061 snacks
# on 2 CPUs, its capacity split across shards) and at the catalogue limit (10,000), with reads
# kept (SNACKDRAWER_CACHE_TTL unset: 1 s on SQLite) against the baseline of nothing kept (TTL 0),
# on the same file, one after the other. A list the cache keeps is served many times faster than
# the baseline; one it never keeps comes out near 1.0x. Release binary, SQLite in a temporary
# file, loopback, wrk -t2 -c$CONNECTIONS for $DURATION; each rate carries the load average.
#
#   apt-get install -y wrk jq; benches/kept.sh               # about two minutes
#   SIZES="6092 10000" DURATION=5s benches/kept.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-8}
source benches/lib.sh
command -v jq >/dev/null || { echo "jq is needed: apt-get install -y jq" >&2; exit 1; }
SIZES=${SIZES:-6000 6092 10000}
workdir=$(mktemp -d)
cleanup() { stop_server; rm -rf "$workdir"; }
trap cleanup EXIT

# rate TTL: sets $per_second to the rate of `GET /snacks/` with that keep time ("" for the
# default) and $load to the load average after it; a non-2xx answer stops the script, since wrk
# would count it as served.
rate() {
  serve_sqlite "$workdir/catalogue.db" ${1:+SNACKDRAWER_CACHE_TTL=$1}
  per_second=$(wrk -t2 -c "$CONNECTIONS" -d "$DURATION" "$base/snacks/" |
    awk '/Non-2xx/ { print "GET /snacks/: " $0 > "/dev/stderr"; exit 1 } /Requests\/sec/ { print $2 }')
  load=$(loadavg)
  stop_server
}

cargo build --release --quiet --workspace --bins
for size in $SIZES; do
  fill_catalogue "$workdir/catalogue.db" "$size"
  rate ""
  kept=$per_second kept_load=$load
  rate 0
  printf '%6d snacks: kept %8.1f req/s (%s), nothing kept %8.1f req/s (%s): %5.1fx\n' "$size" \
    "$kept" "$kept_load" "$per_second" "$load" "$(awk -v a="$kept" -v b="$per_second" 'BEGIN { print a / b }')"
done
