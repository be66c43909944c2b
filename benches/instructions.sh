#!/usr/bin/env bash
# What the instrumentation costs, in instructions per request: the instrumentation benchmark's
# request mix under callgrind, once per set-up (off, metrics, unsampled, logged, faults, sampled; the
# benchmark's `tenth` samples at random, so its count would not repeat). Callgrind counts
# instructions rather than time, so on the memory store the figures repeat exactly from run
# to run, however busy the machine is; throughput ratios from `cargo bench --bench
# instrumentation` drift on a shared 2-core machine.
#
# Each set-up runs twice, with N and 2N requests; the difference divided by N is the cost of
# one request with start-up and preparation taken out.
#
#   benches/instructions.sh                # N=5000 on the memory store
#   STORES=sqlite N=2000 benches/instructions.sh
#   SETUPS="logged faults" benches/instructions.sh   # some set-ups (the first is the baseline)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install -y valgrind" >&2; exit 1; }
N=${N:-5000}
export STORES=${STORES:-memory}
[[ $STORES == memory || $STORES == sqlite ]] || { echo "STORES must be memory or sqlite" >&2; exit 1; }

bench=$(cargo bench --bench instrumentation --no-run 2>&1 |
  sed -n 's/.*Executable benches\/instrumentation.rs (\(.*\))/\1/p')
[[ -x $bench ]] || { echo "the benchmark did not build: cargo bench --bench instrumentation --no-run" >&2; exit 1; }

# instructions SETUP REQUESTS: the instructions callgrind counted for one whole run.
instructions() {
  ONLY=$1 REQUESTS=$2 CLIENTS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bench" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

echo "$STORES store, instructions per request (callgrind, $N and $((2 * N)) requests)"
off="" base="" previous="" previous_setup=""
for setup in ${SETUPS:-off metrics unsampled logged faults sampled}; do
  once=$(instructions "$setup" "$N")
  twice=$(instructions "$setup" $((2 * N)))
  [[ -n $once && -n $twice ]] || { echo "callgrind counted nothing for $setup; run it by hand: ONLY=$setup $bench" >&2; exit 1; }
  per_request=$(((twice - once) / N))
  off=${off:-$per_request}
  base=${base:-$setup}
  awk -v s="$setup" -v n="$per_request" -v off="$off" -v base="$base" \
    'BEGIN { printf "%-8s %8d instructions   %6.1f %% of %s   (as throughput: about %5.1f %% of %s)\n", s, n, 100 * n / off, base, 100 * off / n, base }'
  # Fault injection armed but idle, against the same set-up without it (`logged`).
  if [[ $setup == faults && $previous_setup == logged ]]; then
    awk -v n="$per_request" -v base="$previous" \
      'BEGIN { printf "         faults built in but off: %+d instructions per request (%+.2f %%) against logged\n", n - base, 100 * (n - base) / base }'
  fi
  previous=$per_request previous_setup=$setup
done
