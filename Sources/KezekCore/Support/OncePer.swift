/// A warning that could repeat many times a second (a standby's look, a retry loop) logged
/// once per interval at most. One thread's own: not synchronised.
struct OncePer {
    private let intervalNanos: UInt64
    private var last: UInt64?

    init(seconds: Double) {
        intervalNanos = UInt64(seconds * 1e9)
    }

    /// True when the caller should log now; the interval starts again then.
    mutating func due(now: UInt64 = MonotonicClock.nanoseconds()) -> Bool {
        if let last, now &- last < intervalNanos { return false }
        last = now
        return true
    }
}
