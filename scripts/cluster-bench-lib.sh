# Shared by scripts/cluster-bench.sh and scripts/cluster-limit-bench.sh (sourced, not run):
# waiting for `make cluster`'s nodes, one provider per shard, and CPU accounting.
# Expects `holders` (the three kezekd ports) to be set by the caller.

wait_for_cluster() {  # every kezekd and Redis port answers, then every holder is healthy
    local port
    for port in 7411 7422 7433 7412 7423 7431; do
        for _ in $(seq 1 600); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    for port in "${holders[@]}"; do until [[ $(redis-cli -p "$port" health 2>/dev/null) == OK* ]]; do sleep 0.1; done; done
}

make_shard_providers() {  # sets `providers`: one per shard, named so that its slot is in that shard
    local shard i slot index
    providers=()
    for shard in 0 1 2; do
        for i in $(seq 0 200); do
            slot=$(redis-cli -p 7411 cluster keyslot "bench-$i")
            index=$(( slot < 5461 ? 0 : slot < 10923 ? 1 : 2 ))
            if (( index == shard )); then providers+=("bench-$i"); break; fi
        done
        redis-cli -p "${holders[$shard]}" provider "${providers[$shard]}" 10000000 | grep -qx OK
    done
}

cpu_ticks() {  # PATTERN: user+system clock ticks of the processes matching it
    local total=0 pid
    for pid in $(pgrep -f "$1"); do
        total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0) ))
    done
    echo "$total"
}
