import KezekDraw
import Synchronization

/// Every round of the daemon: their applications and phases, where each applicant of a drawn
/// round is placed, the offers' clock, and the cascade's follow-up steps.
///
/// Locks, always taken in this order and never the other way: a provider's lock, then
/// `rounds`, then the ledger's lock; `placements` and `followUps` are leaves. So nothing that
/// holds `rounds` may call into a provider other than the ledger.
public final class RoundRegistry: @unchecked Sendable {
    let keys: KeyLayout
    let offerClock = OfferClock()
    /// Carries the rounds' own writes (state, applications, draw record) on loop thread 0's
    /// Redis connection, with the same fencing, batching and ordering as a provider's. It is
    /// not in the seat table: no client can book it.
    let ledger: Provider

    private struct Rounds {
        var byID: [String: Round] = [:]
        /// The round that is open or closed and not drawn yet (at most one).
        var undrawn: String?
        /// Rounds other shards run that hold this one frozen (Redis Cluster: `ShardInbox`),
        /// and the id of the last inbox message applied here.
        var foreign: [String] = []
        var inboxApplied: String?
        var anyUndrawn: Bool { undrawn != nil || !foreign.isEmpty }
        /// The round opened last, and per provider how many of its applicants ranked the
        /// provider first and at all (DEMAND).
        var latest: String?
        var demand: [String: (first: Int, any: Int)] = [:]

        /// Counts `choices` in (`sign` 1) or out (-1) of the demand figures.
        mutating func count(_ choices: [Round.Choice], _ sign: Int) {
            for (index, choice) in choices.enumerated() {
                var figures = demand[choice.provider] ?? (0, 0)
                figures.any += sign
                if index == 0 { figures.first += sign }
                demand[choice.provider] = figures
            }
        }
    }

    struct Placement {
        var rank: Int
        var provider: String
        /// A booking (confirmed, or offer-ttl 0) rather than an offer: a holder that moves up
        /// from a booking is booked at the better choice too, never left with only an offer.
        var booked = false
    }

    private let rounds = Mutex(Rounds())
    /// Set while a round is undrawn: BOOK answers `+ROUND` (one atomic load on its path).
    private let anyUndrawn = Atomic<Bool>(false)
    private let placements = Mutex<[String: [String: Placement]]>([:])
    /// Holders moved to a better choice whose worse places are still to release.
    private let followUps = Mutex<[(round: String, holder: String, rank: Int)]>([])
    private let hasFollowUps = Atomic<Bool>(false)

    /// Set once, before the loops start: the providers, and how to wake a loop thread so that
    /// it sends writes queued from another thread.
    nonisolated(unsafe) var table: SeatTable!
    nonisolated(unsafe) var wake: (@Sendable (Int) -> Void)?

    init(keys: KeyLayout, ledgerOutbox: MirrorOutbox) {
        self.keys = keys
        ledger = Provider(id: "rounds", owner: 0, outbox: ledgerOutbox, capacity: 0)
    }

    // MARK: Reading

    /// The round that makes BOOK answer `+ROUND`, if any.
    @inline(__always)
    func undrawnRound() -> String? {
        guard anyUndrawn.load(ordering: .acquiring) else { return nil }
        return rounds.withLock { $0.undrawn ?? $0.foreign.first }
    }

    func isDrawn(_ round: String) -> Bool {
        rounds.withLock { $0.byID[round]?.phase == .drawn }
    }

    /// The whole round (for the draw and the public pages). A caller that keeps it while
    /// APPLYs go on makes the next APPLY copy every application: commands use `glance`.
    func round(_ id: String) -> Round? {
        rounds.withLock { $0.byID[id] }
    }

    /// What a command needs of a round, without holding on to its applications.
    struct Glance {
        var phase: Round.Phase
        var choiceLimit: Int
        /// The holder's application, when one was asked for and exists.
        var choices: [Round.Choice]?
    }

    func glance(_ id: String, holder: String? = nil) -> Glance? {
        rounds.withLock { rounds in
            guard let round = rounds.byID[id] else { return nil }
            return Glance(
                phase: round.phase, choiceLimit: round.choiceLimit,
                choices: holder.flatMap { round.applications[$0] })
        }
    }

    var allRounds: [Round] { rounds.withLock { Array($0.byID.values) } }

    /// Every round's id, the last opened first.
    public var roundIDs: [String] {
        rounds.withLock {
            $0.byID.values.sorted { ($0.openedAt, $0.id) > ($1.openedAt, $1.id) }.map(\.id)
        }
    }

    /// Applicants of the last round opened who ranked `provider` first, and at all.
    func demand(of provider: String) -> (first: Int, any: Int) {
        rounds.withLock { $0.demand[provider] ?? (0, 0) }
    }

    // MARK: Changes of a round (each written through the ledger before its reply)

    func open(_ id: String, commitment: String, choices: Int, ticket: ReplyTicket, now: UInt64)
        -> RequestOutcome
    {
        rounds.withLock { rounds in
            if rounds.byID[id] != nil { return .now(.roundExists) }
            if let other = rounds.undrawn { return .now(.busyRound(other)) }
            let openedAt = WallClock.milliseconds()
            rounds.byID[id] = Round(
                id: id, commitment: commitment, choiceLimit: choices, phase: .open,
                openedAt: openedAt)
            rounds.undrawn = id
            rounds.latest = id
            rounds.demand = [:]
            anyUndrawn.store(true, ordering: .releasing)
            writeLedger(
                [
                    .field(key: keys.roundMeta(id), field: "commitment", value: commitment),
                    .field(key: keys.roundMeta(id), field: "choices", value: String(choices)),
                    .field(key: keys.roundMeta(id), field: "opened-at", value: String(openedAt)),
                    .field(key: keys.rounds, field: id, value: Round.Phase.open.rawValue),
                ], ticket: ticket, now: now)
            return .afterMirror(.ok)
        }
    }

    func close(_ id: String, ticket: ReplyTicket, now: UInt64) -> RequestOutcome {
        rounds.withLock { rounds in
            guard var round = rounds.byID[id] else { return .now(.noRound(id)) }
            let reply = Reply.simple("CLOSED \(round.applications.count)")
            guard round.phase == .open else {
                return ledgerSettled(reply, ticket: ticket, now: now)
            }
            round.phase = .closed
            rounds.byID[id] = round
            writeLedger(
                [.field(key: keys.rounds, field: id, value: Round.Phase.closed.rawValue)],
                ticket: ticket, now: now)
            return .afterMirror(reply)
        }
    }

    /// APPLY with choices already checked (ids, providers, duplicates).
    func apply(
        _ id: String, holder: String, choices: [Round.Choice], ticket: ReplyTicket, now: UInt64
    ) -> RequestOutcome {
        rounds.withLock { rounds in
            guard let round = rounds.byID[id] else { return .now(.noRound(id)) }
            guard round.phase == .open else { return .now(.simple("CLOSED \(id)")) }
            guard choices.count <= round.choiceLimit else { return .now(.tooManyChoices) }
            if let earlier = round.applications[holder] { rounds.count(earlier, -1) }
            // Changed in place: a copy of the round would copy every application (CoW).
            rounds.byID[id]!.applications[holder] = choices
            rounds.count(choices, 1)
            writeLedger(
                [
                    .field(
                        key: keys.roundApplications(id), field: holder, value: Round.encode(choices)
                    )
                ], ticket: ticket, now: now)
            return .afterMirror(.simple("APPLIED \(choices.count)"))
        }
    }

    func withdraw(_ id: String, holder: String, ticket: ReplyTicket, now: UInt64) -> RequestOutcome
    {
        rounds.withLock { rounds in
            guard let phase = rounds.byID[id]?.phase else { return .now(.noRound(id)) }
            guard phase == .open else { return .now(.simple("CLOSED \(id)")) }
            guard let earlier = rounds.byID[id]!.applications.removeValue(forKey: holder) else {
                return ledgerSettled(.notFound(holder: holder), ticket: ticket, now: now)
            }
            rounds.count(earlier, -1)
            writeLedger(
                [.unfield(key: keys.roundApplications(id), field: holder)], ticket: ticket, now: now
            )
            return .afterMirror(.simple("WITHDRAWN"))
        }
    }

    func status(_ id: String, ticket: ReplyTicket, now: UInt64) -> RequestOutcome {
        rounds.withLock { rounds in
            guard let round = rounds.byID[id] else { return .now(.noRound(id)) }
            var text =
                "ROUND \(id) state=\(round.publicPhase) applicants=\(round.applications.count) commitment=\(round.commitment)"
            if round.phase == .drawn, let seed = round.record?.seed { text += " seed=\(seed)" }
            return ledgerSettled(.simple(text), ticket: ticket, now: now)
        }
    }

    // MARK: The draw's steps (see DrawRun)

    enum DrawStart {
        case reply(RequestOutcome)
        /// Go on with this record over these applications.
        case run(Round.DrawRecord, applications: [String: [Round.Choice]])
    }

    /// Checks a DRAW and reserves the round for it. `freeSeats` reads the providers' free seats
    /// (called without the rounds lock, for a first draw only).
    func beginDraw(
        _ id: String, seed: String,
        freeSeats: ([String: [Round.Choice]]) -> ([String: Int], Set<String>)
    ) -> DrawStart {
        let first: (Round, Bool)? = rounds.withLock { rounds in
            guard var round = rounds.byID[id] else { return nil }
            let free = round.phase == .closed && !round.drawing && round.record == nil
            if free { round.drawing = true }
            rounds.byID[id] = round
            return (round, free)
        }
        guard let (round, needsRecord) = first else { return .reply(.now(.noRound(id))) }
        if round.phase == .open { return .reply(.now(.roundIsOpen)) }
        guard SHA256.hex(seed) == round.commitment else {
            if needsRecord { finishDraw(id, drawn: false) }
            return .reply(.now(.seedMismatch))
        }
        if round.phase == .drawn, let outcome = round.outcome { return .reply(.now(outcome.reply)) }
        if !needsRecord {
            // A draw is being written now, or one was cut short: a re-send finishes it.
            let claimed = rounds.withLock { rounds -> Bool in
                guard var current = rounds.byID[id], !current.drawing, let record = current.record,
                    record.seed == seed
                else { return false }
                current.drawing = true
                rounds.byID[id] = current
                return true
            }
            guard claimed, let record = round.record else {
                return .reply(.now(.drawInProgress))
            }
            return .run(record, applications: round.applications)
        }
        let (free, excluded) = freeSeats(round.applications)
        let record = Round.DrawRecord(
            seed: seed, drawnAt: WallClock.milliseconds(), freeSeats: free, excluded: excluded)
        return .run(record, applications: round.applications)
    }

    /// Step 1 of a draw: the record (seed, time, free seats, outcome counts) goes to Redis
    /// before any placement, so that a re-run after a crash uses the same numbers.
    func writeDrawRecord(
        _ id: String, _ record: Round.DrawRecord, outcome: Round.DrawCounts, ticket: ReplyTicket,
        now: UInt64
    ) {
        rounds.withLock { rounds in
            guard var round = rounds.byID[id] else { return }
            round.record = record
            round.outcome = outcome
            round.phase = .drawing
            rounds.byID[id] = round
            let meta = keys.roundMeta(id)
            var ops: [MirrorOp] = [
                .field(key: meta, field: "seed", value: record.seed),
                .field(key: meta, field: "drawn-at", value: String(record.drawnAt)),
                .field(
                    key: meta, field: "excluded",
                    value: record.excluded.sorted().joined(separator: " ")),
                .field(key: meta, field: "offered", value: String(outcome.offered)),
                .field(key: meta, field: "waiting", value: String(outcome.waiting)),
                .field(key: meta, field: "unplaced", value: String(outcome.unplaced)),
            ]
            for (provider, free) in record.freeSeats.sorted(by: { $0.key < $1.key }) {
                ops.append(
                    .field(key: keys.roundFreeSeats(id), field: provider, value: String(free)))
            }
            ops.append(.field(key: keys.rounds, field: id, value: Round.Phase.drawing.rawValue))
            writeLedger(ops, ticket: ticket, now: now)
        }
    }

    /// Step 3: the round is drawn, once every placement is in Redis.
    func writeDrawn(_ id: String, ticket: ReplyTicket, now: UInt64) {
        rounds.withLock { _ in
            writeLedger(
                [.field(key: keys.rounds, field: id, value: Round.Phase.drawn.rawValue)],
                ticket: ticket, now: now)
        }
    }

    /// The draw's writes ended: `drawn` when Redis has them all (BOOK is first come, first
    /// served again), else the round stays as it was for a re-send.
    func finishDraw(_ id: String, drawn: Bool) {
        rounds.withLock { rounds in
            guard var round = rounds.byID[id] else { return }
            round.drawing = false
            if drawn {
                round.phase = .drawn
                if rounds.undrawn == id {
                    rounds.undrawn = nil
                    anyUndrawn.store(rounds.anyUndrawn, ordering: .releasing)
                }
            }
            rounds.byID[id] = round
        }
        offerClock.unpark(now: WallClock.milliseconds())
    }

    // MARK: Placements and the cascade

    /// Where the round placed `holder` now, if anywhere.
    func placement(round: String, holder: String) -> Placement? {
        placements.withLock { $0[round]?[holder] }
    }

    /// A placement made by the draw (or found by recovery).
    func recordPlacement(
        round: String, holder: String, rank: Int, at provider: String, booked: Bool
    ) {
        placements.withLock {
            $0[round, default: [:]][holder] = Placement(
                rank: rank, provider: provider, booked: booked)
        }
    }

    /// The holder confirmed its offer at `provider` (called with that provider's lock held).
    func confirmed(round: String, holder: String, at provider: String) {
        placements.withLock { placements in
            if placements[round]?[holder]?.provider == provider {
                placements[round]?[holder]?.booked = true
            }
        }
    }

    /// A waitlist gave `holder` a seat or an offer of `round` at rank `rank` (called with that
    /// provider's lock held). Its worse places (`movedFrom`, and waitlists below `rank`) are
    /// released by `runFollowUps`, outside every lock.
    func placed(round: String, holder: String, rank: Int, at provider: String, booked: Bool) {
        recordPlacement(round: round, holder: holder, rank: rank, at: provider, booked: booked)
        followUps.withLock { $0.append((round, holder, rank)) }
        hasFollowUps.store(true, ordering: .releasing)
    }

    /// `holder` left its placement at `provider` (declined, cancelled, expired).
    func unplaced(round: String, holder: String, at provider: String) {
        placements.withLock { placements in
            if placements[round]?[holder]?.provider == provider { placements[round]?[holder] = nil }
        }
    }

    /// Releases the worse places of holders that moved up, and whatever those releases cause.
    func runFollowUps(rules: Provider.BookingRules) {
        while hasFollowUps.load(ordering: .acquiring) {
            let steps = followUps.withLock { steps in
                defer { steps.removeAll() }
                hasFollowUps.store(false, ordering: .releasing)
                return steps
            }
            for step in steps {
                guard
                    let choices = rounds.withLock({ $0.byID[step.round]?.applications[step.holder] }
                    )
                else { continue }
                for (index, choice) in choices.enumerated() where index + 1 > step.rank {
                    guard let provider = table.provider(choice.provider) else { continue }
                    provider.releaseForRound(step.holder, round: step.round, rules: rules)
                    wake?(provider.owner)
                }
            }
        }
    }

    /// Expires the offers that are due (loop thread 0, every tick).
    func expireDueOffers(rules: Provider.BookingRules) {
        let now = WallClock.milliseconds()
        var notYet: [OfferClock.Entry] = []
        for entry in offerClock.takeDue(now: now) {
            if entry.provider.expire(entry.holder, expiresAt: entry.expiresAt, rules: rules) {
                wake?(entry.provider.owner)
            } else {
                notYet.append(entry)
            }
        }
        // Offers of a round still being drawn: looked at again when a draw ends.
        for entry in notYet { offerClock.park(entry) }
        runFollowUps(rules: rules)
    }

    // MARK: Recovery

    /// Puts back a round read from Redis.
    func restore(_ round: Round) {
        rounds.withLock { rounds in
            rounds.byID[round.id] = round
            if rounds.latest.flatMap({ rounds.byID[$0] }).map({ $0.openedAt <= round.openedAt })
                ?? true
            {
                rounds.latest = round.id
                rounds.demand = [:]
                for choices in round.applications.values { rounds.count(choices, 1) }
            }
            if round.isUndrawn {
                rounds.undrawn = round.id
                anyUndrawn.store(true, ordering: .releasing)
            }
        }
    }

    // MARK: Rounds of other shards (Redis Cluster)

    /// Applies a message of another shard's holder (`InboxFollower`): its effects and `id`
    /// as the last message applied go to Redis in one batch, in that order.
    func applyFromInbox(_ message: ShardInbox.Message, id: String) {
        rounds.withLock { rounds in
            var ops: [MirrorOp]
            switch message.kind {
            case .freeze:
                if !rounds.foreign.contains(message.round) { rounds.foreign.append(message.round) }
                ops = [
                    .field(key: keys.foreignRounds, field: message.round, value: ShardInbox.frozen)
                ]
            case .thaw:
                rounds.foreign.removeAll { $0 == message.round }
                ops = [.unfield(key: keys.foreignRounds, field: message.round)]
            }
            anyUndrawn.store(rounds.anyUndrawn, ordering: .releasing)
            rounds.inboxApplied = id
            ops.append(.field(key: keys.inboxState, field: ShardInbox.appliedField, value: id))
            writeLedger(ops, ticket: nil, now: MonotonicClock.nanoseconds())
        }
    }

    /// Puts back the rounds of other shards that Redis says hold this one (a load).
    func restoreForeign(_ ids: [String], inboxApplied: String?) {
        rounds.withLock { rounds in
            rounds.foreign = ids
            rounds.inboxApplied = inboxApplied
            anyUndrawn.store(rounds.anyUndrawn, ordering: .releasing)
        }
    }

    /// The rounds of other shards holding this one now, and the last inbox message applied
    /// (a write-back after data loss writes them again).
    var foreignState: (rounds: [String], inboxApplied: String?) {
        rounds.withLock { ($0.foreign, $0.inboxApplied) }
    }

    // MARK: The ledger

    /// Hands round writes to the ledger's Redis connection, the reply's ticket on the last.
    private func writeLedger(_ ops: [MirrorOp], ticket: ReplyTicket?, now: UInt64) {
        ledger.state.withLock { state in
            var writes = WriteList(madeAt: now)
            for op in ops { writes.add(ledger, op) }
            writes.flush(to: ledger.outbox, ticket: ticket, state: &state)
        }
        wake?(ledger.owner)
    }

    /// A reply about rounds that waits until Redis has every round write made so far.
    private func ledgerSettled(_ reply: Reply, ticket: ReplyTicket, now: UInt64) -> RequestOutcome {
        ledger.state.withLock { ledger.settled(reply, $0, ticket: ticket, now: now) }
    }
}
