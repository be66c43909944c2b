#!/usr/bin/env bash
# Metric cardinality from client input (issue 21, item 4). With fault injection armed, the
# state in which each new HTTP method used to mint a series, $REQUESTS requests (24,000), each
# with a method HTTP does not define and a user agent never seen before; every other one goes to
# a path no route serves, the rest to `/snacks/`, which does not serve the method. One curl sends
# them, 8 at a time (wrk refuses methods it does not know). Before and after: the series in
# `/metrics`, its size, the size of the admin API's `GET /faults` and the server's RSS; then the
# series once `DELETE /faults` has cleared everything. Before is the baseline: all should stay
# flat. Once per way of arming (MODES): `rule`, a plan of `* latency=1ms`, which hits every
# request, and `lazy`, lazy mode with 1 ms naps and no ramp. Release binary, SQLite in a
# temporary file, loopback.
#
#   apt-get install -y wrk; benches/cardinality.sh       # about a minute
#   REQUESTS=4000 MODES=rule benches/cardinality.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
REQUESTS=${REQUESTS:-24000}
MODES=${MODES:-rule lazy}
ADMIN="http://127.0.0.1:$((PORT + 1))"
ADMIN_TOKEN=bench-admin-token-bench-admin-token
workdir=$(mktemp -d)
cleanup() { stop_server; rm -rf "$workdir"; }
trap cleanup EXIT

admin() { # admin METHOD PATH [BODY]: the admin API's answer, or the script stops
  curl -fsS -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN" ${3:+-d "$3"} "$ADMIN$2"
}
series() { curl -fs "$base/metrics" | grep -cv '^#'; }
metrics_bytes() { curl -fs -o /dev/null -w '%{size_download}' "$base/metrics"; }
faults_bytes() { admin GET /faults | wc -c; }
state() { # state LABEL: one line of what the flood could grow
  printf '  %-7s %6d series, /metrics %9d bytes, GET /faults %9d bytes, RSS %4d MiB (peak %d MiB)\n' \
    "$1" "$(series)" "$(metrics_bytes)" "$(faults_bytes)" "$(vm VmRSS)" "$(vm VmHWM)"
}

# flood_methods: the $REQUESTS requests, one status code a line.
flood_methods() {
  awk -v n="$REQUESTS" -v base="$base" 'BEGIN {
    for (i = 1; i <= n; i++) {
      if (i > 1) print "next"
      printf "url = \"%s%s\"\nrequest = \"M%dX\"\nuser-agent = \"cardinality/%d\"\n", base,
        (i % 2 ? "/nowhere/" i : "/snacks/"), i, i
      print "output = /dev/null\nwrite-out = \"%{http_code}\\n\""
    } }' >"$workdir/requests.curlrc"
  curl -s --parallel --parallel-max 8 -K "$workdir/requests.curlrc" 2>/dev/null || true
}

cargo build --release --quiet --workspace --bins
for mode in $MODES; do
  serve_sqlite "$workdir/$mode.db" SNACKDRAWER_ADMIN_LISTEN="${ADMIN#http://}" \
    SNACKDRAWER_ADMIN_TOKEN=$ADMIN_TOKEN SNACKDRAWER_LAZY_RAMP=0s \
    SNACKDRAWER_LAZY_NAP_MEDIAN=1ms SNACKDRAWER_LAZY_NAP_P99=2ms
  case $mode in
    rule) admin PUT /faults '{"text": "* latency=1ms"}' >/dev/null ;;
    lazy) admin POST /lazy '{}' >/dev/null ;;
    *) echo "unknown mode $mode: rule or lazy" >&2; exit 2 ;;
  esac
  # Every series the flood's requests should land in, first (the routes', /metrics' own, an
  # unknown method's on each kind of path), so "after" exceeds "before" only by minted ones
  # (and, lazy, by the few a first 503 or nap on a route adds).
  for path in /snacks/ /snacks/1 /nowhere /metrics; do curl -s -o /dev/null "$base$path"; done
  for path in /snacks/ /nowhere; do curl -s -o /dev/null -X M0X "$base$path"; done
  echo "== $mode: $REQUESTS requests, each with a new method and user agent"
  state before
  answers=$(flood_methods | sort | uniq -c | awk '{ printf "%s%d × %s", sep, $1, $2; sep = ", " }')
  state after
  admin DELETE /faults >/dev/null
  printf '  (answers: %s; %d series once DELETE /faults cleared everything)\n' "$answers" "$(series)"
  stop_server
done
