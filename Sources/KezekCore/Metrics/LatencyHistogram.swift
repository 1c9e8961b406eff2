import Synchronization

/// Request latency buckets (seconds), Prometheus style: cumulative at scrape time.
public enum LatencyBuckets {
    public static let bounds: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]
    static let boundsNanos: [UInt64] = bounds.map { UInt64($0 * 1e9) }
}

/// One thread's latency histogram: a counter per bucket plus the sum, written by that thread.
public final class LatencyHistogram: Sendable {
    private let buckets: [Counter] = (0...LatencyBuckets.bounds.count).map { _ in Counter() }
    private let sumNanos = Counter()

    @inline(__always) public func observe(nanos: UInt64) {
        var index = 0
        while index < LatencyBuckets.boundsNanos.count && nanos > LatencyBuckets.boundsNanos[index]
        { index += 1 }
        buckets[index].add()
        sumNanos.add(Int(truncatingIfNeeded: nanos))
    }

    /// Per-bucket (not cumulative) counts; the last is +Inf.
    public var counts: [Int] { buckets.map { $0.load() } }
    public var sumSeconds: Double { Double(sumNanos.load()) / 1e9 }
}
