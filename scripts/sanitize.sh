#!/usr/bin/env bash
# scripts/sanitize.sh thread|address [more swift-test args...]
# Builds kezekd and the tests with one sanitizer into .build-tsan / .build-asan, then runs the
# whole suite with KEZEKD_BIN pointing at the sanitized kezekd (so the integration tests drive a
# sanitized daemon too; the tests capture its stderr and print it on failure). Every sanitizer
# report (from the test process or any kezekd it starts) goes to a file under
# <scratch>/sanitizer-reports/; the script fails when a test fails or any report file exists.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v "${SWIFT:-swift}" >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
SWIFT=${SWIFT:-swift}

sanitizer=${1:?usage: sanitize.sh thread|address [swift-test args]}
shift
case $sanitizer in
    thread)  scratch=.build-tsan; prefix=tsan ;;
    address) scratch=.build-asan; prefix=asan ;;
    *) echo "sanitize.sh: unknown sanitizer '$sanitizer' (thread|address)" >&2; exit 2 ;;
esac

reports=$PWD/$scratch/sanitizer-reports
echo "== $sanitizer: build ($scratch)"
"$SWIFT" build --build-tests -c debug --sanitize="$sanitizer" --scratch-path "$scratch" || exit 1

rm -rf "$reports"
mkdir -p "$reports"
# log_path: one file per reporting process (<prefix>.<pid>); nothing is written when clean.
# The test process and every kezekd it starts inherit these variables.
export TSAN_OPTIONS="log_path=$reports/$prefix halt_on_error=0 second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="log_path=$reports/$prefix detect_leaks=${KEZEK_ASAN_LEAKS:-1} abort_on_error=0 ${ASAN_OPTIONS:-}"
# Leak reports: suppress what belongs to the Swift runtime/Foundation/XCTest, not to Kezek.
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}"

echo "== $sanitizer: test (reports to $reports)"
KEZEKD_BIN=$PWD/$scratch/debug/kezekd "$SWIFT" test --skip-build -c debug --sanitize="$sanitizer" \
    --scratch-path "$scratch" --disable-swift-testing "$@"
status=$?

shopt -s nullglob
files=("$reports"/*)
if (( ${#files[@]} > 0 )); then
    echo "== $sanitizer: ${#files[@]} sanitizer report file(s):"
    for file in "${files[@]}"; do
        echo "---- $file"
        # The summary line and the first frames of each report.
        grep -E 'WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY:|^  (Write|Read|Previous|Atomic)|^    #[0-3] ' "$file" | head -n 60
    done
    echo "== $sanitizer: FAILED (sanitizer reports above; full text in $reports)"
    exit 1
fi
if (( status != 0 )); then
    echo "== $sanitizer: FAILED (swift test exit status $status)"
    exit "$status"
fi
echo "== $sanitizer: passed, no sanitizer reports"
