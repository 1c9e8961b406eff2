/// What a command did to a provider: a reply to send now, or one to send once Redis has the
/// writes it produced (they were handed to the provider's mirror with the reply's ticket).
public enum RequestOutcome: Sendable {
    case now(Reply)
    case afterMirror(Reply)
}

extension RequestOutcome {
    /// The same, its reply as a bulk string (see `Reply.inBulk`).
    var inBulk: RequestOutcome {
        switch self {
        case .now(let reply): .now(reply.inBulk)
        case .afterMirror(let reply): .afterMirror(reply.inBulk)
        }
    }
}
