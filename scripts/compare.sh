#!/usr/bin/env bash
# Side-by-side comparison of kezekd with the obvious alternative, a Lua booking script run by
# Redis itself (scripts/lua/book.lua). Both get the same redis-benchmark load (-c 50), the same
# private Redis (appendonly yes, appendfsync everysec), alternating A B A B, and the ratios of
# the medians are printed. Usage: scripts/compare.sh [ROUNDS] (default 3); KEZEKD_ARGS adds
# flags to kezekd's command line. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS_P1=${REQUESTS_P1:-200000}
REQUESTS_P16=${REQUESTS_P16:-2000000}
THREADS=${THREADS:-1}
REDIS_PORT=${REDIS_PORT:-6411}
KEZEK_PORT=${KEZEK_PORT:-7411}
ADMIN_PORT=${ADMIN_PORT:-7412}
KEZEKD=${KEZEKD:-.build/release/kezekd}
[ -x "$KEZEKD" ] || { echo "build first: make build" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then  # say why a run stopped before its work directory goes
    echo "compare: stopped with status $status; kezekd $(kill -0 "${kezek_pid:-0}" 2>/dev/null && echo running || echo 'not running')" >&2
    tail -n 20 "$work/kezekd.log" >&2 2>/dev/null || true
    grep -v ' \* ' "$work/redis.log" | tail -n 20 >&2 || true  # warnings, not routine notices
  fi
  [ -n "${kezek_pid:-}" ] && kill "$kezek_pid" 2>/dev/null || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes \
  --appendfsync everysec --daemonize yes --logfile "$work/redis.log" >/dev/null
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done
redis-cli -p "$REDIS_PORT" set 'cmp:{lease}:epoch' 0 >/dev/null   # a new installation: no lease-ttl wait (README, "Durability")
"$KEZEKD" --listen 127.0.0.1:$KEZEK_PORT --redis 127.0.0.1:$REDIS_PORT --admin-listen 127.0.0.1:$ADMIN_PORT \
  --threads "$THREADS" --key-prefix cmp --log-level warning ${KEZEKD_ARGS:-} 2>"$work/kezekd.log" &
kezek_pid=$!
until redis-cli -p "$KEZEK_PORT" health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
sha=$(redis-cli -p "$REDIS_PORT" script load "$(cat scripts/lua/book.lua)")

# rps of one redis-benchmark run (its last "requests per second" figure); a run that printed
# none stops the comparison with the run's own last lines.
rps() {
  redis-benchmark -c 50 -r 100000000 "$@" >"$work/run.out" 2>&1 || true
  local figure
  figure=$(tr '\r' '\n' <"$work/run.out" | grep 'requests per second' | tail -1 | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/') || true
  if [ -z "$figure" ]; then
    echo "compare: redis-benchmark $* printed no figure; its last lines:" >&2
    tr '\r' '\n' <"$work/run.out" | grep . | tail -5 >&2
    return 1
  fi
  echo "$figure"
}
# Each run books at a provider of its own, empty, with room for every booking of the run: a
# provider shared by the runs fills up (capacity is at most max-capacity, 10,000,000) and
# later runs would time sold-out answers.
runs=0
reset_open() {
  runs=$((runs + 1)); open="open$runs"
  redis-cli -p "$KEZEK_PORT" provider "$open" 10000000 >/dev/null
  redis-cli -p "$REDIS_PORT" set "lua:free:$open" 10000000 >/dev/null
}
kezek_open() { rps -p "$KEZEK_PORT" -P "$1" -n "$2" -q BOOK "$open" h:__rand_int__; }
lua_open() { rps -p "$REDIS_PORT" -P "$1" -n "$2" -q EVALSHA "$sha" 2 "lua:free:$open" "lua:holders:$open" h:__rand_int__; }
# The same script given an audit stream (its KEYS[3]): the entry kezekd writes; one more line,
# "p16audit", so the ratio of equal work is printed beside the historical one.
lua_audited() { rps -p "$REDIS_PORT" -P 16 -n "$REQUESTS_P16" -q EVALSHA "$sha" 3 "lua:free:$open" "lua:holders:$open" "lua:{$open}:audit" h:__rand_int__; }
kezek_sold() { rps -p "$KEZEK_PORT" -P 16 -n "$REQUESTS_P16" -q BOOK soldout h:__rand_int__; }
lua_sold() { rps -p "$REDIS_PORT" -P 16 -n "$REQUESTS_P16" -q EVALSHA "$sha" 2 lua:free:soldout lua:holders:soldout h:__rand_int__; }
redis-cli -p "$KEZEK_PORT" provider soldout 0 >/dev/null
redis-cli -p "$REDIS_PORT" set lua:free:soldout 0 >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A results
for round in $(seq "$ROUNDS"); do
  for case in p1 p16 p16audit soldout; do
    reset_open
    case $case in
      p1) k=$(kezek_open 1 "$REQUESTS_P1"); l=$(lua_open 1 "$REQUESTS_P1") ;;
      p16) k=$(kezek_open 16 "$REQUESTS_P16"); l=$(lua_open 16 "$REQUESTS_P16") ;;
      p16audit) k=$(kezek_open 16 "$REQUESTS_P16"); l=$(lua_audited) ;;
      soldout) k=$(kezek_sold); l=$(lua_sold) ;;
    esac
    results[$case.kezek]+="$k "; results[$case.lua]+="$l "
    printf 'round %d %-8s kezekd %10.0f/s  lua %10.0f/s\n' "$round" "$case" "$k" "$l"
  done
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); kezekd --threads $THREADS; redis appendfsync everysec"
for case in p1 p16 p16audit soldout; do
  k=$(echo "${results[$case.kezek]}" | tr ' ' '\n' | grep . | median)
  l=$(echo "${results[$case.lua]}" | tr ' ' '\n' | grep . | median)
  printf '%-8s median kezekd %10.0f/s  lua %10.0f/s  ratio %.2fx\n' "$case" "$k" "$l" "$(awk -v k="$k" -v l="$l" 'BEGIN { print (l > 0 ? k / l : 0) }')"
done

# What the mirror costs Redis: commands per 1,000 bookings at -P 16 (INFO commandstats counts
# the commands a script runs as well as the script call itself).
redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
reset_open
redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
kezek_open 16 "$REQUESTS_P1" >/dev/null
redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | awk -F'[:=,]' -v n="$REQUESTS_P1" '
  /^cmdstat_/ { name = substr($1, 9); calls[name] = $3; total += $3 }
  END {
    printf "redis commands per 1000 bookings at -P 16: %.1f (", total * 1000 / n
    sep = ""; for (name in calls) { printf "%s%s %.1f", sep, name, calls[name] * 1000 / n; sep = ", " }
    print ")"
  }'
