#!/usr/bin/env bash
# stop-redis.sh: stop the private redis-server(s) started by scripts/ensure-redis.sh, found
# through their pidfiles ./var/redis/PORT/redis.pid (never by name). Data is kept.
set -euo pipefail

shopt -s nullglob
for pidfile in "$(pwd)"/var/redis/*/redis.pid; do
    pid=$(<"$pidfile")
    if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$pidfile"    # stale: that redis is gone
        continue
    fi
    kill -TERM "$pid"       # redis-server flushes the AOF and removes its pidfile on SIGTERM
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "stop-redis: redis-server (pid $pid) still running after 10 s" >&2
        exit 1
    fi
    echo "stop-redis: stopped redis-server pid $pid (${pidfile%/redis.pid})" >&2
done
