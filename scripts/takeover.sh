#!/usr/bin/env bash
# takeover.sh [SCALE] [SIGNAL]: how long a single Redis's city is without a serving kezekd.
# One redis-server (appendonly, appendfsync everysec) and two kezekd (lease-ttl 2): the holder
# takes the DamuBala opening at SCALE times its size (default 100: 100,000 providers, 5,588,900
# applicants) while the second stands by warm; then the holder gets SIGNAL (KILL, default: the
# standby sees its pid gone, as on one machine; STOP: the lease must lapse, as when a machine
# stops answering) and the time until the standby answers BOOK is printed; then both stop and
# a third kezekd starts cold over the same Redis, timed until it answers BOOK. Loopback only;
# bounded by the one opening.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-100}; signal=${2:-KILL}
kezekd=${KEZEKD:-.build/release/kezekd}; bench=.build/release/kezek-bench
[[ -x $kezekd && -x $bench ]] || { echo "build first: make build" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d /tmp/kezek-takeover.XXXXXX)
rp=$(free_port); pids=()
cleanup() { for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
            redis-cli -p "$rp" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
redis-server --port "$rp" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes --appendfsync everysec \
    --daemonize yes --logfile "$work/redis.log" >/dev/null
until redis-cli -p "$rp" ping >/dev/null 2>&1; do sleep 0.1; done
redis-cli -p "$rp" set 'kezek:{lease}:epoch' 0 >/dev/null   # a new installation (README, "Durability")
start() {   # start NAME PORT: a kezekd on PORT, its pid in $started
    "$kezekd" --listen "127.0.0.1:$2" --redis "127.0.0.1:$rp" --admin-listen "127.0.0.1:$(free_port)" \
        --public-listen "127.0.0.1:$(free_port)" --lease-ttl 2 --log-level info >/dev/null 2>>"$work/$1.log" &
    started=$!; pids+=("$started")
}
books() { [[ $(redis-cli -p "$1" book takeover-probe "probe-$RANDOM" 2>/dev/null) == BOOKED* ]]; }
now() { date +%s.%N; }
holder_port=$(free_port); start holder "$holder_port"; holder=$started
until redis-cli -p "$holder_port" health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
redis-cli -p "$holder_port" provider takeover-probe 10000000 >/dev/null
standby_port=$(free_port); start standby "$standby_port"
until grep -qs 'standby: state loaded' "$work/standby.log"; do sleep 0.1; done
[[ ${STANDBY:-1} == 1 ]] || { kill -STOP "$started"; echo "(standby stopped during the opening: STANDBY=0)"; }
"$bench" damubala --target "127.0.0.1:$holder_port" --providers $((1000 * scale)) --seats $((65739 * scale)) \
    --held $((42958 * scale)) --applicants $((55889 * scale)) >"$work/bench.log" 2>&1 || true
grep -E '^(held|burst) ' -A1 "$work/bench.log" || true
[[ ${STANDBY:-1} == 1 ]] || kill -CONT "${pids[1]}"
sleep 3   # the standby reads what the burst's last steps changed
t0=$(now); kill -"$signal" "$holder"
until books "$standby_port"; do sleep 0.01; done
t1=$(now)
grep -E 'taken over warm|state loaded from redis' "$work/standby.log" | tail -1 | grep -oE '(millis|providers)=[0-9]+' | tr '\n' ' ' || true
printf '\nscale %sx: SIG%s of the holder -> the standby books after %.2f s (lease-ttl 2)\n' \
    "$scale" "$signal" "$(echo "$t1 - $t0" | bc)"
kill -CONT "$holder" 2>/dev/null || true
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true; kill -9 "$holder" 2>/dev/null || true
cold_port=$(free_port); t0=$(now); start cold "$cold_port"
until books "$cold_port"; do sleep 0.01; done
t1=$(now)
printf 'scale %sx: a cold start books after %.2f s (%s)\n' "$scale" "$(echo "$t1 - $t0" | bc)" \
    "$(grep 'state loaded from redis' "$work/cold.log" | grep -oE '(millis|providers|bookings)=[0-9]+' | tr '\n' ' ')"
