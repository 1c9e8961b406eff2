/// One client request as the nemesis recorded it: what was asked, when it was sent and when its
/// answer came (nanoseconds since the run began), and what the answer was. An answer that never
/// came (timeout, connection lost) is `unknown`: the request may or may not have taken effect,
/// as Jepsen treats an indeterminate operation.
public struct HistoryOperation: Sendable, CustomStringConvertible {
    public enum Request: String, Sendable {
        case book = "BOOK", bookWait = "BOOK-WAIT", cancel = "CANCEL", confirm = "CONFIRM"
        case status = "STATUS", seats = "SEATS"

        /// Whether it may change the state (a read never does).
        public var writes: Bool {
            self == .book || self == .bookWait || self == .cancel || self == .confirm
        }
    }

    public enum Outcome: Sendable, Equatable {
        case booked, waiting(Int), full, limit, cancelled, notFound, confirmed
        case statusBooked, statusWaiting(Int), statusNone, statusOffered
        case seats(capacity: Int, booked: Int, waiting: Int)
        /// Definitely without effect (`-LOADING`, `-UNAVAILABLE standby`, `-NOPROVIDER`, …).
        case failed(String)
        /// May or may not have taken effect.
        case unknown(String)
    }

    public var client: Int
    public var request: Request
    public var provider: String
    /// Empty for SEATS.
    public var holder: String
    public var invoked: UInt64
    /// `UInt64.max` while unknown.
    public var completed: UInt64
    public var outcome: Outcome

    public init(
        client: Int, request: Request, provider: String, holder: String, invoked: UInt64,
        completed: UInt64, outcome: Outcome
    ) {
        self.client = client
        self.request = request
        self.provider = provider
        self.holder = holder
        self.invoked = invoked
        self.completed = completed
        self.outcome = outcome
    }

    /// Whether an error reply (`text`, without its `-`) to a request leaves its effect
    /// unknown: `-UNAVAILABLE` to a write that no standby refused (Redis did not confirm it:
    /// maybe applied, maybe not). Any other error is a request without effect.
    public static func leavesUnknown(error text: String, writes: Bool) -> Bool {
        writes && text.hasPrefix("UNAVAILABLE") && !text.hasPrefix("UNAVAILABLE standby")
            && !text.hasPrefix("UNAVAILABLE fenced")
    }

    public var isUnknown: Bool { if case .unknown = outcome { true } else { false } }
    public var isFailed: Bool { if case .failed = outcome { true } else { false } }

    public var description: String {
        return
            "[\(secondsText(invoked))..\(secondsText(completed))s] client \(client) "
            + "\(request.rawValue) \(provider) \(holder) -> \(outcome)"
    }
}
