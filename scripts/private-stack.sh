# Sourced by the measuring scripts (compare.sh): a private redis-server
# (appendonly yes, appendfsync everysec) and a kezekd on loopback, in a temporary directory
# that goes when the script exits. Needs REDIS_PORT, KEZEK_PORT, ADMIN_PORT, THREADS, KEZEKD.
# Sets `work` and `kezek_pid`. When the script stops with an error it says so and shows the
# tails of both logs before they go.
# Usage: private_stack_start NAME KEY_PREFIX
private_stack_start() {
  local name=$1 prefix=$2
  work=$(mktemp -d)
  private_stack_name=$name
  trap private_stack_stop EXIT
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes \
    --appendfsync everysec --daemonize yes --logfile "$work/redis.log" >/dev/null
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done
  "$KEZEKD" --listen 127.0.0.1:$KEZEK_PORT --redis 127.0.0.1:$REDIS_PORT --admin-listen 127.0.0.1:$ADMIN_PORT \
    --threads "$THREADS" --key-prefix "$prefix" --log-level warning 2>"$work/kezekd.log" &
  kezek_pid=$!
  until redis-cli -p "$KEZEK_PORT" health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
}

private_stack_stop() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "$private_stack_name: stopped with status $status; kezekd $(kill -0 "${kezek_pid:-0}" 2>/dev/null && echo running || echo 'not running')" >&2
    tail -n 20 "$work/kezekd.log" "$work/redis.log" >&2 2>/dev/null || true
  fi
  [ -n "${kezek_pid:-}" ] && kill "$kezek_pid" 2>/dev/null || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
