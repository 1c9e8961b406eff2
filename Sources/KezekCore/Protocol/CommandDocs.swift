/// Kezek's commands described as Redis describes its own (COMMAND, COMMAND INFO, COMMAND
/// DOCS), so tools such as redis-cli show argument hints. One entry per command.
struct CommandDocs: Sendable {
    struct Argument: Sendable {
        let name: String
        /// Redis argument types: `string`, `integer`, `pure-token`.
        let type: String
        var token: String?
        var optional = false
    }

    let name: String
    /// Redis arity: the count including the name; negative means "at least".
    let arity: Int
    let flags: [String]
    let summary: String
    let arguments: [Argument]

    static func named(_ name: String) -> CommandDocs? { all.first { $0.name == name } }

    static let all: [CommandDocs] = [
        CommandDocs(name: "book", arity: -3, flags: ["write", "fast"],
                    summary: "Books a seat at a provider for a holder, or joins its waitlist with WAIT",
                    arguments: [.init(name: "provider", type: "string"), .init(name: "holder", type: "string"),
                                .init(name: "wait", type: "pure-token", token: "WAIT", optional: true)]),
        CommandDocs(name: "cancel", arity: 3, flags: ["write", "fast"],
                    summary: "Releases a holder's seat, offer or waitlist place",
                    arguments: [.init(name: "provider", type: "string"), .init(name: "holder", type: "string")]),
        CommandDocs(name: "status", arity: 3, flags: ["readonly", "fast"],
                    summary: "Tells whether a holder is booked, offered or waiting at a provider",
                    arguments: [.init(name: "provider", type: "string"), .init(name: "holder", type: "string")]),
        CommandDocs(name: "seats", arity: 2, flags: ["readonly", "fast"],
                    summary: "Capacity, bookings, free seats, waitlist and refused bookings of a provider",
                    arguments: [.init(name: "provider", type: "string")]),
        CommandDocs(name: "provider", arity: 3, flags: ["write", "admin"],
                    summary: "Creates a provider or changes its capacity",
                    arguments: [.init(name: "provider", type: "string"), .init(name: "capacity", type: "integer")]),
        CommandDocs(name: "confirm", arity: 3, flags: ["write", "fast"],
                    summary: "Turns a holder's offer into a booking",
                    arguments: [.init(name: "provider", type: "string"), .init(name: "holder", type: "string")]),
        CommandDocs(name: "round", arity: -3, flags: ["write", "admin"],
                    summary: "Opens, closes, draws or describes a lottery round (OPEN/CLOSE/DRAW/STATUS)",
                    arguments: [.init(name: "subcommand", type: "string"), .init(name: "round", type: "string"),
                                .init(name: "commitment-or-seed", type: "string", optional: true)]),
        CommandDocs(name: "apply", arity: -4, flags: ["write"],
                    summary: "Applies to a round with ranked choices (provider or provider/level), first most wanted",
                    arguments: [.init(name: "round", type: "string"), .init(name: "holder", type: "string"),
                                .init(name: "choice", type: "string")]),
        CommandDocs(name: "withdraw", arity: 3, flags: ["write", "fast"], summary: "Withdraws an application while the round is open",
                    arguments: [.init(name: "round", type: "string"), .init(name: "holder", type: "string")]),
        CommandDocs(name: "result", arity: 3, flags: ["readonly", "fast"],
                    summary: "Where a round placed a holder: offered, booked, waiting or unplaced",
                    arguments: [.init(name: "round", type: "string"), .init(name: "holder", type: "string")]),
        CommandDocs(name: "demand", arity: 2, flags: ["readonly", "fast"],
                    summary: "Applicants of the last round who ranked a provider first and at all, and its live figures",
                    arguments: [.init(name: "provider", type: "string")]),
        CommandDocs(name: "health", arity: 1, flags: ["readonly", "fast"], summary: "Readiness of the daemon and its Redis mirror",
                    arguments: []),
        CommandDocs(name: "ping", arity: -1, flags: ["fast"], summary: "Answers PONG, or echoes the text",
                    arguments: [.init(name: "message", type: "string", optional: true)]),
        CommandDocs(name: "auth", arity: -2, flags: ["noscript", "loading", "fast", "no_auth"],
                    summary: "Authenticates the connection as an ACL user (the default user when the name is left out)",
                    arguments: [.init(name: "username", type: "string", optional: true), .init(name: "password", type: "string")]),
        CommandDocs(name: "acl", arity: -2, flags: ["noscript", "loading", "stale"],
                    summary: "The connection's user (WHOAMI); the users, their rules and the categories (USERS, LIST, CAT)",
                    arguments: [.init(name: "subcommand", type: "string"), .init(name: "category", type: "string", optional: true)]),
        CommandDocs(name: "quit", arity: 1, flags: ["fast", "no_auth"], summary: "Closes the connection", arguments: []),
        CommandDocs(name: "hello", arity: -1, flags: ["noscript", "loading", "fast", "no_auth"],
                    summary: "Handshake: protocol version, authentication, client name",
                    arguments: [.init(name: "protover", type: "integer", optional: true)]),
        CommandDocs(name: "echo", arity: 2, flags: ["fast"], summary: "Echoes the message",
                    arguments: [.init(name: "message", type: "string")]),
        CommandDocs(name: "select", arity: 2, flags: ["loading", "fast"], summary: "Selects database 0, the only one",
                    arguments: [.init(name: "index", type: "integer")]),
        CommandDocs(name: "info", arity: -1, flags: ["loading"], summary: "Server and Kezek figures, Redis style",
                    arguments: [.init(name: "section", type: "string", optional: true)]),
        CommandDocs(name: "cluster", arity: -2, flags: ["loading", "stale"],
                    summary: "Which node serves which hash slots (SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT), Redis Cluster style",
                    arguments: [.init(name: "subcommand", type: "string"), .init(name: "key", type: "string", optional: true)]),
    ]

    /// A command whose first argument is a provider names it as its key (first key 1, last 1,
    /// step 1): cluster-aware clients route it by the provider's hash slot (`CLUSTER SLOTS`),
    /// which is the slot of every Redis key that stores the provider.
    var providerIsKey: Bool { arguments.first?.name == "provider" }

    /// The 10-element COMMAND INFO entry of Redis 7.
    func writeInfo(into out: inout RESPWriter) {
        out.array(10)
        out.bulk(name)
        out.integer(arity)
        out.array(flags.count)
        for flag in flags { out.simple(flag) }
        let keyPosition = providerIsKey ? 1 : 0
        out.integer(keyPosition)
        out.integer(keyPosition)
        out.integer(keyPosition)
        out.array(0)
        out.array(0)
        out.array(0)
        out.array(0)
    }

    /// The COMMAND DOCS map of this command.
    func writeDocs(into out: inout RESPWriter) {
        out.map(5)
        out.bulk("summary"); out.bulk(summary)
        out.bulk("since"); out.bulk("1.0.0")
        out.bulk("group"); out.bulk("generic")
        out.bulk("complexity"); out.bulk("O(1)")
        out.bulk("arguments")
        out.array(arguments.count)
        for argument in arguments {
            var fields = 2
            if argument.token != nil { fields += 1 }
            if argument.optional { fields += 1 }
            out.map(fields)
            out.bulk("name"); out.bulk(argument.name)
            out.bulk("type"); out.bulk(argument.type)
            if let token = argument.token {
                out.bulk("token"); out.bulk(token)
            }
            if argument.optional {
                out.bulk("flags"); out.array(1); out.simple("optional")
            }
        }
    }
}
