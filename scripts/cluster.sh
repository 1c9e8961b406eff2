#!/usr/bin/env bash
# cluster.sh: Kezek on Redis Cluster, for a user to try (`make cluster`).
# Starts on loopback, under ./var/cluster: a Redis Cluster of 3 masters (6401-6403) with one
# replica each (6404-6406; cluster-node-timeout 2 s), then 3 kezekd nodes. A kezekd serves
# one shard (--shard-slot: 0, 5461, 10923), so node N runs two: the holder of shard N and a
# standby for shard N+1, which takes that shard over when its node dies:
#   node 1: 127.0.0.1:7411 (shard 0)  127.0.0.1:7412 (standby, shard 5461)
#   node 2: 127.0.0.1:7422 (shard 5461)  127.0.0.1:7423 (standby, shard 10923)
#   node 3: 127.0.0.1:7433 (shard 10923)  127.0.0.1:7431 (standby, shard 0)
# Every kezekd answers -MOVED for providers it does not serve: `redis-cli -c -p 7411 BOOK
# p1 alice` follows it. Every process is supervised as systemd would (Restart=always,
# RestartSec=5): one killed comes back 5 s later, a Redis master as a replica once its
# replica took over (cluster-node-timeout 2 s), a kezekd as a standby once its shard was
# taken over. Try: book, kill -9 a kezekd (pids in var/cluster/pids) or a Redis master
# (var/cluster/PORT/redis.pid), and ask again. Ctrl-C stops everything this started.
# RESTART_SECONDS=0 turns the supervision off; KEZEKD_ARGS adds arguments to every kezekd
# (e.g. KEZEKD_ARGS="--holder-limit 1").
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(pwd)/var/cluster
kezekd=${KEZEKD:-.build/release/kezekd}
masters=(6401 6402 6403); replicas=(6404 6405 6406)
slots=(0 5461 10923)
for port in "${masters[@]}" "${replicas[@]}" 7411 7412 7422 7423 7433 7431; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "cluster: something already answers on 127.0.0.1:$port; stop it first" >&2
        exit 1
    fi
done
rm -rf "$base"; mkdir -p "$base"
pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for port in "${masters[@]}" "${replicas[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
start_redis() {  # PORT
    local port=$1
    mkdir -p "$base/$port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$base/$port" --logfile "$base/$port/redis.log" \
        --pidfile "$base/$port/redis.pid" --appendonly yes --appendfsync "${APPENDFSYNC:-always}" --save "" \
        --cluster-enabled yes --cluster-config-file "$base/$port/nodes.conf" --cluster-node-timeout 2000 >/dev/null
    until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
}
for port in "${masters[@]}" "${replicas[@]}"; do start_redis "$port"; done
nodes=()
for port in "${masters[@]}" "${replicas[@]}"; do nodes+=("127.0.0.1:$port"); done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$base/create.log"
until [[ $(redis-cli -p "${masters[0]}" cluster info | tr -d '\r' | grep -c '^cluster_state:ok') == 1 ]]; do sleep 0.2; done
for port in "${masters[@]}" "${replicas[@]}"; do
    until [[ $(redis-cli -p "$port" cluster info | tr -d '\r' | grep -c '^cluster_state:ok') == 1 ]]; do sleep 0.2; done
done
# Replicas linked, so that WAIT 1 (--redis-replicas 1) is answered from the first booking.
for port in "${masters[@]}" "${replicas[@]}"; do
    until redis-cli -p "$port" info replication | tr -d '\r' | grep -qE '^master_link_status:up|^connected_slaves:[1-9]'; do sleep 0.2; done
done
seeds=$(printf '127.0.0.1:%s,' "${masters[@]}" "${replicas[@]}" | sed 's/,$//')
: >"$base/pids"
declare -A kezekd_args kezekd_pid
start_kezekd() {  # NODE SHARD-INDEX PORT
    local node=$1 shard=$2 port=$3
    kezekd_args[$port]="$node $shard"
    "$kezekd" --config config/kezek.yaml --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$((port + 100))" \
        --public-listen "127.0.0.1:$((port + 200))" --redis-cluster "$seeds" --shard-slot "${slots[$shard]}" \
        --redis-replicas "${REDIS_REPLICAS:-1}" --lease-ttl 2 --node-id "node$node" ${KEZEKD_ARGS:-} \
        2>>"$base/kezekd-$port.log" &
    kezekd_pid[$port]=$!
    pids+=($!)
    echo "node$node shard ${slots[$shard]} 127.0.0.1:$port pid $!" | tee -a "$base/pids"
}
# Holders first, so each node holds its own shard; then the standbys.
start_kezekd 1 0 7411; start_kezekd 2 1 7422; start_kezekd 3 2 7433
for port in 7411 7422 7433; do
    until [[ $(redis-cli -p "$port" health 2>/dev/null) == OK* ]]; do sleep 0.1; done
done
start_kezekd 1 1 7412; start_kezekd 2 2 7423; start_kezekd 3 0 7431
echo "cluster: redis masters ${masters[*]}, replicas ${replicas[*]}; kezekd pids in var/cluster/pids, logs in var/cluster"
echo "cluster: try \`redis-cli -c -p 7411 BOOK alatau.sportschool-01 alice\`; Ctrl-C stops everything"
restart=${RESTART_SECONDS:-5}
declare -A down_since
while true; do
    sleep 1
    [[ $restart == 0 ]] && continue
    now=$(date +%s)
    for port in "${masters[@]}" "${replicas[@]}"; do
        if kill -0 "$(cat "$base/$port/redis.pid" 2>/dev/null || echo 0)" 2>/dev/null; then unset "down_since[$port]"; continue; fi
        : "${down_since[$port]:=$now}"
        if (( now - down_since[$port] >= restart )); then
            echo "cluster: redis $port is gone; restarting it"; rm -f "$base/$port/redis.pid"; start_redis "$port"; unset "down_since[$port]"
        fi
    done
    for port in "${!kezekd_pid[@]}"; do
        if kill -0 "${kezekd_pid[$port]}" 2>/dev/null; then unset "down_since[$port]"; continue; fi
        : "${down_since[$port]:=$now}"
        if (( now - down_since[$port] >= restart )); then
            echo "cluster: kezekd $port is gone; restarting it"; read -r node shard <<<"${kezekd_args[$port]}"; start_kezekd "$node" "$shard" "$port"
            unset "down_since[$port]"
        fi
    done
done
