// What counting a request costs: the booking path calls `metrics.count(verb, kind)` and
// `metrics.latency.observe(nanos:)` once per request. The same loop is measured with and
// without them; the per-request cost is the difference of the two (ns/op). One op = one request.
import Benchmark
import Glibc
import KezekCore
import Synchronization

/// Latencies with a spread like a loaded server's: 20 µs to ~3 ms, mostly under 250 µs.
private let latencies: [UInt64] = {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<4096).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let unit = Double(state >> 11) / Double(1 << 53)
        return UInt64(20_000 * pow(150.0, unit * unit))
    }
}()

private let verbs = Verb.allCases
private let kinds: [ReplyKind] = [
    .booked, .booked, .booked, .full, .waiting, .booked, .full, .booked,
]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .instructions, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .mega,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    Benchmark("Request loop, no metrics (baseline)") { benchmark in
        for index in benchmark.scaledIterations {
            let verb = verbs[index & 7]
            let kind = kinds[(index >> 3) & 7]
            blackHole(verb)
            blackHole(kind)
            blackHole(latencies[index & 4095])
        }
    }

    let metrics = ThreadMetrics()
    let name = "Request loop + ThreadMetrics.count + latency.observe"
    Benchmark(name) { benchmark in
        for index in benchmark.scaledIterations {
            let verb = verbs[index & 7]
            let kind = kinds[(index >> 3) & 7]
            blackHole(verb)
            blackHole(kind)
            let nanos = latencies[index & 4095]
            blackHole(nanos)
            metrics.count(verb, kind)
            metrics.latency.observe(nanos: nanos)
        }
    }

    // The latency observed needs a clock read per request (MonotonicClock: CLOCK_MONOTONIC).
    Benchmark("clock_gettime(CLOCK_MONOTONIC)") { benchmark in
        var spec = timespec()
        for _ in benchmark.scaledIterations {
            clock_gettime(CLOCK_MONOTONIC, &spec)
            blackHole(spec.tv_nsec)
        }
    }
}
