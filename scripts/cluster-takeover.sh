#!/usr/bin/env bash
# cluster-takeover.sh: how long a shard is without a serving kezekd, on `make cluster`
# (scripts/cluster.sh, lease-ttl 2), ROUNDS times each: its holder SIGKILLed (same machine:
# the standby sees the pid gone), frozen with SIGSTOP (as a machine that stopped answering:
# the lease must lapse), and stopped with SIGTERM (a handoff: the lease is released). Timed
# from the signal until the shard's standby answers HEALTH +OK; the old holder is then
# started again by the cluster's supervisor (RESTART_SECONDS=1) as the new standby.
# Usage: scripts/cluster-takeover.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
mkdir -p var
RESTART_SECONDS=1 setsid bash scripts/cluster.sh >var/cluster-takeover.log 2>&1 &
cluster=$!
trap 'kill -TERM -- -$cluster 2>/dev/null || kill -TERM $cluster 2>/dev/null; wait $cluster 2>/dev/null || true' EXIT
# Shard 5461: held by 127.0.0.1:7422 (node 2), standby 127.0.0.1:7412 (node 1).
ports=(7422 7412)
for port in 7411 7422 7433 7412 7423 7431; do
    for _ in $(seq 1 300); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
until [[ $(redis-cli -p 7422 health 2>/dev/null) == OK* ]]; do sleep 0.1; done
pid_of() { pgrep -f "kezekd --config config/kezek.yaml --listen 127.0.0.1:$1 " | head -1; }
healthy() { [[ $(redis-cli -p "$1" health 2>/dev/null) == OK* ]]; }
for round in $(seq 1 "$rounds"); do
    for signal in KILL STOP TERM; do
        holder=${ports[0]} standby=${ports[1]}
        until [[ $(redis-cli -p "$standby" health 2>/dev/null) == *role=standby* ]]; do sleep 0.1; done
        pid=$(pid_of "$holder")
        start=$(date +%s.%N)
        kill -"$signal" "$pid"
        until healthy "$standby"; do sleep 0.01; done
        end=$(date +%s.%N)
        printf 'round %d SIG%-4s holder %d -> standby %d serving after %.2f s\n' "$round" "$signal" "$holder" "$standby" "$(echo "$end - $start" | bc)"
        if [[ $signal == STOP ]]; then kill -CONT "$pid"; fi  # it finds its lease taken and exits (75)
        ports=("$standby" "$holder")
        sleep 3
    done
done
