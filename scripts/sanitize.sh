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
preload=
if [[ $sanitizer == thread && ${KEZEK_TSAN_SHIM:-1} != 0 ]]; then
    # Synchronization.Mutex's contended path is invisible to TSan on Linux: without this shim
    # every contended Mutex.withLock body is reported as a race (see the file's comment).
    # KEZEK_TSAN_SHIM=0 runs without it.
    clang=$(dirname "$(command -v "$SWIFT")")/clang
    [[ -x $clang ]] || clang=clang
    "$clang" -O1 -shared -fPIC -Wall -Werror -o "$scratch/tsan-mutex-shim.so" scripts/tsan-mutex-shim.c || exit 1
    preload=$PWD/$scratch/tsan-mutex-shim.so
fi
# log_path: one file per reporting process (<prefix>.<pid>); nothing is written when clean.
# The test process and every kezekd it starts inherit these variables.
export TSAN_OPTIONS="log_path=$reports/$prefix halt_on_error=0 second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="log_path=$reports/$prefix detect_leaks=${KEZEK_ASAN_LEAKS:-1} abort_on_error=0 ${ASAN_OPTIONS:-}"
# Leak reports: suppress what belongs to the Swift runtime/Foundation/XCTest, not to Kezek.
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}"

run_tests() {
    LD_PRELOAD=$preload${LD_PRELOAD:+:$LD_PRELOAD} KEZEKD_BIN=$PWD/$scratch/debug/kezekd "$SWIFT" test --skip-build \
        -c debug --sanitize="$sanitizer" --scratch-path "$scratch" --disable-swift-testing "$@"
}
echo "== $sanitizer: test (reports to $reports)"
if [[ $sanitizer == address && $# -eq 0 ]]; then
    # BackpressureTests asserts that kezekd's RSS grows < 16 MB for a slow client. ASan's
    # quarantine (256 MB by default) keeps every freed reply buffer, so it grows ~20 MB: run
    # that test on its own with a 4 MB quarantine, everything else with the defaults.
    run_tests --skip BackpressureTests
    status=$?
    ASAN_OPTIONS="$ASAN_OPTIONS quarantine_size_mb=4" run_tests --filter BackpressureTests
    second=$?
    (( status == 0 )) && status=$second
else
    run_tests "$@"
    status=$?
fi

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
