// After a round: what the draw must have given, and the checks that compare the daemon with
// it. The harness draws the round itself with KezekDraw (the lottery and deferred acceptance
// the contract defines) over the applications it sent and the seats it left free, so every
// RESULT, the +DRAWN counts and every provider's SEATS are known exactly. After the offers'
// aftermath (confirmations, declines, expiries and the cascade they start) only what holds
// whatever the cascade did is checked.
import KezekDraw

/// The draw as the contract defines it, computed here.
struct ExpectedDraw {
    let freeSeats: [Int]
    /// Per applicant: provider placed at (-1: none), 1-based rank (0: none), and place in the
    /// waitlist of its first choice (0 when placed there: then it waits nowhere).
    let placedAt: [Int32]
    let rank: [UInt8]
    let firstChoicePosition: [Int32]
    /// Per provider: placements, and applicants left waiting there.
    let placements: [Int]
    let waitlistLength: [Int]
    /// Applicants placed at each rank (index 0 = first choice).
    let byRank: [Int]
    let placed: Int
    let allocationSeconds: Double

    var applicants: Int { placedAt.count }
    var unplaced: Int { applicants - placed }
    var firstChoice: Int { byRank.first ?? 0 }
    /// +DRAWN's `waiting`: everyone not placed at its first choice waits there (all take part).
    var waiting: Int { applicants - firstChoice }
    var seatsEmpty: Int { freeSeats.reduce(0, +) - placed }

    /// `choices[a]`: applicant a's providers, first = most wanted (no levels); `holders[a]`:
    /// its id, which its lottery number comes from.
    init(choices: [[Int]], holders: [String], freeSeats: [Int], seed: String) {
        let clock = ContinuousClock.now
        var book = ApplicationBook()
        book.reserve(applicants: choices.count, choices: choices.reduce(0) { $0 + $1.count })
        for list in choices { book.append(list.map { (provider: $0, level: 0) }) }
        let order = LotteryOrder.order(seed: seed, holders: holders)
        let allocation = DeferredAcceptance.allocate(
            freeSeats: freeSeats, applications: book, lotteryOrder: order)
        let waitlists = allocation.waitlists(providers: freeSeats.count)
        allocationSeconds = Elapsed.seconds(since: clock)

        var placedAt = [Int32](repeating: -1, count: choices.count)
        var rank = [UInt8](repeating: 0, count: choices.count)
        var placements = [Int](repeating: 0, count: freeSeats.count)
        var byRank = [Int](repeating: 0, count: choices.map(\.count).max() ?? 0)
        for a in choices.indices {
            guard let p = allocation.provider(of: a), let r = allocation.rank(of: a) else {
                continue
            }
            placedAt[a] = Int32(p)
            rank[a] = UInt8(r)
            placements[p] += 1
            byRank[r - 1] += 1
        }
        // RESULT names the best-ranked waitlist: the first choice, for anyone not placed there.
        var position = [Int32](repeating: 0, count: choices.count)
        for (p, list) in waitlists.enumerated() {
            for (i, a) in list.enumerated() where choices[Int(a)].first == p {
                position[Int(a)] = Int32(i + 1)
            }
        }
        self.freeSeats = freeSeats
        self.placedAt = placedAt
        self.rank = rank
        firstChoicePosition = position
        self.placements = placements
        waitlistLength = waitlists.map(\.count)
        self.byRank = byRank
        placed = allocation.placedCount
    }
}

/// A `RESULT <round> <holder>` reply.
enum RoundResult: Equatable {
    case offered(provider: String, rank: Int, secondsLeft: Int)
    case booked(provider: String, rank: Int)
    case waiting(provider: String, position: Int)
    case unplaced
    case none

    init?(_ line: String) {
        let f = line.split(separator: " ")
        switch (f.first ?? "", f.count) {
        case ("+OFFERED", 4):
            guard let r = Int(f[2]), let s = Int(f[3]) else { return nil }
            self = .offered(provider: String(f[1]), rank: r, secondsLeft: s)
        case ("+BOOKED", 3):
            guard let r = Int(f[2]) else { return nil }
            self = .booked(provider: String(f[1]), rank: r)
        case ("+WAITING", 3):
            guard let n = Int(f[2]) else { return nil }
            self = .waiting(provider: String(f[1]), position: n)
        case ("+UNPLACED", 1): self = .unplaced
        case ("+NONE", 1): self = .none
        default: return nil
        }
    }

    /// Where this places the holder (an offer or a booking), if anywhere.
    var placement: (provider: String, rank: Int)? {
        switch self {
        case .offered(let p, let r, _), .booked(let p, let r): return (p, r)
        default: return nil
        }
    }
}

/// A SEATS reply with `offered` (absent until the provider has made an offer: 0).
struct RoundSeats {
    let seats: SeatsReply
    let offered: Int

    init?(_ line: String) {
        guard let s = SeatsReply(line[...]) else { return nil }
        seats = s
        offered = KeyValues.int("offered", in: line) ?? 0
    }
}

/// `key=value` fields of a status reply (`+DRAWN offered=3 waiting=1 unplaced=0`).
enum KeyValues {
    static func int(_ key: String, in line: String) -> Int? {
        string(key, in: line).flatMap { Int($0) }
    }

    static func string(_ key: String, in line: String) -> String? {
        for field in line.split(separator: " ") {
            let kv = field.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0] == key { return String(kv[1]) }
        }
        return nil
    }
}

/// What the round sent and set up, for the checks.
struct RoundFacts {
    let roundID: String
    let ids: IDScheme
    let capacity: [Int]
    /// Seats booked at each provider before the round opened.
    let held: [Int]
    let choices: [[Int]]
    let expected: ExpectedDraw
}

enum RoundChecker {
    /// Sends one request per element and keeps every reply line.
    static func sweep(_ name: String, _ batch: RequestBatch, env: LoadEnvironment, pipeline: Int)
        -> (PhaseResults, PhaseOutcome)
    {
        let results = PhaseResults(count: batch.count, keepLines: true)
        let outcome = PhaseRunner.run(
            PhasePlan(name: name, batch: batch, pipeline: pipeline, results: results), env: env)
        return (results, outcome)
    }

    /// What the check after the draw learned.
    struct DrawCheck {
        /// Each applicant's RESULT (nil: no reply, or one that is not a RESULT reply).
        var results: [RoundResult?] = []
        var outcomes: [PhaseOutcome] = []
        /// Seconds left on the draw's offers as RESULT told them (nil: no offer seen).
        var secondsLeft: ClosedRange<Int>?
        /// Placements answered +BOOKED (offer-ttl 0).
        var bookedPlacements = 0
        /// When the RESULT sweep started and ended.
        var resultsStarted = ContinuousClock.now
        var resultsEnded = ContinuousClock.now
    }

    /// Right after +DRAWN: the counts, every applicant's RESULT and every provider's SEATS
    /// must be exactly what the harness's own draw gives.
    static func checkDraw(
        _ facts: RoundFacts, drawnReply: String, env: LoadEnvironment, pipeline: Int,
        into report: inout InvariantReport
    ) -> DrawCheck {
        let e = facts.expected
        var check = DrawCheck()
        let counts = ["offered": e.placed, "waiting": e.waiting, "unplaced": e.unplaced]
        let wrongCounts = counts.sorted { $0.key < $1.key }.filter {
            KeyValues.int($0.key, in: drawnReply) != $0.value
        }
        if !drawnReply.hasPrefix("+DRAWN") || !wrongCounts.isEmpty {
            report.fail(
                "ROUND DRAW: expected +DRAWN offered=\(e.placed) waiting=\(e.waiting) unplaced=\(e.unplaced), got \(drawnReply)"
            )
        }

        // RESULT of every applicant.
        let batch = RequestBatch()
        for a in 0..<e.applicants { batch.add("RESULT", facts.roundID, facts.ids.applicant(a)) }
        check.resultsStarted = ContinuousClock.now
        let (results, outcome) = sweep("result", batch, env: env, pipeline: pipeline)
        check.resultsEnded = ContinuousClock.now
        check.outcomes.append(outcome)
        if outcome.connectionsOpened == 0 {
            report.fail("could not connect to \(env.target) for the check")
            return check
        }
        var offered = 0
        var low = Int.max, high = Int.min
        check.results.reserveCapacity(e.applicants)
        for a in 0..<e.applicants {
            report.holdersChecked += 1
            let line = results.line(a)
            let got = RoundResult(line)
            check.results.append(got)
            let holder = facts.ids.applicant(a)
            let p = Int(e.placedAt[a])
            if p >= 0 {
                let want = (facts.ids.provider(p), Int(e.rank[a]))
                switch got {
                case .offered(let gp, let gr, let s) where gp == want.0 && gr == want.1:
                    offered += 1
                    low = min(low, s)
                    high = max(high, s)
                case .booked(let gp, let gr) where gp == want.0 && gr == want.1:
                    check.bookedPlacements += 1
                default:
                    report.fail(
                        "RESULT \(facts.roundID) \(holder): expected +OFFERED/+BOOKED \(want.0) \(want.1) (placed by the draw), got \(line)"
                    )
                }
            } else {
                let first = facts.ids.provider(facts.choices[a][0])
                let position = Int(e.firstChoicePosition[a])
                if got != .waiting(provider: first, position: position) {
                    report.fail(
                        "RESULT \(facts.roundID) \(holder): expected +WAITING \(first) \(position) (not placed; first choice's waitlist), got \(line)"
                    )
                }
            }
        }
        if offered > 0 { check.secondsLeft = low...high }
        if offered > 0 && check.bookedPlacements > 0 {
            report.fail(
                "RESULT: placements answer both +OFFERED (\(offered)) and +BOOKED (\(check.bookedPlacements)) before any CONFIRM"
            )
        }

        // SEATS of every provider: the draw's placements are offers (or bookings at once).
        let seatsBatch = RequestBatch()
        for p in facts.capacity.indices { seatsBatch.add("SEATS", facts.ids.provider(p)) }
        let (seats, seatsOutcome) = sweep("seats", seatsBatch, env: env, pipeline: pipeline)
        check.outcomes.append(seatsOutcome)
        let offers = offered > 0
        for p in facts.capacity.indices {
            report.providersChecked += 1
            let line = seats.line(p)
            guard let s = RoundSeats(line) else {
                report.fail(
                    "SEATS \(facts.ids.provider(p)): expected +SEATS capacity=.. booked=.. free=.. waiting=.., got \(line)"
                )
                continue
            }
            let placed = e.placements[p], held = facts.held[p], cap = facts.capacity[p]
            var wrong: [String] = []
            if s.seats.capacity != cap { wrong.append("capacity=\(cap)") }
            if s.seats.booked + s.offered != held + placed {
                wrong.append("booked+offered = \(held) held + \(placed) placed")
            }
            if offers && s.offered != placed { wrong.append("offered=\(placed)") }
            if !offers && check.bookedPlacements > 0 && s.offered != 0 {
                wrong.append("offered=0 (offer-ttl 0)")
            }
            if s.seats.free != cap - held - placed { wrong.append("free=\(cap - held - placed)") }
            if s.seats.waiting != e.waitlistLength[p] {
                wrong.append("waiting=\(e.waitlistLength[p])")
            }
            if !wrong.isEmpty {
                report.fail(
                    "SEATS \(facts.ids.provider(p)) after the draw: expected \(wrong.joined(separator: ", ")), got \(line)"
                )
            }
        }
        return check
    }

    /// What the aftermath did, for the settled check.
    struct Aftermath {
        /// Applicants whose CONFIRM answered +CONFIRMED: (applicant, provider, rank).
        var confirmed: [(applicant: Int, provider: Int, rank: Int)] = []
        /// Applicants whose CANCEL of their offer answered +CANCELLED.
        var declined: [(applicant: Int, provider: Int)] = []
        /// Applicants left alone with an offer, and whether the wait covered its expiry.
        var leftToExpire: [(applicant: Int, provider: Int)] = []
        var expiryCovered = false
    }

    /// After confirmations, declines and expiries: what holds whatever the cascade did.
    ///  - SEATS: booked + offered <= capacity, free = capacity - booked - offered, no free seat
    ///    while someone waits;
    ///  - STATUS at every choice of every applicant: at most one placement (booked or offered);
    ///    none left where an offer was declined or (the wait covering it) expired;
    ///  - RESULT of every confirmed holder: +BOOKED where it confirmed or at a better rank.
    /// Returns the sweeps and notes on where the confirmed holders ended up.
    static func checkSettled(
        _ facts: RoundFacts, _ after: Aftermath, env: LoadEnvironment, pipeline: Int,
        into report: inout InvariantReport
    ) -> ([PhaseOutcome], [String]) {
        var outcomes: [PhaseOutcome] = []
        var notes: [String] = []
        let seatsBatch = RequestBatch()
        for p in facts.capacity.indices { seatsBatch.add("SEATS", facts.ids.provider(p)) }
        let (seats, seatsOutcome) = sweep("seats", seatsBatch, env: env, pipeline: pipeline)
        outcomes.append(seatsOutcome)
        for p in facts.capacity.indices {
            report.providersChecked += 1
            let line = seats.line(p)
            guard let s = RoundSeats(line) else {
                report.fail(
                    "SEATS \(facts.ids.provider(p)): expected +SEATS capacity=.. booked=.. free=.. waiting=.., got \(line)"
                )
                continue
            }
            var wrong: [String] = []
            let taken = s.seats.booked + s.offered
            if s.seats.capacity != facts.capacity[p] {
                wrong.append("capacity=\(facts.capacity[p])")
            }
            if taken > s.seats.capacity { wrong.append("booked+offered <= capacity") }
            if s.seats.free != s.seats.capacity - taken {
                wrong.append("free = capacity - booked - offered = \(s.seats.capacity - taken)")
            }
            if s.seats.free > 0 && s.seats.waiting > 0 {
                wrong.append("no free seat while \(s.seats.waiting) wait")
            }
            if !wrong.isEmpty {
                report.fail(
                    "SEATS \(facts.ids.provider(p)) after the aftermath: expected \(wrong.joined(separator: ", ")), got \(line)"
                )
            }
        }

        // STATUS at every choice of every applicant.
        let statusBatch = RequestBatch()
        var first = [Int](), at = [Int32]()
        first.reserveCapacity(facts.choices.count + 1)
        for (a, list) in facts.choices.enumerated() {
            first.append(at.count)
            for p in list {
                statusBatch.add("STATUS", facts.ids.provider(p), facts.ids.applicant(a))
                at.append(Int32(p))
            }
        }
        first.append(at.count)
        let (status, statusOutcome) = sweep("status", statusBatch, env: env, pipeline: pipeline)
        outcomes.append(statusOutcome)
        func holds(_ line: String) -> Bool {
            line.hasPrefix("+BOOKED") || line.hasPrefix("+OFFERED")
        }
        func line(_ a: Int, at p: Int) -> String? {
            (first[a]..<first[a + 1]).first { Int(at[$0]) == p }.map { status.line($0) }
        }
        for a in facts.choices.indices {
            report.holdersChecked += 1
            let placed = (first[a]..<first[a + 1]).filter { holds(status.line($0)) }
            if placed.count > 1 {
                let seen = placed.map {
                    "STATUS \(facts.ids.provider(Int(at[$0]))) -> \(status.line($0))"
                }
                report.fail(
                    "\(facts.ids.applicant(a)) holds \(placed.count) placements of round \(facts.roundID): \(seen.joined(separator: ", "))"
                )
            }
            for i in first[a]..<first[a + 1] {
                let l = status.line(i)
                if !(holds(l) || l.hasPrefix("+WAITING") || l == "+NONE") {
                    report.fail(
                        "STATUS \(facts.ids.provider(Int(at[i]))) \(facts.ids.applicant(a)): expected +BOOKED, +OFFERED, +WAITING or +NONE, got \(l)"
                    )
                }
            }
        }
        for d in after.declined {
            if let l = line(d.applicant, at: d.provider), l != "+NONE" {
                report.fail(
                    "STATUS \(facts.ids.provider(d.provider)) \(facts.ids.applicant(d.applicant)): expected +NONE (declined its offer, +CANCELLED), got \(l)"
                )
            }
        }
        if after.expiryCovered {
            for x in after.leftToExpire {
                if let l = line(x.applicant, at: x.provider), holds(l) {
                    report.fail(
                        "STATUS \(facts.ids.provider(x.provider)) \(facts.ids.applicant(x.applicant)): expected the draw's offer expired (never confirmed), got \(l)"
                    )
                }
            }
        }

        // RESULT of every confirmed holder.
        guard !after.confirmed.isEmpty else { return (outcomes, notes) }
        let resultBatch = RequestBatch()
        for c in after.confirmed {
            resultBatch.add("RESULT", facts.roundID, facts.ids.applicant(c.applicant))
        }
        let (results, resultOutcome) = sweep("confirmed", resultBatch, env: env, pipeline: pipeline)
        outcomes.append(resultOutcome)
        var kept = 0, movedUp = 0, traded = 0, lost = 0
        for (i, c) in after.confirmed.enumerated() {
            let l = results.line(i)
            let want = "+BOOKED \(facts.ids.provider(c.provider)) \(c.rank) or better"
            switch RoundResult(l) {
            case .booked(let p, let r) where r == c.rank && p == facts.ids.provider(c.provider):
                kept += 1
            case .booked(_, let r) where r < c.rank:
                movedUp += 1
            case .offered(_, let r, _) where r < c.rank:
                traded += 1
                report.fail(
                    "RESULT \(facts.roundID) \(facts.ids.applicant(c.applicant)): expected \(want) (+CONFIRMED), got \(l): its booking was given up for an offer"
                )
            default:
                lost += 1
                report.fail(
                    "RESULT \(facts.roundID) \(facts.ids.applicant(c.applicant)): expected \(want) (+CONFIRMED), got \(l)"
                )
            }
        }
        notes.append(
            "confirmed holders: \(Format.count(kept)) booked where they confirmed, \(Format.count(movedUp)) booked at a better choice, "
                + "\(Format.count(traded)) holding only an offer at a better choice (booking released), \(Format.count(lost)) elsewhere or nowhere"
        )
        return (outcomes, notes)
    }
}

/// Seconds on the monotonic clock.
enum Elapsed {
    static func seconds(
        since start: ContinuousClock.Instant, to end: ContinuousClock.Instant = .now
    ) -> Double {
        let d = end - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
