// Latency figures from an HdrHistogram of microseconds: the summary percentiles, and the
// percentile distribution in HdrHistogram's .hgrm text format (values in milliseconds, as
// wrk2 and the HdrHistogram plotter expect).
import Foundation
import Histogram

struct LatencySummary {
    let count: UInt64
    let p50, p90, p99, p999, max: UInt64
    let mean: Double

    init(_ h: Histogram<UInt64>) {
        count = h.totalCount
        if count == 0 {
            p50 = 0; p90 = 0; p99 = 0; p999 = 0; max = 0; mean = 0
        } else {
            p50 = h.valueAtPercentile(50)
            p90 = h.valueAtPercentile(90)
            p99 = h.valueAtPercentile(99)
            p999 = h.valueAtPercentile(99.9)
            max = h.max
            mean = h.mean
        }
    }

    /// "p50 120us  p90 340us  p99 1.20ms  p99.9 3.40ms  max 9.80ms"
    var line: String {
        "p50 \(Self.show(p50))  p90 \(Self.show(p90))  p99 \(Self.show(p99))  p99.9 \(Self.show(p999))  max \(Self.show(max))"
    }

    static func show(_ us: UInt64) -> String {
        if us < 1000 { return "\(us)us" }
        if us < 1_000_000 { return Format.fixed(Double(us) / 1000, us < 10_000 ? 2 : 1) + "ms" }
        return Format.fixed(Double(us) / 1e6, 2) + "s"
    }

    var json: JSON {
        .object([
            ("p50", .int(Int(p50))), ("p90", .int(Int(p90))), ("p99", .int(Int(p99))),
            ("p99_9", .int(Int(p999))), ("max", .int(Int(max))), ("mean", .double(mean)),
            ("count", .int(Int(count))),
        ])
    }
}

enum HgrmWriter {
    private struct Text: TextOutputStream {
        var s = ""
        mutating func write(_ string: String) { s += string }
    }

    /// The .hgrm text for a histogram recorded in microseconds, written out in milliseconds.
    static func render(_ h: Histogram<UInt64>) -> String {
        var out = Text()
        h.outputPercentileDistribution(
            to: &out, outputValueUnitScalingRatio: 1000, percentileTicksPerHalfDistance: 5)
        return out.s
    }

    static func write(_ h: Histogram<UInt64>, to path: String) throws {
        try render(h).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
