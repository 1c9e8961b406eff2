#!/usr/bin/env bash
# cluster-bench.sh: durable bookings/s of one kezekd node and of three on the Redis Cluster of
# `make cluster` (scripts/cluster.sh, 3 masters + 3 replicas), side by side, alternated for
# ROUNDS rounds: "one" loads node 1 alone (its shard's provider), "three" loads all three
# nodes at once (each its own shard's provider), with the same redis-benchmark load per node
# (-c 50 -P 16, REQUESTS each). Prints per run: bookings/s over the wall time, CPU time per
# booking of every kezekd and redis-server (from /proc), and Redis commands per booking
# (INFO commandstats of the masters, script calls included). Masters are 6401-6403 and
# replicas 6404-6406 as made (nothing fails over during the run).
# Then the price of a hop, what forwarding a misrouted request would add: node 1's CPU per
# request and redis-benchmark's median latency for PING and for BOOK at -P 1 (one request
# per round trip: a forward is one more such exchange per misrouted request).
# Usage: scripts/cluster-bench.sh [ROUNDS]   (REQUESTS=200000, REDIS_REPLICAS=1, APPENDFSYNC=always)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
requests=${REQUESTS:-200000}
mkdir -p var
RESTART_SECONDS=0 setsid bash scripts/cluster.sh >var/cluster-bench.log 2>&1 &
cluster=$!
trap 'kill -TERM -- -$cluster 2>/dev/null || kill -TERM $cluster 2>/dev/null; wait $cluster 2>/dev/null || true' EXIT
holders=(7411 7422 7433); masters=(6401 6402 6403)
source scripts/cluster-bench-lib.sh
wait_for_cluster
make_shard_providers
redis_calls() {
    local total=0 port
    for port in "${masters[@]}"; do
        total=$(( total + $(redis-cli -p "$port" info commandstats | tr -d '\r' | grep -oE 'calls=[0-9]+' | cut -d= -f2 | paste -sd+ | bc) ))
    done
    echo "$total"
}
run() {  # NAME SHARD...
    local name=$1; shift
    local before_calls start end shard bookings pids=()
    local before_kezekd before_masters before_replicas
    before_kezekd=$(cpu_ticks 'kezekd --config'); before_masters=$(cpu_ticks 'redis-server 127.0.0.1:640[123]')
    before_replicas=$(cpu_ticks 'redis-server 127.0.0.1:640[456]'); before_calls=$(redis_calls)
    start=$(date +%s.%N)
    for shard in "$@"; do
        redis-benchmark -p "${holders[$shard]}" -c 50 -P 16 -n "$requests" -r 100000000 -q BOOK "${providers[$shard]}" "h:__rand_int__" >"var/cluster-bench-$shard.out" 2>&1 </dev/null &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    end=$(date +%s.%N)
    bookings=$(( requests * $# ))
    local kezekd=$(( $(cpu_ticks 'kezekd --config') - before_kezekd ))
    local master_ticks=$(( $(cpu_ticks 'redis-server 127.0.0.1:640[123]') - before_masters ))
    local replica_ticks=$(( $(cpu_ticks 'redis-server 127.0.0.1:640[456]') - before_replicas ))
    local calls=$(( $(redis_calls) - before_calls )) per=$(( 1000000 / $(getconf CLK_TCK) ))
    printf '%-5s nodes=%d bookings=%d seconds=%.2f bookings/s=%.0f cpu_us/booking: kezekd=%.2f masters=%.2f replicas=%.2f redis_calls/booking=%.2f\n' "$name" "$#" "$bookings" \
        "$(echo "$end - $start" | bc)" "$(echo "$bookings / ($end - $start)" | bc -l)" \
        "$(echo "$kezekd * $per / $bookings" | bc -l)" "$(echo "$master_ticks * $per / $bookings" | bc -l)" \
        "$(echo "$replica_ticks * $per / $bookings" | bc -l)" "$(echo "$calls / $bookings" | bc -l)"
}
for round in $(seq 1 "$rounds"); do
    run one 0
    run three 0 1 2
done
hop() {  # NAME ARGS...: node 1 alone, -P 1
    local name=$1; shift
    local pid before out
    pid=$(pgrep -f "kezekd --config config/kezek.yaml --listen 127.0.0.1:7411 " | head -1)
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    out=$(redis-benchmark -p 7411 -c 50 -P 1 -n "$requests" -r 100000000 --csv "$@" 2>/dev/null | tail -1)
    local ticks=$(( $(awk '{print $14 + $15}' "/proc/$pid/stat") - before ))
    # --csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
    printf 'hop   %-4s -P 1: requests/s=%s p50_ms=%s node1_cpu_us/request=%.2f\n' "$name" \
        "$(echo "$out" | cut -d, -f2 | tr -d '"')" "$(echo "$out" | cut -d, -f5 | tr -d '"')" \
        "$(echo "$ticks * 1000000 / $(getconf CLK_TCK) / $requests" | bc -l)"
}
for round in $(seq 1 "$rounds"); do
    hop PING PING
    hop BOOK BOOK "${providers[0]}" "p1:__rand_int__"
done

