/// CLIENT LIST and CLIENT KILL, as an operator uses them on Redis: every open connection of
/// the daemon, whichever loop thread it is on (`OpenClients`). Their rights (`client|list`,
/// `client|kill`) are checked with every command's (`CommandRight`).
extension CommandExecutor {
    /// `CLIENT LIST [ID <id> …]`: one `key=value` line per connection (`ClientCard.line`).
    func clientList(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        var cards = server.openClients.all
        if tokens.count > 2 {
            guard Self.equalsIgnoringCase(tokens[2], "id"), tokens.count > 3 else {
                return .syntaxError
            }
            var ids = Set<Int>()
            for index in 3..<tokens.count {
                guard let id = Self.integer(tokens[index]) else { return .invalidClientID }
                ids.insert(id)
            }
            cards = cards.filter { ids.contains($0.id) }
        }
        let now = MonotonicClock.nanoseconds()
        var out = RESPWriter(resp3: connection.session.resp3)
        out.verbatim(cards.map { $0.line(now: now) + "\n" }.joined())
        return out.reply
    }

    /// `CLIENT KILL <ip:port>` (`+OK`, or `-ERR No such client`), or
    /// `CLIENT KILL [ID <id>] [ADDR <ip:port>] [LADDR <ip:port>] [SKIPME yes|no]` (how many
    /// were closed). A connection closes on its own loop thread; the calling one, with
    /// `SKIPME no`, once this reply is sent.
    func clientKill(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        let text = (2..<tokens.count).map { String(decoding: tokens[$0], as: UTF8.self) }
        var cards = server.openClients.all
        if text.count == 1 {
            cards = cards.filter { $0.address == text[0] && $0.id != connection.session.id }
            guard !cards.isEmpty else { return .noSuchClient }
            kill(cards, connection)
            return .ok
        }
        guard !text.isEmpty, text.count % 2 == 0 else { return .syntaxError }
        var skipMe = true
        for pair in stride(from: 0, to: text.count, by: 2) {
            let value = text[pair + 1]
            switch text[pair].uppercased() {
            case "ID":
                guard let id = Int(value), id > 0 else { return .clientIDNotPositive }
                cards = cards.filter { $0.id == id }
            case "ADDR": cards = cards.filter { $0.address == value }
            case "LADDR": cards = cards.filter { $0.localAddress == value }
            case "SKIPME":
                switch value.lowercased() {
                case "yes": skipMe = true
                case "no": skipMe = false
                default: return .syntaxError
                }
            default: return .syntaxError
            }
        }
        if skipMe { cards = cards.filter { $0.id != connection.session.id } }
        kill(cards, connection)
        var out = RESPWriter(resp3: connection.session.resp3)
        out.integer(cards.count)
        return out.reply
    }

    private func kill(_ cards: [ClientCard], _ connection: ClientConnection) {
        for card in cards {
            if card.id == connection.session.id {
                connection.closeAfterReplies()
            } else {
                server.threads[card.thread.load(ordering: .relaxed)].kill(clientID: card.id)
            }
        }
    }
}
