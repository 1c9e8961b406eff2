import Synchronization

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

    init(_ outcome: RequestOutcome) {
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
            if text.hasPrefix("UNAVAILABLE") {
                self = .unavailable
            } else if text.hasPrefix("LOADING") {
                self = .loading
            } else {
                self = .error
            }
        }
    }
}
