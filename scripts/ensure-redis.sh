#!/usr/bin/env bash
# ensure-redis.sh HOST:PORT: make sure a Redis answers at HOST:PORT for `make run`.
# If one already answers PING, leave it alone. Otherwise start a private, durable
# redis-server (appendonly + appendfsync always, no RDB snapshots) whose data, pidfile and
# log live under ./var/redis/PORT, and wait up to ~5 s for it. Stop it with scripts/stop-redis.sh.
set -euo pipefail

addr=${1:?usage: ensure-redis.sh HOST:PORT}
host=${addr%:*}
port=${addr##*:}
host=${host#[}; host=${host%]}    # [::1]:6379 -> ::1
[[ $addr == *:* && $port =~ ^[0-9]+$ ]] || { echo "ensure-redis: expected HOST:PORT, got '$addr'" >&2; exit 2; }

# A listener that never answers must not hang us: each ping gets 1 s.
answers() { [[ $(timeout 1 redis-cli -h "$host" -p "$port" ping 2>/dev/null) == PONG ]]; }

answers && exit 0

# Never expose a private, password-less Redis beyond this machine.
case $host in
    127.*|localhost|::1) ;;
    *) echo "ensure-redis: nothing answers at $addr and $host is not loopback; start Redis there yourself" >&2; exit 1 ;;
esac

dir=$(pwd)/var/redis/$port
# A data directory made here is a new installation: mark it (the lease epoch key), so the
# first kezekd takes it at once instead of waiting a lease-ttl for a holder that might be
# writing back lost data (README, "Durability"). Never done for a Redis that held state.
new_install=0
[[ -d $dir ]] || new_install=1
mkdir -p "$dir"
redis-server --daemonize yes --bind "$host" --port "$port" --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --appendonly yes --appendfsync always --save ""

deadline=$((SECONDS + 5))
while ((SECONDS < deadline)); do
    if answers; then
        ((new_install)) && redis-cli -h "$host" -p "$port" SET "${KEY_PREFIX:-kezek}:{lease}:epoch" 0 NX >/dev/null
        echo "ensure-redis: started redis-server at $addr (data in $dir)" >&2
        exit 0
    fi
    sleep 0.1
done
echo "ensure-redis: redis-server at $addr did not answer within 5 s; $dir/redis.log says:" >&2
tail -n 5 "$dir/redis.log" >&2 || true
exit 1
