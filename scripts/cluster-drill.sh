#!/usr/bin/env bash
# cluster-drill.sh: a fault drill on `make cluster` (scripts/cluster.sh, supervised): redis-py's
# cluster client books REQUESTS times (scripts/cluster-drill.py) while node 1 (both its kezekd)
# is SIGKILLed 4 s in and the Redis master of shard 0 8 s in; the supervisor brings each back 5 s
# later. Ends with the outcome and a check against Redis; exit 1 when anything was lost,
# oversold or left unanswered. Needs the redis-py environment (scripts/ensure-pyclients.sh).
# Usage: scripts/cluster-drill.sh [REQUESTS]   (default 30000)
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-30000}
python=.build/pyenv/bin/python
[[ -x $python ]] || bash scripts/ensure-pyclients.sh
mkdir -p var
setsid bash scripts/cluster.sh >var/cluster-drill.log 2>&1 &
cluster=$!
trap 'kill -TERM -- -$cluster 2>/dev/null || kill -TERM $cluster 2>/dev/null; wait $cluster 2>/dev/null || true' EXIT
for port in 7411 7422 7433 7412 7423 7431; do
    for _ in $(seq 1 300); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
for port in 7411 7422 7433; do until [[ $(redis-cli -p "$port" cluster info 2>/dev/null | tr -d '\r') == *cluster_state:ok* ]]; do sleep 0.1; done; done
"$python" scripts/cluster-drill.py "$requests" &
drill=$!
sleep 4
kill -9 $(grep -E '127\.0\.0\.1:74(11|12) ' var/cluster/pids | awk '{print $6}') && echo "$(date +%T) node 1 (kezekd 7411, 7412) killed"
sleep 4
master=$(redis-cli -p 6402 cluster nodes | grep -E 'master.* 0-5460' | grep -v fail | awk '{print $2}' | cut -d: -f2 | cut -d@ -f1)
kill -9 "$(cat "var/cluster/$master/redis.pid")" && echo "$(date +%T) redis master of shard 0 ($master) killed"
wait "$drill"
