#!/usr/bin/env bash
# Lists without bounds (issue 21, item 2), measured on the release binary, SQLite in a temporary
# file, loopback only. Three parts, each on a fresh server, each once with the limits off (the
# service as it was: no write rate, lists far larger than any run fills) and once with the
# defaults, the off run being the baseline the on run is read against:
#
#  1. the issue's figures, the way they were taken: one user adds snacks for $FLOOD (20 s) as
#     fast as wrk can send them, then drawers for as long; then how many got in, the size of
#     `GET /snacks/` and `GET /drawers/` and their latency (curl, 20 reads one at a time), and
#     32 readers of `GET /snacks/` for $READ (wrk -c32): their p99 and the server's RSS before
#     and at its peak (VmHWM);
#  2. the largest list allowed: the catalogue filled to its limit (10,000), ordinary names and
#     then the heaviest (64 four-byte characters each), read by 32 clients (limits on only);
#  3. the goal: on a catalogue filled to 10,000, snackdrawer-load's default personas ($USERS
#     users, default think time) for $GOAL while one user floods snacks and drawers; the
#     server's peak RSS and the personas' `GET /snacks/` p99. Goal: <= 64 MiB and <= 20 ms.
#     A third run, the personas alone (limits on), says what the flooder adds.
#
# Latency and throughput figures carry the one-minute load average: other work moves them.
#
#   apt-get install -y wrk jq; benches/bounds.sh          # about six minutes
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
# What the service was before the limits: no write rate, lists far larger than any run fills.
OFF=(SNACKDRAWER_WRITE_RATE_PER_USER=0 SNACKDRAWER_MAX_CATALOGUE_SNACKS=1000000
     SNACKDRAWER_MAX_DRAWERS_PER_USER=1000000 SNACKDRAWER_MAX_SNACKS_PER_DRAWER=1000000)
limits() { [ "$1" = off ] && echo "${OFF[@]}" || true; }

# list PATH [TOKEN]: "N items, B bytes, latency min/median/max ms" of 20 reads one at a time.
list() {
  local auth=() count bytes times
  [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
  count=$(curl -fs "${auth[@]}" "$base$1" | jq '[.[]][0] | length')
  bytes=$(curl -fs "${auth[@]}" -o /dev/null -w '%{size_download}' "$base$1")
  times=$(for _ in $(seq 20); do
    curl -fs "${auth[@]}" -o /dev/null -w '%{time_total}\n' "$base$1"; done | sort -n)
  printf '%7d items, %9d bytes, latency min %s median %s max %s ms (%s)' "$count" "$bytes" \
    "$(awk 'NR == 1 { printf "%.1f", $1 * 1000 }' <<<"$times")" \
    "$(awk 'NR == 10 { printf "%.1f", $1 * 1000 }' <<<"$times")" \
    "$(awk 'END { printf "%.1f", $1 * 1000 }' <<<"$times")" "$(loadavg)"
}

# readers: 32 clients reading GET /snacks/ for $READ; prints their rate, p99 and the RSS.
readers() {
  local before out
  before=$(vm VmRSS)
  out=$(wrk --latency -t2 -c32 -d "$READ" "$base/snacks/")
  printf '32 readers: %s req/s, p99 %s (%s); RSS before %d MiB, peak (VmHWM) %d MiB\n' \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
    "$(loadavg)" "$before" "$(vm VmHWM)"
}

part1() { # part1 off|on
  # shellcheck disable=SC2046 # the variables are words
  serve_sqlite "$workdir/flood-$1.db" $(limits "$1")
  echo "== limits $1: one user floods for $FLOOD, then 32 readers"
  flood "$FLOOD" snacks
  echo "GET /snacks/   $(list /snacks/)"
  flood "$FLOOD" drawers
  echo "GET /drawers/  $(list /drawers/ "$(user_token flooder)")"
  readers
  stop_server
}

part2() { # part2 ordinary|heaviest
  fill_catalogue "$workdir/full-$1.db" 10000 "$([ "$1" = heaviest ] && echo 1 || echo 0)"
  serve_sqlite "$workdir/full-$1.db"
  echo "== limits on: the catalogue at its limit, $1 names"
  echo "GET /snacks/   $(list /snacks/)"
  readers
  stop_server
}

part3() { # part3 off|on|alone: limits off or on with the flooder, or on without it
  fill_catalogue "$workdir/goal-$1.db" 10000
  # shellcheck disable=SC2046
  serve_sqlite "$workdir/goal-$1.db" $(limits "$1")
  if [ "$1" = alone ]; then
    echo "== limits on: $USERS users of the default mix alone for $GOAL, from 10,000 snacks"
  else
    echo "== limits $1: $USERS users of the default mix and one flooder for $GOAL, from 10,000 snacks"
  fi
  "$target/release/snackdrawer-load" --host "$base" -u "$USERS" -r "$USERS" -t "$GOAL" \
    --no-print-metrics --summary-json "$workdir/goal.json" >"$workdir/goal.log" 2>&1 &
  local generator=$! status=0 snacks
  if [ "$1" != alone ]; then
    sleep 2  # the users sign up
    flood "$GOAL" "snacks drawers"
  fi
  wait "$generator" || status=$?
  snacks=$(jq '.requests["GET /snacks/"]' "$workdir/goal.json")
  printf 'peak RSS (VmHWM) %d MiB (goal <= 64); GET /snacks/ p99 %s ms over %s requests (goal <= 20) (%s); catalogue %d snacks\n' \
    "$(vm VmHWM)" "$(jq .p99_ms <<<"$snacks")" "$(jq .count <<<"$snacks")" "$(loadavg)" \
    "$(catalogue_size)"
  echo "snackdrawer-load exited $status: $(jq -r '.violations | if length == 0 then "no violations"
    else to_entries | map("\(.key) \(.value.count)") | join(", ") end' "$workdir/goal.json")"
  stop_server
}

cargo build --release --quiet --workspace --bins
for part in $PARTS; do
  case $part in
    1) part1 off; part1 on ;;
    2) part2 ordinary; part2 heaviest ;;
    3) part3 alone; part3 off; part3 on ;;
  esac
done
