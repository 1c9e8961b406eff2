import Synchronization

/// One provider's seats, holders and waitlist.
///
/// Its own locks guard them, so unrelated providers never serialise: one per stripe of holders
/// (`StripedState`), all of them taken for every change but one. A BOOK that takes a free seat
/// holds only its holder's stripe and takes the seat by compare-and-swap on a counter
/// (`AdmissionCounters`); a BOOK at a sold-out provider whose holder is surely not a member is
/// answered `+FULL` with no lock at all (`SoldOutGate`). DESIGN.md, "Admission without the
/// provider lock", argues why no seat is sold twice and a retry still gets `+BOOKED`.
public final class Provider: Sendable {
    public let id: String
    /// The loop thread whose Redis connection carries this provider's writes.
    public let owner: Int
    let outbox: MirrorOutbox
    /// BOOKs answered +FULL: unmet demand.
    let refusals = RefusalCount()
    /// The owner has been told the refused count changed and has not mirrored it yet.
    private let refusedQueued = Atomic<Bool>(false)
    /// Sold-out BOOKs answered without the lock.
    private let soldOut = SoldOutGate()
    /// Internal, not private: the round operations (`Provider+Rounds.swift`) share it.
    let state: StripedState<State>
    /// What a BOOK reads and changes without `state.withLock`; the state holds it too, and
    /// the owner's outbox keeps its place in the provider's write order there.
    let admission: AdmissionCounters
    /// The state's holders, for the BOOK that holds one stripe only.
    private let holderTable: HolderTable
    /// The last write number (see `State.made`) a write-back after data loss recorded in the
    /// new audit log: audit writes up to it are applied again when resent, not logged again.
    private let loggedThroughNumber = Atomic<Int>(0)
    var loggedThrough: Int { loggedThroughNumber.load(ordering: .relaxed) }
    /// Redis may hold bookings of this provider in fields of its `booked-batches` hash
    /// (`BookedBatches`), so a cancellation masks the holder there too. Set by the encoder (on
    /// the owner's thread, in write order) when it writes such a field, and by recovery when it
    /// read one; never cleared, since a cancellation masked once too often costs only a field.
    private let hasBookedBatchesFlag = Atomic<Bool>(false)
    var hasBookedBatches: Bool { hasBookedBatchesFlag.load(ordering: .relaxed) }
    /// Stores only the first time: the flag shares the provider's memory with what every BOOK
    /// reads, and a store per batch would take that cache line from the other threads.
    func noteBookedBatches() {
        if !hasBookedBatches { hasBookedBatchesFlag.store(true, ordering: .relaxed) }
    }

    struct State: StripedStateValue {
        var capacity: Int
        /// Holders with a seat, each with the number of the write that last booked it (see
        /// `made`): it is in Redis once `confirmed` reached that number.
        let holders: HolderTable
        let counters: AdmissionCounters
        /// Holders offered a seat (by a round, or by a waitlist when offer-ttl is set): held
        /// for capacity and the holder limit until confirmed, declined or expired.
        var offers: [String: Offer] = [:]
        /// Holders a round placed or queued here (booked, offered or waiting), with its rank.
        var tags: [String: RoundTag] = [:]
        /// Holders with a tag field of their own in Redis, a tag or "-" (`RoundTagFields`): a
        /// draw tags them by their own field again, not in its part. A superset is harmless.
        var tagFields: Set<String> = []
        /// SEATS shows `offered=` once this provider has made an offer.
        var hasOffered = false
        var waitlist = Waitlist()
        /// Redis score of waitlist ticket 0; scores must grow across restarts.
        var scoreBase = 0
        /// Redis has a draw's waitlist places here in a field of the tags hash, not in the
        /// sorted set: a holder leaving a place must mask it there too (`RoundTagFields`).
        var drawnPlaces = false
        /// Counts of the holders and waiting holders, made when the provider first sells out
        /// and kept from then on; `retired` are earlier, smaller ones (freed with the provider:
        /// a lock-free reader may still read one).
        var members: MemberCounts?
        var retired: [MemberCounts] = []
        /// Set by a load (`restore`): the gate stays shut, and the counts unmade, until a BOOK
        /// is refused under the lock. At 100x the city the counts of every sold-out provider
        /// were 120 MB of a cold start's 1,515 MB, made for providers nobody may ask again.
        var gateWaitsForARefusal = false
        /// The refused count Redis was last sent.
        var refusedMirrored = 0
        /// Writes handed to the mirror so far, and how many of them Redis confirmed (see
        /// `AdmissionCounters`). Stable while every stripe is held: only the holder of a
        /// stripe makes writes, and a BOOK's happen before it lets its stripe go.
        var made: Int { counters.made }
        var confirmed: Int { counters.confirmed.load(ordering: .acquiring) }
        var hasUnconfirmed: Bool { made > confirmed }
        /// Seats free: none while the provider holds as many bookings and offers as its
        /// capacity or more (an oversold provider, found so in Redis: `over`).
        var free: Int { max(0, capacity - holders.count - offers.count) }

        func publish() {
            counters.publish(
                free: free,
                admitsWithoutLock: offers.isEmpty && waitlist.count == 0 && members == nil)
        }

        /// A holder joined the members (booked or waiting).
        func joined(_ holder: String) { members?.insert(holder) }
        /// A holder left the members.
        func left(_ holder: String) { members?.remove(holder) }
    }

    init(id: String, owner: Int, outbox: MirrorOutbox, capacity: Int) {
        self.id = id
        self.owner = owner
        self.outbox = outbox
        let counters = AdmissionCounters()
        let holders = HolderTable()
        admission = counters
        holderTable = holders
        state = StripedState(State(capacity: capacity, holders: holders, counters: counters))
        changing { _ in }  // a provider made with no seats is sold out from the start
    }

    deinit {
        state.withLock { state in
            state.members?.deallocate()
            for members in state.retired { members.deallocate() }
        }
        holderTable.deallocate()
    }

    /// Every change of the state goes through here: the lock-free sold-out answer is closed
    /// before it and opened again after it when the provider is sold out and Redis has every
    /// write (the members counted first). Answers that change nothing need not close it: a
    /// closing invalidates every lock-free read in flight, which then takes the lock too.
    func changing<Result>(_ body: (inout State) -> Result) -> Result {
        state.withLock { state in
            soldOut.close()
            let result = body(&state)
            openIfSettled(&state)
            return result
        }
    }

    /// Closes the lock-free sold-out answer before a change made under the lock (the caller
    /// opens it again with `openIfSettled`).
    func closeSoldOutGate() { soldOut.close() }

    /// Opens the gate when the provider is sold out and Redis has every write.
    func openIfSettled(_ state: inout State) {
        guard state.free <= 0 && !state.hasUnconfirmed && !state.gateWaitsForARefusal else {
            return
        }
        refusals.makeStripes()
        soldOut.open(members: Self.countedMembers(&state))
    }

    /// The members' counts, made or made larger (room for 16 counters a member, at least 64)
    /// when fewer than 8 counters a member are left: a false "maybe" then stays under 5%.
    private static func countedMembers(_ state: inout State) -> MemberCounts {
        let members = state.holders.count + state.offers.count + state.waitlist.count
        if let counts = state.members, counts.counters >= 8 * members { return counts }
        var counters = 64
        while counters < 16 * members { counters *= 2 }
        let counts = MemberCounts(counters: counters)
        state.holders.forEachHolder { counts.insert($0) }
        for holder in state.offers.keys { counts.insert(holder) }
        state.waitlist.forEachHolder { counts.insert($0) }
        if let old = state.members { state.retired.append(old) }
        state.members = counts
        return counts
    }

    /// BOOKs answered +FULL so far: unmet demand.
    public var refusedCount: Int { refusals.total }

    /// One more BOOK answered +FULL, `locked` or not. The owner is told once per mirror of the
    /// count. The add and the flag are sequentially consistent, as in `refusedWriteIfChanged`:
    /// either its read of the count sees this add, or this read of the flag sees it cleared.
    @inline(__always)
    private func countRefusal(locked: Bool) {
        if locked { refusals.addLocked() } else { refusals.addUnlocked() }
        guard !refusedQueued.load(ordering: .sequentiallyConsistent) else { return }
        if refusedQueued.compareExchange(
            expected: false, desired: true, ordering: .sequentiallyConsistent
        ).exchanged {
            outbox.noteRefusedChanged(self)
        }
    }

    /// The rules a BOOK runs under.
    public struct BookingRules: Sendable {
        public var waitlistLimit: Int
        public var limits: HolderLimits
        /// Milliseconds an offer stays open (`offer-ttl`); 0: a seat a waitlist or a draw
        /// gives is booked at once.
        public var offerMillis: Int
        /// The rounds, for promotions of holders a round queued (nil in unit tests of seats).
        public var rounds: RoundRegistry?
        public init(
            waitlistLimit: Int, limits: HolderLimits, offerMillis: Int = 0,
            rounds: RoundRegistry? = nil
        ) {
            self.waitlistLimit = waitlistLimit
            self.limits = limits
            self.offerMillis = offerMillis
            self.rounds = rounds
        }
    }

    /// BOOK. `mirrorUp` false means no write may be made: the request fails closed instead.
    /// `now` stamps the writes for the write timeout: the loop passes the time it read the
    /// request, so the booking path reads no clock of its own.
    public func book(
        _ holder: String, wait: Bool, rules: BookingRules, mirrorUp: Bool, ticket: ReplyTicket?,
        now: UInt64 = MonotonicClock.nanoseconds()
    ) -> RequestOutcome {
        if !wait && soldOut.refuses(holder) {
            countRefusal(locked: false)
            return .now(.full(provider: id))
        }
        if mirrorUp, let outcome = admitWithoutLock(holder, rules: rules, ticket: ticket, now: now)
        {
            return outcome
        }
        return state.withLock { state in
            // The answers that change nothing (a position, a refusal) leave the gate open.
            let held = state.holders[holder] != nil
            if !held && !state.offers.isEmpty && state.offers[holder] != nil {
                // BOOK by a holder with an offer takes the offered seat: it is a CONFIRM.
                return confirmLocked(
                    holder, &state, rules: rules, mirrorUp: mirrorUp, ticket: ticket, now: now,
                    reply: { .booked(free: $0) })
            }
            if !held {
                if let position = state.waitlist.position(of: holder) {
                    return settled(.waiting(position: position), state, ticket: ticket, now: now)
                }
                if state.free <= 0 && !(wait && state.waitlist.count < rules.waitlistLimit) {
                    countRefusal(locked: true)
                    if state.gateWaitsForARefusal {
                        state.gateWaitsForARefusal = false
                        openIfSettled(&state)
                    }
                    return settled(.full(provider: id), state, ticket: ticket, now: now)
                }
            }
            soldOut.close()
            defer { openIfSettled(&state) }
            var writes = WriteList(madeAt: now)
            if held {
                // Already held: resend the fact so the reply waits until Redis surely has it.
                guard mirrorUp else { return .now(.unavailable) }
                state.holders[holder] = state.made + 1
                writes.add(self, .book(holder: holder), audited: false)
                writes.flush(to: outbox, ticket: ticket, state: &state)
                return .afterMirror(.booked(free: state.free))
            }
            if state.free > 0 {
                guard mirrorUp else { return .now(.unavailable) }
                guard rules.limits.reserve(holder) else { return .now(.limit(holder: holder)) }
                state.holders[holder] = state.made + 1
                state.joined(holder)
                writes.add(self, .book(holder: holder))
                writes.flush(to: outbox, ticket: ticket, state: &state)
                return .afterMirror(.booked(free: state.free))
            }
            // BOOK WAIT with room in the waitlist. A holder already at the limit could never
            // take the seat it would wait for.
            guard !rules.limits.isAtLimit(holder) else { return .now(.limit(holder: holder)) }
            guard mirrorUp else { return .now(.unavailable) }
            let ticketNumber = state.waitlist.append(holder)
            state.joined(holder)
            writes.add(self, .enqueue(holder: holder, score: state.scoreBase + ticketNumber))
            writes.flush(to: outbox, ticket: ticket, state: &state)
            return .afterMirror(.waiting(position: state.waitlist.count))
        }
    }

    /// A BOOK that takes a free seat holding only its holder's stripe: nil when it needs the
    /// whole state instead (a retry, no seat free, offers or a waitlist, a provider that sold
    /// out before). One compare-and-swap takes the seat and numbers its writes; a concurrent
    /// BOOK that finds no seat free goes to `withLock`, which waits for this stripe, so
    /// `+FULL` is never answered while a seat taken here may still be given back.
    private func admitWithoutLock(
        _ holder: String, rules: BookingRules, ticket: ReplyTicket?, now: UInt64
    ) -> RequestOutcome? {
        let stripe = HolderTable.stripe(of: holder)
        let holders = holderTable
        return state.withStripe(stripe) { () -> RequestOutcome? in
            let counters = admission
            var outcome: RequestOutcome?
            // `takeSeat` refuses when the last `withLock` (none runs while this stripe is held)
            // closed this path, or no seat is free. A holder with a seat already: nil.
            holders.insertIfAbsent(stripe: stripe, holder: holder) { () -> Int? in
                guard let (number, free) = counters.takeSeat(numbering: 2) else { return nil }
                guard rules.limits.reserve(holder) else {
                    counters.giveBackSeat()
                    var first = MirrorWrite(
                        provider: self, op: .skipped, ticket: nil, madeAt: now, number: number)
                    var second = MirrorWrite(
                        provider: self, op: .skipped, ticket: nil, madeAt: now,
                        number: number + 1)
                    outbox.append(moving: &first, &second)
                    outcome = .now(.limit(holder: holder))
                    return nil
                }
                outbox.appendBooking(
                    self, holder: holder, ticket: ticket, number: number, madeAt: now)
                outcome = .afterMirror(.booked(free: free))
                return number
            }
            return outcome
        }
    }

    /// CANCEL: frees the holder's seat (the head of the waitlist takes it) or waitlist place.
    public func cancel(
        _ holder: String, rules: BookingRules, mirrorUp: Bool, ticket: ReplyTicket?,
        now: UInt64 = MonotonicClock.nanoseconds()
    ) -> RequestOutcome {
        changing { state in
            let booked = state.holders[holder] != nil
            let offered = !booked && state.offers[holder] != nil
            guard booked || offered || state.waitlist.contains(holder) else {
                return settled(.notFound(holder: holder), state, ticket: ticket, now: now)
            }
            guard mirrorUp else { return .now(.unavailable) }
            var writes = WriteList(madeAt: now)
            if booked || offered {
                release(holder, booked: booked, &state, rules: rules, writes: &writes)
            } else {
                _ = state.waitlist.remove(holder)
                state.left(holder)
                dequeueWrite(holder, state, writes: &writes)
                untag(holder, &state, rules: rules, placed: false, writes: &writes)
            }
            writes.flush(to: outbox, ticket: ticket, state: &state)
            return .afterMirror(.cancelled(free: state.free))
        }
    }

    /// PROVIDER on an existing provider: changes the capacity, never below the booked seats.
    public func setCapacity(
        _ capacity: Int, rules: BookingRules, mirrorUp: Bool, ticket: ReplyTicket?,
        now: UInt64 = MonotonicClock.nanoseconds()
    ) -> RequestOutcome {
        changing { state in
            guard capacity >= state.holders.count + state.offers.count else {
                return .now(.capacityBelowBooked)
            }
            guard mirrorUp else { return .now(.unavailable) }
            // The same capacity sent again (a retry) is written again, not logged again.
            let changed = capacity != state.capacity
            state.capacity = capacity
            var writes = WriteList(madeAt: now)
            writes.add(self, .capacity(capacity), audited: changed)
            promote(&state, rules: rules, writes: &writes)
            writes.flush(to: outbox, ticket: ticket, state: &state)
            return .afterMirror(.ok)
        }
    }

    /// The capacity write of a provider PROVIDER just created, with the reply's ticket.
    func mirrorCreation(capacity: Int, ticket: ReplyTicket?, now: UInt64) {
        changing { state in
            var writes = WriteList(madeAt: now)
            writes.add(self, .capacity(capacity))
            writes.flush(to: outbox, ticket: ticket, state: &state)
        }
    }

    /// STATUS, as memory has it now (unconfirmed changes included).
    public func status(of holder: String) -> Reply {
        state.withLock { Self.status(of: holder, in: $0) }
    }

    /// STATUS for a client: held until Redis has every change it reveals.
    func statusReply(of holder: String, ticket: ReplyTicket, now: UInt64) -> RequestOutcome {
        state.withLock { state in
            let reply = Self.status(of: holder, in: state)
            // A booked holder's answer depends only on its own booking; a position (the holders
            // ahead) or an absence (a cancellation) on every write of the provider.
            if let booking = state.holders[holder] {
                let dirty = PlantedBug.active == .dirtyReads
                return booking <= state.confirmed || dirty
                    ? .now(reply) : settled(reply, state, ticket: ticket, now: now)
            }
            return settled(reply, state, ticket: ticket, now: now)
        }
    }

    private static func status(of holder: String, in state: State) -> Reply {
        if state.holders[holder] != nil { return .bookedStatus }
        if let offer = state.offers[holder] {
            return .offeredStatus(secondsLeft: offer.secondsLeft(now: WallClock.milliseconds()))
        }
        if let position = state.waitlist.position(of: holder) {
            return .waiting(position: position)
        }
        return .none
    }

    /// The holder gives its seat (or its offer) up: the limit's unit and the round tag go, and
    /// the head of the waitlist moves up. A CANCEL and an offer's expiry share it.
    func release(
        _ holder: String, booked: Bool, _ state: inout State, rules: BookingRules,
        writes: inout WriteList
    ) {
        if booked {
            state.holders[holder] = nil
            writes.add(self, .unbook(holder: holder))
        } else {
            state.offers[holder] = nil
            writes.add(self, .unoffer(holder: holder))
        }
        state.left(holder)
        rules.limits.release(holder)
        untag(holder, &state, rules: rules, placed: true, writes: &writes)
        promote(&state, rules: rules, writes: &writes)
    }

    /// SEATS, as memory has it now (unconfirmed changes included).
    public func seats() -> SeatsSnapshot {
        state.withLock { snapshot(of: $0) }
    }

    /// SEATS for a client: held until Redis has every change it reveals.
    func seatsReply(ticket: ReplyTicket, now: UInt64) -> RequestOutcome {
        state.withLock { state in
            settled(.seats(snapshot(of: state)), state, ticket: ticket, now: now)
        }
    }

    private func snapshot(of state: State) -> SeatsSnapshot {
        SeatsSnapshot(
            capacity: state.capacity, booked: state.holders.count,
            waiting: state.waitlist.count, refused: refusals.total,
            offered: state.hasOffered ? state.offers.count : nil)
    }

    /// A reply that reads the state: sent at once when Redis has every write of this provider,
    /// else held until it has them. A barrier after those writes carries the ticket; it is
    /// confirmed with the batch that confirms them (a provider's writes travel in order).
    /// Called with the lock held, so no write can slip in between the read and the barrier.
    func settled(_ reply: Reply, _ state: State, ticket: ReplyTicket?, now: UInt64)
        -> RequestOutcome
    {
        guard let ticket, state.hasUnconfirmed, PlantedBug.active != .dirtyReads else {
            return .now(reply)
        }
        var write = barrier(after: state, ticket: ticket, madeAt: now)
        outbox.append(moving: &write)
        return .afterMirror(reply)
    }

    /// A write that carries `ticket` once every write made so far is confirmed (call with
    /// every stripe held).
    func barrier(after state: State, ticket: ReplyTicket, madeAt: UInt64) -> MirrorWrite {
        var write = MirrorWrite(provider: self, op: .barrier, ticket: ticket, madeAt: madeAt)
        write.number = state.made
        return write
    }

    /// Redis confirmed these writes of this provider (the owner thread calls this). The lock
    /// is taken only when the provider may now be sold out and settled, to open the gate.
    public func confirmed(_ writes: ArraySlice<MirrorWrite>) {
        var count = 0
        for write in writes where write.op.changesState { count += 1 }
        guard count > 0 else { return }
        let confirmed = admission.confirmed.add(count, ordering: .releasing).newValue
        guard admission.free <= 0, confirmed == admission.made,
            !soldOut.isOpen
        else { return }
        state.withLock { openIfSettled(&$0) }
    }

    /// The state as Redis should hold it, to write it all back after Redis lost data.
    /// The whole state, for a write-back and a log's first steps; `made` is the number of the
    /// last write it holds.
    typealias Snapshot = (
        capacity: Int, holders: [String], waiting: [(holder: String, score: Int)], refused: Int,
        offers: [(holder: String, expiresAt: Int)], tags: [(holder: String, tag: RoundTag)],
        made: Int
    )

    func snapshot() -> Snapshot {
        state.withLock { state in
            let waiting = state.waitlist.entries.map { ($0.holder, state.scoreBase + $0.ticket) }
            return (
                state.capacity, Array(state.holders.keys), waiting, refusals.total,
                state.offers.map { ($0.key, $0.value.expiresAt) },
                state.tags.map { ($0.key, $0.value) }, state.made
            )
        }
    }

    /// A write-back recorded every change up to write `number` in the audit log.
    func logged(through number: Int) {
        loggedThroughNumber.store(number, ordering: .relaxed)
    }

    /// Gives free seats to the head of the waitlist: a booking, or an offer when offer-ttl is
    /// set. Bookings go to Redis before the dequeue, so a crash between the two leaves a holder
    /// both booked and waiting, which recovery settles in favour of the seat. A holder at the
    /// holder limit loses its place instead; so does one a round already placed as well or better.
    func promote(_ state: inout State, rules: BookingRules, writes: inout WriteList) {
        while state.free > 0, let next = state.waitlist.popFirst() {
            let tag = state.tags[next]
            // A holder a round placed elsewhere moves here (its limit seat moves with it).
            let placement = tag.flatMap { rules.rounds?.placement(round: $0.round, holder: next) }
            let placedRank = placement?.rank
            if let tag, let placedRank, placedRank <= tag.rank {
                state.left(next)
                state.tags[next] = nil
                untagWrite(next, &state, writes: &writes)
            } else if placedRank != nil || rules.limits.reserve(next) {
                // A member still: it waited, now it holds a seat or an offer.
                // Moving up from a booking books here too: an offer could leave it with nothing.
                give(
                    next, &state, rules: rules, writes: &writes, cause: tag,
                    asBooking: placement?.booked == true)
                if let tag {
                    rules.rounds?.placed(
                        round: tag.round, holder: next, rank: tag.rank, at: id,
                        booked: state.holders[next] != nil)
                }
            } else {
                state.left(next)
                if tag != nil {
                    state.tags[next] = nil
                    untagWrite(next, &state, writes: &writes)
                }
            }
            dequeueWrite(next, state, writes: &writes)
        }
    }

    /// The writes of `holder` leaving its waitlist place here: its sorted-set member, and a
    /// mask where a draw's places field may name it (`RoundTagFields`), scored with the
    /// highest score so far, which is at least its place's.
    func dequeueWrite(
        _ holder: String, _ state: State, writes: inout WriteList, cause: RoundTag? = nil
    ) {
        writes.add(self, .dequeue(holder: holder), cause: cause)
        if state.drawnPlaces {
            let highest = state.scoreBase + state.waitlist.nextTicket - 1
            writes.add(self, .mask(holder: holder, score: highest))
        }
    }

    /// A seat for `holder`: an offer when offer-ttl is set, else a booking.
    func give(
        _ holder: String, _ state: inout State, rules: BookingRules, writes: inout WriteList,
        expiresAt: Int? = nil, cause: RoundTag? = nil, asBooking: Bool = false
    ) {
        if rules.offerMillis > 0 && !asBooking {
            let expiry = expiresAt ?? WallClock.milliseconds() + rules.offerMillis
            state.offers[holder] = Offer(expiresAt: expiry)
            state.hasOffered = true
            writes.add(self, .offer(holder: holder, expiresAt: expiry), cause: cause)
            rules.rounds?.offerClock.add(expiresAt: expiry, provider: self, holder: holder)
        } else {
            // The number this booking write will get once the request's writes are counted.
            state.holders[holder] = state.made + writes.count + 1
            writes.add(self, .book(holder: holder), cause: cause)
        }
    }

    // MARK: Recovery

    /// Replaces the state with what recovery read from Redis. Returns the writes that settle
    /// it (a holder both booked and waiting keeps the seat; free seats go to the waitlist).
    /// `rewriteWaitlist` writes every waiting holder's score again (recovery found scores it
    /// could not use and numbered them afresh in Redis's order). A holder both booked and
    /// offered keeps the booking; offered and waiting, the offer. With `promoting` false the
    /// free seats wait for `promoteAfterRecovery` (once every round placement is known).
    func restore(
        capacity: Int, holders: [String], waiting: [(holder: String, score: Int)],
        refused refusedSoFar: Int = 0,
        offers: [(holder: String, expiresAt: Int)] = [], tags: [String: RoundTag] = [:],
        tagFields: Set<String> = [], drawnPlaces: Bool = false, highestScore: Int? = nil,
        rewriteWaitlist: Bool = false, rules: BookingRules, promoting: Bool = true
    ) -> [MirrorWrite] {
        refusals.set(refusedSoFar)
        return changing { state in
            // Restored again (a warm standby reads a provider each time it changes): the
            // holder limit counts what this provider held only once.
            // No array of the keys, and no walk at all without a limit.
            if rules.limits.isActive {
                state.holders.forEachHolder { rules.limits.release($0) }
                for holder in state.offers.keys { rules.limits.release(holder) }
            }
            // The counts are made afresh from the restored members when next needed: at the
            // first BOOK refused under the lock.
            if let old = state.members { state.retired.append(old) }
            state.members = nil
            state.gateWaitsForARefusal = true
            state.refusedMirrored = refusedSoFar
            state.capacity = capacity
            // What recovery read is in Redis: confirmed.
            state.holders.replaceAll(with: holders, number: 0)
            if rules.limits.isActive { state.holders.forEachHolder { rules.limits.restore($0) } }
            state.waitlist = Waitlist()
            var writes = WriteList(madeAt: MonotonicClock.nanoseconds())
            state.offers = [:]
            for offer in offers {
                if state.holders[offer.holder] != nil || state.offers[offer.holder] != nil {
                    writes.add(self, .unoffer(holder: offer.holder))
                    continue
                }
                state.offers[offer.holder] = Offer(expiresAt: offer.expiresAt)
                state.hasOffered = true
                rules.limits.restore(offer.holder)
                rules.rounds?.offerClock.add(
                    expiresAt: offer.expiresAt, provider: self, holder: offer.holder)
            }
            var maxScore = highestScore ?? -1
            state.waitlist.reserveCapacity(waiting.count)
            state.drawnPlaces = drawnPlaces
            var seated: [String] = []
            for entry in waiting {
                maxScore = max(maxScore, entry.score)
                if state.holders[entry.holder] != nil || state.offers[entry.holder] != nil {
                    seated.append(entry.holder)
                } else if state.waitlist.contains(entry.holder) {
                    writes.add(self, .dequeue(holder: entry.holder))
                } else {
                    state.waitlist.append(entry.holder)
                }
            }
            state.scoreBase = maxScore + 1 - state.waitlist.nextTicket
            // A seat wins over a place; the mask keeps a draw's field from naming it again.
            for holder in seated { dequeueWrite(holder, state, writes: &writes) }
            if rewriteWaitlist {
                for (ticket, holder) in state.waitlist.holders.enumerated() {
                    writes.add(
                        self, .enqueue(holder: holder, score: state.scoreBase + ticket),
                        audited: false)
                }
            }
            // A tag of a holder no longer here is left over from a crash: dropped.
            state.tags = [:]
            state.tagFields = tagFields
            for (holder, tag) in tags {
                if state.holders[holder] != nil || state.offers[holder] != nil
                    || state.waitlist.contains(holder)
                {
                    state.tags[holder] = tag
                } else {
                    untagWrite(holder, &state, writes: &writes)
                }
            }
            if promoting { promote(&state, rules: rules, writes: &writes) }
            return writes.all
        }
    }

    /// The refused count as Redis has it (a takeover's, for a provider read before).
    func restoreRefused(_ total: Int) {
        refusals.set(total)
        state.withLock { $0.refusedMirrored = total }
    }

    /// Gives the seats recovery found free to the waitlist (see `restore`).
    func promoteAfterRecovery(rules: BookingRules) -> [MirrorWrite] {
        changing { state in
            var writes = WriteList(madeAt: MonotonicClock.nanoseconds())
            promote(&state, rules: rules, writes: &writes)
            return writes.all
        }
    }

    /// A write of the refused count when it changed since the last one (owner thread only).
    func refusedWriteIfChanged() -> MirrorWrite? {
        // Unqueued before the count is read: a refusal after this queues the provider again.
        let total = state.withLock { state -> Int? in
            refusedQueued.store(false, ordering: .sequentiallyConsistent)
            let total = refusals.total
            guard total != state.refusedMirrored else { return nil }
            state.refusedMirrored = total
            return total
        }
        guard let total else { return nil }
        return MirrorWrite(
            provider: self, op: .refused(total), ticket: nil, madeAt: MonotonicClock.nanoseconds())
    }

    /// Runs `body` while holding the provider's lock (for tests: what needs no lock goes on).
    func whileLocked(_ body: () -> Void) {
        state.withLock { _ in body() }
    }

    /// Runs `body` while holding the stripe of `holder` only (for tests: BOOKs of holders in
    /// other stripes go on; everything that takes the whole state waits).
    func whileStripeLocked(of holder: String, _ body: () -> Void) {
        state.withStripe(HolderTable.stripe(of: holder), body)
    }

    /// Whether a BOOK that finds a seat free takes it without the whole state now (for tests).
    var admitsWithoutLock: Bool { admission.admitsWithoutLock }

    /// Whether sold-out BOOKs of non-members are answered without the lock now (for tests).
    var answersSoldOutWithoutLock: Bool { soldOut.isOpen }

    /// Whether a BOOK of `holder` would be answered `+FULL` without the lock now (for tests;
    /// `whileLooking` runs between the gate's first version read and its look-up).
    func refusesWithoutLock(_ holder: String, whileLooking: () -> Void = {}) -> Bool {
        soldOut.refuses(holder, whileLooking: whileLooking)
    }

    /// Holders in the waitlist, head first (for tests and tools).
    public func waitingHolders() -> [String] {
        state.withLock { $0.waitlist.holders }
    }
}

/// The writes of one request, without an allocation for the common case (a change and its
/// audit entry). Every change the audit stream lists gets its entry right after it, unless
/// `audited` is false (a fact written again, a score renumbered).
struct WriteList {
    /// When the request that makes these writes was read.
    let madeAt: UInt64
    private var first: MirrorWrite?
    private var second: MirrorWrite?
    private var rest: [MirrorWrite] = []

    init(madeAt: UInt64) { self.madeAt = madeAt }

    mutating func add(
        _ provider: Provider, _ op: MirrorOp, cause: RoundTag? = nil, audited: Bool = true
    ) {
        append(MirrorWrite(provider: provider, op: op, ticket: nil, madeAt: madeAt))
        if audited, let entry = op.auditEntry(cause: cause) {
            append(MirrorWrite(provider: provider, op: entry, ticket: nil, madeAt: madeAt))
        }
    }

    /// An audit entry of its own (a confirmation, which is two changes in Redis).
    mutating func addAudit(
        _ provider: Provider, _ op: AuditOp, holder: String, cause: RoundTag? = nil
    ) {
        append(
            MirrorWrite(
                provider: provider, op: .audit(op, holder: holder, cause: cause), ticket: nil,
                madeAt: madeAt))
    }

    /// Adds another list's writes after these (no array built on the way: a draw's part at
    /// a provider can be tens of thousands of writes).
    mutating func append(contentsOf other: WriteList) {
        if let write = other.first { append(write) }
        if let write = other.second { append(write) }
        // Past other's first two writes, self has two of its own: the rest goes to `rest`.
        rest.append(contentsOf: other.rest)
    }

    private mutating func append(_ write: MirrorWrite) {
        if first == nil {
            first = write
        } else if second == nil {
            second = write
        } else {
            rest.append(write)
        }
    }

    var all: [MirrorWrite] { [first, second].compactMap { $0 } + rest }
    var count: Int { (first == nil ? 0 : 1) + (second == nil ? 0 : 1) + rest.count }

    /// Hands the writes to the owner's outbox, the reply's ticket on the last one, and counts
    /// them as made in `state` (whose lock the caller holds). Every write of a list changes
    /// state (barriers never go through one).
    mutating func flush(to outbox: MirrorOutbox, ticket: ReplyTicket?, state: inout Provider.State)
    {
        guard var one = first else { return }
        // Every stripe is held: no other write of this provider is numbered meanwhile.
        let number = state.counters.number(count)
        one.number = number
        guard var two = second else {
            one.ticket = ticket
            outbox.append(moving: &one)
            return
        }
        two.number = number + 1
        one.continues = true
        if rest.isEmpty {
            two.ticket = ticket
            outbox.append(moving: &one, &two)
            return
        }
        two.continues = true
        // The writes are moved, not copied: a copy retains every string a write holds.
        var writes = rest
        rest = []
        writes.insert(contentsOf: [one, two], at: 0)
        for index in 2..<writes.count {
            writes[index].number = number + index
            writes[index].continues = index < writes.count - 1
        }
        writes[writes.count - 1].ticket = ticket
        outbox.append(writes)
    }
}
