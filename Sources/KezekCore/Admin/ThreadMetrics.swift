import Synchronization

/// A counter written by one thread only and read by anyone: a relaxed load and store, no
/// locked instruction on the booking path. Readers may see a value a moment old.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    @inline(__always) public func add(_ amount: Int = 1) {
        value.store(value.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }
    public func load() -> Int { value.load(ordering: .relaxed) }
    /// For gauges: replaces the value.
    @inline(__always) public func set(_ newValue: Int) { value.store(newValue, ordering: .relaxed) }
}

/// The kind of reply a request got, for the request counters.
public enum ReplyKind: Int, CaseIterable, Sendable {
    case booked, waiting, full, limit, cancelled, notFound, value, ok, unavailable, loading, error

    public var label: String {
        switch self {
        case .booked: "booked"
        case .waiting: "waiting"
        case .full: "full"
        case .limit: "limit"
        case .cancelled: "cancelled"
        case .notFound: "notfound"
        case .value: "value"
        case .ok: "ok"
        case .unavailable: "unavailable"
        case .loading: "loading"
        case .error: "error"
        }
    }

    init(_ outcome: Outcome) {
        switch outcome {
        case .now(let reply), .afterMirror(let reply): self.init(reply)
        }
    }

    init(_ reply: Reply) {
        switch reply {
        case .booked: self = .booked
        case .waiting: self = .waiting
        case .full: self = .full
        case .limit: self = .limit
        case .cancelled: self = .cancelled
        case .notFound: self = .notFound
        case .ok: self = .ok
        case .bookedStatus, .offeredStatus, .none, .seats, .simple, .bulk, .raw, .bye: self = .value
        case .error(let text):
            if text.hasPrefix("UNAVAILABLE") { self = .unavailable } else if text.hasPrefix("LOADING") { self = .loading } else { self = .error }
        }
    }
}

/// One loop thread's counters; the admin endpoint sums all threads' at scrape time.
public final class ThreadMetrics: Sendable {
    /// requests[verb][kind]; index `Verb.allCases.count` is "unknown".
    private let requests: [Counter]
    public let connectionsAccepted = Counter()
    public let connectionsRejected = Counter()
    /// Idle connections closed at max-clients to admit a new one.
    public let connectionsShed = Counter()
    public let protocolErrors = Counter()
    public let backpressurePauses = Counter()
    public let authFailures = Counter()
    public let connectionsMoved = Counter()
    public let mirrorBatches = Counter()
    public let mirrorWrites = Counter()
    /// Writes made but not confirmed by Redis yet on this thread's connection.
    public let mirrorPending = Counter()
    public let latency = LatencyHistogram()

    public init() {
        requests = (0..<((Verb.allCases.count + 1) * ReplyKind.allCases.count)).map { _ in Counter() }
    }

    @inline(__always) public func count(_ verb: Verb?, _ kind: ReplyKind) {
        let verbIndex = verb?.rawValue ?? Verb.allCases.count
        requests[verbIndex * ReplyKind.allCases.count + kind.rawValue].add()
    }

    /// Every request this thread answered (INFO's total_commands_processed).
    public var totalRequests: Int { requests.reduce(0) { $0 + $1.load() } }

    public func requests(verb: Verb?, kind: ReplyKind) -> Int {
        let verbIndex = verb?.rawValue ?? Verb.allCases.count
        return requests[verbIndex * ReplyKind.allCases.count + kind.rawValue].load()
    }
}

/// Every thread's metrics.
public final class ServerMetrics: Sendable {
    public let threads: [ThreadMetrics]
    /// Times the whole state was written back after Redis lost data.
    public let repairs = Atomic<Int>(0)
    /// Batches Redis refused with an error reply (out of memory, read-only, fenced…).
    public let refusedBatches = Atomic<Int>(0)
    public init(threads: Int) {
        self.threads = (0..<threads).map { _ in ThreadMetrics() }
    }
}

/// Request latency buckets (seconds), Prometheus style: cumulative at scrape time.
public enum LatencyBuckets {
    public static let bounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    static let boundsNanos: [UInt64] = bounds.map { UInt64($0 * 1e9) }
}

/// One thread's latency histogram: a counter per bucket plus the sum, written by that thread.
public final class LatencyHistogram: Sendable {
    private let buckets: [Counter] = (0...LatencyBuckets.bounds.count).map { _ in Counter() }
    private let sumNanos = Counter()

    @inline(__always) public func observe(nanos: UInt64) {
        var index = 0
        while index < LatencyBuckets.boundsNanos.count && nanos > LatencyBuckets.boundsNanos[index] { index += 1 }
        buckets[index].add()
        sumNanos.add(Int(truncatingIfNeeded: nanos))
    }

    /// Per-bucket (not cumulative) counts; the last is +Inf.
    public var counts: [Int] { buckets.map { $0.load() } }
    public var sumSeconds: Double { Double(sumNanos.load()) / 1e9 }
}
