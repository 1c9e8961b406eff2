/// The commands of the protocol, matched case-insensitively without building a String.
public enum Verb: Int, CaseIterable, Sendable {
    // The booking verbs come first: the lookup tries them in this order.
    case book, cancel, status, seats, provider, ping, health, auth, quit
    // Fair rounds.
    case round, apply, withdraw, result, confirm, demand
    // Redis compatibility, so every client library connects with its defaults.
    case hello, client, select, echo, info, command, config, cluster, multi, exec, discard, latency, acl

    public var name: String {
        switch self {
        case .book: "BOOK"
        case .cancel: "CANCEL"
        case .status: "STATUS"
        case .seats: "SEATS"
        case .provider: "PROVIDER"
        case .ping: "PING"
        case .health: "HEALTH"
        case .auth: "AUTH"
        case .quit: "QUIT"
        case .round: "ROUND"
        case .apply: "APPLY"
        case .withdraw: "WITHDRAW"
        case .result: "RESULT"
        case .confirm: "CONFIRM"
        case .demand: "DEMAND"
        case .hello: "HELLO"
        case .client: "CLIENT"
        case .select: "SELECT"
        case .echo: "ECHO"
        case .info: "INFO"
        case .command: "COMMAND"
        case .config: "CONFIG"
        case .cluster: "CLUSTER"
        case .multi: "MULTI"
        case .exec: "EXEC"
        case .discard: "DISCARD"
        case .latency: "LATENCY"
        case .acl: "ACL"
        }
    }

    /// Kezek's own commands, whose `+` outcomes a connection may take as bulk strings
    /// (`CLIENT REPLY-STYLE bulk`): what phpredis needs to tell `+BOOKED` from `+FULL`.
    /// HEALTH keeps its `+OK` line: probes match on it.
    public var answersOutcome: Bool {
        switch self {
        case .book, .cancel, .status, .seats, .provider, .round, .apply, .withdraw, .result, .confirm, .demand: true
        default: false
        }
    }

    /// Commands that read or change seats: refused with -LOADING until state is loaded.
    public var needsState: Bool {
        switch self {
        case .book, .cancel, .status, .seats, .provider, .round, .apply, .withdraw, .result, .confirm, .demand: true
        default: false
        }
    }

    /// Commands allowed before AUTH when a token is configured.
    public var allowedBeforeAuth: Bool {
        switch self {
        case .auth, .ping, .quit, .health, .hello: true
        default: false
        }
    }

    private static let lowercasedNames: [(Verb, [UInt8])] = Verb.allCases.map { ($0, Array($0.name.lowercased().utf8)) }

    /// Matches `token` against the verbs, ignoring ASCII case.
    public init?(_ token: UnsafeRawBufferPointer) {
        for (verb, name) in Verb.lowercasedNames where name.count == token.count {
            var same = true
            for index in 0..<name.count where token[index] | 0x20 != name[index] {
                same = false
                break
            }
            if same {
                self = verb
                return
            }
        }
        return nil
    }
}
