#!/usr/bin/env bash
# screenshot.sh: PNGs of the public pages (docs/img/public-city.png, docs/img/public-round.png)
# as headless Chromium renders them on a phone-sized window. Starts a private redis-server and
# kezekd on free loopback ports with the demo catalog, books a little, runs a small lottery
# round, takes the pictures, and stops both. Bounded: at most a few seconds of load.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release
work=$(mktemp -d /tmp/kezek-screenshot.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
redis_port=$(free_port); port=$(free_port); admin=$(free_port); public=$(free_port)
cleanup() {
    [[ -n ${kezekd_pid:-} ]] && kill "$kezekd_pid" 2>/dev/null && wait "$kezekd_pid" 2>/dev/null
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --dir "$work" --save "" --appendonly no \
    --logfile "$work/redis.log" >/dev/null
"$bin/kezekd" --config config/kezek.yaml --redis "127.0.0.1:$redis_port" --listen "127.0.0.1:$port" \
    --admin-listen "127.0.0.1:$admin" --public-listen "127.0.0.1:$public" --offer-ttl 86400 2>"$work/kezekd.log" &
kezekd_pid=$!
for _ in $(seq 100); do [[ $(redis-cli -p "$port" HEALTH 2>/dev/null) == OK* ]] && break; sleep 0.1; done
cli() { redis-cli -p "$port" "$@" >/dev/null; }
# First come, first served at a few clubs, then a round over the rest of one district.
mapfile -t providers < <(cut -d, -f1 config/demo-providers.csv | grep -v '^provider' | grep -v '^#' | head -400)
for i in $(seq 0 2 120); do cli BOOK "${providers[$i]}" "early-$i"; done
seed=public-coin-toss-2026
cli ROUND OPEN spring "$(printf %s "$seed" | sha256sum | cut -c1-64)" CHOICES 3
for a in $(seq 1 1500); do
    cli APPLY spring "child-$a" "${providers[$((RANDOM % 20))]}" "${providers[$((20 + RANDOM % 40))]}" "${providers[$((60 + RANDOM % 80))]}"
done
cli ROUND CLOSE spring
cli ROUND DRAW spring "$seed"
mkdir -p docs/img
for page in city round; do
    url="http://127.0.0.1:$public/"
    [[ $page == round ]] && url="http://127.0.0.1:$public/rounds/spring"
    chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$work/profile" \
        --hide-scrollbars --window-size=412,1600 --screenshot="docs/img/public-$page.png" "$url" 2>/dev/null
done
echo "screenshot: docs/img/public-city.png docs/img/public-round.png"
