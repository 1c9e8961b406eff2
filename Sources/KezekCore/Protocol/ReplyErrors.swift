/// Every error line the daemon answers, named once (docs/PROTOCOL.md, "Errors"). The wording
/// is part of the contract: Redis's own where a client library matches on it.
extension Reply {
    // MARK: Requests

    static func unknownCommand(_ token: UnsafeRawBufferPointer) -> Reply {
        .error("ERR unknown command '\(printable(token))'")
    }
    /// `command` in lower case: the verb, or `verb|subcommand`.
    static func wrongArity(_ command: String) -> Reply {
        .error("ERR wrong number of arguments for '\(command)' command")
    }
    static let syntaxError = Reply.error("ERR syntax error")
    /// `hint` follows the token: what to try instead.
    static func unknownSubcommand(_ token: UnsafeRawBufferPointer, _ hint: String) -> Reply {
        .error("ERR unknown subcommand '\(printable(token))'. \(hint)")
    }
    static func invalidID(_ token: UnsafeRawBufferPointer) -> Reply {
        .error("ERR invalid id '\(printable(token))'")
    }
    static func invalidCapacity(_ token: UnsafeRawBufferPointer) -> Reply {
        .error("ERR invalid capacity '\(printable(token))'")
    }
    static func noProvider(_ id: String) -> Reply { .error("NOPROVIDER \(id)") }
    static let capacityBelowBooked = Reply.error("ERR capacity below booked seats")
    static let notAnInteger = Reply.error("ERR value is not an integer or out of range")
    static let requestTimeout = Reply.error("ERR request timeout")
    static let maxClients = Reply.error("ERR max number of clients reached")

    // MARK: Users and rights

    static let noAuth = Reply.error("NOAUTH Authentication required.")
    static let helloNeedsAuth = Reply.error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            + "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client "
            + "and select the RESP protocol version at the same time")
    static func noPermission(_ right: CommandRight) -> Reply {
        .error("NOPERM this connection is not allowed to run '\(right.name)'")
    }
    static let wrongPassword = Reply.error("WRONGPASS invalid token")
    static let authThrottled = Reply.error(
        "ERR too many failed AUTH attempts from this address: "
            + "retry after auth-address-window seconds")
    static let authWithoutPassword = Reply.error("ERR AUTH called without any password configured")
    static func unknownCategory(_ token: UnsafeRawBufferPointer) -> Reply {
        .error("ERR Unknown category '\(printable(token))'")
    }

    // MARK: Role, lease and cluster

    /// BOOK/CANCEL/PROVIDER when Redis cannot take writes (fail closed). Retrying is safe.
    public static let unavailable = Reply.error("UNAVAILABLE mirror down, retry")
    /// A data command after this daemon's lease lapsed unrenewed (Redis unreachable, or the
    /// process was frozen): another daemon may hold the key prefix now.
    public static let leaseLapsed = Reply.error(
        "UNAVAILABLE lease lapsed: this daemon may no longer hold the key prefix, retry")
    /// Data commands before recovery has loaded the state.
    public static let loading = Reply.error("LOADING Kezek is loading its state from Redis")

    static let standby = Reply.error(
        "UNAVAILABLE standby: another daemon holds the lease of this key prefix")
    static let fenced = Reply.error("UNAVAILABLE fenced: another daemon took over this key prefix")
    /// HEALTH of a daemon that is not ready: `-DOWN mirror=… state=…`.
    static func down(_ line: String) -> Reply { .error("DOWN " + line) }
    static let slotMapNotRead = Reply.error("UNAVAILABLE the cluster's slot map is not read yet")
    static func moved(slot: Int, to holder: some CustomStringConvertible) -> Reply {
        .error("MOVED \(slot) \(holder)")
    }
    static func noServer(slot: Int) -> Reply {
        .error(
            "UNAVAILABLE no kezekd serves hash slot \(slot) right now (a takeover is under way); "
                + "retry")
    }
    static let roundsNotOnCluster = Reply.error(
        "ERR fair rounds are not offered with redis-cluster: a round spans every shard "
            + "(docs/SCALING.md)")
    static let bookWaitNotOnCluster = Reply.error(
        "ERR BOOK WAIT is not offered with holder-limit on redis-cluster (docs/SCALING.md)")

    // MARK: Fair rounds

    static func noRound(_ id: String) -> Reply { .error("NOROUND \(id)") }
    static func busyRound(_ other: String) -> Reply { .error("BUSYROUND \(other)") }
    static let roundExists = Reply.error("ERR round exists")
    static let roundIsOpen = Reply.error("ERR round is open")
    static let invalidCommitment = Reply.error("ERR invalid commitment")
    static let seedMismatch = Reply.error("ERR seed does not match commitment")
    static func invalidChoices(_ token: UnsafeRawBufferPointer, most: Int) -> Reply {
        .error("ERR invalid choices '\(printable(token))' (1 to \(most))")
    }
    static func invalidChoice(_ token: UnsafeRawBufferPointer) -> Reply {
        .error("ERR invalid choice '\(printable(token))'")
    }
    static func duplicateChoice(_ provider: String) -> Reply {
        .error("ERR duplicate choice '\(provider)'")
    }
    static let tooManyChoices = Reply.error("ERR too many choices")
    static let drawInProgress = Reply.error(
        "UNAVAILABLE a draw of this round is in progress, retry")
    static let drawFailed = Reply.error("ERR draw failed")

    // MARK: Redis compatibility

    static let unsupportedProtocol = Reply.error("NOPROTO unsupported protocol version")
    static func helloSyntax(_ token: UnsafeRawBufferPointer) -> Reply {
        .error("ERR Syntax error in HELLO option '\(printable(token))'")
    }
    static let invalidClientName = Reply.error(
        "ERR Client names cannot contain spaces, newlines or special characters.")
    static let replyStyleSyntax = Reply.error(
        "ERR syntax error: CLIENT REPLY-STYLE takes BULK or SIMPLE")
    static let invalidClientID = Reply.error("ERR Invalid client ID")
    static let clientIDNotPositive = Reply.error("ERR client-id should be greater than 0")
    static let noSuchClient = Reply.error("ERR No such client")
    static let dbIndexOutOfRange = Reply.error("ERR DB index is out of range")
    static func configUnsupported(_ token: UnsafeRawBufferPointer) -> Reply {
        .error(
            "ERR CONFIG \(printable(token).uppercased()) is not supported: "
                + "Kezek's settings are read-only")
    }
    static let multiUnsupported = Reply.error("ERR MULTI is not supported")
    static let multiNested = Reply.error("ERR MULTI calls can not be nested")
    static let execWithoutMulti = Reply.error("ERR EXEC without MULTI")
    static let discardWithoutMulti = Reply.error("ERR DISCARD without MULTI")
    static let execAbort = Reply.error(
        "EXECABORT Transaction discarded because of previous errors.")
    static let notRunInTransaction = Reply.error(
        "ERR command not run: MULTI is not supported; send DISCARD or EXEC")

    /// A token as it may appear in an error line: control bytes and quotes shown as '?'.
    /// (Its length is bounded by max-request-bytes.)
    static func printable(_ token: UnsafeRawBufferPointer) -> String {
        let shown = token.map {
            (0x20...0x7e).contains($0) && $0 != UInt8(ascii: "'") ? $0 : UInt8(ascii: "?")
        }
        return String(decoding: shown, as: UTF8.self)
    }
}
