/// A warm standby applies the holder's audit log to its copy of a provider (see `WarmStandby`):
/// the common changes of first come, first served are applied here, in memory, as facts Redis
/// already has; anything else is left to a read of the provider from Redis.
extension Provider {
    /// Applies one logged change (`op`, `holder`, or the capacity for `capacity`). Returns
    /// false, changing nothing, when the provider must be read from Redis instead: an offer or
    /// a confirmation (their expiries are in Redis, not the log), a holder with a round's tag
    /// here, an op it does not know.
    func applyLogged(_ op: String, _ subject: String, rules: BookingRules) -> Bool {
        changing { state in
            if op == "capacity" {
                guard let capacity = Int(subject) else { return false }
                state.capacity = capacity
                return true
            }
            guard state.tags[subject] == nil, state.offers[subject] == nil else { return false }
            let wasMember = state.holders[subject] != nil || state.waitlist.contains(subject)
            switch op {
            case "book":
                if state.holders[subject] == nil {
                    state.holders[subject] = 0  // 0: confirmed, Redis has it
                    rules.limits.restore(subject)
                }
            case "unbook":
                if state.holders[subject] != nil {
                    state.holders[subject] = nil
                    rules.limits.release(subject)
                }
            case "wait":
                if !state.waitlist.contains(subject) { _ = state.waitlist.append(subject) }
            case "unwait":
                _ = state.waitlist.remove(subject)
            default:
                return false
            }
            let isMember = state.holders[subject] != nil || state.waitlist.contains(subject)
            if isMember && !wasMember { state.joined(subject) }
            if wasMember && !isMember { state.left(subject) }
            return true
        }
    }

    /// Waitlist scores continue above `highest`, Redis's highest score here: after a standby
    /// appended waiting holders from the log, whose scores the holder chose.
    func continueScores(above highest: Int) {
        state.withLock { state in
            state.scoreBase = max(state.scoreBase, highest + 1 - state.waitlist.nextTicket)
        }
    }
}
