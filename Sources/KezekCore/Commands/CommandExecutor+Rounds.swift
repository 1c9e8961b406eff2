import KezekDraw

/// The fair-round commands (docs/PROTOCOL.md "Fair rounds"): ROUND OPEN/CLOSE/DRAW/STATUS,
/// APPLY, WITHDRAW and RESULT. CONFIRM is a provider command (CommandExecutor).
extension CommandExecutor {
    func roundCommand(_ tokens: Tokens, _ connection: ClientConnection) -> RequestOutcome {
        let sub = tokens[1]
        guard let id = Self.identifier(tokens[2]) else { return .now(.invalidID(tokens[2])) }
        let ticket = ReplyTicket(connection: connection, slot: connection.nextSlot)
        let now = connection.lastActivity
        lastProvider = rounds.ledger
        if Self.equalsIgnoringCase(sub, "status") {
            guard tokens.count == 3 else { return .now(.syntaxError) }
            return rounds.status(id, ticket: ticket, now: now)
        }
        guard state.mirrorUp[rounds.ledger.owner].isSet, state.mayWrite(now: now)
        else { return .now(.unavailable) }
        if Self.equalsIgnoringCase(sub, "open") {
            guard tokens.count == 4 || tokens.count == 6 else { return .now(.syntaxError) }
            let commitment = String(decoding: tokens[3], as: UTF8.self)
            guard commitment.utf8.count == 64,
                commitment.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
            else {
                return .now(.invalidCommitment)
            }
            var choices = RankedChoice.defaultChoices
            if tokens.count == 6 {
                guard Self.equalsIgnoringCase(tokens[4], "choices") else {
                    return .now(.syntaxError)
                }
                guard let k = Self.integer(tokens[5]), k >= 1, k <= RankedChoice.maxChoices else {
                    return .now(.invalidChoices(tokens[5], most: RankedChoice.maxChoices))
                }
                choices = k
            }
            return rounds.open(
                id, commitment: commitment, choices: choices, ticket: ticket, now: now)
        }
        if Self.equalsIgnoringCase(sub, "close") {
            guard tokens.count == 3 else { return .now(.syntaxError) }
            return rounds.close(id, ticket: ticket, now: now)
        }
        if Self.equalsIgnoringCase(sub, "draw") {
            guard tokens.count == 4 else { return .now(.syntaxError) }
            // A seed that is not a valid token cannot be the committed one.
            guard let seed = Self.identifier(tokens[3]) else { return .now(.seedMismatch) }
            return DrawRun(registry: rounds, table: table, rules: table.rules, roundID: id).run(
                ticket: ticket, seed: seed)
        }
        return .now(.syntaxError)
    }

    func apply(_ tokens: Tokens, _ connection: ClientConnection) -> RequestOutcome {
        guard let id = Self.identifier(tokens[1]) else { return .now(.invalidID(tokens[1])) }
        guard let holder = Self.identifier(tokens[2]) else { return .now(.invalidID(tokens[2])) }
        guard let round = rounds.glance(id) else { return .now(.noRound(id)) }
        guard round.phase == .open else { return .now(.simple("CLOSED \(id)")) }
        guard tokens.count - 3 <= round.choiceLimit else { return .now(.tooManyChoices) }
        var choices: [Round.Choice] = []
        var seen = Set<String>()
        for index in 3..<tokens.count {
            let token = tokens[index]
            let text = Substring(String(decoding: token, as: UTF8.self))
            guard let (provider, level) = RankedChoice.split(text),
                Identifier.isValid(String(provider))
            else {
                return .now(.invalidChoice(token))
            }
            let providerID = String(provider)
            guard cache.provider(providerID) != nil else { return .now(.noProvider(providerID)) }
            guard seen.insert(providerID).inserted else {
                return .now(.duplicateChoice(providerID))
            }
            choices.append(Round.Choice(provider: providerID, level: level))
        }
        guard state.mirrorUp[rounds.ledger.owner].isSet,
            state.mayWrite(now: connection.lastActivity)
        else { return .now(.unavailable) }
        lastProvider = rounds.ledger
        return rounds.apply(
            id, holder: holder, choices: choices,
            ticket: ReplyTicket(connection: connection, slot: connection.nextSlot),
            now: connection.lastActivity)
    }

    func withdraw(_ tokens: Tokens, _ connection: ClientConnection) -> RequestOutcome {
        guard let id = Self.identifier(tokens[1]) else { return .now(.invalidID(tokens[1])) }
        guard let holder = Self.identifier(tokens[2]) else { return .now(.invalidID(tokens[2])) }
        guard state.mirrorUp[rounds.ledger.owner].isSet,
            state.mayWrite(now: connection.lastActivity)
        else { return .now(.unavailable) }
        lastProvider = rounds.ledger
        return rounds.withdraw(
            id, holder: holder,
            ticket: ReplyTicket(connection: connection, slot: connection.nextSlot),
            now: connection.lastActivity)
    }

    /// RESULT: the holder's placement, else its best-ranked waitlist place, else unplaced.
    /// Before the draw: `+APPLIED <choices>` for an applicant (its application stands).
    func result(_ tokens: Tokens, _ connection: ClientConnection) -> RequestOutcome {
        guard let id = Self.identifier(tokens[1]) else { return .now(.invalidID(tokens[1])) }
        guard let holder = Self.identifier(tokens[2]) else { return .now(.invalidID(tokens[2])) }
        guard let round = rounds.glance(id, holder: holder) else { return .now(.noRound(id)) }
        guard let choices = round.choices else { return .now(.none) }
        guard round.phase == .drawn else { return .now(.simple("APPLIED \(choices.count)")) }
        let now = connection.lastActivity
        let ticket = ReplyTicket(connection: connection, slot: connection.nextSlot)
        if let placement = rounds.placement(round: id, holder: holder),
            let provider = cache.provider(placement.provider)
        {
            switch provider.roundStanding(of: holder, round: id) {
            case .offered(let seconds):
                return settledReply(
                    .simple("OFFERED \(placement.provider) \(placement.rank) \(seconds)"), provider,
                    ticket, now)
            case .booked:
                return settledReply(
                    .simple("BOOKED \(placement.provider) \(placement.rank)"), provider, ticket, now
                )
            case .waiting, .absent:
                break
            }
        }
        for choice in choices {
            guard let provider = cache.provider(choice.provider),
                case .waiting(let position) = provider.roundStanding(of: holder, round: id)
            else { continue }
            return settledReply(
                .simple("WAITING \(choice.provider) \(position)"), provider, ticket, now)
        }
        return .now(.simple("UNPLACED"))
    }

    /// DEMAND: how many applicants of the last round wanted the provider, and its live figures.
    func demand(_ tokens: Tokens, _ connection: ClientConnection) -> RequestOutcome {
        guard let id = Self.identifier(tokens[1]) else { return .now(.invalidID(tokens[1])) }
        guard let provider = cache.provider(id) else { return .now(.noProvider(id)) }
        let wanted = rounds.demand(of: id)
        let seats = provider.seats()
        let reply = Reply.simple(
            "DEMAND first=\(wanted.first) any=\(wanted.any) booked=\(seats.booked) offered=\(seats.offered ?? 0) waiting=\(seats.waiting) refused=\(seats.refused)"
        )
        return settledReply(
            reply, provider, ReplyTicket(connection: connection, slot: connection.nextSlot),
            connection.lastActivity)
    }

    /// `reply`, held until Redis has every write of `provider` made so far.
    private func settledReply(
        _ reply: Reply, _ provider: Provider, _ ticket: ReplyTicket, _ now: UInt64
    ) -> RequestOutcome {
        lastProvider = provider
        return provider.settledOutcome(reply, ticket: ticket, now: now)
    }
}
