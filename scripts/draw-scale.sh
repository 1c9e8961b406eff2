#!/usr/bin/env bash
# draw-scale.sh SCALE RUNS KEZEKD [KEZEKD ...]: the DamuBala round (kezek-bench round: 55,889
# applicants, 5 choices, 42,958 of 65,739 seats held, 1,000 providers) at SCALE times the city,
# RUNS times per build, the builds alternated; each run on a fresh redis-server (appendonly
# yes, appendfsync everysec, default rewrite settings; REDIS_ARGS adds flags) and kezekd
# (--offer-ttl OFFER_TTL, default 5; KEZEKD_ARGS adds flags) on free loopback ports. Prints per
# run the time to +DRAWN, the DRAWs it took, the Redis main process's CPU for the whole run, its
# AOF rewrites, and the harness's invariant failures (with offer-ttl 5 at 10x, offers expire
# while the harness reads the results: use OFFER_TTL=600 to check every result). Bounded:
# each run is one round, at most 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: $0 SCALE RUNS KEZEKD [KEZEKD ...]" >&2; exit 2; }
scale=$1; runs=$2; shift 2
bench=.build/release/kezek-bench
[ -x "$bench" ] || { echo "build first: make build" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=""; kpid=""; rp=""
cleanup() {
    [ -n "$kpid" ] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null || true
    [ -n "$rp" ] && redis-cli -p "$rp" shutdown nosave >/dev/null 2>&1 || true
    [ -n "$work" ] && rm -rf "$work"
    kpid=""; rp=""; work=""
}
trap cleanup EXIT

one_run() {
    local bin=$1 run=$2 kp
    work=$(mktemp -d /tmp/kezek-draw.XXXXXX); rp=$(free_port); kp=$(free_port)
    redis-server --port "$rp" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes \
        --appendfsync everysec --daemonize yes --logfile "$work/redis.log" \
        --pidfile "$work/redis.pid" ${REDIS_ARGS:-} >/dev/null
    until redis-cli -p "$rp" ping >/dev/null 2>&1; do sleep 0.1; done
    redis-cli -p "$rp" set 'kezek:{lease}:epoch' 0 >/dev/null   # a new installation: no lease-ttl wait
    "$bin" --listen "127.0.0.1:$kp" --redis "127.0.0.1:$rp" --admin-listen "127.0.0.1:$(free_port)" \
        --public-listen "127.0.0.1:$(free_port)" --offer-ttl "${OFFER_TTL:-5}" --log-level warning \
        ${KEZEKD_ARGS:-} 2>"$work/kezekd.log" &
    kpid=$!
    until redis-cli -p "$kp" health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
    timeout 600 "$bench" round --target "127.0.0.1:$kp" --providers $((1000 * scale)) \
        --seats $((65739 * scale)) --held $((42958 * scale)) --applicants $((55889 * scale)) \
        --choices 5 --json >"$work/round.json" 2>"$work/bench.err" || true
    local cpu rewrites
    cpu=$(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$(cat "$work/redis.pid")/stat")
    rewrites=$(redis-cli -p "$rp" info persistence | tr -d '\r' | awk -F: '/^aof_rewrites:/ { print $2 }')
    python3 - "$work/round.json" "$bin" "$run" "$cpu" "$rewrites" <<'PY' || { echo "$bin run $run: no summary"; tail -n 3 "$work/bench.err"; }
import json, sys
path, name, run, cpu, rewrites = sys.argv[1:]
r = json.load(open(path))
inv = r.get("invariants", {})
print("%s run %s: +DRAWN after %.0f ms (%d DRAW sent); Redis CPU %s s; AOF rewrites %s; invariant failures %s; exit %s"
      % (name, run, r["draw_ms"], r["draw_attempts"], cpu, rewrites, inv.get("failures"), r["exit_code"]))
for example in inv.get("examples", [])[:3]:
    print("  " + example)
PY
    cleanup
}

for run in $(seq "$runs"); do
    for bin in "$@"; do one_run "$bin" "$run"; done
done
