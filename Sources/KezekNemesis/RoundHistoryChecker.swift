import KezekDraw

/// One round the nemesis ran: its name and seed, its providers (new for the round, so every
/// seat is free at the draw) and their capacities.
public struct RoundSpec: Sendable {
    public let name: String
    public let seed: String
    public let providers: [String]
    public let capacity: [Int]

    public init(name: String, seed: String, providers: [String], capacity: [Int]) {
        self.name = name
        self.seed = seed
        self.providers = providers
        self.capacity = capacity
    }
}

/// A row of the published `draw.csv`: `lottery,choices,outcome,provider,rank`.
public struct PublishedRow: Sendable, Equatable {
    public let lottery: String
    public let choices: [String]
    public let outcome: String
    public let provider: String
    public let rank: Int?

    /// Nil for the header or a malformed line.
    public init?(csv line: Substring) {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0] != "lottery" else { return nil }
        lottery = String(fields[0])
        choices = fields[1].split(separator: " ").map(String.init)
        outcome = String(fields[2])
        provider = String(fields[3])
        rank = Int(fields[4])
    }
}

/// What was read of a round after the run, from the one daemon started alone on what Redis
/// kept: its published draw, and SEATS (booked, waiting) of each of its providers.
public struct RoundFinal: Sendable {
    public let rows: [PublishedRow]
    public let seats: [String: (booked: Int, waiting: Int)]

    public init(rows: [PublishedRow], seats: [String: (booked: Int, waiting: Int)]) {
        self.rows = rows
        self.seats = seats
    }
}

/// Checks the fair rounds of a run: the published draw holds exactly the applications the
/// history allows (an acknowledged one is there, nothing never sent is), it is the lottery
/// and deferred acceptance the contract defines over them, every `+DRAWN` says the same,
/// every RESULT read after the draw was acknowledged gives the holder's outcome, and the
/// providers' final seats are the draw's. The model's seats change only by the draw: the
/// round's providers are new, and no client books or cancels there (`offer-ttl` 0, so the
/// draw's placements are bookings).
public struct RoundHistoryChecker {
    let rounds: [RoundSpec]
    let operations: [RoundOperation]
    let finals: [String: RoundFinal]

    public init(rounds: [RoundSpec], operations: [RoundOperation], finals: [String: RoundFinal]) {
        self.rounds = rounds
        self.operations = operations
        self.finals = finals
    }

    public func check() -> [Anomaly] {
        var byRound: [String: [RoundOperation]] = [:]
        for operation in operations { byRound[operation.round, default: []].append(operation) }
        return rounds.flatMap { round in
            check(round, byRound[round.name] ?? [], finals[round.name])
        }
    }

    private func check(_ round: RoundSpec, _ history: [RoundOperation], _ final: RoundFinal?)
        -> [Anomaly]
    {
        guard let final else {
            return [Anomaly(kind: .drawDiffers, subject: round.name, detail: "no draw published")]
        }
        var byHolder: [String: [RoundOperation]] = [:]
        for operation in history where !operation.holder.isEmpty {
            byHolder[operation.holder, default: []].append(operation)
        }
        var holderOfLottery: [String: String] = [:]
        for holder in byHolder.keys {
            holderOfLottery[LotteryNumber(seed: round.seed, holder: holder).hex] = holder
        }
        var found: [Anomaly] = []
        var drawn: [(holder: String, row: PublishedRow)] = []
        for row in final.rows {
            guard let holder = holderOfLottery[row.lottery] else {
                found.append(
                    Anomaly(
                        kind: .phantomApplication, subject: round.name,
                        detail: "draw.csv row \(row.lottery.prefix(16))… is no holder that applied")
                )
                continue
            }
            drawn.append((holder, row))
        }
        let applicationInDraw = Dictionary(
            drawn.map { ($0.holder, $0.row.choices) }, uniquingKeysWith: { first, _ in first })
        for (holder, operations) in byHolder.sorted(by: { $0.key < $1.key }) {
            found += applications(round, holder, operations, applicationInDraw[holder])
        }
        let expected = ExpectedRound(round, drawn)
        found += expected.differences(from: drawn, round: round.name)
        found += drawnAnswers(round, history, expected)
        found += results(round, history, expected)
        for (index, provider) in round.providers.enumerated() {
            let seats = final.seats[provider]
            let booked = expected.placements[index]
            let waiting = expected.waitlists[index].count
            if seats == nil || seats!.booked != booked || seats!.waiting != waiting {
                found.append(
                    Anomaly(
                        kind: seats.map { $0.booked > round.capacity[index] } == true
                            ? .oversold : .finalStateDiffers,
                        subject: provider,
                        detail:
                            "SEATS after the run: \(seats.map { "booked=\($0.booked) waiting=\($0.waiting)" } ?? "none"); "
                            + "the draw gives booked=\(booked) waiting=\(waiting)"))
            }
        }
        return found
    }

    /// The draw must hold an application the holder's history allows: the last acknowledged
    /// one (none when it withdrew, or never got `+APPLIED`), or one whose answer never came.
    /// A RESULT before the draw must not lose an acknowledged application nor show one that
    /// was never sent.
    private func applications(
        _ round: RoundSpec, _ holder: String, _ history: [RoundOperation], _ inDraw: [String]?
    ) -> [Anomaly] {
        let writes = history.filter { $0.request.writes }.sorted { $0.invoked < $1.invoked }
        var acknowledged: [String]? = nil
        var unknown: [[String]?] = []
        for operation in writes {
            let effect: [String]? =
                if case .apply(let choices) = operation.request { choices } else { nil }
            switch operation.outcome {
            case .applied, .withdrawn, .notFound: acknowledged = effect
            case .unknown: unknown.append(effect)
            default: break
            }
        }
        var found: [Anomaly] = []
        if inDraw != acknowledged && !unknown.contains(where: { $0 == inDraw }) {
            let sent = writes.contains { $0.request == .apply(inDraw ?? []) && !$0.isFailed }
            found.append(
                Anomaly(
                    kind: inDraw == nil || sent ? .lostApplication : .phantomApplication,
                    subject: "\(round.name) \(holder)",
                    detail:
                        "draw.csv has \(inDraw.map { $0.joined(separator: " ") } ?? "no application"); "
                        + "acknowledged last: \(acknowledged.map { $0.joined(separator: " ") } ?? "none")",
                    roundHistory: history))
        }
        let firstDraw = history.filter { $0.request == .draw }.map(\.invoked).min() ?? .max
        for read in history where read.request == .result && read.completed < firstDraw {
            let before = writes.filter { $0.invoked < read.completed && !$0.isFailed }
            switch read.outcome {
            case .none:
                let applied = writes.first {
                    if case .applied = $0.outcome { $0.completed < read.invoked } else { false }
                }
                if let applied, !before.contains(where: { $0.request == .withdraw }) {
                    found.append(
                        Anomaly(
                            kind: .lostApplication, subject: "\(round.name) \(holder)",
                            detail:
                                "applied by \(secondsText(applied.completed))s, "
                                + "read as NONE at \(secondsText(read.completed))s",
                            roundHistory: history))
                }
            case .applied(let count):
                let sent = before.contains {
                    if case .apply(let choices) = $0.request {
                        choices.count == count
                    } else {
                        false
                    }
                }
                if !sent {
                    found.append(
                        Anomaly(
                            kind: .phantomApplication, subject: "\(round.name) \(holder)",
                            detail: "read as APPLIED \(count) with no such APPLY sent",
                            roundHistory: history))
                }
            default: break
            }
        }
        return found
    }

    /// Every `+DRAWN` of a round says the same, and what the draw made.
    private func drawnAnswers(
        _ round: RoundSpec, _ history: [RoundOperation], _ expected: ExpectedRound
    ) -> [Anomaly] {
        let answers = history.filter {
            if case .drawn = $0.outcome { true } else { false }
        }
        let texts = Set(answers.map { "\($0.outcome)" })
        let expectedText = "\(RoundOperation.Outcome.drawn(expected.drawnCounts))"
        guard texts.count > 1 || (texts.first.map { $0 != expectedText } ?? false) else {
            return []
        }
        return [
            Anomaly(
                kind: .drawDiffers, subject: round.name,
                detail: "DRAW answered \(texts.sorted()); the draw gives \(expectedText)",
                roundHistory: answers)
        ]
    }

    /// A RESULT sent after a DRAW was acknowledged gives the holder's outcome in the draw.
    private func results(
        _ round: RoundSpec, _ history: [RoundOperation], _ expected: ExpectedRound
    ) -> [Anomaly] {
        let acknowledged =
            history.filter {
                if case .drawn = $0.outcome { true } else { false }
            }.map(\.completed).min() ?? .max
        var found: [Anomaly] = []
        for read in history where read.request == .result && read.invoked > acknowledged {
            guard !read.isFailed && !read.isUnknown else { continue }
            let wanted = expected.result(of: read.holder)
            if read.outcome != wanted {
                found.append(
                    Anomaly(
                        kind: .resultDiffers, subject: "\(round.name) \(read.holder)",
                        detail: "the draw gives \(wanted)",
                        roundHistory: [read]))
            }
        }
        return found
    }
}
