#!/usr/bin/env bash
# cluster-limit-bench.sh: the price of the holder limit across shards (issue 26) on the Redis
# Cluster of `make cluster` (scripts/cluster.sh: 3 masters + 3 replicas, 3 kezekd holders and
# 3 standbys, --redis-replicas 1). Alternates, for ROUNDS rounds, a cluster started without a
# limit ("none") and one started with KEZEKD_ARGS="--holder-limit 1" ("limit1"), each fresh.
# Every BOOK is of a new random holder (`h:__rand_int__` over 10^8) at a provider of
# 10,000,000 seats, so every booking with the limit asks its holder's home master for a unit:
# the worst case (a +FULL or a seat already held costs no hop).
#   load: the three nodes at once, each its own shard's provider, redis-benchmark -c 50 -P 16,
#         REQUESTS each: bookings/s over the wall time, CPU time per booking of every kezekd,
#         master and replica (from /proc, the standbys' and idle processes' included).
#   latency: node 1 alone, -c 50 -P 1, REQUESTS: requests/s and p50/p99 (redis-benchmark).
# Usage: scripts/cluster-limit-bench.sh [ROUNDS]   (REQUESTS=100000)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
requests=${REQUESTS:-100000}
mkdir -p var
holders=(7411 7422 7433)
cluster=
stop_cluster() {
    [[ -n $cluster ]] || return 0
    kill -TERM -- "-$cluster" 2>/dev/null || kill -TERM "$cluster" 2>/dev/null || true
    wait "$cluster" 2>/dev/null || true
    cluster=
}
trap stop_cluster EXIT
source scripts/cluster-bench-lib.sh
start_cluster() {  # KEZEKD_ARGS
    KEZEKD_ARGS="$1" RESTART_SECONDS=0 setsid bash scripts/cluster.sh >var/cluster-limit-bench.log 2>&1 &
    cluster=$!
    wait_for_cluster
    make_shard_providers
}
measure() {  # NAME
    local name=$1 start end pids=() shard out kezekd masters replicas
    kezekd=$(cpu_ticks 'kezekd --config'); masters=$(cpu_ticks 'redis-server 127.0.0.1:640[123]')
    replicas=$(cpu_ticks 'redis-server 127.0.0.1:640[456]')
    start=$(date +%s.%N)
    for shard in 0 1 2; do
        redis-benchmark -p "${holders[$shard]}" -c 50 -P 16 -n "$requests" -r 100000000 -q \
            BOOK "${providers[$shard]}" "h:__rand_int__" >"var/cluster-limit-bench-$shard.out" 2>&1 </dev/null &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    end=$(date +%s.%N)
    local per=$(( 1000000 / $(getconf CLK_TCK) )) bookings=$(( 3 * requests ))
    kezekd=$(( $(cpu_ticks 'kezekd --config') - kezekd ))
    masters=$(( $(cpu_ticks 'redis-server 127.0.0.1:640[123]') - masters ))
    replicas=$(( $(cpu_ticks 'redis-server 127.0.0.1:640[456]') - replicas ))
    # --csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",…
    out=$(redis-benchmark -p 7411 -c 50 -P 1 -n "$requests" -r 100000000 --csv \
        BOOK "${providers[0]}" "k:__rand_int__" 2>/dev/null | tail -1 | tr -d '"')
    local booked
    booked=$(for shard in 0 1 2; do redis-cli -p "${holders[$shard]}" seats "${providers[$shard]}"; done \
        | grep -oE 'booked=[0-9]+' | cut -d= -f2 | paste -sd+ | bc)
    printf '%-6s load: bookings/s=%.0f cpu_us/booking: kezekd=%.2f masters=%.2f replicas=%.2f' "$name" \
        "$(echo "$bookings / ($end - $start)" | bc -l)" "$(echo "$kezekd * $per / $bookings" | bc -l)" \
        "$(echo "$masters * $per / $bookings" | bc -l)" "$(echo "$replicas * $per / $bookings" | bc -l)"
    printf ' (%s booked in all)  latency -P 1: requests/s=%s p50_ms=%s p99_ms=%s\n' "$booked" \
        "$(echo "$out" | cut -d, -f2)" "$(echo "$out" | cut -d, -f5)" "$(echo "$out" | cut -d, -f7)"
}
for round in $(seq 1 "$rounds"); do
    for mode in none limit1; do
        if [[ $mode == none ]]; then start_cluster ""; else start_cluster "--holder-limit 1"; fi
        measure "$mode"
        stop_cluster
    done
done
