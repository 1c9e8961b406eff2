#!/usr/bin/env bash
# scripts/nemesis-planted.sh [SECONDS]: the nemesis's proof. Runs the default nemesis once per
# planted bug (kezekd's KEZEK_PLANTED_BUG, test-only: docs/RELIABILITY.md) and requires each
# run to fail with an anomaly named; then one run without a bug, which must pass.
# Exit 0 when all four verdicts are as expected.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
bench=.build/release/kezek-bench
status=0
for bug in ack-before-redis skip-fence dirty-reads; do
    log=$(mktemp)
    "$bench" nemesis --seconds "$seconds" --quiet --planted-bug "$bug" >"$log" 2>&1
    code=$?
    named=$(grep -E '^ANOMALY ' "$log" | tr '\n' ' ')
    if [ "$code" = 1 ] && [ -n "$named" ]; then
        echo "planted $bug: caught: $named"
    else
        echo "planted $bug: NOT caught (exit $code)"; tail -5 "$log"; status=1
    fi
    grep '^nemesis: ' "$log" | tail -1
    rm -f "$log"
done
if "$bench" nemesis --seconds "$seconds" --quiet >/tmp/nemesis-clean.$$ 2>&1; then
    echo "no bug: no anomaly"
else
    echo "no bug: FAILED"; grep -A12 '^ANOMALY' /tmp/nemesis-clean.$$ | head -40; status=1
fi
rm -f /tmp/nemesis-clean.$$
exit $status
