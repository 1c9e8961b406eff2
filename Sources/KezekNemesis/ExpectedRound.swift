import KezekDraw

/// A round's draw as the contract defines it (the lottery, then deferred acceptance), made
/// here over the applications the published draw says it took, on the round's free seats
/// (all of its providers' capacity: they are new for the round).
struct ExpectedRound {
    let providers: [String]
    /// Per applicant (in the published rows' order): its holder, choices and placement.
    let holders: [String]
    let choices: [[(provider: Int, level: Int)]]
    let allocation: Allocation
    let placements: [Int]
    /// Per provider, its waitlist in order (applicant indices).
    let waitlists: [[Int32]]

    init(_ round: RoundSpec, _ drawn: [(holder: String, row: PublishedRow)]) {
        providers = round.providers
        let index = Dictionary(uniqueKeysWithValues: round.providers.enumerated().map { ($1, $0) })
        holders = drawn.map(\.holder)
        choices = drawn.map { entry in
            entry.row.choices.compactMap { token in
                guard let choice = RankedChoice.split(Substring(token)),
                    let provider = index[String(choice.provider)]
                else { return nil }
                return (provider, choice.level)
            }
        }
        var book = ApplicationBook()
        for list in choices { _ = book.append(list) }
        allocation = DeferredAcceptance.allocate(
            freeSeats: round.capacity, applications: book,
            lotteryOrder: LotteryOrder.order(seed: round.seed, holders: holders))
        var placements = [Int](repeating: 0, count: round.providers.count)
        for a in holders.indices { if let p = allocation.provider(of: a) { placements[p] += 1 } }
        self.placements = placements
        waitlists = allocation.waitlists(providers: round.providers.count)
    }

    /// `+DRAWN`'s counts: placements (offers, or bookings when `offer-ttl` is 0), applicants
    /// waiting somewhere (everyone not placed at its first choice), and those unplaced.
    var drawnCounts: String {
        let placed = allocation.placedCount
        let first = holders.indices.filter { allocation.rank(of: $0) == 1 }.count
        return
            "offered=\(placed) waiting=\(holders.count - first) unplaced=\(holders.count - placed)"
    }

    /// RESULT of `holder` right after the draw (`offer-ttl` 0: placements are bookings): its
    /// placement, else its place in its first choice's waitlist.
    func result(of holder: String) -> RoundOperation.Outcome {
        guard let a = holders.firstIndex(of: holder) else { return .none }
        if let p = allocation.provider(of: a), let rank = allocation.rank(of: a) {
            return .booked(provider: providers[p], rank: rank)
        }
        guard let first = choices[a].first?.provider else { return .unplaced }
        let position = (waitlists[first].firstIndex(of: Int32(a)) ?? -2) + 1
        return .waiting(provider: providers[first], position: position)
    }

    /// Rows whose outcome, provider or rank is not the draw's.
    func differences(from drawn: [(holder: String, row: PublishedRow)], round: String)
        -> [Anomaly]
    {
        var found: [Anomaly] = []
        for (a, entry) in drawn.enumerated() {
            let p = allocation.provider(of: a)
            let wanted = (
                p == nil ? "unplaced" : "booked", p.map { providers[$0] } ?? "",
                allocation.rank(of: a)
            )
            let row = entry.row
            if (row.outcome, row.provider, row.rank) != wanted {
                found.append(
                    Anomaly(
                        kind: .drawDiffers, subject: "\(round) \(entry.holder)",
                        detail:
                            "draw.csv: \(row.outcome) \(row.provider) \(row.rank.map(String.init) ?? ""); "
                            + "the draw gives \(wanted.0) \(wanted.1) \(wanted.2.map(String.init) ?? "")"
                    ))
            }
        }
        return found
    }
}
