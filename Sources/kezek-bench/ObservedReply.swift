// What a reply line said, as the load harness saw it, reduced to the outcomes the reports count
// (the daemon counts its own replies by `ReplyKind`, KezekCore).
enum ObservedReply: UInt8, CaseIterable {
    case none = 0  // no reply recorded (yet)
    case booked, waiting, full, limit, notFound, cancelled
    case seats, ok, pong, idle, bye, otherStatus
    case integer, error, malformed, lost

    /// Name used in summaries and JSON.
    var label: String {
        switch self {
        case .none: return "NOREPLY"
        case .booked: return "BOOKED"
        case .waiting: return "WAITING"
        case .full: return "FULL"
        case .limit: return "LIMIT"
        case .notFound: return "NOTFOUND"
        case .cancelled: return "CANCELLED"
        case .seats: return "SEATS"
        case .ok: return "OK"
        case .pong: return "PONG"
        case .idle: return "NONE"
        case .bye: return "BYE"
        case .otherStatus: return "OTHER"
        case .integer: return "INTEGER"
        case .error: return "ERROR"
        case .malformed: return "MALFORMED"
        case .lost: return "LOST"
        }
    }

    /// Kinds that say for sure what happened to a BOOK or CANCEL.
    var isDefinite: Bool {
        switch self {
        case .booked, .waiting, .full, .limit, .notFound, .cancelled: return true
        default: return false
        }
    }

    /// The kinds always shown in a summary, in order.
    static let reported: [ObservedReply] = [
        .booked, .waiting, .full, .limit, .notFound, .cancelled,
    ]
}

/// Reply counts for one phase, one slot per kind, plus error replies by code.
struct ReplyCounts {
    private(set) var byKind = [Int](repeating: 0, count: ObservedReply.allCases.count)
    private(set) var errorsByCode: [String: Int] = [:]

    @inline(__always)
    mutating func add(_ kind: ObservedReply, _ n: Int = 1) { byKind[Int(kind.rawValue)] += n }

    mutating func addError(code: String, _ n: Int = 1) {
        add(.error, n)
        errorsByCode[code, default: 0] += n
    }

    subscript(kind: ObservedReply) -> Int { byKind[Int(kind.rawValue)] }

    var total: Int { byKind.reduce(0, +) }

    mutating func merge(_ other: ReplyCounts) {
        for i in byKind.indices { byKind[i] += other.byKind[i] }
        for (k, v) in other.errorsByCode { errorsByCode[k, default: 0] += v }
    }

    /// "BOOKED 12 WAITING 3 ... errors 2 (UNAVAILABLE 2)" with the always-shown kinds, then
    /// any other kind seen.
    func line() -> String {
        var parts = ObservedReply.reported.map { "\($0.label) \(Format.count(self[$0]))" }
        for kind in ObservedReply.allCases
        where !ObservedReply.reported.contains(kind)
            && kind != .error && kind != .none && self[kind] > 0
        {
            parts.append("\(kind.label) \(Format.count(self[kind]))")
        }
        var errors = "errors \(Format.count(self[.error]))"
        if !errorsByCode.isEmpty {
            errors +=
                " ("
                + errorsByCode.sorted { $0.key < $1.key }.map {
                    "\($0.key) \(Format.count($0.value))"
                }
                .joined(separator: ", ") + ")"
        }
        parts.append(errors)
        return parts.joined(separator: "  ")
    }
}
