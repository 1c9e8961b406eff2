#!/usr/bin/env bash
# Latency against the floor (issue 14): p99 of durable BOOK at RATE/s open loop through
# kezek-bench, divided by the p99 of PING to Redis itself at the same rate through the same
# harness, alternating A B A B in one run, on a private Redis (appendonly yes, appendfsync
# everysec). Prints each run and the ratio of the medians. Loopback only, bounded in time.
# Usage: scripts/latency-floor.sh [ROUNDS] (default 3); RATE, SECONDS, CONNECTIONS, THREADS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
RATE=${RATE:-50000}
SECONDS_PER_RUN=${SECONDS:-4}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
REDIS_PORT=${REDIS_PORT:-6421}
KEZEK_PORT=${KEZEK_PORT:-7421}
ADMIN_PORT=${ADMIN_PORT:-7422}
KEZEKD=${KEZEKD:-.build/release/kezekd}
BENCH=${BENCH:-.build/release/kezek-bench}
for binary in "$KEZEKD" "$BENCH"; do [ -x "$binary" ] || { echo "build first: make build ($binary)" >&2; exit 1; }; done

source scripts/private-stack.sh
private_stack_start latency-floor floor

# p99 in microseconds of one open-loop run (kezek-bench --json: the last phase's latency).
p99() {
  "$BENCH" book --rate "$RATE" --duration "$SECONDS_PER_RUN" -c "$CONNECTIONS" -P 0 --json "$@" 2>/dev/null |
    python3 -c 'import json, sys; report = json.load(sys.stdin); print(report["phases"][-1]["latency_us"]["p99"])'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
books=(); pings=()
for round in $(seq "$ROUNDS"); do
  book=$(p99 --target 127.0.0.1:$KEZEK_PORT --providers 100 --capacity 100000000)
  ping=$(p99 --target 127.0.0.1:$REDIS_PORT --command PING)
  books+=("$book"); pings+=("$ping")
  printf 'round %d  BOOK p99 %6d us   PING (Redis) p99 %6d us\n' "$round" "$book" "$ping"
done
b=$(printf '%s\n' "${books[@]}" | median); p=$(printf '%s\n' "${pings[@]}" | median)
echo "machine: $(nproc) cores; kezekd --threads $THREADS; $RATE/s for ${SECONDS_PER_RUN}s over $CONNECTIONS connections"
printf 'median p99: BOOK %d us, PING %d us, ratio %.2f (goal < 1.5)\n' "$b" "$p" "$(awk -v b="$b" -v p="$p" 'BEGIN { print (p > 0 ? b / p : 0) }')"
