#!/usr/bin/env bash
# audit-cost.sh KEZEKD-BINARY: CPU seconds of redis-server and kezekd for 1,000,000 BOOKs at -P 16.
set -u
bin=$1; w=$(mktemp -d); free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
rp=$(free_port); kp=$(free_port)
redis-server --port $rp --bind 127.0.0.1 --dir $w --save '' --appendonly yes --appendfsync everysec --daemonize yes --logfile $w/r.log --pidfile $w/r.pid >/dev/null
sleep 0.3
$bin --listen 127.0.0.1:$kp --redis 127.0.0.1:$rp --admin-listen 127.0.0.1:$(free_port) --public-listen 127.0.0.1:$(free_port) --threads 2 --log-level warning 2>$w/k.log &
kpid=$!
until redis-cli -p $kp health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
redis-cli -p $kp provider open 10000000 >/dev/null
rpid=$(cat $w/r.pid)
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
r0=$(cpu $rpid); k0=$(cpu $kpid); t0=$(date +%s%N)
redis-benchmark -p $kp -c 50 -P 16 -n 1000000 -r 100000000 -q BOOK open h:__rand_int__ | tr '\r' '\n' | grep "per second" | tail -1
r1=$(cpu $rpid); k1=$(cpu $kpid); t1=$(date +%s%N)
echo "$(basename $bin): redis cpu $(( (r1-r0) ))0 ms, kezekd cpu $(( (k1-k0) ))0 ms, wall $(( (t1-t0)/1000000 )) ms, redis mem $(redis-cli -p $rp info memory | grep '^used_memory:' | tr -d '\r'), aof $(du -sk $w | cut -f1) kB"
kill $kpid; redis-cli -p $rp shutdown nosave >/dev/null; rm -rf $w
