#!/usr/bin/env bash
# Lists without bounds (issue 21, item 2), measured on the release binary, SQLite in a temporary
# file, loopback only. Three parts, each on a fresh server:
#
#  1. the issue's figures, the way they were taken: one user adds snacks for $FLOOD (20 s) as
#     fast as wrk can send them, then drawers for as long; then how many got in, the size of
#     `GET /snacks/` and `GET /drawers/` and the list's latency (curl, one at a time), and 32
#     readers of `GET /snacks/` for $READ (wrk -c32): their p99 and the server's peak RSS
#     (VmHWM). Once with the limits off (`LIMITS=off`, the service as it was) and once on;
#  2. the largest list allowed: the catalogue filled to its limit (write rate off to fill it
#     fast), ordinary names and then the longest (64 four-byte characters), read by 32 clients;
#  3. the goal: on a catalogue filled to its limit, snackdrawer-load's default personas
#     ($USERS users, default think time) for $GOAL while one user floods snacks and drawers;
#     the server's peak RSS and the personas' `GET /snacks/` p99. Goal: <= 64 MiB and <= 20 ms.
#
#   sudo apt-get install -y wrk jq; benches/bounds.sh
#   FLOOD=5s READ=5s GOAL=20s PARTS="1 3" benches/bounds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
command -v jq >/dev/null || { echo "jq is needed: apt-get install -y jq" >&2; exit 1; }
FLOOD=${FLOOD:-20s}
READ=${READ:-10s}
GOAL=${GOAL:-60s}
USERS=${USERS:-20}
PARTS=${PARTS:-1 2 3}
target=${CARGO_TARGET_DIR:-target}
workdir=$(mktemp -d)
cleanup() { stop_server; rm -rf "$workdir"; }
trap cleanup EXIT
SECRET=bench-secret-bench-secret-bench-secret
# What the service was before the limits: no write rate, lists far larger than any run fills.
OFF=(SNACKDRAWER_WRITE_RATE_PER_USER=0 SNACKDRAWER_MAX_CATALOGUE_SNACKS=1000000
     SNACKDRAWER_MAX_DRAWERS_PER_USER=1000000 SNACKDRAWER_MAX_SNACKS_PER_DRAWER=1000000)

kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$server/status"; }
mib() { echo $(( $(kib "$1") / 1024 )); }

# serve DATABASE-FILE VAR=value...: a fresh server on that file.
serve() {
  local file=$1; shift
  start_server DATABASE_URL="sqlite://$file?mode=rwc" SNACKDRAWER_JWT_SECRET=$SECRET "$@"
}

# token NAME: registers NAME (if need be) and prints a token.
token() {
  json_post /auth/users "{\"username\": \"$1\", \"password\": \"pw\"}" >/dev/null || true
  json_post /auth/login "{\"username\": \"$1\", \"password\": \"pw\"}" | jq -r .token
}

# flood DURATION ROUTES [LONG]: one user (`flooder`) POSTing to ROUTES as fast as wrk can.
flood() {
  FLOOD_TOKEN=$(token flooder) FLOOD_ROUTES=$2 FLOOD_LONG=${3:-0} \
    wrk -t2 -c8 -d "$1" -s benches/flood.lua "$base" >/dev/null
}

# list PATH [TOKEN]: "N items, B bytes, latency min/median/max ms" of 20 reads one at a time.
list() {
  local auth=() count bytes times
  [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
  count=$(curl -fs "${auth[@]}" "$base$1" | jq '[.[]][0] | length')
  bytes=$(curl -fs "${auth[@]}" -o /dev/null -w '%{size_download}' "$base$1")
  times=$(for _ in $(seq 20); do
    curl -fs "${auth[@]}" -o /dev/null -w '%{time_total}\n' "$base$1"; done | sort -n)
  printf '%7d items, %9d bytes, latency min %s median %s max %s ms' "$count" "$bytes" \
    "$(awk 'NR == 1 { printf "%.1f", $1 * 1000 }' <<<"$times")" \
    "$(awk 'NR == 10 { printf "%.1f", $1 * 1000 }' <<<"$times")" \
    "$(awk 'END { printf "%.1f", $1 * 1000 }' <<<"$times")"
}

# readers: 32 clients reading GET /snacks/ for $READ; prints their rate, p99 and the peak RSS.
readers() {
  local before out
  before=$(mib VmRSS)
  out=$(wrk --latency -t2 -c32 -d "$READ" "$base/snacks/")
  printf '32 readers: %s req/s, p99 %s; rss before %d MiB, peak (VmHWM) %d MiB\n' \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
    "$before" "$(mib VmHWM)"
}

# fill FILE [LONG]: the catalogue of FILE filled to its default limit, the write rate off.
fill() {
  serve "$1" SNACKDRAWER_WRITE_RATE_PER_USER=0
  while [ "$(curl -fs "$base/snacks/" | jq '.snacks | length')" -lt 10000 ]; do
    flood 5s snacks "${2:-0}"
  done
  stop_server
}

part1() { # part1 LABEL VAR=value...
  local label=$1; shift
  serve "$workdir/$label.db" "$@"
  echo "== $label: one user floods for $FLOOD, then 32 readers"
  flood "$FLOOD" snacks
  echo "GET /snacks/   $(list /snacks/)"
  flood "$FLOOD" drawers
  echo "GET /drawers/  $(list /drawers/ "$(token flooder)")"
  readers
  stop_server
}

part2() { # part2 LABEL LONG
  fill "$workdir/full-$1.db" "$2"
  serve "$workdir/full-$1.db"
  echo "== the catalogue at its limit, $1 names"
  echo "GET /snacks/   $(list /snacks/)"
  readers
  stop_server
}

part3() {
  fill "$workdir/goal.db"
  serve "$workdir/goal.db"
  echo "== goal: $USERS users of the default mix and one flooder for $GOAL, catalogue full"
  "$target/release/snackdrawer-load" --host "$base" -u "$USERS" -r "$USERS" -t "$GOAL" \
    --no-telnet --no-print-metrics --summary-json "$workdir/goal.json" >/dev/null 2>&1 &
  local load=$!
  sleep 2  # the users sign up
  flood "$GOAL" "snacks drawers"
  wait "$load" || echo "(snackdrawer-load exited $?)"
  local p99
  p99=$(jq '.requests["GET /snacks/"].p99_ms' "$workdir/goal.json")
  printf 'peak RSS (VmHWM) %d MiB (goal <= 64); GET /snacks/ p99 %s ms over %s requests (goal <= 20)\n' \
    "$(mib VmHWM)" "$p99" "$(jq '.requests["GET /snacks/"].count' "$workdir/goal.json")"
  jq -r '.violations | if length == 0 then "no violations" else keys | join(", ") end' \
    "$workdir/goal.json"
  stop_server
}

cargo build --release --quiet -p snackdrawer -p snackdrawer-load
for part in $PARTS; do
  case $part in
    1) part1 "limits-off" "${OFF[@]}"; part1 "limits-on" ;;
    2) part2 ordinary 0; part2 longest 1 ;;
    3) part3 ;;
  esac
done
