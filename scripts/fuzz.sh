#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]: builds the RequestParser fuzz target
# (fuzz/RequestParserFuzz.swift compiled with the parser's sources, no Package.swift target)
# into .build-fuzz and runs it for SECONDS (default 60) with ASan + libFuzzer.
# Seeds: fuzz/corpus (committed). New inputs: fuzz-corpus/ (gitignored). Crashes:
# .build-fuzz/artifacts/ (replay one: .build-fuzz/request-parser-fuzz FILE).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v "${SWIFTC:-swiftc}" >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
SWIFTC=${SWIFTC:-swiftc}
# A fatalError (failed invariant) must end in libFuzzer's crash report at once: without this the
# Swift runtime's backtracer lingers (holding the output pipe) after the crash.
export SWIFT_BACKTRACE=enable=no

seconds=${1:-60}
shift || true
binary=.build-fuzz/request-parser-fuzz
sources=(Sources/KezekCore/Protocol/RequestParser.swift Sources/KezekCore/Protocol/ProtocolError.swift
         fuzz/RequestParserFuzz.swift)
mkdir -p .build-fuzz/artifacts fuzz-corpus

# -O keeps the parser as fast as it ships (Swift overflow traps stay on); the harness hands
# the parser views that end exactly at the end of an allocation, so ASan sees overruns.
if [[ ! -x $binary ]] || [[ -n $(find "${sources[@]}" -newer "$binary") ]]; then
    echo "== building $binary"
    "$SWIFTC" -sanitize=fuzzer,address -use-ld=lld -parse-as-library -module-name KezekCore \
        -O -g "${sources[@]}" -o "$binary"
fi

echo "== fuzzing RequestParser for ${seconds}s (corpus fuzz-corpus + fuzz/corpus)"
exec "$binary" -max_total_time="$seconds" -max_len=8192 -dict=fuzz/resp.dict \
    -artifact_prefix=.build-fuzz/artifacts/ -print_final_stats=1 "$@" fuzz-corpus fuzz/corpus
