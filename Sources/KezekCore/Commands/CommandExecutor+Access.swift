/// AUTH, HELLO's AUTH and ACL: who a connection is and what it may run (`UserDirectory`).
extension CommandExecutor {
    /// Signs `connection` in as `user` (nil or `default`: the default user, then, for the
    /// admin token sent alone, the admin user). Failures answer `-WRONGPASS`, and an address
    /// that failed too often is refused unchecked (`AuthAddressThrottle`).
    func authenticate(
        user name: UnsafeRawBufferPointer?, password: UnsafeRawBufferPointer,
        _ connection: ClientConnection
    ) -> Reply {
        let address = AuthAddressThrottle.host(of: connection.session.card.address)
        guard server.authAddresses.mayTry(address, now: connection.lastActivity) else {
            return .authThrottled
        }
        let directory = server.users.withLock { $0 }
        let userName = name.map { String(decoding: $0, as: UTF8.self) } ?? "default"
        if name == nil, directory.passwordless != nil, directory["admin"] == nil {
            return .authWithoutPassword
        }
        var candidates = [userName]
        if userName == "default" { candidates.append("admin") }
        for candidate in candidates {
            guard let user = directory[candidate], user.accepts(password: password) else {
                continue
            }
            connection.signIn(user)
            connection.parser = RequestParser(maxRequestBytes: settings.maxRequestBytes)
            return .ok
        }
        return .wrongPassword
    }

    /// `ACL WHOAMI`, `ACL USERS`, `ACL LIST`, `ACL CAT [category]`.
    func acl(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        var out = RESPWriter(resp3: connection.session.resp3)
        let directory = server.users.withLock { $0 }
        switch String(decoding: tokens[1], as: UTF8.self).uppercased() {
        case "WHOAMI":
            out.bulk(connection.user?.name ?? "default")
        case "USERS":
            let names = directory.users.keys.sorted()
            out.array(names.count)
            for name in names { out.bulk(name) }
        case "LIST":
            let users = directory.users.values.sorted { $0.name < $1.name }
            out.array(users.count)
            for user in users { out.bulk(user.aclLine) }
        case "CAT":
            if tokens.count == 3 {
                guard
                    let category = CommandCategory(
                        rawValue: String(decoding: tokens[2], as: UTF8.self).lowercased())
                else {
                    return .unknownCategory(tokens[2])
                }
                let rights = CommandRight.allCases.filter { $0.category == category }
                out.array(rights.count)
                for right in rights { out.bulk(right.name) }
            } else {
                out.array(CommandCategory.allCases.count)
                for category in CommandCategory.allCases { out.bulk(category.rawValue) }
            }
        default:
            return .unknownSubcommand(tokens[1], "Try ACL WHOAMI, USERS, LIST or CAT.")
        }
        return out.reply
    }
}

extension CommandRight {
    /// The right a request needs: its verb's (`CommandTable`), or for CLIENT, ROUND and ACL
    /// its subcommand's.
    init(_ verb: Verb, _ tokens: Tokens) {
        typealias Executor = CommandExecutor
        switch verb {
        case .round where Executor.equalsIgnoringCase(tokens[1], "status"): self = .roundStatus
        case .client where Executor.equalsIgnoringCase(tokens[1], "list"): self = .clientList
        case .client where Executor.equalsIgnoringCase(tokens[1], "kill"): self = .clientKill
        case .acl where Executor.equalsIgnoringCase(tokens[1], "whoami"): self = .aclWhoami
        default: self = verb.facts.right
        }
    }
}
