/// One unit of permission: a verb, or for CLIENT, ROUND and ACL a group of its subcommands
/// whose rights differ (a gateway reads ROUND STATUS, only an operator draws). Each right's
/// category is declared here and nowhere else; `User` rules name rights as Redis names
/// commands (`+book`, `-client|list`).
public enum CommandRight: Int, CaseIterable, Sendable {
    case auth, hello, quit, ping, echo, select, multi, exec, discard, command, cluster, client,
        aclWhoami
    case book, cancel, status, seats, apply, withdraw, result, confirm, demand, roundStatus
    case health, info, config, latency, clientList
    case provider, round, clientKill, acl

    public var category: CommandCategory {
        switch self {
        // HEALTH is served before AUTH (probes), so it is every user's too.
        case .auth, .hello, .quit, .ping, .echo, .select, .multi, .exec, .discard, .command,
            .cluster, .client, .aclWhoami, .health:
            .connection
        case .book, .cancel, .status, .seats, .apply, .withdraw, .result, .confirm, .demand,
            .roundStatus:
            .gateway
        case .info, .config, .latency, .clientList:
            .monitor
        case .provider, .round, .clientKill, .acl:
            .admin
        }
    }

    /// The name in rules, NOPERM errors and ACL CAT: the verb in lower case, `|subcommand`
    /// for a group of subcommands.
    public var name: String {
        switch self {
        case .aclWhoami: "acl|whoami"
        case .roundStatus: "round|status"
        case .clientList: "client|list"
        case .clientKill: "client|kill"
        default: "\(self)"
        }
    }

    static let byName: [String: CommandRight] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.name, $0) })
}

/// A set of rights as one 64-bit mask: checking a request is one AND.
public struct Rights: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ right: CommandRight) { rawValue = 1 << UInt64(right.rawValue) }

    public static let all = Rights(CommandRight.allCases.map(Rights.init))
    public static func category(_ category: CommandCategory) -> Rights {
        Rights(CommandRight.allCases.filter { $0.category == category }.map(Rights.init))
    }

    public func contains(_ right: CommandRight) -> Bool {
        rawValue & (1 << UInt64(right.rawValue)) != 0
    }
}
