# Shared by the bench scripts: build the release binary, start it on a loopback port with the
# given environment, wait until it answers, and stop it on exit.
# shellcheck shell=bash

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
base="http://127.0.0.1:$PORT"
server=""
SERVER_LOG=${SERVER_LOG:-/tmp/snackdrawer-bench.log}

build_release() {
  cargo build --release --workspace --quiet
}

# start_server VAR=value ...: starts the release binary (under $CARGO_TARGET_DIR if that is set)
# with those variables; SERVER_BIN=path starts another server instead (it must answer /readyz).
# Its output goes to $SERVER_LOG.
start_server() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "something already listens on 127.0.0.1:$PORT; stop it or set PORT" >&2
    exit 1
  fi
  # The login limits off: every benchmark signs up and logs in from this one address.
  env SNACKDRAWER_LISTEN="127.0.0.1:$PORT" SNACKDRAWER_LOG_FORMAT=json RUST_LOG=warn \
    SNACKDRAWER_LOGIN_LIMITS=false "$@" \
    "${SERVER_BIN:-${CARGO_TARGET_DIR:-target}/release/snackdrawer}" >>"$SERVER_LOG" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    kill -0 "$server" 2>/dev/null || break
    curl -fs "$base/readyz" >/dev/null && return
    sleep 0.1
  done
  echo "the server did not become ready; see $SERVER_LOG" >&2
  exit 1
}

stop_server() {
  [ -n "$server" ] || return 0
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}
trap stop_server EXIT

# json_post PATH BODY [TOKEN]: prints the response body.
json_post() {
  curl -fs -X POST "$base$1" -H 'content-type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2"
}

# drawer_of_five: signs a user up, logs in, makes a drawer holding five snacks, and prints the
# token and the drawer's path, for reading it as its owner.
drawer_of_five() {
  json_post /auth/users '{"username": "bench", "password": "pw"}' >/dev/null
  local token drawer
  token=$(json_post /auth/login '{"username": "bench", "password": "pw"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
  drawer=$(json_post /drawers/ '{"name": "bench"}' "$token" | sed 's/.*"id":\([0-9]*\).*/\1/')
  for snack in 1 3 5 7 9; do json_post "/drawers/$drawer" "{\"snack\": $snack}" "$token" >/dev/null; done
  echo "$token /drawers/$drawer"
}

# loadavg: the one-minute load average, printed beside latency and throughput figures, since other
# work on the machine moves them.
loadavg() { echo "load $(cut -d' ' -f1 /proc/loadavg)"; }

# vm KEY: the server's VmRSS, VmHWM… from /proc, in MiB.
vm() { echo $(( $(awk -v key="$1:" '$1 == key { print $2 }' "/proc/$server/status") / 1024 )); }

BENCH_SECRET=bench-secret-bench-secret-bench-secret

# serve_sqlite FILE VAR=value...: a server on that SQLite file, with a signing secret that
# outlives it, so the file's accounts log in again on the next server.
serve_sqlite() {
  local file=$1; shift
  start_server DATABASE_URL="sqlite://$file?mode=rwc" SNACKDRAWER_JWT_SECRET=$BENCH_SECRET "$@"
}

# user_token NAME: registers NAME (unless it exists) and prints a token for it.
user_token() {
  json_post /auth/users "{\"username\": \"$1\", \"password\": \"pw\"}" >/dev/null || true
  json_post /auth/login "{\"username\": \"$1\", \"password\": \"pw\"}" | jq -r .token
}

# flood DURATION ROUTES [LONG]: one user (`flooder`) POSTing new names to ROUTES ("snacks",
# "drawers" or both) with wrk, as fast as it can; LONG=1 for the heaviest names (flood.lua).
# Prints how many it sent, and how many were refused (429, 409).
flood() {
  FLOOD_TOKEN=$(user_token flooder) FLOOD_ROUTES=$2 FLOOD_LONG=${3:-0} FLOOD_RUN=$(date +%s%N) \
    wrk -t2 -c8 -d "$1" -s benches/flood.lua "$base" |
    awk '/requests in/ { sent = $1 } /Non-2xx/ { refused = $NF }
      END { printf "flooder sent %d, %d refused\n", sent, refused }'
}

# catalogue_size: how many snacks `GET /snacks/` lists.
catalogue_size() { curl -fs "$base/snacks/" | jq '.snacks | length'; }

# fill_catalogue FILE COUNT [LONG]: the catalogue of FILE filled to exactly COUNT snacks (the
# catalogue limit set to COUNT, the write rate off), then its server stopped.
fill_catalogue() {
  serve_sqlite "$1" SNACKDRAWER_WRITE_RATE_PER_USER=0 SNACKDRAWER_MAX_CATALOGUE_SNACKS="$2"
  while [ "$(catalogue_size)" -lt "$2" ]; do flood 2s snacks "${3:-0}" >/dev/null; done
  stop_server
}
