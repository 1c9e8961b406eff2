/// The commands of the protocol. Each is declared once, in `CommandTable.entries` below: its
/// name (matched by `Verb(_:)`), arity, routing key, right, traits, COMMAND entry and usage.
/// The executor's dispatch `switch` over `Verb` then names its handler (the compiler asks
/// for it).
public enum Verb: Int, CaseIterable, Sendable {
    // The booking verbs come first: the lookup tries them in this order.
    case book, cancel, status, seats, provider, ping, health, auth, quit
    // Fair rounds.
    case round, apply, withdraw, result, confirm, demand
    // Redis compatibility, so every client library connects with its defaults.
    case hello, client, select, echo, info, command, config, cluster, multi, exec, discard
    case latency, acl
}

/// One verb's declaration.
struct CommandEntry: Sendable {
    /// The argument cluster routing reads (`keyPosition` says which).
    enum Key: Sendable {
        case none
        /// A provider id: on Redis Cluster the request goes to the node serving its slot,
        /// and COMMAND names it as the key (first key 1, last 1, step 1).
        case provider
        /// A round id (`ROUND <sub> <R>`, `APPLY <R> …`, `WITHDRAW <R> …`, `RESULT <R> …`):
        /// on Redis Cluster the request goes to the node serving its slot, the round's shard
        /// (docs/SCALING.md, "Fair rounds across shards"), and COMMAND names it as the key.
        case round
    }

    /// Where the key is among the arguments (COMMAND's first and last key): 0 for none.
    var keyPosition: Int {
        switch key {
        case .none: 0
        case .provider: 1
        case .round: verb == .round ? 2 : 1
        }
    }

    struct Traits: OptionSet, Sendable {
        let rawValue: UInt8
        /// Served before AUTH when the default user needs a password.
        static let beforeAuth = Traits(rawValue: 1 << 0)
        /// Reads or changes seats: refused with -LOADING until the state is loaded, and
        /// answered only by the lease's holder.
        static let needsState = Traits(rawValue: 1 << 1)
        /// Kezek's own `+` outcomes, which `CLIENT REPLY-STYLE bulk` sends as bulk strings
        /// (what phpredis needs to tell `+BOOKED` from `+FULL`). HEALTH keeps its `+OK` line.
        static let answersOutcome = Traits(rawValue: 1 << 2)
        /// A command on seats or rounds.
        static let data: Traits = [.needsState, .answersOutcome]
    }

    let verb: Verb
    /// Upper case, as written in docs/PROTOCOL.md.
    let name: String
    /// Arguments after the verb; a count outside answers Redis's wrong-arity error.
    let arity: ClosedRange<Int>
    var key = Key.none
    /// The right it needs (`CommandRight(_:_:)` narrows CLIENT, ROUND and ACL by subcommand).
    let right: CommandRight
    var traits: Traits = []
    /// Its COMMAND / COMMAND DOCS entry; nil leaves it out of COMMAND's list.
    var docs: CommandDocs?
    /// The request as docs/PROTOCOL.md's tables write it (a unit test holds them together).
    let usage: String
}

enum CommandTable {
    private static let many = Int.max

    /// Every verb, once. COMMAND lists the documented ones in this order.
    static let entries: [CommandEntry] = [
        .init(
            verb: .book, name: "BOOK", arity: 2...3, key: .provider, right: .book, traits: .data,
            docs: .init(
                flags: ["write", "fast"],
                summary: "Books a seat at a provider for a holder, or joins its waitlist with WAIT",
                arguments: [
                    .provider, .holder,
                    .init(name: "wait", type: "pure-token", token: "WAIT", optional: true),
                ]),
            usage: "BOOK P H"),
        .init(
            verb: .cancel, name: "CANCEL", arity: 2...2, key: .provider, right: .cancel,
            traits: .data,
            docs: .init(
                flags: ["write", "fast"],
                summary: "Releases a holder's seat, offer or waitlist place",
                arguments: [.provider, .holder]),
            usage: "CANCEL P H"),
        .init(
            verb: .status, name: "STATUS", arity: 2...2, key: .provider, right: .status,
            traits: .data,
            docs: .init(
                flags: ["readonly", "fast"],
                summary: "Tells whether a holder is booked, offered or waiting at a provider",
                arguments: [.provider, .holder]),
            usage: "STATUS P H"),
        .init(
            verb: .seats, name: "SEATS", arity: 1...1, key: .provider, right: .seats, traits: .data,
            docs: .init(
                flags: ["readonly", "fast"],
                summary: "Capacity, bookings, free seats, waitlist and refused bookings "
                    + "of a provider",
                arguments: [.provider]),
            usage: "SEATS P"),
        .init(
            verb: .provider, name: "PROVIDER", arity: 2...2, key: .provider, right: .provider,
            traits: .data,
            docs: .init(
                flags: ["write", "admin"], summary: "Creates a provider or changes its capacity",
                arguments: [.provider, .init(name: "capacity", type: "integer")]),
            usage: "PROVIDER P C"),
        .init(
            verb: .confirm, name: "CONFIRM", arity: 2...2, key: .provider, right: .confirm,
            traits: .data,
            docs: .init(
                flags: ["write", "fast"], summary: "Turns a holder's offer into a booking",
                arguments: [.provider, .holder]),
            usage: "CONFIRM P H"),
        .init(
            verb: .round, name: "ROUND", arity: 2...5, key: .round, right: .round, traits: .data,
            docs: .init(
                flags: ["write", "admin"],
                summary: "Opens, closes, draws or describes a lottery round "
                    + "(OPEN/CLOSE/DRAW/STATUS)",
                arguments: [
                    .init(name: "subcommand", type: "string"), .round,
                    .init(name: "commitment-or-seed", type: "string", optional: true),
                ]),
            usage: "ROUND OPEN R <commitment> [CHOICES k]"),
        .init(
            verb: .apply, name: "APPLY", arity: 3...many, key: .round, right: .apply, traits: .data,
            docs: .init(
                flags: ["write"],
                summary: "Applies to a round with ranked choices (provider or provider/level), "
                    + "first most wanted",
                arguments: [.round, .holder, .init(name: "choice", type: "string")]),
            usage: "APPLY R H <choice> [<choice> …]"),
        .init(
            verb: .withdraw, name: "WITHDRAW", arity: 2...2, key: .round, right: .withdraw,
            traits: .data,
            docs: .init(
                flags: ["write", "fast"],
                summary: "Withdraws an application while the round is open",
                arguments: [.round, .holder]),
            usage: "WITHDRAW R H"),
        .init(
            verb: .result, name: "RESULT", arity: 2...2, key: .round, right: .result, traits: .data,
            docs: .init(
                flags: ["readonly", "fast"],
                summary: "Where a round placed a holder: offered, booked, waiting or unplaced",
                arguments: [.round, .holder]),
            usage: "RESULT R H"),
        .init(
            verb: .demand, name: "DEMAND", arity: 1...1, key: .provider, right: .demand,
            traits: .data,
            docs: .init(
                flags: ["readonly", "fast"],
                summary: "Applicants of the last round who ranked a provider first and at all, "
                    + "and its live figures",
                arguments: [.provider]),
            usage: "DEMAND P"),
        .init(
            verb: .health, name: "HEALTH", arity: 0...0, right: .health, traits: .beforeAuth,
            docs: .init(
                flags: ["readonly", "fast"],
                summary: "Readiness of the daemon and its Redis mirror",
                arguments: []),
            usage: "HEALTH"),
        .init(
            verb: .ping, name: "PING", arity: 0...1, right: .ping, traits: .beforeAuth,
            docs: .init(
                flags: ["fast"], summary: "Answers PONG, or echoes the text",
                arguments: [.init(name: "message", type: "string", optional: true)]),
            usage: "PING [text]"),
        .init(
            verb: .auth, name: "AUTH", arity: 1...2, right: .auth, traits: .beforeAuth,
            docs: .init(
                flags: ["noscript", "loading", "fast", "no_auth"],
                summary: "Authenticates the connection as an ACL user "
                    + "(the default user when the name is left out)",
                arguments: [
                    .init(name: "username", type: "string", optional: true),
                    .init(name: "password", type: "string"),
                ]),
            usage: "AUTH U T"),
        .init(
            verb: .acl, name: "ACL", arity: 1...many, right: .acl,
            docs: .init(
                flags: ["noscript", "loading", "stale"],
                summary: "The connection's user (WHOAMI); the users, their rules "
                    + "and the categories (USERS, LIST, CAT)",
                arguments: [
                    .init(name: "subcommand", type: "string"),
                    .init(name: "category", type: "string", optional: true),
                ]),
            usage: "ACL WHOAMI"),
        .init(
            verb: .quit, name: "QUIT", arity: 0...0, right: .quit, traits: .beforeAuth,
            docs: .init(
                flags: ["fast", "no_auth"], summary: "Closes the connection", arguments: []),
            usage: "QUIT"),
        .init(
            verb: .hello, name: "HELLO", arity: 0...6, right: .hello, traits: .beforeAuth,
            docs: .init(
                flags: ["noscript", "loading", "fast", "no_auth"],
                summary: "Handshake: protocol version, authentication, client name",
                arguments: [.init(name: "protover", type: "integer", optional: true)]),
            usage: "HELLO [2|3] [AUTH <user> <token>] [SETNAME <name>]"),
        .init(
            verb: .echo, name: "ECHO", arity: 1...1, right: .echo,
            docs: .init(
                flags: ["fast"], summary: "Echoes the message",
                arguments: [.init(name: "message", type: "string")]),
            usage: "ECHO <text>"),
        .init(
            verb: .select, name: "SELECT", arity: 1...1, right: .select,
            docs: .init(
                flags: ["loading", "fast"], summary: "Selects database 0, the only one",
                arguments: [.init(name: "index", type: "integer")]),
            usage: "SELECT 0"),
        .init(
            verb: .info, name: "INFO", arity: 0...many, right: .info,
            docs: .init(
                flags: ["loading"], summary: "Server and Kezek figures, Redis style",
                arguments: [.init(name: "section", type: "string", optional: true)]),
            usage: "INFO [section …]"),
        .init(
            verb: .cluster, name: "CLUSTER", arity: 1...many, right: .cluster,
            docs: .init(
                flags: ["loading", "stale"],
                summary: "Which node serves which hash slots (SLOTS, SHARDS, NODES, INFO, MYID, "
                    + "KEYSLOT), Redis Cluster style",
                arguments: [
                    .init(name: "subcommand", type: "string"),
                    .init(name: "key", type: "string", optional: true),
                ]),
            usage: "CLUSTER SLOTS"),
        // Not listed by COMMAND.
        .init(
            verb: .client, name: "CLIENT", arity: 1...many, right: .client,
            usage: "CLIENT SETNAME <name>"),
        .init(verb: .command, name: "COMMAND", arity: 0...many, right: .command, usage: "COMMAND"),
        .init(
            verb: .config, name: "CONFIG", arity: 1...many, right: .config,
            usage: "CONFIG GET <pattern> …"),
        .init(verb: .multi, name: "MULTI", arity: 0...0, right: .multi, usage: "MULTI"),
        .init(verb: .exec, name: "EXEC", arity: 0...0, right: .exec, usage: "EXEC"),
        .init(verb: .discard, name: "DISCARD", arity: 0...0, right: .discard, usage: "DISCARD"),
        .init(
            verb: .latency, name: "LATENCY", arity: 1...many, right: .latency,
            usage: "LATENCY LATEST"),
    ]

    /// The entries in `Verb` order, one per verb.
    static let byVerb: [CommandEntry] = Verb.allCases.map { verb in
        let found = entries.filter { $0.verb == verb }
        let one = found.count == 1
        precondition(one, "\(verb) needs exactly one entry in CommandTable.entries")
        return found[0]
    }

    /// The documented entries, in COMMAND's order.
    static let documented: [CommandEntry] = entries.filter { $0.docs != nil }

    static func documented(named name: String) -> CommandEntry? {
        documented.first { $0.name.lowercased() == name }
    }
}

/// The facts the executor checks on every request, as plain values (no reference counting
/// on the BOOK path): read once per request through `Verb.facts`.
struct VerbFacts: Sendable {
    let arity: ClosedRange<Int>
    let key: CommandEntry.Key
    let keyPosition: Int
    let right: CommandRight
    let traits: CommandEntry.Traits

    static let byVerb: [VerbFacts] = CommandTable.byVerb.map {
        VerbFacts(
            arity: $0.arity, key: $0.key, keyPosition: $0.keyPosition, right: $0.right,
            traits: $0.traits)
    }
}

extension Verb {
    var facts: VerbFacts { VerbFacts.byVerb[rawValue] }
    public var name: String { CommandTable.byVerb[rawValue].name }
    /// Arguments after the verb.
    var arity: ClosedRange<Int> { facts.arity }
    public var answersOutcome: Bool { facts.traits.contains(.answersOutcome) }
    public var needsState: Bool { facts.traits.contains(.needsState) }
    public var allowedBeforeAuth: Bool { facts.traits.contains(.beforeAuth) }
    /// The first argument is a provider id, the key a cluster routes by.
    var isKeyedByProvider: Bool { facts.key == .provider }
    /// A fair round's command (keyed by the round id).
    var isRoundVerb: Bool { facts.key == .round }
}

extension CommandDocs.Argument {
    static let provider = Self(name: "provider", type: "string")
    static let holder = Self(name: "holder", type: "string")
    static let round = Self(name: "round", type: "string")
}
