#!/usr/bin/env bash
# page-load-burst.sh: BOOK burst p99 (redis-benchmark -P 16, 400,000 BOOKs) alongside: nothing; a curl
# loop on the public city page (1,001 providers, 148 KB); the same curl loop on the admin
# /healthz (2 bytes: the cost of the loop itself); 10 city page loads per second. Alternating.
set -u
cd "$(dirname "$0")/.."
bin=.build/release/kezekd; w=$(mktemp -d); free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
rp=$(free_port); kp=$(free_port); pp=$(free_port); ap=$(free_port)
redis-server --port $rp --bind 127.0.0.1 --dir $w --save '' --appendonly yes --appendfsync everysec --daemonize yes --logfile $w/r.log >/dev/null
sleep 0.3
$bin --listen 127.0.0.1:$kp --redis 127.0.0.1:$rp --admin-listen 127.0.0.1:$ap --public-listen 127.0.0.1:$pp --threads 2 \
  --catalog config/demo-providers.csv --log-level warning 2>$w/k.log &
kpid=$!
until redis-cli -p $kp health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
redis-cli -p $kp provider open 10000000 >/dev/null
burst() { redis-benchmark -p $kp -c 50 -P 16 -n 400000 -r 100000000 BOOK open h:__rand_int__ 2>&1 | tr '\r' '\n' | grep -A1 " avg " | tail -1 | tr -s " "; }
loop() {  # $1 url, $2 pause between loads
  ( n=0; while [ ! -f $w/stop ]; do curl -s -o /dev/null "$1"; n=$((n+1)); sleep "$2"; done; echo $n > $w/count ) &
  loader=$!; sleep 0.2
}
stop() { touch $w/stop; wait $loader; rm -f $w/stop; }
echo "columns: avg min p50 p95 p99 max (ms)"
for round in 1 2 3; do
  echo "round $round nothing:       $(burst)"
  loop http://127.0.0.1:$pp/ 0; r=$(burst); stop; echo "round $round city loop:     $r  ($(cat $w/count) loads)"
  loop http://127.0.0.1:$ap/healthz 0; r=$(burst); stop; echo "round $round healthz loop:  $r  ($(cat $w/count) loads)"
  loop http://127.0.0.1:$pp/ 0.1; r=$(burst); stop; echo "round $round city 10/s:     $r  ($(cat $w/count) loads)"
done
kill $kpid; redis-cli -p $rp shutdown nosave >/dev/null; rm -rf $w
