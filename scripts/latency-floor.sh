#!/usr/bin/env bash
# latency-floor.sh [RUNS] [RATE] [SECONDS]: p99 of durable BOOK through kezekd divided by the
# p99 of PING to Redis itself, both sent by kezek-bench at the same open-loop rate (default
# 50,000/s for 10 s), alternated RUNS times (default 3) against one redis-server (appendonly,
# appendfsync everysec) and one kezekd on free loopback ports. The floor is what the harness,
# the network stack and Redis cost; the ratio is what kezekd and the durable write add.
# BASELINE=lua measures against the same BOOK load done by the Lua script in that Redis
# (scripts/lua/book.lua, as `make compare` does) instead of PING.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}; rate=${2:-50000}; seconds=${3:-10}
bench=.build/release/kezek-bench
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d /tmp/kezek-floor.XXXXXX)
rp=$(free_port); kp=$(free_port)
# REDIS_ARGS adds redis-server flags (e.g. "--auto-aof-rewrite-percentage 0" to see what AOF
# rewrites cost the tail); KEZEKD_ARGS adds kezekd flags (e.g. "--mirror-pipeline 1").
redis-server --port "$rp" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes --appendfsync everysec \
    --daemonize yes --logfile "$work/redis.log" ${REDIS_ARGS:-} >/dev/null
until redis-cli -p "$rp" ping >/dev/null 2>&1; do sleep 0.1; done
redis-cli -p "$rp" set 'kezek:{lease}:epoch' 0 >/dev/null   # a new installation: no lease-ttl wait (README, "Durability")
.build/release/kezekd --listen "127.0.0.1:$kp" --redis "127.0.0.1:$rp" --admin-listen "127.0.0.1:$(free_port)" \
    --public-listen "127.0.0.1:$(free_port)" --log-level warning ${KEZEKD_ARGS:-} 2>"$work/kezekd.log" &
kpid=$!
trap 'kill $kpid 2>/dev/null; redis-cli -p $rp shutdown nosave >/dev/null 2>&1; rm -rf $work' EXIT
until redis-cli -p "$kp" health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
p99() { python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
load = next(p for p in run["phases"] if p["name"] == "load")
print(load["latency_us"]["p99"], round(load["replies_per_second"]))' "$1"; }
baseline=${BASELINE:-ping}
if [[ $baseline == lua ]]; then
    sha=$(redis-cli -p "$rp" script load "$(cat scripts/lua/book.lua)")
    against() { "$bench" book --target "127.0.0.1:$rp" --lua-sha "$sha" --rate "$rate" --duration "$seconds" --providers 1000 \
        --holders 100000000 --capacity 10000000 --json; }
else
    against() { "$bench" book --target "127.0.0.1:$rp" --command PING --rate "$rate" --duration "$seconds" --json; }
fi
echo "run  BOOK p99 (us)  $baseline p99 (us)  ratio   (rate $rate/s, $seconds s each)"
for run in $(seq "$runs"); do
    "$bench" book --target "127.0.0.1:$kp" --rate "$rate" --duration "$seconds" --providers 1000 --holders 100000000 \
        --capacity 10000000 --json > "$work/book.json" 2>/dev/null
    against > "$work/ping.json" 2>/dev/null
    read -r book book_rps < <(p99 "$work/book.json")
    read -r ping ping_rps < <(p99 "$work/ping.json")
    rewrites=$(grep -c "Background append only file rewriting started" "$work/redis.log" || true)
    echo "$run    $book ($book_rps/s)    $ping ($ping_rps/s)    $(awk -v a="$book" -v b="$ping" 'BEGIN { printf "%.2f", a / b }')    AOF rewrites so far: $rewrites"
done
