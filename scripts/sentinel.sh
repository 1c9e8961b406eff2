#!/usr/bin/env bash
# sentinel.sh: kezekd on a Redis that fails over, for a user to try (`make sentinel`).
# Starts on loopback, under ./var/sentinel: a Redis primary (6390), two replicas (6391, 6392)
# and three Sentinels (26390-26392, quorum 2, the primary named "kezek", down after 2 s),
# then kezekd on $LISTEN (default 127.0.0.1:7379) with --sentinel and --redis-replicas 1.
# Try: book something, `redis-cli -p 6390 shutdown nosave`, watch kezekd follow the Sentinels
# to the promoted replica, and ask it again. Ctrl-C stops kezekd and everything this started.
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${LISTEN:-127.0.0.1:7379}
base=$(pwd)/var/sentinel
primary=6390; replicas=(6391 6392); sentinels=(26390 26391 26392)
for port in "$primary" "${replicas[@]}" "${sentinels[@]}"; do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then
        echo "sentinel: something already answers on 127.0.0.1:$port; stop it first (make stop-redis stops ours)" >&2
        exit 1
    fi
done
rm -rf "$base"; mkdir -p "$base"
started=()
cleanup() {
    for port in "${started[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
start_redis() {  # PORT [redis-server flags...]
    local port=$1; shift
    mkdir -p "$base/$port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$base/$port" --logfile "$base/$port/redis.log" \
        --pidfile "$base/$port/redis.pid" --appendonly yes --appendfsync always --save "" "$@" >/dev/null
    started+=("$port")
    until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
}
start_redis "$primary"
for port in "${replicas[@]}"; do start_redis "$port" --replicaof 127.0.0.1 "$primary"; done
for port in "${sentinels[@]}"; do
    mkdir -p "$base/$port"
    cat > "$base/$port/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize yes
dir $base/$port
logfile $base/$port/sentinel.log
pidfile $base/$port/sentinel.pid
sentinel monitor kezek 127.0.0.1 $primary 2
sentinel down-after-milliseconds kezek 2000
sentinel failover-timeout kezek 10000
CONF
    redis-server "$base/$port/sentinel.conf" --sentinel >/dev/null
    started+=("$port")
done
for port in "${sentinels[@]}"; do
    until [[ $(redis-cli -p "$port" sentinel replicas kezek 2>/dev/null | grep -c '^name$') == 2 ]]; do sleep 0.2; done
done
echo "sentinel: primary 127.0.0.1:$primary, replicas ${replicas[*]}, sentinels ${sentinels[*]} (data and logs in var/sentinel)"
echo "sentinel: try \`redis-cli -p $primary shutdown nosave\` while booking on $listen"
.build/release/kezekd --config config/kezek.yaml --listen "$listen" --redis-replicas 1 \
    --sentinel "$(printf '127.0.0.1:%s,' "${sentinels[@]}" | sed 's/,$//')" --sentinel-master kezek
