/// A step of the audit log: the lease's epoch and the step's `seq` under it. Steps are ordered
/// by epoch, then seq (a new epoch numbers its steps from 1).
struct LogPosition: Comparable {
    var epoch: Int
    var seq: Int

    static let start = LogPosition(epoch: 0, seq: 0)

    static func < (lhs: LogPosition, rhs: LogPosition) -> Bool {
        (lhs.epoch, lhs.seq) < (rhs.epoch, rhs.seq)
    }
}

/// Where the log stood around a standby's reads of providers while the holder writes, so that
/// the log's entries are applied to what was read exactly once.
///
/// A round trip of reads is pipelined, not atomic: the holder's batches land between its
/// commands. The log's position is read just before and just after it (`before`, `after`).
/// Each batch changes Redis and logs its step in one atomic script, so a step at or before
/// `before` is in every read, a step after `after` in none, and a step between may be in some
/// reads and not others. Applying the steps already read again is not harmless: a holder who
/// left a waitlist and joined it again would be put last a second time, behind those who
/// joined after it (seen as a reordered waitlist after a takeover).
struct LogReadWindows {
    struct Window {
        let before: LogPosition
        let after: LogPosition
    }

    /// What a logged change of a provider is to the provider's last read.
    enum Verdict {
        /// Logged before the read began: the read has it.
        case read
        /// Logged while the read was under way: the read may be torn; read it again.
        case torn
        /// Logged after the read (or the provider was not read): apply it.
        case after
    }

    private var windows: [String: Window] = [:]
    private var latestAfter = LogPosition.start

    mutating func note(_ providers: some Sequence<String>, _ window: Window) {
        for provider in providers { windows[provider] = window }
        latestAfter = max(latestAfter, window.after)
    }

    mutating func verdict(for provider: String, at position: LogPosition) -> Verdict {
        guard let window = windows[provider] else { return .after }
        if position <= window.before { return .read }
        windows[provider] = nil
        return position <= window.after ? .torn : .after
    }

    /// Forgets every window once the log has been followed past all of them.
    mutating func followed(to position: LogPosition) {
        if position >= latestAfter, !windows.isEmpty { windows.removeAll() }
    }

    mutating func removeAll() {
        windows.removeAll()
        latestAfter = .start
    }
}
