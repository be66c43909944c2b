#!/usr/bin/env bash
# Is the load generator fast enough to find the service's limit? GET /snacks/ on three targets,
# each driven by wrk and then by snackdrawer-load in its stress mix, one after the other, on this
# machine and on loopback only:
#   bare     examples/bare_snacks.rs: a bare axum handler that answers the same bytes (the ceiling)
#   memory   the release service on the memory store
#   sqlite   the release service on SQLite, in a temporary file
#
#   benches/load-vs-wrk.sh                          # 8 s per run, 32 connections / users
#   DURATION=30s CONNECTIONS=64 benches/load-vs-wrk.sh
#   TARGETS="bare memory" benches/load-vs-wrk.sh
#   LOAD_BIN=path/to/snackdrawer-load benches/load-vs-wrk.sh   # that generator, not a fresh build
#
# wrk: `wrk -t2 -c32 -d8s http://127.0.0.1:PORT/snacks/`: 2 threads, 32 kept-alive connections,
# each answer read and dropped. The generator: 32 snackers launched at once, no think time, the
# snack list only, for the same duration: one kept-alive connection per user, a runtime thread per
# core, each answer read to its end, judged against the API's contract and recorded in goose's
# statistics, as in any run (a run of the snack list alone has no drawers to fill, so it does not
# read the list into snack ids). Its request count and measured duration (whole seconds, goose's)
# come from its --summary-json. Prints requests/s per target and tool, each target's rate
# against the bare reference's, and the generator's rate against wrk's on the same target. The
# issue's bar: the generator reaches at least 50 % of wrk's rate on every target (exit 1 if not).
# Both tools share the two cores with the server, as the service would share them with any
# client on this machine; the ratios, not the absolute figures, are the result.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
source benches/lib.sh
command -v jq >/dev/null || { echo "jq is needed: apt-get install -y jq" >&2; exit 1; }

TARGETS=${TARGETS:-bare memory sqlite}
USERS=$CONNECTIONS
target_dir=${CARGO_TARGET_DIR:-target}
workdir=$(mktemp -d)
client=""   # the pid of a running wrk or generator, so an interrupted run stops it too
cleanup() {
  if [ -n "$client" ]; then kill -TERM "$client" 2>/dev/null || true; wait "$client" 2>/dev/null || true; fi
  stop_server
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_client LOG COMMAND...: runs one load tool in the background (so the trap can stop it), waits,
# and returns its exit code; its output goes to LOG.
run_client() {
  local log=$1 rc=0
  shift
  "$@" >"$log" 2>&1 &
  client=$!
  wait "$client" || rc=$?
  client=""
  return "$rc"
}

# The generator's GET /snacks/ requests per second, from its summary JSON: the count of the
# request `GET /snacks/` (`.requests["GET /snacks/"].count`), over the measured seconds if the
# summary gives them (`duration_s`, which covers the whole run, ramp-up included, as the count
# does), else over the requested run time. A summary without that count fails loudly here.
summary_rate() { # summary_rate FILE RUN-TIME-SECONDS
  jq -er --argjson run_time "$2" '
    def num: select(type == "number");
    ((.requests?["GET /snacks/"]?.count?, .requests?["GET /snacks/"]?.requests?) | num) as $n
    | ([(.duration_s?, .duration_secs?, .duration?) | num | select(. > 0)] | first // $run_time) as $s
    | $n / $s' "$1"
}

# seconds 8s | 2m | 1m30s | 90: wrk's and goose's duration forms, in seconds.
seconds() {
  local text=$1 total=0 n
  [[ $text =~ ^[0-9]+$ ]] && { echo "$text"; return; }
  while [[ $text =~ ^([0-9]+)([hms])(.*)$ ]]; do
    n=${BASH_REMATCH[1]}
    case ${BASH_REMATCH[2]} in h) n=$((n * 3600)) ;; m) n=$((n * 60)) ;; esac
    total=$((total + n)) text=${BASH_REMATCH[3]}
  done
  [ -z "$text" ] && [ "$total" -gt 0 ] || { echo "DURATION=$1 is not like 8s, 2m or 1m30s" >&2; exit 2; }
  echo "$total"
}
run_seconds=$(seconds "$DURATION")

wrk_rate() { awk '/Requests\/sec/ {print $2}' "$1"; }

declare -A wrk_rps load_rps
notes=()
for target in $TARGETS; do
  case $target in
    bare | memory | sqlite) ;;
    *) echo "unknown target $target (bare, memory, sqlite)" >&2; exit 2 ;;
  esac
done

echo "building the service, the bare reference and the generator (release)"
cargo build --release --quiet --bin snackdrawer --example bare_snacks
if [ -z "${LOAD_BIN:-}" ]; then
  cargo build --release --quiet -p snackdrawer-load
fi
load_bin=${LOAD_BIN:-$target_dir/release/snackdrawer-load}
bare_bin="$target_dir/release/examples/bare_snacks"

# The reference body, checked against each service target before it is measured.
SERVER_BIN=$bare_bin start_server BARE_SNACKS_LISTEN="127.0.0.1:$PORT"
curl -fs "$base/snacks/" >"$workdir/bare.body"
stop_server

echo "GET /snacks/ on 127.0.0.1:$PORT, $DURATION per run; wrk -t$THREADS -c$CONNECTIONS;" \
  "snackdrawer-load -u $USERS --mix snacker=100 --think-time 0 --only 'GET /snacks/'"
for target in $TARGETS; do
  case $target in
    bare)
      SERVER_BIN=$bare_bin start_server BARE_SNACKS_LISTEN="127.0.0.1:$PORT" ;;
    memory | sqlite)
      url=memory
      [ "$target" = sqlite ] && url="sqlite://$workdir/bench.db?mode=rwc"
      # A cheap password hash: the snackers register and log in before the measured window, and
      # that window should not wait for 32 scrypt hashes at the production cost.
      start_server DATABASE_URL="$url" SNACKDRAWER_SCRYPT_LOG_N=8 \
        SNACKDRAWER_JWT_SECRET=bench-secret-bench-secret-bench-secret
      if ! curl -fs "$base/snacks/" | cmp -s - "$workdir/bare.body"; then
        echo "$target: GET /snacks/ does not answer the bare reference's body; the comparison" \
          "would be meaningless (see examples/bare_snacks.rs)" >&2
        exit 1
      fi ;;
  esac

  run_client "$workdir/$target.wrk" \
    wrk -d "$DURATION" -t "$THREADS" -c "$CONNECTIONS" "$base/snacks/" ||
    { cat "$workdir/$target.wrk" >&2; exit 1; }
  wrk_rps[$target]=$(wrk_rate "$workdir/$target.wrk")

  rc=0
  run_client "$workdir/$target.load" \
    "$load_bin" --host "$base" --users "$USERS" --increase-rate 1000 --run-time "$DURATION" \
    --no-telnet --no-print-metrics --mix snacker=100 --think-time 0 --only "GET /snacks/" \
    --summary-json "$workdir/$target.json" || rc=$?
  # Exit 1 (violations) still gives a rate; it is reported below the table. Only a usage or
  # connection error (2), or a summary without the count, stops the benchmark.
  if [ "$rc" -eq 1 ]; then
    notes+=("$target: snackdrawer-load saw violations: $(jq -r '.violations | to_entries | map("\(.key) \(.value.count)") | join(", ")' \
      "$workdir/$target.json" 2>/dev/null)")
  fi
  if [ "$rc" -gt 1 ] || ! load_rps[$target]=$(summary_rate "$workdir/$target.json" "$run_seconds"); then
    echo "$target: snackdrawer-load exited $rc; its output:" >&2
    cat "$workdir/$target.load" >&2
    [ -s "$workdir/$target.json" ] && { echo "its summary:" >&2; cat "$workdir/$target.json" >&2; }
    exit 1
  fi
  stop_server
  printf '  %-7s wrk %10.0f req/s   snackdrawer-load %10.0f req/s\n' \
    "$target" "${wrk_rps[$target]}" "${load_rps[$target]}"
done

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%5.1f %%", 100 * a / b; else printf "    -  " }'; }
echo
printf '%-8s %13s %13s %12s %12s %12s\n' target "wrk req/s" "load req/s" "load/wrk" \
  "wrk/bare" "load/bare"
verdict=0
for target in $TARGETS; do
  w=${wrk_rps[$target]} l=${load_rps[$target]}
  printf '%-8s %13.0f %13.0f %12s %12s %12s\n' "$target" "$w" "$l" "$(pct "$l" "$w")" \
    "$(pct "$w" "${wrk_rps[bare]:-0}")" "$(pct "$l" "${load_rps[bare]:-0}")"
  awk -v a="$l" -v b="$w" 'BEGIN { exit !(a < 0.5 * b) }' && verdict=1
done
echo
for note in "${notes[@]}"; do echo "$note"; done
if [ "$verdict" -eq 0 ]; then
  echo "generator >= 50 % of wrk on every target: yes"
else
  echo "generator >= 50 % of wrk on every target: NO (the generator may be the bottleneck)"
fi
exit "$verdict"
