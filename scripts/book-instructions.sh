#!/usr/bin/env bash
# book-instructions.sh [KEZEKD ...]: user-space instructions kezekd executes per durable BOOK
# (redis-benchmark -c 50 -P 16, one provider, --threads 1), counted by valgrind's callgrind.
# Unlike CPU time on a shared machine, the count repeats to within 0.3% run to run, so a change
# to the hot path can be judged from one run per build. Each build runs twice, with 20,000 and
# 70,000 BOOKs, and the difference is divided by 50,000 (start-up and shutdown cancel out).
# The debug info is stripped first (valgrind 3.19 cannot read Swift's DWARF 5). Loopback only;
# a run takes about a minute per build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind: apt-get install -y valgrind" >&2; exit 1; }
[ $# -gt 0 ] || set -- .build/release/kezekd
work=$(mktemp -d)
trap 'redis-cli -p "${rp:-0}" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# instructions BINARY COUNT: the total of one run of COUNT BOOKs.
instructions() {
    local bin=$1 count=$2 kp pid
    rp=$(free_port); kp=$(free_port)
    redis-server --port "$rp" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes \
        --appendfsync everysec --daemonize yes --logfile "$work/redis.log" >/dev/null
    until redis-cli -p "$rp" ping >/dev/null 2>&1; do sleep 0.1; done
    redis-cli -p "$rp" set 'kezek:{lease}:epoch' 0 >/dev/null   # a new installation: no lease-ttl wait
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" --listen "127.0.0.1:$kp" \
        --redis "127.0.0.1:$rp" --admin-listen "127.0.0.1:$(free_port)" \
        --public-listen "127.0.0.1:$(free_port)" --threads 1 --write-timeout 60 \
        --log-level warning 2>"$work/kezekd.log" &
    pid=$!
    for _ in $(seq 600); do
        redis-cli -p "$kp" health 2>/dev/null | grep -q '^OK' && break
        kill -0 "$pid" 2>/dev/null || { cat "$work/kezekd.log" >&2; exit 1; }
        sleep 0.2
    done
    redis-cli -p "$kp" provider open 10000000 >/dev/null
    redis-benchmark -p "$kp" -c 50 -P 16 -n "$count" -r 100000000 -q BOOK open h:__rand_int__ >/dev/null
    kill -TERM "$pid"; wait "$pid" || true
    redis-cli -p "$rp" shutdown nosave >/dev/null; rm -rf "$work"/appendonly*
    callgrind_annotate "$work/out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
    rm -f "$work/out"
}

for bin in "$@"; do
    objcopy --strip-debug "$bin" "$work/kezekd"
    small=$(instructions "$work/kezekd" 20000)
    large=$(instructions "$work/kezekd" 70000)
    awk -v name="$bin" -v s="$small" -v l="$large" \
        'BEGIN { printf "%s: %.0f instructions per BOOK\n", name, (l - s) / 50000 }'
done
