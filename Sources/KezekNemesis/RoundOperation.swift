/// One fair-round request as the nemesis recorded it (PROTOCOL.md, "Fair rounds"): who sent
/// it, when it was sent and answered (nanoseconds since the run began), and the answer;
/// `unknown` when none came, as for the seat requests (`HistoryOperation`).
public struct RoundOperation: Sendable, CustomStringConvertible {
    public enum Request: Sendable, Equatable {
        /// `APPLY <round> <holder> <choices…>`, the choices as sent (`p` or `p/level`).
        case apply([String])
        case withdraw
        /// `RESULT <round> <holder>`.
        case result
        /// `ROUND DRAW <round> <seed>` (admin).
        case draw

        public var writes: Bool { self != .result }
    }

    public enum Outcome: Sendable, Equatable {
        /// `+APPLIED <n>`: to APPLY, the application stands; to RESULT before the draw, the
        /// holder's application has `n` choices.
        case applied(Int)
        case withdrawn
        /// `+NOTFOUND`: WITHDRAW found no application.
        case notFound
        /// `+CLOSED <round>`: the window had closed; nothing changed.
        case closed
        /// `+DRAWN …`, the counts as answered.
        case drawn(String)
        case booked(provider: String, rank: Int)
        case offered(provider: String, rank: Int)
        case waiting(provider: String, position: Int)
        case unplaced
        /// `+NONE`: the holder did not apply.
        case none
        /// Definitely without effect.
        case failed(String)
        /// May or may not have taken effect.
        case unknown(String)
    }

    public var client: Int
    public var round: String
    /// Empty for DRAW.
    public var holder: String
    public var request: Request
    public var invoked: UInt64
    /// `UInt64.max` while unknown.
    public var completed: UInt64
    public var outcome: Outcome

    public init(
        client: Int, round: String, holder: String, request: Request, invoked: UInt64,
        completed: UInt64, outcome: Outcome
    ) {
        self.client = client
        self.round = round
        self.holder = holder
        self.request = request
        self.invoked = invoked
        self.completed = completed
        self.outcome = outcome
    }

    public var isUnknown: Bool { if case .unknown = outcome { true } else { false } }
    public var isFailed: Bool { if case .failed = outcome { true } else { false } }

    /// Parses a reply line to `request`. An error is a failure, except `-UNAVAILABLE` to a
    /// write that no standby refused (Redis did not confirm it: maybe applied, maybe not).
    public static func outcome(of reply: String, to request: Request) -> Outcome {
        let words = reply.dropFirst().split(separator: " ").map(String.init)
        let head = words.first ?? ""
        if reply.hasPrefix("-") {
            let text = String(reply.dropFirst())
            return HistoryOperation.leavesUnknown(error: text, writes: request.writes)
                ? .unknown(text) : .failed(text)
        }
        let second = words.count > 1 ? words[1] : ""
        let number = Int(words.count > 2 ? words[2] : second) ?? -1
        switch head {
        case "APPLIED": return .applied(Int(second) ?? -1)
        case "WITHDRAWN": return .withdrawn
        case "NOTFOUND": return .notFound
        case "CLOSED": return .closed
        case "DRAWN": return .drawn(words.dropFirst().joined(separator: " "))
        case "BOOKED": return .booked(provider: second, rank: number)
        case "OFFERED": return .offered(provider: second, rank: number)
        case "WAITING": return .waiting(provider: second, position: number)
        case "UNPLACED": return .unplaced
        case "NONE": return .none
        default: return .failed("unexpected reply '\(reply)'")
        }
    }

    public var description: String {
        let what =
            switch request {
            case .apply(let choices): "APPLY \(round) \(holder) \(choices.joined(separator: " "))"
            case .withdraw: "WITHDRAW \(round) \(holder)"
            case .result: "RESULT \(round) \(holder)"
            case .draw: "ROUND DRAW \(round)"
            }
        return "[\(secondsText(invoked))..\(secondsText(completed))s] client \(client) \(what)"
            + " -> \(outcome)"
    }
}
