import KezekDraw

/// ROUND DRAW: the allocation (KezekDraw) over the seats free at the draw, then three steps
/// in Redis, each begun once the one before is confirmed:
///  1. the draw record (seed, time, free seats, excluded holders, outcome counts) through
///     the rounds' ledger;
///  2. every provider's placements (offers or bookings) and waitlist places, on each
///     provider's own connection, one part of a joint reply each;
///  3. the round marked drawn; then memory calls it drawn and `+DRAWN` is sent.
/// A crash before step 3 leaves the round `drawing`: DRAW sent again reads the stored record,
/// computes the same allocation, and rewrites what is missing (placements are facts).
struct DrawRun {
    let registry: RoundRegistry
    let table: SeatTable
    let rules: Provider.BookingRules
    let roundID: String

    /// What the allocation gives each provider touched.
    struct ProviderShare {
        var placements: [(holder: String, rank: Int)] = []
        var waiters: [(holder: String, rank: Int)] = []
    }

    struct Computed {
        var outcome: Round.DrawCounts
        var shares: [String: ProviderShare]
    }

    /// Seats free now at every provider chosen, and the applicants at the holder limit.
    static func freeSeats(
        table: SeatTable, rules: Provider.BookingRules, applications: [String: [Round.Choice]]
    ) -> ([String: Int], Set<String>) {
        var free: [String: Int] = [:]
        for choices in applications.values {
            for choice in choices where free[choice.provider] == nil {
                free[choice.provider] = max(0, table.provider(choice.provider)?.freeSeats ?? 0)
            }
        }
        let excluded = Set(applications.keys.filter { rules.limits.isAtLimit($0) })
        return (free, excluded)
    }

    /// The allocation the contract defines, from the record and the applications alone.
    ///
    /// Applicants are numbered in the dictionary's own order, not sorted: the allocation
    /// depends only on the lottery order (seed and holder ids) and the choices, and sorting
    /// half a million ids was a fifth of a draw at 10x the city. What comes out is ordered by
    /// the lottery: each provider's placements best first, its waiters in its waitlist's order.
    static func compute(record: Round.DrawRecord, applications: [String: [Round.Choice]])
        -> Computed
    {
        var holders: [String] = []
        holders.reserveCapacity(applications.count)
        var providerIDs: [String] = []
        var index: [String: Int] = [:]
        var book = ApplicationBook()
        book.reserve(applicants: applications.count, choices: applications.count * 3)
        var mapped: [(provider: Int, level: Int)] = []
        for (holder, choices) in applications {
            holders.append(holder)
            mapped.removeAll(keepingCapacity: true)
            for choice in choices {
                // One lookup for a provider seen before (most of them).
                if let known = index[choice.provider] {
                    mapped.append((known, choice.level))
                } else {
                    index[choice.provider] = providerIDs.count
                    mapped.append((providerIDs.count, choice.level))
                    providerIDs.append(choice.provider)
                }
            }
            book.append(mapped)
        }
        let free = providerIDs.map { record.freeSeats[$0] ?? 0 }
        let eligible =
            record.excluded.isEmpty
            ? Array(holders.indices)
            : holders.indices.filter { !record.excluded.contains(holders[$0]) }
        let order = LotteryOrder.order(seed: record.seed, holders: eligible.map { holders[$0] }).map
        { Int32(eligible[Int($0)]) }
        let allocation = DeferredAcceptance.allocate(
            freeSeats: free, applications: book, lotteryOrder: order)

        var placements = [[(holder: String, rank: Int)]](repeating: [], count: providerIDs.count)
        var outcome = Round.DrawCounts()
        for a in order.lazy.map({ Int($0) }) {
            if let rank = allocation.rank(of: a), let p = allocation.provider(of: a) {
                placements[p].append((holders[a], rank))
                outcome.offered += 1
                if rank > 1 { outcome.waiting += 1 }
            } else {
                outcome.waiting += 1
            }
        }
        // Everyone not placed is unplaced, the excluded (no lottery number) among them.
        outcome.unplaced = holders.count - outcome.offered
        var shares: [String: ProviderShare] = [:]
        shares.reserveCapacity(providerIDs.count)
        for (p, waiting) in allocation.waitlists(providers: providerIDs.count).enumerated() {
            var share = ProviderShare(placements: placements[p], waiters: [])
            share.waiters.reserveCapacity(waiting.count)
            for a in waiting.lazy.map({ Int($0) }) {
                let choices = book.choices(of: a)
                var rank = 1
                while book.provider[choices.lowerBound + rank - 1] != Int32(p) { rank += 1 }
                share.waiters.append((holders[a], rank))
            }
            if !share.placements.isEmpty || !share.waiters.isEmpty {
                shares[providerIDs[p]] = share
            }
        }
        return Computed(outcome: outcome, shares: shares)
    }

    /// Runs the draw; the reply (`+DRAWN …`) goes to `ticket` once step 3 is confirmed.
    func run(ticket: ReplyTicket, seed: String) -> RequestOutcome {
        let start = registry.beginDraw(roundID, seed: seed) { [table, rules] applications in
            Self.freeSeats(table: table, rules: rules, applications: applications)
        }
        guard case .run(let record, let applications) = start else {
            if case .reply(let outcome) = start { return outcome }
            return .now(.drawFailed)
        }
        let computed = Self.compute(record: record, applications: applications)
        let registry = registry, table = table, rules = rules, roundID = roundID
        let recorded = JointReply(parts: 1) { failed in
            guard !failed else {
                registry.finishDraw(roundID, drawn: false)
                return true
            }
            // Offers run from when they are written (a draw re-sent later must not make offers
            // that are born expired); they cannot expire before the round is drawn anyway.
            let expiresAt = WallClock.milliseconds() + rules.offerMillis
            Self.writePlacements(
                computed, round: roundID, expiresAt: expiresAt, registry: registry, table: table,
                rules: rules, ticket: ticket)
            return false
        }
        // Stamped when made, not when DRAW was read: the write timeout is Redis's time to
        // confirm, and at 10x the city the allocation alone takes a second or more.
        registry.writeDrawRecord(
            roundID, record, outcome: computed.outcome,
            ticket: ReplyTicket(connection: ticket.connection, slot: ticket.slot, joint: recorded),
            now: MonotonicClock.nanoseconds())
        return .afterMirror(computed.outcome.reply)
    }

    /// Step 2, then step 3 once every provider's part is confirmed.
    private static func writePlacements(
        _ computed: Computed, round: String, expiresAt: Int, registry: RoundRegistry,
        table: SeatTable, rules: Provider.BookingRules, ticket: ReplyTicket
    ) {
        let providers = computed.shares.keys.sorted().compactMap { table.provider($0) }
        let markDrawn = { @Sendable (_ failed: Bool) -> Bool in
            guard !failed else {
                registry.finishDraw(round, drawn: false)
                return true
            }
            let drawn = JointReply(parts: 1) { failed in
                registry.finishDraw(round, drawn: !failed)
                return true
            }
            registry.writeDrawn(
                round,
                ticket: ReplyTicket(connection: ticket.connection, slot: ticket.slot, joint: drawn),
                now: MonotonicClock.nanoseconds())
            return false
        }
        guard !providers.isEmpty else {
            _ = markDrawn(false)
            return
        }
        let placed = JointReply(parts: providers.count, then: markDrawn)
        let part = ReplyTicket(connection: ticket.connection, slot: ticket.slot, joint: placed)
        for provider in providers {
            let share = computed.shares[provider.id]!
            provider.applyDraw(
                round: round, placements: share.placements, waiters: share.waiters,
                expiresAt: expiresAt, rules: rules, ticket: part)
            registry.wake?(provider.owner)
        }
    }
}
