#!/usr/bin/env bash
# soak.sh: a bounded soak of kezekd on loopback. For SOAK_SECONDS (default 1800) it runs, side
# by side against a private redis-server and kezekd:
#   - booking load: redis-benchmark BOOK/CANCEL/STATUS/SEATS over 200 providers, in rounds;
#   - connection churn: redis-benchmark without keep-alive (a new connection per request);
#   - Redis killed with SIGKILL and restarted every REDIS_RESTART_SECONDS (default 240);
#   - hostile clients (scripts/soak-hostile.py): oversized lines, garbage RESP, clients that
#     never read, slowloris on both ports, admin floods, AUTH guessing.
# Every SAMPLE_SECONDS (10) it records kezekd's RSS, open fds, and error counts in
# var/soak/samples.csv, then prints start/middle/end figures and a verdict: it fails when
# kezekd died, or RSS or fds at the end exceed the middle by more than the allowed growth
# (ALLOW_RSS_KB, default 65536; ALLOW_FDS, default 64), i.e. grew without bound.
# Usage: scripts/soak.sh  (SOAK_SECONDS=600 scripts/soak.sh for ten minutes). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS=${SOAK_SECONDS:-1800}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
REDIS_RESTART_SECONDS=${REDIS_RESTART_SECONDS:-240}
ALLOW_RSS_KB=${ALLOW_RSS_KB:-65536}
ALLOW_FDS=${ALLOW_FDS:-64}
REDIS_PORT=${REDIS_PORT:-6431}
KEZEK_PORT=${KEZEK_PORT:-7431}
ADMIN_PORT=${ADMIN_PORT:-7432}
KEZEKD=${KEZEKD:-.build/release/kezekd}
[ -x "$KEZEKD" ] || { echo "build first: make build" >&2; exit 1; }

out=$PWD/var/soak
rm -rf "$out"
mkdir -p "$out/redis"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "${kezek_pid:-}" ] && kill "$kezek_pid" 2>/dev/null || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}
trap cleanup EXIT

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$out/redis" --save '' --appendonly yes \
    --appendfsync everysec --daemonize yes --logfile "$out/redis/redis.log" >/dev/null
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done
}
start_redis
"$KEZEKD" --listen 127.0.0.1:$KEZEK_PORT --redis 127.0.0.1:$REDIS_PORT --admin-listen 127.0.0.1:$ADMIN_PORT \
  --key-prefix soak --log-level warning --idle-timeout 60 2>"$out/kezekd.log" &
kezek_pid=$!
until redis-cli -p "$KEZEK_PORT" HEALTH 2>/dev/null | grep -q '^OK'; do sleep 0.2; done
# redis-benchmark's __rand_int__ is 12 zero-padded digits: p000000000000 … p000000000199.
for i in $(seq 0 199); do printf 'PROVIDER p%012d 50\n' "$i"; done | redis-cli -p "$KEZEK_PORT" >/dev/null

deadline=$((SECONDS + SOAK_SECONDS))
# Each load loop runs bounded redis-benchmark rounds until the deadline.
load() {
  while ((SECONDS < deadline)); do
    timeout 60 redis-benchmark -p "$KEZEK_PORT" -c 20 -n 20000 -r 200 -P 8 -q "$@" >/dev/null 2>&1 || true
  done
}
# -r 200 picks the provider and holder from the same random number; two loads with
# different ranges book and cancel overlapping holders.
load BOOK p__rand_int__ h:__rand_int__ WAIT &
pids+=($!)
load CANCEL p__rand_int__ h:__rand_int__ &
pids+=($!)
( while ((SECONDS < deadline)); do
    timeout 60 redis-benchmark -p "$KEZEK_PORT" -c 10 -n 5000 -k 0 -r 200 -q STATUS p__rand_int__ h:__rand_int__ >/dev/null 2>&1 || true
    timeout 60 redis-benchmark -p "$KEZEK_PORT" -c 10 -n 5000 -r 200 -k 0 -q SEATS p__rand_int__ >/dev/null 2>&1 || true
  done ) &
pids+=($!)
python3 scripts/soak-hostile.py "$KEZEK_PORT" "$ADMIN_PORT" "$SOAK_SECONDS" >"$out/hostile.log" 2>&1 &
pids+=($!)
( while ((SECONDS + REDIS_RESTART_SECONDS < deadline)); do
    sleep "$REDIS_RESTART_SECONDS"
    redis_pid=$(redis-cli -p "$REDIS_PORT" info server 2>/dev/null | awk -F: '/^process_id/ {print $2}' | tr -d '\r')
    [ -n "$redis_pid" ] && kill -9 "$redis_pid" && echo "$(date +%T) redis SIGKILLed" >>"$out/events.log"
    sleep 2
    start_redis && echo "$(date +%T) redis restarted" >>"$out/events.log"
  done ) &
pids+=($!)

echo "seconds,rss_kb,fds,unavailable,protocol_errors,connections" >"$out/samples.csv"
# The admin port is flooded on purpose now and then (its connections are bounded): retry.
metrics_page() {
  python3 - "http://127.0.0.1:$ADMIN_PORT/metrics" <<'PY' 2>/dev/null
import sys, time, urllib.request
for attempt in range(20):
    try:
        print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode()); break
    except Exception:
        time.sleep(0.25)
PY
}
metric() { awk -v m="$1" '$0 ~ "^"m {s += $NF} END {print s + 0}' <<<"$page"; }
start=$SECONDS
while ((SECONDS < deadline)); do
  kill -0 "$kezek_pid" 2>/dev/null || { echo "soak: kezekd died" >&2; break; }
  rss=$(awk '/^VmRSS/ {print $2}' /proc/$kezek_pid/status)
  fds=$(ls /proc/$kezek_pid/fd | wc -l)
  page=$(metrics_page)
  echo "$((SECONDS - start)),$rss,$fds,$(metric 'kezek_requests_total.*reply="unavailable"'),$(metric kezek_protocol_errors_total),$(metric kezek_open_connections)" >>"$out/samples.csv"
  sleep "$SAMPLE_SECONDS"
done

alive=yes
kill -0 "$kezek_pid" 2>/dev/null || alive=no
python3 - "$out/samples.csv" "$alive" "$ALLOW_RSS_KB" "$ALLOW_FDS" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
alive, allow_rss, allow_fds = sys.argv[2] == "yes", int(sys.argv[3]), int(sys.argv[4])
if len(rows) < 3:
    print("soak: too few samples"); sys.exit(1)
first, middle, last = rows[0], rows[len(rows) // 2], rows[-1]
for name, row in (("start", first), ("middle", middle), ("end", last)):
    print(f"soak {name:6} t={row['seconds']:>5}s rss={row['rss_kb']} kB fds={row['fds']} "
          f"unavailable={row['unavailable']} protocol_errors={row['protocol_errors']} connections={row['connections']}")
peak = max(int(r["rss_kb"]) for r in rows)
print(f"soak peak rss={peak} kB over {len(rows)} samples")
ok = alive and int(last["rss_kb"]) - int(middle["rss_kb"]) <= allow_rss and int(last["fds"]) - int(middle["fds"]) <= allow_fds
print("soak: PASS" if ok else f"soak: FAIL (kezekd alive: {alive})")
sys.exit(0 if ok else 1)
PY
