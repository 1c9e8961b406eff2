/// Runs one parsed request for a connection: checks the verb, arity, ids and permissions,
/// then asks the seat table. Replies in the words of the contract (docs/PROTOCOL.md).
final class CommandExecutor {
    unowned let server: KezekServer
    private let threadIndex: Int
    let cache: ProviderCache
    let table: SeatTable
    let settings: ServerSettings
    /// The server's parts a request reads, held strongly: each read through the unowned
    /// `server` costs a strong retain and its release (4-7% of kezekd's CPU per BOOK at -P 16).
    let state: ServerState
    let rounds: RoundRegistry
    let directory: ClusterDirectory?
    let units: HolderUnits?

    init(server: KezekServer, threadIndex: Int) {
        self.server = server
        self.threadIndex = threadIndex
        self.table = server.table
        self.settings = server.settings
        self.state = server.state
        self.rounds = server.rounds
        self.directory = server.directory
        self.units = server.units
        cache = ProviderCache(table: server.table)
    }

    func execute(
        _ request: UnsafeRawBufferPointer, parser: RequestParser, on connection: ClientConnection
    ) {
        let tokens = Tokens(request: request, parser: parser)
        let metrics = connection.thread.metrics
        guard let verb = Verb(tokens[0]) else {
            metrics.count(nil, .error)
            connection.reply(.unknownCommand(tokens[0]))
            return
        }
        awaitsUnit = false
        var reply =
            connection.inTransaction
            ? refuseInTransaction(verb, connection) : run(verb, tokens, connection)
        // A BOOK waiting for its holder's unit is counted once its reply is decided.
        if !awaitsUnit { metrics.count(verb, ReplyKind(reply)) }
        if connection.session.bulkReplies && verb.answersOutcome { reply = reply.inBulk }
        switch reply {
        case .now(let reply):
            connection.reply(reply)
        case .afterMirror(let reply):
            connection.replyAfterMirror(reply)
            if let provider = lastProvider {
                connection.affinity.note(owner: provider.owner, home: threadIndex)
                if provider.owner != threadIndex { connection.thread.wakeLater(provider.owner) }
            }
        }
    }

    /// The provider the last command touched (for waking its owner thread). Not retained:
    /// providers live as long as the server (see `ProviderCache`).
    unowned(unsafe) var lastProvider: Provider?
    /// The current BOOK waits for its holder's unit (`bookAcrossShards`).
    var awaitsUnit = false
    /// When the connection read the current request.
    private var lastActivity: UInt64 = 0
    /// This thread's copy of the cluster directory, and the generation it was taken at.
    var directorySnapshot: ClusterDirectory.Snapshot?
    var directoryGeneration = -1

    private func run(_ verb: Verb, _ tokens: Tokens, _ connection: ClientConnection)
        -> RequestOutcome
    {
        lastProvider = nil
        lastActivity = connection.lastActivity
        let facts = verb.facts
        guard connection.isSignedIn || facts.traits.contains(.beforeAuth) else {
            return .now(.noAuth)
        }
        guard facts.arity.contains(tokens.count - 1) else {
            return .now(.wrongArity(Self.printable(tokens[0]).lowercased()))
        }
        if connection.isSignedIn {
            let right = CommandRight(verb, tokens)
            guard connection.rights.contains(right) else {
                return .now(.noPermission(right))
            }
        }
        if facts.traits.contains(.needsState) {
            let role = state.currentRole
            if let directory = directory {
                if facts.key == .provider,
                    let elsewhere = routeElsewhere(tokens[1], directory, role: role)
                {
                    return .now(elsewhere)
                }
                if facts.key == .round {
                    // Routed to the round's shard (slot of the round id) like a provider's
                    // request, then refused there until rounds across shards are built.
                    let elsewhere = routeElsewhere(
                        tokens[facts.keyPosition], directory, role: role)
                    return .now(elsewhere ?? .roundsNotOnCluster)
                }
            }
            switch role {
            case .standby: return .now(.standby)
            case .fenced: return .now(.fenced)
            case .starting, .primary, .repairing: break
            }
            if !state.ready.load(ordering: .acquiring) { return .now(.loading) }
            // Past the lease a standby may have taken over and written since: a read from this
            // memory could be stale (a holder frozen or cut off from Redis past lease-ttl).
            guard state.leaseHeld(now: lastActivity) else { return .now(.leaseLapsed) }
        }
        switch verb {
        case .ping:
            // With an argument, PING echoes it as a bulk string, as Redis does: a `+` line
            // would let CR LF in the argument forge a reply such as `+BOOKED`.
            return .now(tokens.count == 2 ? .bulk(Array(tokens[1])) : .simple("PONG"))
        case .quit:
            connection.closeAfterReplies()
            return .now(.bye)
        case .health:
            return .now(server.health())
        case .auth:
            // `AUTH <password>` is the default user's (or the admin token's); `AUTH <user> <password>`.
            let reply = authenticate(
                user: tokens.count == 3 ? tokens[1] : nil, password: tokens[tokens.count - 1],
                connection)
            guard reply == .wrongPassword else { return .now(reply) }
            return throttledFailure(reply, connection)
        case .acl:
            return .now(acl(tokens, connection))
        case .book:
            var wait = false
            if tokens.count == 4 {
                guard Self.equalsIgnoringCase(tokens[3], "wait") else { return .now(.syntaxError) }
                wait = true
            }
            return withProviderAndHolder(tokens, connection) { provider, holder, ticket in
                // While a round is undrawn the lottery is the only way in.
                if let round = rounds.undrawnRound() { return .now(.simple("ROUND \(round)")) }
                if let units = units {
                    return bookAcrossShards(
                        provider, holder, wait: wait, ticket: ticket, units: units,
                        connection: connection)
                }
                return provider.book(
                    holder, wait: wait, rules: table.rules, mirrorUp: mirrorUp(provider),
                    ticket: ticket, now: connection.lastActivity)
            }
        case .cancel:
            let outcome = withProviderAndHolder(tokens, connection) { provider, holder, ticket in
                if let units = units {
                    return cancelAcrossShards(
                        provider, holder, ticket: ticket, units: units, connection: connection)
                }
                return provider.cancel(
                    holder, rules: table.rules, mirrorUp: mirrorUp(provider), ticket: ticket,
                    now: connection.lastActivity)
            }
            rounds.runFollowUps(rules: table.rules)
            return outcome
        case .status:
            return withProviderAndHolder(tokens, connection) { provider, holder, ticket in
                provider.statusReply(of: holder, ticket: ticket, now: connection.lastActivity)
            }
        case .seats:
            guard let id = Self.identifier(tokens[1]) else { return .now(.invalidID(tokens[1])) }
            guard let provider = cache.provider(id) else { return .now(.noProvider(id)) }
            lastProvider = provider
            return provider.seatsReply(
                ticket: ReplyTicket(connection: connection, slot: connection.nextSlot),
                now: connection.lastActivity)
        case .hello:
            return hello(tokens, connection)
        case .client:
            return .now(client(tokens, connection))
        case .select:
            return .now(select(tokens[1]))
        case .echo:
            // Binary-safe: redis-cli --pipe's marker is 20 random bytes.
            return .now(.bulk(Array(tokens[1])))
        case .info:
            return .now(info(tokens, connection))
        case .command:
            return .now(command(tokens, connection))
        case .config:
            return .now(config(tokens, connection))
        case .cluster:
            return .now(cluster(tokens, connection))
        case .latency:
            return .now(latency(tokens, connection))
        case .multi:
            connection.inTransaction = true
            return .now(.multiUnsupported)
        case .exec:
            return .now(.execWithoutMulti)
        case .discard:
            return .now(.discardWithoutMulti)
        case .provider:
            guard let id = Self.identifier(tokens[1]) else { return .now(.invalidID(tokens[1])) }
            guard let capacity = Self.integer(tokens[2]), capacity >= 0,
                capacity <= settings.maxCapacity
            else {
                return .now(.invalidCapacity(tokens[2]))
            }
            let outcome = defineProvider(id, capacity: capacity, connection)
            rounds.runFollowUps(rules: table.rules)
            return outcome
        case .confirm:
            return withProviderAndHolder(tokens, connection) { provider, holder, ticket in
                provider.confirm(
                    holder, rules: table.rules, mirrorUp: mirrorUp(provider), ticket: ticket,
                    now: connection.lastActivity)
            }
        case .round:
            return roundCommand(tokens, connection)
        case .apply:
            return apply(tokens, connection)
        case .withdraw:
            return withdraw(tokens, connection)
        case .result:
            return result(tokens, connection)
        case .demand:
            return demand(tokens, connection)
        }
    }

    func withProviderAndHolder(
        _ tokens: Tokens, _ connection: ClientConnection,
        _ body: (Provider, String, ReplyTicket) -> RequestOutcome
    ) -> RequestOutcome {
        // The provider is looked up by the request's bytes: no `String` of its id is made.
        let providerID = tokens[1]
        guard Identifier.isValid(providerID) else { return .now(.invalidID(providerID)) }
        guard let holder = Self.identifier(tokens[2]) else { return .now(.invalidID(tokens[2])) }
        let ticket = ReplyTicket(connection: connection, slot: connection.nextSlot)
        let outcome = cache.withProvider(providerID) { provider in
            lastProvider = provider
            return body(provider, holder, ticket)
        }
        return outcome ?? .now(.noProvider(String(decoding: providerID, as: UTF8.self)))
    }

    private func defineProvider(_ id: String, capacity: Int, _ connection: ClientConnection)
        -> RequestOutcome
    {
        guard state.mirrorUp[table.ownerOf(id)].isSet,
            state.mayWrite(now: connection.lastActivity)
        else {
            return .now(.unavailable)
        }
        let ticket = ReplyTicket(connection: connection, slot: connection.nextSlot)
        let (provider, created) = table.providerCreatingIfNeeded(id, capacity: capacity) {
            provider in
            provider.mirrorCreation(
                capacity: capacity, ticket: ticket, now: connection.lastActivity)
        }
        lastProvider = provider
        if created { return .afterMirror(.ok) }
        return provider.setCapacity(
            capacity, rules: table.rules, mirrorUp: mirrorUp(provider), ticket: ticket,
            now: connection.lastActivity)
    }

    /// After MULTI nothing runs until EXEC or DISCARD, so a transaction is never half applied.
    private func refuseInTransaction(_ verb: Verb, _ connection: ClientConnection) -> RequestOutcome
    {
        switch verb {
        case .exec:
            connection.inTransaction = false
            return .now(.execAbort)
        case .discard:
            connection.inTransaction = false
            return .now(.ok)
        case .multi:
            return .now(.multiNested)
        case .quit:
            connection.closeAfterReplies()
            return .now(.bye)
        default:
            return .now(.notRunInTransaction)
        }
    }

    /// A failed AUTH: logged, its reply held back, the connection closed at the limit.
    func throttledFailure(_ reply: Reply, _ connection: ClientConnection) -> RequestOutcome {
        server.authAddresses.noteFailure(
            AuthAddressThrottle.host(of: connection.session.card.address),
            now: connection.lastActivity)
        connection.authFailures += 1
        let thread = connection.thread
        thread.noteAuthFailure(connection)
        if connection.authFailures >= settings.authMaxFailures { connection.closeAfterReplies() }
        guard settings.authFailureDelay > 0 else { return .now(reply) }
        let ticket = ReplyTicket(connection: connection, slot: connection.nextSlot)
        thread.authThrottle.hold(
            ticket, until: thread.now + UInt64(settings.authFailureDelay * 1e9))
        return .afterMirror(reply)
    }

    /// Writes to the provider may be made: its thread's Redis connection takes them and this
    /// daemon holds the lease.
    func mirrorUp(_ provider: Provider) -> Bool {
        state.mirrorUp[provider.owner].isSet && state.mayWrite(now: lastActivity)
    }

    // MARK: Token helpers

    static func identifier(_ token: UnsafeRawBufferPointer) -> String? {
        Identifier.isValid(token) ? String(decoding: token, as: UTF8.self) : nil
    }

    static func integer(_ token: UnsafeRawBufferPointer) -> Int? {
        guard !token.isEmpty, token.count <= 18 else { return nil }
        var value = 0
        for byte in token {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }

    static func equalsIgnoringCase(_ token: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        guard token.count == word.utf8CodeUnitCount else { return false }
        let bytes = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for index in 0..<token.count where token[index] | 0x20 != bytes[index] { return false }
        return true
    }

    /// Compares without an early exit, so timing does not tell how much of a token matched.
    static func constantTimeEquals(_ token: UnsafeRawBufferPointer, _ secret: String) -> Bool {
        let expected = Array(secret.utf8)
        var difference = UInt8(token.count == expected.count ? 0 : 1)
        for index in 0..<max(token.count, expected.count) {
            let a = index < token.count ? token[index] : 0
            let b = index < expected.count ? expected[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }

    /// A token as it may appear in an error line (`Reply.printable`).
    static func printable(_ token: UnsafeRawBufferPointer) -> String { Reply.printable(token) }
}

/// The tokens of one request as views into the read buffer (no copies).
struct Tokens {
    let request: UnsafeRawBufferPointer
    let parser: RequestParser
    init(request: UnsafeRawBufferPointer, parser: RequestParser) {
        self.request = request
        self.parser = parser
    }
    var count: Int { parser.tokenCount }
    subscript(index: Int) -> UnsafeRawBufferPointer {
        let start = parser.tokenStarts[index]
        return UnsafeRawBufferPointer(
            rebasing: request[start..<(start + parser.tokenLengths[index])])
    }
}
