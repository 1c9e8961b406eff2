import Synchronization

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
        requests = (0..<((Verb.allCases.count + 1) * ReplyKind.allCases.count)).map { _ in Counter()
        }
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
