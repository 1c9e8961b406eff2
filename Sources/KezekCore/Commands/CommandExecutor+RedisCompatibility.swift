import Glibc

/// The Redis commands that client libraries and tools send on their own (HELLO at connect,
/// CLIENT SETNAME/SETINFO, SELECT 0, ECHO, INFO, COMMAND DOCS, CONFIG GET), answered in
/// Redis's shapes and wordings so that every library connects with its defaults. Kezek's
/// own replies stay the same lines whatever protocol the client chose.
extension CommandExecutor {
    static let serverVersion = "7.0.0"
    static let kezekVersion = "0.3.0"

    // MARK: HELLO

    /// `HELLO [2|3] [AUTH <user> <token>] [SETNAME <name>]`.
    func hello(_ tokens: Tokens, _ connection: ClientConnection) -> RequestOutcome {
        var version = connection.session.protocolVersion
        var name: String?
        var index = 1
        if tokens.count > 1 {
            guard let asked = Self.integer(tokens[1]), asked == 2 || asked == 3 else {
                return .now(.unsupportedProtocol)
            }
            version = asked
            index = 2
        }
        var credentials: (user: UnsafeRawBufferPointer, password: UnsafeRawBufferPointer)?
        while index < tokens.count {
            if Self.equalsIgnoringCase(tokens[index], "auth"), index + 2 < tokens.count {
                credentials = (tokens[index + 1], tokens[index + 2])
                index += 3
            } else if Self.equalsIgnoringCase(tokens[index], "setname"), index + 1 < tokens.count {
                guard let clientName = Self.clientName(tokens[index + 1]) else {
                    return .now(.invalidClientName)
                }
                name = clientName
                index += 2
            } else {
                return .now(.helloSyntax(tokens[index]))
            }
        }
        if let credentials {
            let reply = authenticate(
                user: credentials.user, password: credentials.password, connection)
            if reply.isError {
                return reply == .wrongPassword ? throttledFailure(reply, connection) : .now(reply)
            }
        } else if connection.user == nil {
            return .now(.helloNeedsAuth)
        }
        connection.session.protocolVersion = version
        if let name { connection.session.name = name }
        var out = RESPWriter(resp3: version == 3)
        out.map(7)
        out.bulk("server"); out.bulk("kezek")
        out.bulk("version"); out.bulk(Self.serverVersion)
        out.bulk("proto"); out.integer(version)
        out.bulk("id"); out.integer(connection.session.id)
        out.bulk("mode"); out.bulk(directory == nil ? "standalone" : "cluster")
        out.bulk("role"); out.bulk("master")
        out.bulk("modules"); out.array(0)
        return .now(out.reply)
    }

    // MARK: CLIENT

    func client(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        let subcommand = String(decoding: tokens[1], as: UTF8.self).uppercased()
        let arguments = tokens.count - 2
        func arity(_ expected: Int) -> Reply? {
            arguments == expected
                ? nil
                : .wrongArity("client|" + Self.printable(tokens[1]).lowercased())
        }
        var out = RESPWriter(resp3: connection.session.resp3)
        switch subcommand {
        case "SETNAME":
            if let error = arity(1) { return error }
            // An empty name clears it, as in Redis.
            if tokens[2].isEmpty {
                connection.session.name = nil
                return .ok
            }
            guard let name = Self.clientName(tokens[2]) else { return .invalidClientName }
            connection.session.name = name
            return .ok
        case "GETNAME":
            if let error = arity(0) { return error }
            if let name = connection.session.name { out.bulk(name) } else { out.null() }
            return out.reply
        case "ID":
            if let error = arity(0) { return error }
            out.integer(connection.session.id)
            return out.reply
        case "SETINFO":
            // lib-name / lib-ver, shown by CLIENT LIST; other attributes are accepted and forgotten.
            if let error = arity(2) { return error }
            guard let value = Self.clientName(tokens[3]) else { return .invalidClientName }
            switch String(decoding: tokens[2], as: UTF8.self).lowercased() {
            case "lib-name": connection.session.card.told.withLock { $0.libraryName = value }
            case "lib-ver": connection.session.card.told.withLock { $0.libraryVersion = value }
            default: break
            }
            return .ok
        case "INFO":
            if let error = arity(0) { return error }
            out.verbatim(connection.session.card.line(now: MonotonicClock.nanoseconds()) + "\n")
            return out.reply
        case "LIST":
            return clientList(tokens, connection)
        case "KILL":
            return clientKill(tokens, connection)
        case "REPLY-STYLE":
            if let error = arity(1) { return error }
            switch String(decoding: tokens[2], as: UTF8.self).lowercased() {
            case "bulk": connection.session.bulkReplies = true
            case "simple": connection.session.bulkReplies = false
            default: return .replyStyleSyntax
            }
            return .ok
        default:
            return .unknownSubcommand(tokens[1], "Try CLIENT HELP.")
        }
    }

    // MARK: SELECT

    func select(_ token: UnsafeRawBufferPointer) -> Reply {
        guard let index = Self.integer(token) else { return .notAnInteger }
        return index == 0 ? .ok : .dbIndexOutOfRange
    }

    // MARK: INFO

    /// `INFO [section …]`: Redis-style `# Section` blocks of `field:value` lines.
    func info(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        let asked = Set(
            (1..<tokens.count).map { String(decoding: tokens[$0], as: UTF8.self).lowercased() })
        let everything =
            asked.isEmpty || asked.contains("all") || asked.contains("everything")
            || asked.contains("default")
        var text = ""
        for (section, fields) in infoSections()
        where everything || asked.contains(section.lowercased()) {
            if !text.isEmpty { text += "\r\n" }
            text += "# \(section)\r\n"
            for (field, value) in fields { text += "\(field):\(value)\r\n" }
        }
        var out = RESPWriter(resp3: connection.session.resp3)
        out.verbatim(text)
        return out.reply
    }

    private func infoSections() -> [(String, [(String, String)])] {
        let state = server.state
        let uptime = (MonotonicClock.nanoseconds() &- state.startedAt) / 1_000_000_000
        let loaded = state.ready.load(ordering: .acquiring)
        let metrics = server.metrics.threads
        let requests = metrics.reduce(0) { $0 + $1.totalRequests }
        return [
            (
                "Server",
                [
                    ("redis_version", Self.serverVersion),
                    ("redis_mode", directory == nil ? "standalone" : "cluster"),
                    ("kezek_version", Self.kezekVersion),
                    ("os", "Linux"), ("process_id", "\(getpid())"),
                    ("tcp_port", "\(settings.listen.port)"),
                    ("uptime_in_seconds", "\(uptime)"), ("uptime_in_days", "\(uptime / 86_400)"),
                ]
            ),
            (
                "Clients",
                [
                    ("connected_clients", "\(state.clients.load(ordering: .relaxed))"),
                    ("maxclients", "\(settings.maxClients)"),
                ]
            ),
            ("Persistence", [("loading", loaded ? "0" : "1")]),
            (
                "Stats",
                [
                    (
                        "total_connections_received",
                        "\(metrics.reduce(0) { $0 + $1.connectionsAccepted.load() })"
                    ),
                    ("total_commands_processed", "\(requests)"),
                    (
                        "rejected_connections",
                        "\(metrics.reduce(0) { $0 + $1.connectionsRejected.load() })"
                    ),
                ]
            ),
            ("Replication", [("role", "master"), ("connected_slaves", "0")]),
            ("Keyspace", []),
            (
                "Kezek",
                [
                    ("ready", loaded ? "1" : "0"), ("mirror", state.allMirrorsUp ? "up" : "down"),
                    ("threads", "\(settings.threads)"), ("providers", "\(table.providerCount)"),
                    (
                        "bookings_total",
                        "\(metrics.reduce(0) { $0 + $1.requests(verb: .book, kind: .booked) })"
                    ),
                    ("refused_total", "\(table.allProviders.reduce(0) { $0 + $1.refusedCount })"),
                    ("redis", "\(settings.redis)"), ("key_prefix", settings.keyPrefix),
                ]
            ),
        ]
    }

    // MARK: COMMAND

    /// `COMMAND`, `COMMAND COUNT`, `COMMAND INFO [name …]`, `COMMAND DOCS [name …]` for Kezek's
    /// own commands (`CommandTable`), so redis-cli shows argument hints.
    func command(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        var out = RESPWriter(resp3: connection.session.resp3)
        let subcommand =
            tokens.count > 1 ? String(decoding: tokens[1], as: UTF8.self).uppercased() : "INFO"
        let names = (2..<max(2, tokens.count)).map {
            String(decoding: tokens[$0], as: UTF8.self).lowercased()
        }
        let selected =
            names.isEmpty
            ? CommandTable.documented : names.compactMap { CommandTable.documented(named: $0) }
        switch subcommand {
        case "COUNT":
            guard tokens.count == 2 else { return .wrongArity("command|count") }
            out.integer(CommandTable.documented.count)
        case "INFO":
            if names.isEmpty {
                out.array(selected.count)
            } else {
                // Unknown names answer a null in their place, as Redis does.
                out.array(names.count)
            }
            if names.isEmpty {
                for entry in selected { entry.writeInfo(into: &out) }
            }
            for name in names {
                if let entry = CommandTable.documented(named: name) {
                    entry.writeInfo(into: &out)
                } else {
                    out.null()
                }
            }
        case "DOCS":
            out.map(selected.count)
            for entry in selected {
                out.bulk(entry.name.lowercased())
                entry.writeDocs(into: &out)
            }
        default:
            return .unknownSubcommand(tokens[1], "Try COMMAND HELP.")
        }
        return out.reply
    }

    // MARK: CONFIG GET

    /// `CONFIG GET <pattern> [pattern …]`: a few read-only settings, by glob pattern.
    func config(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        guard Self.equalsIgnoringCase(tokens[1], "get") else {
            return .configUnsupported(tokens[1])
        }
        guard tokens.count > 2 else { return .wrongArity("config|get") }
        let values: [(String, String)] = [
            ("save", ""), ("appendonly", "no"), ("databases", "1"),
            ("maxclients", "\(settings.maxClients)"),
        ]
        let patterns = (2..<tokens.count).map {
            String(decoding: tokens[$0], as: UTF8.self).lowercased()
        }
        let matched = values.filter { name, _ in patterns.contains { fnmatch($0, name, 0) == 0 } }
        var out = RESPWriter(resp3: connection.session.resp3)
        out.map(matched.count)
        for (name, value) in matched {
            out.bulk(name)
            out.bulk(value)
        }
        return out.reply
    }

    // MARK: Helpers

    /// A client name: printable ASCII without spaces, as Redis requires; nil otherwise.
    static func clientName(_ token: UnsafeRawBufferPointer) -> String? {
        guard !token.isEmpty, token.count <= 128, token.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else { return nil }
        return String(decoding: token, as: UTF8.self)
    }
}
