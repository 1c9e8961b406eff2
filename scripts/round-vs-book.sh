#!/usr/bin/env bash
# round-vs-book.sh [RUNS] [OFFER_TTL] [CHOICES]: the DamuBala opening as a BOOK burst
# (kezek-bench damubala) and as a round (kezek-bench round: APPLY burst, DRAW, confirmations),
# alternated RUNS times (default 3) against one redis-server (appendfsync everysec) and one
# kezekd (--offer-ttl OFFER_TTL, default 5) on free loopback ports; prints each run's figures
# from the --json summaries; KEZEKD names the binary, KEZEKD_ARGS adds kezekd flags. Bounded: each run is one opening.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}; ttl=${2:-5}; choices=${3:-5}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d /tmp/kezek-round.XXXXXX)
rp=$(free_port); kp=$(free_port)
redis-server --port "$rp" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes --appendfsync everysec \
    --daemonize yes --logfile "$work/redis.log" >/dev/null
until redis-cli -p "$rp" ping >/dev/null 2>&1; do sleep 0.1; done
redis-cli -p "$rp" set 'kezek:{lease}:epoch' 0 >/dev/null   # a new installation: no lease-ttl wait (README, "Durability")
"${KEZEKD:-.build/release/kezekd}" --listen "127.0.0.1:$kp" --redis "127.0.0.1:$rp" --admin-listen "127.0.0.1:$(free_port)" \
    --public-listen "127.0.0.1:$(free_port)" --offer-ttl "$ttl" --log-level warning ${KEZEKD_ARGS:-} 2>"$work/kezekd.log" &
kpid=$!
trap 'kill $kpid 2>/dev/null; redis-cli -p $rp shutdown nosave >/dev/null 2>&1; rm -rf $work' EXIT
until redis-cli -p "$kp" health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
cat > "$work/summary.py" <<'PY'
import json, sys
kind, path, run = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
if kind == "book":
    b = next(p for p in r["phases"] if p["name"] == "burst")
    l = b["latency_us"]
    print("run %s BOOK burst:  %10.0f replies/s  p50 %.1f ms  p99 %.1f ms  exit %s"
          % (run, b["replies_per_second"], l["p50"] / 1000, l["p99"] / 1000, r["exit_code"]))
else:
    l = r["apply_latency_us"]
    inv = r.get("invariants", {})
    print("run %s APPLY burst: %10.0f replies/s  p50 %.1f ms  p99 %.1f ms  first try %d; DRAW %.0f ms (%d attempt(s)); invariants passed %s failures %s; exit %s"
          % (run, r["apply_replies_per_second"], l["p50"] / 1000, l["p99"] / 1000, r["apply_applied_first_try"],
             r["draw_ms"], r["draw_attempts"], inv.get("passed"), inv.get("failures"), r["exit_code"]))
PY
for run in $(seq "$runs"); do
    .build/release/kezek-bench damubala --target "127.0.0.1:$kp" --json > "$work/book.json" 2>/dev/null || true
    python3 "$work/summary.py" book "$work/book.json" "$run"
    .build/release/kezek-bench round --target "127.0.0.1:$kp" --choices "$choices" --json > "$work/round.json" 2>/dev/null || true
    python3 "$work/summary.py" round "$work/round.json" "$run"
done
