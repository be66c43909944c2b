#!/usr/bin/env bash
# The speed goals of the default store, all in one run, each as a ratio against a baseline
# measured in the same run (docs/measuring.md#speed-on-the-default-store):
#
#   1. GET /snacks/ on SQLite against the bare reference handler (examples/bare_snacks.rs): ≥ 50 %
#   2. GET /drawers/{id} on SQLite against the memory store: ≥ 40 %
#   3. the JSON access line, in instructions (benches/instructions.sh, logged − unsampled): ≤ 5,000
#   4. peak RSS on SQLite under the old client's mix (snackdrawer-load, snackers only, 20 users,
#      1–3 s of thinking): ≤ 64 MiB; and the most RSS while only reads are served: ≤ 32 MiB
#
# Throughput: wrk -t2 -c32 for $DURATION per target and round, the rounds interleaved across
# targets so drift hits them alike, the best of $ROUNDS rounds kept. Prints each figure, its
# ratio and goal, and exits 1 if a goal was missed. About eight minutes.
#
#   benches/speed.sh
#   DURATION=4s ROUNDS=1 MIX_TIME=20s N=1000 benches/speed.sh    # a quick look
#   SERVICE_BIN=/tmp/other/snackdrawer benches/speed.sh           # another build of the service
#     (for throughput and memory; the access line is measured on this tree's benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=32
source benches/lib.sh
MIX_TIME=${MIX_TIME:-60s}
target=${CARGO_TARGET_DIR:-target}
workdir=$(mktemp -d)
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

echo "building the service, the bare reference and the load generator (release)"
cargo build --release --quiet --workspace --bins --example bare_snacks

# serve NAME PORT VAR=value...: starts a target on 127.0.0.1:PORT and records its pid in
# $workdir/NAME.pid (SERVER_BIN=path for another binary).
serve() {
  local name=$1 port=$2; shift 2
  PORT=$port base="http://127.0.0.1:$port" start_server "$@"
  servers+=("$server")
  echo "$server" >"$workdir/$name.pid"
  server=""
}
kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$(cat "$workdir/$2.pid")/status"; }
rate() { # rate URL [TOKEN]: requests per second wrk measured; only successes may count
  wrk -d "$DURATION" -t 2 -c "$CONNECTIONS" ${2:+-H "Authorization: Bearer $2"} "$1" |
    awk -v url="$1" '/Non-2xx/ { failed = $0 } /Requests\/sec/ { rate = $2 }
      END { if (failed) { print url ": " failed > "/dev/stderr"; exit 1 } print rate }'
}
best() { sort -gr | head -1; }

secret=bench-secret-bench-secret-bench-secret
SERVER_BIN="$target/release/examples/bare_snacks" serve bare 18091 BARE_SNACKS_LISTEN=127.0.0.1:18091
# As they run by default: an access line per request (at info), here into a file.
export SERVER_LOG=$workdir/server.log
[[ -z ${SERVICE_BIN:-} ]] || export SERVER_BIN=$SERVICE_BIN
serve memory 18092 DATABASE_URL=memory SNACKDRAWER_JWT_SECRET=$secret RUST_LOG=info
serve sqlite 18093 DATABASE_URL="sqlite://$workdir/speed.db?mode=rwc" SNACKDRAWER_JWT_SECRET=$secret RUST_LOG=info
declare -A token path
for store in memory sqlite; do
  port=$([[ $store == memory ]] && echo 18092 || echo 18093)
  read -r "token[$store]" "path[$store]" < <(base="http://127.0.0.1:$port" drawer_of_five)
done

echo "throughput: wrk -t2 -c$CONNECTIONS, $DURATION per target, best of $ROUNDS rounds"
for round in $(seq "$ROUNDS"); do
  echo "  round $round"
  rate http://127.0.0.1:18091/snacks/ >>"$workdir/bare.snacks"
  rate http://127.0.0.1:18092/snacks/ >>"$workdir/memory.snacks"
  rate http://127.0.0.1:18093/snacks/ >>"$workdir/sqlite.snacks"
  kib VmRSS sqlite >>"$workdir/sqlite.reads_rss"
  rate "http://127.0.0.1:18092${path[memory]}" "${token[memory]}" >>"$workdir/memory.drawer"
  rate "http://127.0.0.1:18093${path[sqlite]}" "${token[sqlite]}" >>"$workdir/sqlite.drawer"
  kib VmRSS sqlite >>"$workdir/sqlite.reads_rss"
done
for figure in bare.snacks memory.snacks sqlite.snacks memory.drawer sqlite.drawer sqlite.reads_rss; do
  printf -v "${figure/./_}" '%s' "$(best <"$workdir/$figure")"
done

echo "the access line: benches/instructions.sh, unsampled and logged (callgrind, N=${N:-5000})"
SETUPS="unsampled logged" benches/instructions.sh | tee "$workdir/instructions.txt"
unsampled=$(awk '$1 == "unsampled" { print $2 }' "$workdir/instructions.txt")
logged=$(awk '$1 == "logged" { print $2 }' "$workdir/instructions.txt")

echo "memory under the old client's mix: snackdrawer-load, snackers only, 20 users, $MIX_TIME on a fresh SQLite service"
serve mix 18094 DATABASE_URL="sqlite://$workdir/mix.db?mode=rwc" SNACKDRAWER_JWT_SECRET=$secret RUST_LOG=info
"$target/release/snackdrawer-load" --host http://127.0.0.1:18094 -u 20 -r 4 -t "$MIX_TIME" \
  --mix snacker=100 --think-time 1s..3s --no-telnet --no-print-metrics \
  --summary-json "$workdir/mix.json" >"$workdir/mix.log" 2>&1 ||
  echo "  (snackdrawer-load exited $?: see its summary; the memory figure still counts)"
mix_hwm=$(kib VmHWM mix)
for figure in bare_snacks memory_snacks sqlite_snacks memory_drawer sqlite_drawer sqlite_reads_rss \
  unsampled logged mix_hwm; do
  [[ -n ${!figure} ]] || { echo "no figure for $figure: a step above failed" >&2; exit 2; }
done

echo
echo "figures (goal in brackets)"
verdicts=0
# goal LABEL VALUE GOAL-TEXT MET (1 or 0)
goal() {
  local verdict=met
  (($4)) || { verdict=MISSED; verdicts=1; }
  printf '  %-58s %12s   [%s]  %s\n' "$1" "$2" "$3" "$verdict"
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 100 * a / b }'; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }' && echo 1 || echo 0; }
printf '  %-58s %12s\n' "GET /snacks/ bare reference, requests/s" "$bare_snacks" \
  "GET /snacks/ memory store, requests/s" "$memory_snacks" \
  "GET /snacks/ SQLite, requests/s" "$sqlite_snacks" \
  "GET /drawers/{id} memory store, requests/s" "$memory_drawer" \
  "GET /drawers/{id} SQLite, requests/s" "$sqlite_drawer"
printf '  %-58s %11s%%\n' "memory store against the bare reference, GET /snacks/" "$(pct "$memory_snacks" "$bare_snacks")"
snacks_ratio=$(pct "$sqlite_snacks" "$bare_snacks")
goal "1. SQLite against the bare reference, GET /snacks/" "$snacks_ratio %" "≥ 50 %" "$(at_least "$snacks_ratio" 50)"
drawer_ratio=$(pct "$sqlite_drawer" "$memory_drawer")
goal "2. SQLite against the memory store, GET /drawers/{id}" "$drawer_ratio %" "≥ 40 %" "$(at_least "$drawer_ratio" 40)"
line=$((logged - unsampled))
goal "3. the access line, instructions per request" "$line" "≤ 5,000" "$(at_least 5000 "$line")"
goal "4. peak RSS (VmHWM), the old client's mix, MiB" "$((mix_hwm / 1024))" "≤ 64" "$(at_least $((64 * 1024)) "$mix_hwm")"
goal "   RSS while serving reads only (most of the samples), MiB" "$((sqlite_reads_rss / 1024))" "≤ 32" "$(at_least $((32 * 1024)) "$sqlite_reads_rss")"
exit "$verdicts"
