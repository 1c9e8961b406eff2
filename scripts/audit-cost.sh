#!/usr/bin/env bash
# audit-cost.sh KEZEKD-BINARY [BOOKINGS]: what 1,000,000 durable BOOKs at -P 16 (-c 50) cost
# Redis, per booking: CPU (redis-server's user+system time), the audit log's memory (MEMORY
# USAGE of every key named *audit*), the bookings' own memory (the booked set and the batches'
# hash), and the append-only file's growth; plus kezekd's CPU and the rate. One private Redis (appendonly yes, appendfsync everysec, no automatic rewrite, so
# the growth is what was appended) per run, loopback only.
set -u
bin=$1; n=${2:-1000000}
w=$(mktemp -d); free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
rp=$(free_port); kp=$(free_port)
redis-server --port $rp --bind 127.0.0.1 --dir $w --save '' --appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0 --daemonize yes --logfile $w/r.log --pidfile $w/r.pid >/dev/null
until redis-cli -p $rp ping >/dev/null 2>&1; do sleep 0.1; done
redis-cli -p $rp set 'kezek:{lease}:epoch' 0 >/dev/null   # a new installation: no wait (README, "Durability")
$bin --listen 127.0.0.1:$kp --redis 127.0.0.1:$rp --admin-listen 127.0.0.1:$(free_port) --public-listen 127.0.0.1:$(free_port) --threads 2 --log-level warning 2>$w/k.log &
kpid=$!
until redis-cli -p $kp health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
redis-cli -p $kp provider open 10000000 >/dev/null
rpid=$(cat $w/r.pid)
cpu() { awk '{print $14+$15}' /proc/$1/stat; }   # clock ticks (10 ms)
aof() { du -sb $w | cut -f1; }
r0=$(cpu $rpid); k0=$(cpu $kpid); a0=$(aof); t0=$(date +%s%N)
rate=$(redis-benchmark -p $kp -c 50 -P 16 -n $n -r 100000000 -q BOOK open h:__rand_int__ | tr '\r' '\n' | grep "per second" | tail -1 | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')
r1=$(cpu $rpid); k1=$(cpu $kpid); t1=$(date +%s%N)
booked=$(redis-cli -p $kp seats open | sed -E 's/.*booked=([0-9]+).*/\1/')
logmem=0
for key in $(redis-cli -p $rp --scan --pattern '*audit*'); do logmem=$((logmem + $(redis-cli -p $rp memory usage "$key" samples 0))); done
statemem=0
for key in 'kezek:{open}:booked' 'kezek:{open}:booked-batches'; do statemem=$((statemem + $(redis-cli -p $rp memory usage "$key" samples 0 | sed 's/^$/0/'))); done
a1=$(aof)
awk -v name="$(basename "$bin")" -v rate="$rate" -v b="$booked" -v rc=$((r1 - r0)) -v kc=$((k1 - k0)) -v lm=$logmem -v sm=$statemem -v ag=$((a1 - a0)) -v ms=$(( (t1 - t0) / 1000000 )) 'BEGIN {
  printf "%s: %d booked at %.0f/s in %d ms; per booking: redis cpu %.2f us, kezekd cpu %.2f us, log memory %.1f B, bookings memory %.1f B, aof growth %.1f B\n",
    name, b, rate, ms, rc * 10000 / b, kc * 10000 / b, lm / b, sm / b, ag / b }'
kill $kpid; redis-cli -p $rp shutdown nosave >/dev/null; rm -rf $w
