#!/usr/bin/env bash
# cost-curve.sh [SCALES]: the DamuBala opening at 1x, 10x, 100x (default "1 10 100") against a
# fresh redis-server (appendonly, appendfsync everysec) and kezekd each, on free loopback
# ports: burst replies/s and p99 (kezek-bench damubala --json), kezekd peak RSS per booking,
# Redis memory per booking, and recovery time (kill -9, restart, until HEALTH answers +OK).
# Writes a table to stdout and docs/img/cost-curve.svg. Bounded: one opening per scale.
set -euo pipefail
cd "$(dirname "$0")/.."
scales=${1:-1 10 100}
bench=.build/release/kezek-bench
kezekd=${KEZEKD:-.build/release/kezekd}
[[ -x $bench && -x $kezekd ]] || { echo "build first: make build" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
results=$(mktemp)
echo "scale providers applicants replies_per_s p99_us rss_kb bookings redis_bytes recovery_s" > "$results"
for scale in $scales; do
    work=$(mktemp -d /tmp/kezek-cost.XXXXXX)
    rp=$(free_port); kp=$(free_port); ap=$(free_port); pp=$(free_port)
    redis-server --port "$rp" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes --appendfsync everysec \
        --daemonize yes --logfile "$work/redis.log" --pidfile "$work/redis.pid" >/dev/null
    until redis-cli -p "$rp" ping >/dev/null 2>&1; do sleep 0.1; done
    redis-cli -p "$rp" set 'kezek:{lease}:epoch' 0 >/dev/null   # a new installation (README, "Durability")
    start_kezekd() {
        "$kezekd" --listen "127.0.0.1:$kp" --redis "127.0.0.1:$rp" --admin-listen "127.0.0.1:$ap" \
            --public-listen "127.0.0.1:$pp" --log-level warning 2>>"$work/kezekd.log" &
        kpid=$!
    }
    start_kezekd
    until redis-cli -p "$kp" health 2>/dev/null | grep -q '^OK'; do sleep 0.1; done
    providers=$((1000 * scale)); applicants=$((55889 * scale))
    "$bench" damubala --target "127.0.0.1:$kp" --providers "$providers" --seats $((65739 * scale)) --held $((42958 * scale)) \
        --applicants "$applicants" --json > "$work/run.json" 2>"$work/bench.log" || true
    rss=$(awk '/VmHWM/ {print $2}' /proc/$kpid/status)
    read -r rps p99 < <(python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
burst = next(p for p in run["phases"] if p["name"] == "burst")
print(round(burst["replies_per_second"]), burst["latency_us"]["p99"])' "$work/run.json")
    bookings=$(python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
print(sum(p["counts"].get("BOOKED", 0) for p in run["phases"] if p["name"] in ("held", "burst")))' "$work/run.json")
    redis_bytes=$(redis-cli -p "$rp" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
    kill -9 "$kpid"; wait "$kpid" 2>/dev/null || true
    t0=$(date +%s%N)
    start_kezekd
    until redis-cli -p "$kp" health 2>/dev/null | grep -q '^OK'; do sleep 0.02; done
    t1=$(date +%s%N)
    recovery=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    echo "$scale $providers $applicants $rps $p99 $rss $bookings $redis_bytes $recovery" >> "$results"
    kill "$kpid"; wait "$kpid" 2>/dev/null || true
    redis-cli -p "$rp" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$work"
done
mkdir -p docs/img
python3 - "$results" docs/img/cost-curve.svg <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])][1:]
print("| scale | providers | applicants | burst replies/s | burst p99 | kezekd peak RSS per booking | Redis bytes per booking | recovery after kill -9 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for s, p, a, rps, p99, rss, b, rb, rec in rows:
    b = max(1, int(b))
    print(f"| {s}x | {int(p):,} | {int(a):,} | {int(rps):,} | {int(p99)/1000:.1f} ms | {int(rss)*1024/b:,.0f} B | {int(rb)/b:,.0f} B | {float(rec):.2f} s |")
# Four small panels, x = scale (log), one line each.
panels = [("burst replies/s", [float(r[3]) for r in rows]), ("burst p99 (ms)", [int(r[4]) / 1000 for r in rows]),
          ("kezekd RSS per booking (B)", [int(r[5]) * 1024 / max(1, int(r[6])) for r in rows]),
          ("recovery after kill -9 (s)", [float(r[8]) for r in rows])]
scales = [r[0] + "x" for r in rows]
w, h, pad = 300, 170, 40
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {2 * w} {2 * h}" font-family="sans-serif" font-size="11">']
for i, (title, values) in enumerate(panels):
    ox, oy = (i % 2) * w, (i // 2) * h
    top = max(values) * 1.15 or 1
    svg.append(f'<text x="{ox + pad}" y="{oy + 16}" font-weight="bold">{title}</text>')
    svg.append(f'<line x1="{ox + pad}" y1="{oy + h - 25}" x2="{ox + w - 15}" y2="{oy + h - 25}" stroke="#888"/>')
    pts = []
    for j, v in enumerate(values):
        x = ox + pad + (j + 0.5) * (w - pad - 15) / len(values)
        y = oy + h - 25 - v / top * (h - 55)
        pts.append(f"{x:.1f},{y:.1f}")
        svg.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2b6cb0"/>')
        svg.append(f'<text x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle">{(f"{v:,.0f}" if v >= 100 else f"{v:.3g}")}</text>')
        svg.append(f'<text x="{x:.1f}" y="{oy + h - 10}" text-anchor="middle">{scales[j]}</text>')
    svg.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="#2b6cb0"/>')
svg.append("</svg>")
open(sys.argv[2], "w").write("\n".join(svg) + "\n")
PY
rm -f "$results"
echo "cost-curve: docs/img/cost-curve.svg"
