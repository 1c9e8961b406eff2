#!/usr/bin/env bash
# What TLS on the client port costs: durable BOOK (each answer waits for Redis) through the
# plain port and through tls-port of one kezekd, alternated plain, TLS, plain, TLS ... at -P 16
# and -P 1 (redis-benchmark -c 50; --tls for the TLS runs), medians and their ratio; then
# new connections per second, each a full handshake and one PING (redis-benchmark -k 0).
# Certificates are made with openssl into the run's work directory. Private Redis
# (appendonly yes, appendfsync everysec), loopback only.
# Usage: scripts/tls-cost.sh [ROUNDS] (default 3); THREADS (default 1), REQUESTS_P16, REQUESTS_P1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS_P1=${REQUESTS_P1:-200000}
REQUESTS_P16=${REQUESTS_P16:-1000000}
REQUESTS_CONNECT=${REQUESTS_CONNECT:-5000}
THREADS=${THREADS:-1}
REDIS_PORT=${REDIS_PORT:-6461}
KEZEK_PORT=${KEZEK_PORT:-7461}
TLS_PORT=${TLS_PORT:-7464}
ADMIN_PORT=${ADMIN_PORT:-7462}
PUBLIC_PORT=${PUBLIC_PORT:-7463}
KEZEKD=${KEZEKD:-.build/release/kezekd}
[ -x "$KEZEKD" ] || { echo "build first: make build" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "tls-cost: stopped with status $status" >&2
    tail -n 20 "$work/kezekd.log" >&2 2>/dev/null || true
  fi
  [ -n "${kezek_pid:-}" ] && kill "$kezek_pid" 2>/dev/null || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

ssl() { openssl "$@" >/dev/null 2>&1; }
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" -out "$work/ca.crt" -days 1 -subj "/CN=tls-cost CA"
ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/server.key" -out "$work/server.csr" -subj "/CN=kezekd"
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.ext"
ssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -out "$work/server.crt" -days 1 -extfile "$work/san.ext"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes \
  --appendfsync everysec --daemonize yes --logfile "$work/redis.log" >/dev/null
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done
redis-cli -p "$REDIS_PORT" set 'tls:{lease}:epoch' 0 >/dev/null   # a new installation: no lease-ttl wait
"$KEZEKD" --listen 127.0.0.1:$KEZEK_PORT --redis 127.0.0.1:$REDIS_PORT --admin-listen 127.0.0.1:$ADMIN_PORT \
  --public-listen 127.0.0.1:$PUBLIC_PORT --threads "$THREADS" --key-prefix tls --log-level warning \
  --tls-port "$TLS_PORT" --tls-cert-file "$work/server.crt" --tls-key-file "$work/server.key" --tls-auth-clients no \
  2>"$work/kezekd.log" &
kezek_pid=$!
until redis-cli -p "$KEZEK_PORT" health 2>/dev/null | grep -q '^OK'; do
  kill -0 "$kezek_pid" 2>/dev/null || { echo "tls-cost: kezekd exited" >&2; exit 1; }
  sleep 0.1
done

# rps of one redis-benchmark run (its last "requests per second" figure).
rps() {
  redis-benchmark -c 50 -r 100000000 "$@" >"$work/run.out" 2>&1 || true
  local figure
  figure=$(tr '\r' '\n' <"$work/run.out" | grep 'requests per second' | tail -1 | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/') || true
  if [ -z "$figure" ]; then
    echo "tls-cost: redis-benchmark $* printed no figure; its last lines:" >&2
    tr '\r' '\n' <"$work/run.out" | grep . | tail -5 >&2
    return 1
  fi
  echo "$figure"
}
tls=(--tls --cacert "$work/ca.crt")
# Each run books at a provider of its own, empty, with room for all its bookings (the
# counter is bumped here, not in `book`, which runs in a subshell).
runs=0
book() {  # book PROVIDER PORT PIPELINE REQUESTS [--tls ...]: "rps kezekd-cpu-µs-per-booking"
  local provider=$1 port=$2 pipeline=$3 requests=$4
  shift 4
  redis-cli -p "$KEZEK_PORT" provider "$provider" 10000000 >/dev/null
  local before figure after
  before=$(cpu_ticks)
  figure=$(rps "$@" -p "$port" -P "$pipeline" -n "$requests" -q BOOK "$provider" h:__rand_int__)
  after=$(cpu_ticks)
  echo "$figure $(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')"
}
# kezekd's user + system CPU so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$kezek_pid/stat"; }
next() { runs=$((runs + 1)); provider="open$runs"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A results cpu_us
for round in $(seq "$ROUNDS"); do
  for spec in "p16plain $KEZEK_PORT 16 $REQUESTS_P16" "p16tls $TLS_PORT 16 $REQUESTS_P16 tls" \
              "p1plain $KEZEK_PORT 1 $REQUESTS_P1" "p1tls $TLS_PORT 1 $REQUESTS_P1 tls"; do
    read -r case port pipeline requests secure <<<"$spec"
    next
    read -r figure cpu <<<"$(book "$provider" "$port" "$pipeline" "$requests" ${secure:+"${tls[@]}"})"
    results[$case]+="$figure "
    cpu_us[$case]+="$cpu "
  done
  results[connplain]+="$(rps -k 0 -p "$KEZEK_PORT" -n "$REQUESTS_CONNECT" -q PING) "
  results[conntls]+="$(rps -k 0 -p "$TLS_PORT" -n "$REQUESTS_CONNECT" -q "${tls[@]}" PING) "
done
echo "machine: $(nproc) cores, $(uname -r), $(openssl version); kezekd threads=$THREADS, redis-benchmark -c 50, rounds=$ROUNDS (alternated), medians in requests/s:"
for case in p16 p1 conn; do
  plain=$(echo "${results[${case}plain]}" | tr ' ' '\n' | grep . | median)
  secure=$(echo "${results[${case}tls]}" | tr ' ' '\n' | grep . | median)
  label=$case; [ "$case" = conn ] && label="new connections (-k 0, PING)"
  printf '%-30s plain %10s  tls %10s  tls/plain %.2f   runs plain: %s tls: %s\n' "$label" "$plain" "$secure" \
    "$(awk -v s="$secure" -v p="$plain" 'BEGIN { print (p > 0 ? s / p : 0) }')" "${results[${case}plain]}" "${results[${case}tls]}"
  if [ "$case" != conn ]; then
    printf '%-30s plain %10s  tls %10s   runs plain: %s tls: %s\n' "  kezekd CPU µs per booking" \
      "$(echo "${cpu_us[${case}plain]}" | tr ' ' '\n' | grep . | median)" "$(echo "${cpu_us[${case}tls]}" | tr ' ' '\n' | grep . | median)" \
      "${cpu_us[${case}plain]}" "${cpu_us[${case}tls]}"
  fi
done
