#!/usr/bin/env bash
# The login throttle and usernames, attacked again (issue 21, item 5): release binary, SQLite in
# a temporary file, loopback only, the login limits on with the per-address limit off
# (SNACKDRAWER_PASSWORD_RATE_PER_ADDRESS=0, as behind a proxy, where every client has the
# proxy's address). scrypt at its lowest cost (log N 1, r 1) so that wrk can send failed logins
# as fast as the issue's attacker did; the throttle counts attempts, not hashing. Parts, each
# on a fresh server:
#
#  a. the per-username table filled: failed logins for $NAMES (100,000) distinct usernames
#     (wrk, benches/attack-logins.lua), then 240 wrong guesses for a registered victim.
#     Issue: the fill (18 s) switched the throttle off, all 240 got 401 and none 429;
#  b. the lockout: a guesser on 127.0.0.1 guesses the victim's password each time its wait
#     ends (Retry-After), with the back-off's ceiling at $CEILING (4) s rather than 300 s so
#     that it is reached in seconds; then the victim logs in with the right password once a
#     second for 20 s from 127.0.0.2, and once from 127.0.0.1 (sharing the guesser's
#     address). Issue: one wrong guess per 300 s kept the victim out;
#  c. look-alike usernames registered beside `bob`: zero-width space, zero-width joiner, byte
#     order mark, soft hyphen, combining grapheme joiner, fullwidth letters. Issue: all 201;
#  d. (not in the issue) the table filled with names held back: $HELD_NAMES (60,000) names with
#     5 failures each, more than the table holds (50,000 names, two entries each), so that no
#     entry may be dropped; then a user who never failed logs in with the right password from
#     127.0.0.3 once a second for 20 s while the filler tries a new name every 0.5 s.
#
# Built from 0094d0e (before the fixes) and run with SERVER_BIN, it gives the issue's figures.
#
#   sudo apt-get install -y wrk; benches/attack-logins.sh
#   SERVER_BIN=target/release/snackdrawer benches/attack-logins.sh   # no build
#   PARTS="a c" NAMES=20000 benches/attack-logins.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18231}
source benches/lib.sh
NAMES=${NAMES:-100000}
HELD_NAMES=${HELD_NAMES:-60000}
CEILING=${CEILING:-4}
PARTS=${PARTS:-a b c d}
workdir=$(mktemp -d)
cleanup() { stop_server; rm -rf "$workdir"; }
trap cleanup EXIT

# serve NAME [VAR=value...]: a fresh server on its own database file, the login limits on but
# per address.
serve() {
  local name=$1; shift
  start_server DATABASE_URL="sqlite://$workdir/$name.db?mode=rwc" SNACKDRAWER_LOGIN_LIMITS=true \
    SNACKDRAWER_PASSWORD_RATE_PER_ADDRESS=0 SNACKDRAWER_SCRYPT_LOG_N=1 SNACKDRAWER_SCRYPT_R=1 "$@"
}

# post_from ADDRESS PATH BODY: the status of a POST sent from that loopback address.
post_from() {
  curl -s -o /dev/null -w '%{http_code}' --interface "$1" -X POST "$base$2" \
    -H 'content-type: application/json' --data-binary "$3"
}

login_from() { post_from "$1" /auth/login "{\"username\": \"$2\", \"password\": \"$3\"}"; }

# tally: "401: 5, 429: 235" from one status a line.
tally() { sort | uniq -c | awk '{ printf "%s%s: %s", sep, $2, $1; sep = ", " }'; }

# login_answers: the server's answers to POST /auth/login so far, "STATUS COUNT" a line.
login_answers() {
  curl -fs "$base/metrics" | grep '^http_server_request_duration_seconds_count{.*"/auth/login"' |
    sed -n 's/.*http_response_status_code="\([0-9]*\)".* \([0-9]*\)$/\1 \2/p'
}

login_total() { login_answers | awk '{ sum += $2 } END { print sum + 0 }'; }

# fill NAMES REPEAT PREFIX: failed logins for NAMES usernames, REPEAT each, as fast as wrk can,
# until the server has answered them all (or no more for 2 s).
fill() {
  local started=$EPOCHREALTIME expected=$(($1 * $2 + $(login_total))) answered=0 now idle=0
  FILL_NAMES=$1 FILL_REPEAT=$2 FILL_PREFIX=$3 FILL_THREADS=2 \
    wrk -t2 -c16 -d600s -s benches/attack-logins.lua "$base" >/dev/null &
  local sending=$!
  while now=$(login_total); [ "$now" -lt "$expected" ] && [ "$idle" -lt 20 ]; do
    if [ "$now" = "$answered" ]; then idle=$((idle + 1)); else idle=0; fi
    answered=$now
    sleep 0.1
  done
  local took
  took=$(awk -v from="$started" -v to="$EPOCHREALTIME" 'BEGIN { printf "%.1f", to - from }')
  kill "$sending"; wait "$sending" 2>/dev/null || true
  echo "$1 usernames x $2 failed logins in $took s; logins answered so far: $(
    login_answers | awk '{ printf "%s%s: %s", sep, $1, $2; sep = ", " }')"
}

part_a() {
  serve table
  echo "== a. $NAMES usernames of failed logins, then 240 wrong guesses for a victim"
  json_post /auth/users '{"username": "victim", "password": "right"}' >/dev/null
  fill "$NAMES" 1 fill
  echo "240 wrong guesses: $(
    for _ in $(seq 240); do login_from 127.0.0.1 victim wrong; echo; done | tally)"
  echo "the victim's right password from 127.0.0.2 after them: $(login_from 127.0.0.2 victim right)"
  stop_server
}

part_b() {
  serve lockout SNACKDRAWER_LOGIN_BACKOFF_MAX="$CEILING"
  echo "== b. a guesser on 127.0.0.1 guesses each time its wait ends (ceiling $CEILING s)"
  json_post /auth/users '{"username": "victim", "password": "right"}' >/dev/null
  local guesser=$workdir/guesser
  (while :; do
    read -r status wait < <(curl -s -o /dev/null -w '%{http_code} %header{retry-after}\n' \
      --interface 127.0.0.1 -X POST "$base/auth/login" -H 'content-type: application/json' \
      --data-binary '{"username": "victim", "password": "wrong"}')
    echo "$status"
    [ "$status" = 429 ] && sleep "$wait"
  done) >"$guesser" &
  local guessing=$!
  sleep $((CEILING * 2))  # the waits grow to the ceiling: 1 s, 2 s, 4 s, ...
  echo "the victim's right password from 127.0.0.2, once a second for 20 s: $(
    for _ in $(seq 20); do login_from 127.0.0.2 victim right; echo; sleep 1; done | tally)"
  echo "the victim's right password from 127.0.0.1 (the guesser's address): $(
    login_from 127.0.0.1 victim right)"
  kill "$guessing"; wait "$guessing" 2>/dev/null || true
  echo "the guesser's answers: $(tally <"$guesser")"
  stop_server
}

part_c() {
  serve lookalikes
  echo "== c. usernames that look like bob (POST /auth/users)"
  local name
  # JSON escapes, which the server decodes: \u200b zero-width space, \u200d zero-width joiner,
  # \ufeff byte order mark, \u00ad soft hyphen, \u034f combining grapheme joiner, \uff42
  # and \uff4f fullwidth b and o.
  for name in 'bob' 'b\u200bob' 'bo\u200db' '\ufeffbob' 'b\u00adob' 'b\u034fob' '\uff42\uff4f\uff42'
  do
    printf '%-18s %s\n' "$name" \
      "$(post_from 127.0.0.1 /auth/users "{\"username\": \"$name\", \"password\": \"pw\"}")"
  done
  stop_server
}

part_d() {
  serve held
  echo "== d. the table filled with held-back names, then a user who never failed logs in"
  json_post /auth/users '{"username": "owner", "password": "right"}' >/dev/null
  fill "$HELD_NAMES" 5 held
  local attacker=$workdir/attacker n=0
  (while :; do n=$((n + 1)); login_from 127.0.0.1 "new-$n" wrong; echo; sleep 0.5; done) \
    >"$attacker" &
  local attacking=$!
  echo "the filler tries a new name every 0.5 s; meanwhile"
  echo "the owner's right password from 127.0.0.3, once a second for 20 s: $(
    for _ in $(seq 20); do login_from 127.0.0.3 owner right; echo; sleep 1; done | tally)"
  kill "$attacking"; wait "$attacking" 2>/dev/null || true
  echo "the filler's new names meanwhile: $(tally <"$attacker")"
  stop_server
}

# As the workspace builds it (one package alone rebuilds dependencies with other features);
# SERVER_BIN=target/release/snackdrawer skips the build and runs that binary.
[ -n "${SERVER_BIN:-}" ] || cargo build --release --quiet --workspace
for part in $PARTS; do "part_$part"; done
