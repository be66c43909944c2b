#!/usr/bin/env bash
# What one replica uses, for the requests and limits of ops/k8s/base/deployment.yaml: the release
# binary set up as a pod is (PostgreSQL, one hashing worker, scrypt at its default cost, JSON
# logs, login limits on), first under snackdrawer-load shaped as the cluster's load Job
# (ops/k8s/load/job.yaml: 20 users, one more a second, snackers and nosy neighbours, 1-3 s of
# thinking), then under a stress run of the same mix with no thinking and the login limits off
# (more sign-ups a second than one address may send). For each phase it prints the service's
# CPU use (cores, averaged over the phase: utime + stime from /proc) and its resident memory
# (the most of the per-second samples of VmRSS, and VmHWM, the peak since start), and the load
# generator's own CPU and peak RSS (GNU time), for the load Job's requests and limits.
#
#   SNACKDRAWER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres benches/resources.sh
#   PHASE=30s USERS=20 STRESS_USERS=32 benches/resources.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
: "${SNACKDRAWER_TEST_POSTGRES_URL:?set it to a PostgreSQL server where the user may create databases}"
PHASE=${PHASE:-60s}
USERS=${USERS:-20}
STRESS_USERS=${STRESS_USERS:-32}
target=${CARGO_TARGET_DIR:-target}

command -v /usr/bin/time >/dev/null || { echo "GNU time is needed: apt-get install -y time" >&2; exit 1; }
cargo build --release --quiet --workspace --bins
database="snackdrawer_resources_$$"
psql -X -q "$SNACKDRAWER_TEST_POSTGRES_URL" -c "CREATE DATABASE $database"
drop_database() {
  stop_server
  psql -X -q "$SNACKDRAWER_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"
}
trap drop_database EXIT

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$server/status"; }

# phase NAME LOAD-ARGS...: runs snackdrawer-load for $PHASE and prints what the server used.
phase() {
  local name=$1; shift
  local started_ticks started_ns peak=0 rss
  started_ticks=$(cpu_ticks); started_ns=$(date +%s%N)
  /usr/bin/time -f '%e %U %S %M' -o "/tmp/snackdrawer-resources-$name.time" \
    "$target/release/snackdrawer-load" --host "$base" -t "$PHASE" --no-telnet --no-print-metrics \
    --summary-json "/tmp/snackdrawer-resources-$name.json" "$@" >/dev/null 2>&1 &
  local load=$!
  while kill -0 "$load" 2>/dev/null; do
    rss=$(kib VmRSS); (( rss > peak )) && peak=$rss
    sleep 1
  done
  wait "$load" || echo "($name: snackdrawer-load exited $?; see /tmp/snackdrawer-resources-$name.json)"
  local cores
  cores=$(awk -v t="$(( $(cpu_ticks) - started_ticks ))" -v hz="$ticks" \
    -v ns="$(( $(date +%s%N) - started_ns ))" 'BEGIN { printf "%.3f", t / hz / (ns / 1e9) }')
  printf '%-7s cpu %s cores   rss max %d MiB (sampled)   VmHWM %d MiB\n' \
    "$name" "$cores" $(( peak / 1024 )) $(( $(kib VmHWM) / 1024 ))
  # GNU time's last line: elapsed, user and system seconds, and the peak RSS in KiB.
  tail -1 "/tmp/snackdrawer-resources-$name.time" | awk '{
    printf "        the generator: cpu %.3f cores, peak rss %d MiB\n", ($2 + $3) / $1, $4 / 1024 }'
}

start_server DATABASE_URL="${SNACKDRAWER_TEST_POSTGRES_URL%/*}/$database" \
  SNACKDRAWER_HASH_WORKERS=1 SNACKDRAWER_SCRYPT_LOG_N=14 SNACKDRAWER_LOGIN_LIMITS=true
printf 'idle    rss %d MiB\n' $(( $(kib VmRSS) / 1024 ))
phase job -u "$USERS" -r 1 --mix snacker=85,nosy=15 --think-time 1s..3s
stop_server
start_server DATABASE_URL="${SNACKDRAWER_TEST_POSTGRES_URL%/*}/$database" \
  SNACKDRAWER_HASH_WORKERS=1 SNACKDRAWER_SCRYPT_LOG_N=14 SNACKDRAWER_LOGIN_LIMITS=false
phase stress -u "$STRESS_USERS" -r "$STRESS_USERS" --mix snacker=85,nosy=15 --think-time 0
