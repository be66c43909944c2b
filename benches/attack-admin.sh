#!/usr/bin/env bash
# The admin API and the lazy schedule, attacked again (issue 21, item 7): release binary, the
# memory store, the admin API on loopback (docs/faults.md). A lazy schedule, `every 2s for 1s`,
# with no ramp, every lazy request refused and almost none napping, so that an episode shows
# as 503s on `GET /snacks/`. Parts, each on a fresh server:
#
#  a. a 10 MB body to `PUT /faults`, with a Content-Length and chunked, and without a token,
#     20 times each: the status, the Content-Type and the start of the body, and curl's exit
#     status when the connection broke. Issue: a plain-text 413;
#  b. `DELETE /faults` under the schedule: `GET /snacks/` sampled every 0.1 s for 6 s (three
#     periods) before and after, and the schedule in `GET /faults` before and after. Issue:
#     `DELETE /faults` did not stop the schedule, and nothing at runtime could;
#  c. the same with `DELETE /lazy/schedule`, the route that stops only the schedule.
#
# Built from 0094d0e (before the fixes) and run with SERVER_BIN, it gives the issue's figures.
#
#   sudo apt-get install -y wrk jq; benches/attack-admin.sh
#   SERVER_BIN=target/release/snackdrawer PARTS=a benches/attack-admin.sh   # no build
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18232}
ADMIN_PORT=${ADMIN_PORT:-18233}
source benches/lib.sh
command -v jq >/dev/null || { echo "jq is needed: apt-get install -y jq" >&2; exit 1; }
PARTS=${PARTS:-a b c}
admin="http://127.0.0.1:$ADMIN_PORT"
ADMIN_TOKEN=attack-admin-token-attack-admin-token
workdir=$(mktemp -d)
cleanup() { stop_server; rm -rf "$workdir"; }
trap cleanup EXIT

serve() {
  start_server DATABASE_URL=memory SNACKDRAWER_ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" \
    SNACKDRAWER_ADMIN_TOKEN=$ADMIN_TOKEN SNACKDRAWER_LAZY_SCHEDULE="every 2s for 1s" \
    SNACKDRAWER_LAZY_RAMP=0s SNACKDRAWER_LAZY_NAP_PROBABILITY=0.001 \
    SNACKDRAWER_LAZY_REFUSAL_PROBABILITY=1
}

# admin_call METHOD PATH [CURL ARGS...]: "STATUS CONTENT-TYPE | BODY (its first 100 bytes)",
# and curl's exit status when it failed (say 55: the connection was reset while sending).
admin_call() {
  local method=$1 path=$2; shift 2
  local out failed=0
  rm -f "$workdir/body"
  out=$(curl -s -X "$method" "$admin$path" -o "$workdir/body" \
    -w '%{http_code} %{content_type}' "$@") || failed=$?
  local note=""
  [ "$failed" = 0 ] || note=" (curl exit $failed)"
  echo "$out | $(head -c 100 "$workdir/body" 2>/dev/null)$note"
}

authorised=(-H "Authorization: Bearer $ADMIN_TOKEN")

# refusals: how many of 60 reads of GET /snacks/, 0.1 s apart, were refused (503).
refusals() {
  local status refused=0
  for _ in $(seq 60); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$base/snacks/")
    [ "$status" = 503 ] && refused=$((refused + 1))
    sleep 0.1
  done
  echo "$refused of 60 reads refused"
}

schedule() { curl -fs "${authorised[@]}" "$admin/faults" | jq -c .lazy.schedule; }

# tries N CURL ARGS...: the answers to N PUT /faults with those arguments, counted.
tries() {
  local n=$1; shift
  for _ in $(seq "$n"); do admin_call PUT /faults "$@" |
    sed -E 's/ \| .*(\(curl exit [0-9]+\))$/ \1/; t; s/ \| .*//'; done |
    sort | uniq -c | awk '{ $1 = $1 " x"; printf "%s%s", sep, $0; sep = "; " }'
}

part_a() {
  serve
  echo "== a. a 10 MB body to PUT /faults"
  head -c 10000000 /dev/zero | tr '\0' 'a' >"$workdir/10MB"
  local body=(--data-binary @"$workdir/10MB") chunked=(-H 'Transfer-Encoding: chunked')
  echo "one answer: $(admin_call PUT /faults "${authorised[@]}" "${body[@]}")"
  echo "with Content-Length, 20 times: $(tries 20 "${authorised[@]}" "${body[@]}")"
  echo "chunked, 20 times:             $(tries 20 "${authorised[@]}" "${chunked[@]}" "${body[@]}")"
  echo "no token, 20 times:            $(tries 20 "${body[@]}")"
  stop_server
}

# part_stop PATH: the schedule's refusals before and after DELETE PATH.
part_stop() {
  serve
  echo "== the lazy schedule, then DELETE $1"
  sleep 2  # the first episode starts 2 s after the start
  echo "before: schedule $(schedule); $(refusals)"
  echo "DELETE $1: $(admin_call DELETE "$1" "${authorised[@]}" | sed 's/ | .*//')"
  echo "after:  schedule $(schedule); $(refusals)"
  stop_server
}

part_b() { part_stop /faults; }
part_c() { part_stop /lazy/schedule; }

# As the workspace builds it (one package alone rebuilds dependencies with other features);
# SERVER_BIN=target/release/snackdrawer skips the build and runs that binary.
[ -n "${SERVER_BIN:-}" ] || cargo build --release --quiet --workspace
for part in $PARTS; do "part_$part"; done
