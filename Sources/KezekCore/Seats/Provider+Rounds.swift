/// A provider's part in rounds and offers: confirming, declining and expiring offers, the
/// placements and waitlist places a draw makes, and the moves of the cascade. Every change
/// goes through `changing` (the sold-out gate) and writes the facts it changes, in order, to
/// the provider's own Redis connection, like BOOK and CANCEL.
extension Provider {
    /// What a round has of one holder here, for RESULT.
    enum RoundStanding {
        case offered(secondsLeft: Int)
        case booked
        case waiting(position: Int)
        case absent
    }

    /// CONFIRM: the holder's offer becomes a booking.
    func confirm(
        _ holder: String, rules: BookingRules, mirrorUp: Bool, ticket: ReplyTicket?, now: UInt64
    ) -> RequestOutcome {
        state.withLock { state in
            guard state.offers[holder] != nil else {
                return settled(.notFound(holder: holder), state, ticket: ticket, now: now)
            }
            return confirmLocked(
                holder, &state, rules: rules, mirrorUp: mirrorUp, ticket: ticket, now: now,
                reply: { .simple("CONFIRMED \($0)") })
        }
    }

    /// Books the offered seat of `holder` (whose offer exists); the lock is held.
    func confirmLocked(
        _ holder: String, _ state: inout State, rules: BookingRules, mirrorUp: Bool,
        ticket: ReplyTicket?, now: UInt64,
        reply: (Int) -> Reply
    ) -> RequestOutcome {
        guard mirrorUp else { return .now(.unavailable) }
        closeSoldOutGate()
        defer { openIfSettled(&state) }
        var writes = WriteList(madeAt: now)
        state.offers[holder] = nil
        // Booked before unoffered (one batch, so Redis applies both or neither).
        state.holders[holder] = state.made + 1
        writes.add(self, .book(holder: holder), audited: false)
        writes.add(self, .unoffer(holder: holder), audited: false)
        writes.addAudit(self, .confirm, holder: holder, cause: state.tags[holder])
        if let tag = state.tags[holder] {
            rules.rounds?.confirmed(round: tag.round, holder: holder, at: id)
        }
        writes.flush(to: outbox, ticket: ticket, state: &state)
        return .afterMirror(reply(state.free))
    }

    /// An offer's time ran out: released (if it is still the same offer), and the seat goes
    /// to the waitlist. Returns false when it is too early to expire it (its round is still
    /// being drawn).
    func expire(_ holder: String, expiresAt: Int, rules: BookingRules) -> Bool {
        changing { state in
            guard let offer = state.offers[holder], offer.expiresAt == expiresAt else {
                return true
            }
            if let tag = state.tags[holder], let rounds = rules.rounds, !rounds.isDrawn(tag.round) {
                return false
            }
            var writes = WriteList(madeAt: MonotonicClock.nanoseconds())
            release(holder, booked: false, &state, rules: rules, writes: &writes)
            writes.flush(to: outbox, ticket: nil, state: &state)
            return true
        }
    }

    /// Drops the round tag of a holder leaving this provider; `placed` when it held a seat
    /// or an offer here (the round then no longer counts it as placed here).
    func untag(
        _ holder: String, _ state: inout State, rules: BookingRules, placed: Bool,
        writes: inout WriteList
    ) {
        guard let tag = state.tags.removeValue(forKey: holder) else { return }
        untagWrite(holder, &state, writes: &writes)
        if placed { rules.rounds?.unplaced(round: tag.round, holder: holder, at: id) }
    }

    /// The write that drops `holder`'s tag here: a field of its own, "-", which also masks
    /// the holder in any draw's part here (`RoundTagFields`).
    func untagWrite(_ holder: String, _ state: inout State, writes: inout WriteList) {
        state.tagFields.insert(holder)
        writes.add(self, .untag(holder: holder))
    }

    /// The draw's part at this provider: seats for `placements` (offers until `expiresAt`, or
    /// bookings when offer-ttl is 0) and waitlist places for `waiters`, in the draw's order.
    /// Re-running it (a DRAW re-sent after a crash) changes nothing already there but resends
    /// the facts, so the reply waits until Redis surely has them. The writes go out grouped by
    /// kind (seats, then waitlist places, then tags): one batch applies them all, and writes of
    /// one kind in a row share a Redis command (interleaved, each would be a command of its own).
    func applyDraw(
        round: String, placements: [(holder: String, rank: Int)],
        waiters: [(holder: String, rank: Int)],
        expiresAt: Int, rules: BookingRules, ticket: ReplyTicket?
    ) {
        changing { state in
            let madeAt = MonotonicClock.nanoseconds()
            // Seats, then waitlist places, then tags. Places go in the seats' list (all made
            // after the seats) rather than a list of their own: merging lists copies every write.
            var writes = WriteList(madeAt: madeAt), tags = WriteList(madeAt: madeAt)
            var part: [(holder: String, rank: Int)] = []
            part.reserveCapacity(placements.count + waiters.count)
            state.tags.reserveCapacity(state.tags.count + placements.count + waiters.count)
            state.waitlist.reserveCapacity(waiters.count)
            var booked: [String] = []
            for (holder, rank) in placements {
                let cause = RoundTag(round: round, rank: rank)
                if let offer = state.offers[holder] {
                    writes.add(
                        self, .offer(holder: holder, expiresAt: offer.expiresAt), audited: false)
                } else if state.holders[holder] != nil {
                    booked.append(holder)
                    writes.add(self, .book(holder: holder), audited: false)
                } else {
                    // Seats were counted at the draw; none can have gone since (BOOK answers
                    // +ROUND and capacity cannot drop below booked plus offered).
                    guard state.free > 0, rules.limits.reserve(holder) else { continue }
                    if state.waitlist.remove(holder) {
                        dequeueWrite(holder, state, writes: &writes)
                    } else {
                        state.joined(holder)
                    }
                    give(
                        holder, &state, rules: rules, writes: &writes, expiresAt: expiresAt,
                        cause: cause)
                    if state.holders[holder] != nil { booked.append(holder) }
                }
                tag(holder, cause, &state, part: &part, writes: &tags)
                rules.rounds?.recordPlacement(
                    round: round, holder: holder, rank: rank, at: id,
                    booked: state.holders[holder] != nil)
            }
            // New places go to Redis as one field (`RoundTagFields`), each with its log entry.
            var places: [UInt8] = []
            var firstScore: Int?
            for (holder, rank) in waiters
            where state.holders[holder] == nil && state.offers[holder] == nil {
                if !state.waitlist.contains(holder) {
                    let ticketNumber = state.waitlist.append(holder)
                    state.joined(holder)
                    if firstScore == nil {
                        firstScore = state.scoreBase + ticketNumber
                    } else {
                        places.append(UInt8(ascii: " "))
                    }
                    places.append(contentsOf: holder.utf8)
                    writes.addAudit(
                        self, .wait, holder: holder, cause: RoundTag(round: round, rank: rank))
                }
                tag(holder, RoundTag(round: round, rank: rank), &state, part: &part, writes: &tags)
            }
            if let firstScore {
                state.drawnPlaces = true
                writes.add(
                    self,
                    .places(
                        first: firstScore, last: state.scoreBase + state.waitlist.nextTicket - 1,
                        holders: String(decoding: places, as: UTF8.self)))
            }
            if !part.isEmpty {
                tags.add(self, .tagPart(round: round, entries: RoundTagFields.partValue(part)))
            }
            writes.append(contentsOf: tags)
            if writes.count == 0, let ticket {
                // Nothing for this provider: the part is done once earlier writes are in.
                var write = barrier(after: state, ticket: ticket, madeAt: madeAt)
                outbox.append(moving: &write)
                return
            }
            // A booking made here is in Redis once this whole part is (no dirty reads).
            for holder in booked { state.holders[holder] = state.made + writes.count }
            writes.flush(to: outbox, ticket: ticket, state: &state)
        }
    }

    /// Tags `holder` as placed or queued here by a draw: an entry of the draw's part, or a
    /// field of its own when it has one already (which would mask the entry) or when another
    /// round tagged it here (so that no holder is live in two parts).
    private func tag(
        _ holder: String, _ cause: RoundTag, _ state: inout State,
        part: inout [(holder: String, rank: Int)],
        writes: inout WriteList
    ) {
        let retagged = state.tags[holder].map { $0.round != cause.round } ?? false
        state.tags[holder] = cause
        if retagged || state.tagFields.contains(holder) {
            state.tagFields.insert(holder)
            writes.add(self, .tag(holder: holder, round: cause.round, rank: cause.rank))
        } else {
            part.append((holder, cause.rank))
        }
    }

    /// The cascade: `holder` moved to a better-ranked choice of `round`, so its seat or offer
    /// here (its limit seat moved with it) or its waitlist place here is released, and a freed
    /// seat goes to this waitlist. Only what that round put here is touched. Recovery passes
    /// `sending` false (the writes are returned instead of queued) and `releasingLimit` (the
    /// place it drops was counted in the holder limit on its own).
    @discardableResult
    func releaseForRound(
        _ holder: String, round: String, rules: BookingRules, sending: Bool = true,
        releasingLimit: Bool = false
    ) -> [MirrorWrite] {
        changing { state in
            guard let tag = state.tags[holder], tag.round == round else { return [] }
            var writes = WriteList(madeAt: MonotonicClock.nanoseconds())
            state.tags[holder] = nil
            if releasingLimit && (state.holders[holder] != nil || state.offers[holder] != nil) {
                rules.limits.release(holder)
            }
            if state.holders[holder] != nil {
                state.holders[holder] = nil
                state.left(holder)
                writes.add(self, .unbook(holder: holder), cause: tag)
                untagWrite(holder, &state, writes: &writes)
                promote(&state, rules: rules, writes: &writes)
            } else if state.offers[holder] != nil {
                state.offers[holder] = nil
                state.left(holder)
                writes.add(self, .unoffer(holder: holder), cause: tag)
                untagWrite(holder, &state, writes: &writes)
                promote(&state, rules: rules, writes: &writes)
            } else if state.waitlist.remove(holder) {
                state.left(holder)
                dequeueWrite(holder, state, writes: &writes, cause: tag)
                untagWrite(holder, &state, writes: &writes)
            } else {
                untagWrite(holder, &state, writes: &writes)
            }
            guard sending else { return writes.all }
            writes.flush(to: outbox, ticket: nil, state: &state)
            return []
        }
    }

    /// Where `holder` stands here in `round`, as memory has it now (RESULT).
    func roundStanding(of holder: String, round: String) -> RoundStanding {
        state.withLock { state in
            guard let tag = state.tags[holder], tag.round == round else { return .absent }
            if state.holders[holder] != nil { return .booked }
            if let offer = state.offers[holder] {
                return .offered(secondsLeft: offer.secondsLeft(now: WallClock.milliseconds()))
            }
            if let position = state.waitlist.position(of: holder) {
                return .waiting(position: position)
            }
            return .absent
        }
    }

    /// `reply`, sent once Redis has every write of this provider made so far.
    func settledOutcome(_ reply: Reply, ticket: ReplyTicket, now: UInt64) -> RequestOutcome {
        state.withLock { settled(reply, $0, ticket: ticket, now: now) }
    }

    /// Seats free for a draw: capacity - booked - offered.
    var freeSeats: Int { state.withLock { $0.free } }

    /// The holders a round placed here (a seat or an offer), with their tag and whether it is
    /// a seat (for recovery's check of placements across providers).
    func roundPlacements() -> [(holder: String, tag: RoundTag, booked: Bool)] {
        state.withLock { state in
            state.tags.compactMap { holder, tag in
                let booked = state.holders[holder] != nil
                return booked || state.offers[holder] != nil ? (holder, tag, booked) : nil
            }
        }
    }
}
