import Synchronization

/// BOOK and CANCEL with `holder-limit` on redis-cluster, where a holder's count lives at its
/// home master (`HolderUnits`; docs/SCALING.md, "The holder limit across shards").
///
/// A BOOK runs first with no unit: every answer that takes no new seat (`+FULL`, a seat held
/// already, an error) is given as on one node, with no hop. Only a BOOK that would take a new
/// seat asks the home for a unit; its reply slot waits, and the BOOK runs again on this loop
/// with the unit once the home answers (`+LIMIT` when it refuses). A unit the second run did
/// not use (the seat went meanwhile) is given back at once; a CANCEL's once Redis has the
/// cancellation.
extension CommandExecutor {
    func bookAcrossShards(
        _ provider: Provider, _ holder: String, wait: Bool, ticket: ReplyTicket,
        units: HolderUnits, connection: ClientConnection
    ) -> RequestOutcome {
        guard !wait else {
            return .now(.bookWaitNotOnCluster)
        }
        var rules = table.rules
        rules.limits = UnitGrant.none
        let first = provider.book(
            holder, wait: false, rules: rules, mirrorUp: mirrorUp(provider), ticket: ticket,
            now: connection.lastActivity)
        guard case .now(.limit) = first else { return first }
        let epoch = state.epoch.load(ordering: .acquiring)
        let thread = connection.thread
        nonisolated(unsafe) let loop = thread
        let bulk = connection.session.bulkReplies
        units.reserve(holder: holder, provider: provider.id, epoch: epoch) { answer in
            loop.perform {
                loop.executor.unitAnswered(
                    answer, provider, holder, epoch: epoch, ticket: ticket, bulk: bulk, units: units
                )
            }
        }
        // The slot waits for the home's answer; `unitAnswered` decides its reply.
        awaitsUnit = true
        return .afterMirror(.unavailable)
    }

    /// The home answered a reserve (on the BOOK's loop thread).
    private func unitAnswered(
        _ answer: HolderUnits.Answer, _ provider: Provider, _ holder: String, epoch: Int,
        ticket: ReplyTicket, bulk: Bool, units: HolderUnits
    ) {
        var outcome: RequestOutcome
        switch answer {
        case .limit:
            outcome = .now(.limit(holder: holder))
        case .failed:
            outcome = .now(.unavailable)
        case .granted:
            let grant = UnitGrant(granted: true)
            var rules = table.rules
            rules.limits = grant
            let thread = ticket.connection.thread
            let up =
                state.mirrorUp[provider.owner].isSet
                && state.mayWrite(now: thread.now)
            outcome = provider.book(
                holder, wait: false, rules: rules, mirrorUp: up, ticket: ticket, now: thread.now)
            if !grant.wasUsed { units.release(holder: holder, provider: provider.id, epoch: epoch) }
            units.grantSettled(holder: holder, provider: provider.id)
            if case .afterMirror = outcome { thread.wakeLater(provider.owner) }
        }
        ticket.connection.thread.metrics.count(.book, ReplyKind(outcome))
        if bulk { outcome = outcome.inBulk }
        ticket.connection.decide(slot: ticket.slot, outcome)
    }

    /// CANCEL: the holder's unit is given back once Redis has the cancellation (a failed or
    /// timed-out one keeps it: the holder counted once too often until recovery, never too few).
    func cancelAcrossShards(
        _ provider: Provider, _ holder: String, ticket: ReplyTicket,
        units: HolderUnits, connection: ClientConnection
    ) -> RequestOutcome {
        let epoch = state.epoch.load(ordering: .acquiring)
        let handshake = ReleaseOnConfirm()
        let providerID = provider.id
        var joined = ticket
        joined.joint = JointReply(parts: 1) { failed in
            if !failed && handshake.confirmed() {
                units.release(holder: holder, provider: providerID, epoch: epoch)
            }
            return true
        }
        let outcome = provider.cancel(
            holder, rules: table.rules, mirrorUp: mirrorUp(provider), ticket: joined,
            now: connection.lastActivity)
        if case .afterMirror(.cancelled) = outcome, handshake.removed() {
            units.release(holder: holder, provider: providerID, epoch: epoch)
        }
        return outcome
    }
}

/// A CANCEL's unit goes back once both are known, in either order: the cancellation removed
/// a seat (its reply says so) and Redis confirmed it (its ticket arrived).
final class ReleaseOnConfirm: Sendable {
    private let state = Atomic<Int>(0)
    private static let removedSeat = 1
    private static let confirmedInRedis = 2

    /// The cancellation removed a seat; true when Redis confirmed it already.
    func removed() -> Bool {
        state.bitwiseOr(Self.removedSeat, ordering: .acquiringAndReleasing).oldValue
            == Self.confirmedInRedis
    }

    /// Redis confirmed the cancellation; true when it removed a seat.
    func confirmed() -> Bool {
        state.bitwiseOr(Self.confirmedInRedis, ordering: .acquiringAndReleasing).oldValue
            == Self.removedSeat
    }
}
