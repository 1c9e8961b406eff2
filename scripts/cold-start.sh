#!/usr/bin/env bash
# cold-start.sh [SCALE] [ROUNDS] [KEZEKD_A] [KEZEKD_B]: how long a kezekd takes from its start
# over a Redis holding the city until it answers BOOK, for two builds side by side. Builds the
# DamuBala opening at SCALE times its size (default 100) once with KEZEKD_A (write-timeout 30 s,
# so the burst lands whole), saves Redis's snapshot, then ROUNDS times (default 2) starts a fresh
# redis-server from it and times a cold kezekd, A B B A per round (order effects cancel). B
# defaults to A. Loopback only; bounded by the one opening and the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-100}; rounds=${2:-2}
a=${3:-.build/release/kezekd}; b=${4:-$a}; bench=.build/release/kezek-bench
[[ -x $a && -x $b && -x $bench ]] || { echo "build first: make build" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d /tmp/kezek-cold.XXXXXX); pids=(); ports=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
            for port in "${ports[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done; rm -rf "$work"; }
trap cleanup EXIT
redis() {   # redis DIR: a redis-server on a free port with DIR as its directory, its port in $rp
    rp=$(free_port); ports+=("$rp")
    redis-server --port "$rp" --bind 127.0.0.1 --dir "$1" --save '' --appendonly no --daemonize yes --logfile "$1/redis.log" >/dev/null
    until redis-cli -p "$rp" ping 2>/dev/null | grep -q PONG; do sleep 0.1; done   # LOADING until the snapshot is read
}
kezekd() {  # kezekd BIN: started over $rp, its port in $kp
    kp=$(free_port)
    "$1" --listen "127.0.0.1:$kp" --redis "127.0.0.1:$rp" --admin-listen "127.0.0.1:$(free_port)" \
        --public-listen "127.0.0.1:$(free_port)" --write-timeout 30 --log-level warning 2>>"$work/kezekd.log" &
    kpid=$!; pids+=("$kpid")
}
mkdir "$work/city"; redis "$work/city"
redis-cli -p "$rp" set 'kezek:{lease}:epoch' 0 >/dev/null   # a new installation (README, "Durability")
kezekd "$a"
until redis-cli -p "$kp" health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
"$bench" damubala --target "127.0.0.1:$kp" --providers $((1000 * scale)) --seats $((65739 * scale)) \
    --held $((42958 * scale)) --applicants $((55889 * scale)) >"$work/bench.log" 2>&1 || true
grep -E '^(held|burst) ' "$work/bench.log" || true
probe=$(redis-cli -p "$rp" srandmember 'kezek:providers')
kill "$kpid"; wait "$kpid" 2>/dev/null || true
redis-cli -p "$rp" del 'kezek:{lease}:owner' >/dev/null; redis-cli -p "$rp" save >/dev/null
echo "Redis holds $(redis-cli -p "$rp" dbsize) keys; cold starts until BOOK $probe is answered:"
redis-cli -p "$rp" shutdown nosave >/dev/null
once() {    # once BIN: one cold start over a copy of the snapshot
    mkdir "$work/run"; cp "$work/city/dump.rdb" "$work/run/"; redis "$work/run"
    local started; started=$(date +%s.%N); kezekd "$1"
    until reply=$(redis-cli -p "$kp" book "$probe" "cold-$RANDOM" 2>/dev/null) && [[ $reply =~ ^(BOOKED|FULL|WAITING) ]]; do sleep 0.02; done
    echo "$1: $(python3 -c "import time; print('%.2f' % (time.time() - $started))") s"
    kill "$kpid"; wait "$kpid" 2>/dev/null || true
    redis-cli -p "$rp" shutdown nosave >/dev/null; rm -rf "$work/run"
}
for _ in $(seq "$rounds"); do once "$a"; once "$b"; once "$b"; once "$a"; done
