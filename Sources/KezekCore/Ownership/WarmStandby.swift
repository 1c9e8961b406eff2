import Glibc
import Logging

/// Keeps a standby's seat table close to Redis while another daemon holds the lease, so that
/// taking over costs the lease's lapse plus the tail of the audit log, not a load of the whole
/// state (PROTOCOL.md "Standby").
///
/// It loads every provider once, then follows the audit log with a blocking `XREAD` and
/// applies each change: bookings, cancellations, waitlist places and capacities in memory
/// (`Provider.applyLogged`), as facts Redis already has. A change the log does not describe
/// whole (an offer's expiry, a round's tag, a provider created since) makes the standby read
/// that provider again from Redis, with the same reads and `Provider.restore` as a cold start,
/// a bounded share of Redis's time per look. Reading every changed provider instead was
/// measured at 100x the city: the standby could not keep up with the opening's burst and
/// starved the holder's batches (2.2 million of 5.6 million burst requests answered
/// -UNAVAILABLE, against 0.8 million with no standby). Those reads are not atomic while the
/// holder writes: `LogReadWindows` applies each logged change to what was read exactly once,
/// and reads again a provider the holder wrote to while it was being read.
///
/// When the log cannot be followed (an entry whose `seq` leaves a gap or goes back, a log
/// replaced by a write-back after data loss or trimmed, a read that failed) it falls back to a
/// full load, and says so. Used by the lease keeper's thread only.
final class WarmStandby {
    private let keys: KeyLayout
    private let table: SeatTable
    private let settings: ServerSettings
    private let primary: RedisPrimary
    private let log: Logger
    private var redis: RedisSyncConnection?
    private var loaded = false
    /// The last log entry read, its epoch and seq, and the log's first entry when loaded (a
    /// replaced or trimmed log starts elsewhere).
    private var lastID = "0-0"
    private var position = LogPosition.start
    private var firstID: String?
    /// Providers to read again from Redis (a change not applied in memory).
    private var changed: Set<String> = []
    /// Providers whose waitlist got holders from the log: their scores are the holder's, read
    /// at the takeover so that new waiters are scored after them.
    private var scoresFromLog: Set<String> = []
    /// Where the log stood around each provider's last read: its entries are applied to what
    /// was read exactly once, and a read the holder wrote into is made again.
    private var windows = LogReadWindows()
    /// Providers read per round of reads; a look reads rounds for at most `readMillisPerLook`
    /// and then rests four times as long (at most the look's wait), so reading takes at most
    /// about a fifth of Redis's time from the holder.
    static let providersPerRead = 256
    static let readMillisPerLook = 50
    /// Log entries read per XREAD at most.
    static let entriesPerRead = 2_000
    private var failureWarning = OncePer(seconds: 10)

    init(
        keys: KeyLayout, table: SeatTable, settings: ServerSettings, primary: RedisPrimary,
        log: Logger
    ) {
        self.keys = keys
        self.table = table
        self.settings = settings
        self.primary = primary
        self.log = log
    }

    /// One look while standing by: loads everything the first time, then waits up to
    /// `waitMillis` for new log entries and reads the providers they changed. Never throws: a
    /// failure is logged (at most every 10 s) and the next look starts with a full load.
    func follow(waitMillis: Int) {
        do {
            let redis = try connection()
            if !loaded {
                try loadEverything(redis)
                return
            }
            try readLog(redis, blockMillis: waitMillis)
            let started = MonotonicClock.nanoseconds()
            try readChanged(redis, forMillis: Self.readMillisPerLook)
            let spentMillis = Int((MonotonicClock.nanoseconds() - started) / 1_000_000)
            if spentMillis > 0 { usleep(UInt32(min(4 * spentMillis, waitMillis) * 1000)) }
        } catch {
            loaded = false
            self.redis = nil
            if failureWarning.due() {
                log.warning(
                    "standby: cannot follow the audit log; loading everything again at the next look",
                    metadata: ["error": "\(error)"])
            }
        }
    }

    /// After this daemon took the lease (the old holder is fenced: the log's tail is final):
    /// the providers still to read, from the rest of the log; nil when everything must be
    /// loaded (never loaded, or the log could not be followed).
    func takeover() -> Set<String>? {
        guard loaded, let redis = try? connection() else { return nil }
        do {
            var before: String
            repeat {
                before = lastID
                try readLog(redis, blockMillis: nil)
            } while loaded && lastID != before
            try continueScores(redis)
        } catch {
            return nil
        }
        defer { self.redis = nil }
        return loaded ? changed : nil
    }

    /// Waitlists the log appended to continue their scores above Redis's highest: the sorted
    /// set's, or the highest a draw's places or a mask named (`RoundTagFields`).
    private func continueScores(_ redis: RedisSyncConnection) throws {
        let ids = Array(scoresFromLog.subtracting(changed))
        let perRoundTrip = 2 * Recovery.providersPerRoundTrip  // two small commands each
        for start in stride(from: 0, to: ids.count, by: perRoundTrip) {
            let chunk = ids[start..<min(start + perRoundTrip, ids.count)]
            for id in chunk {
                redis.append(["ZREVRANGE", keys.waiting(id), "0", "0", "WITHSCORES"])
                redis.append(["HGET", keys.roundTags(id), RoundTagFields.highestScoreField])
            }
            for id in chunk {
                let top = try redis.replyOrError().strings
                let sortedSetTop = top.count == 2 ? Double(top[1]).map { Int($0) } : nil
                let fieldsTop = try redis.replyOrError().string.flatMap { Int($0) }
                if let highest = [sortedSetTop, fieldsTop].compactMap({ $0 }).max() {
                    table.provider(id)?.continueScores(above: highest)
                }
            }
        }
        scoresFromLog.removeAll()
    }

    // MARK: Loading and following

    private func loadEverything(_ redis: RedisSyncConnection) throws {
        let started = MonotonicClock.nanoseconds()
        // Where the log ends before the load: whatever comes after is read again after it.
        let tail = try redis.command(["XREVRANGE", keys.auditLog, "+", "-", "COUNT", "1"]).items
            .first
        firstID = try redis.command(["XRANGE", keys.auditLog, "-", "+", "COUNT", "1"]).items.first?
            .items.first?.string
        lastID = tail?.items.first?.string ?? "0-0"
        position = tail.flatMap(Self.position(of:)) ?? .start
        var figures = Recovery.Figures()
        let ids = try redis.command(["SMEMBERS", keys.providers]).strings
        let recovery = Recovery(keys: keys, table: table, log: log)
        windows.removeAll()
        changed = try unsettled(
            recovery.restore(ids, from: redis, figures: &figures, windows: &windows))
        scoresFromLog = []
        loaded = true
        log.notice(
            "standby: state loaded; following the audit log",
            metadata: [
                "providers": "\(figures.providers)", "bookings": "\(figures.bookings)",
                "millis": "\((MonotonicClock.nanoseconds() - started) / 1_000_000)",
            ])
    }

    /// Reads new entries (waiting up to `blockMillis` when given), checks that their steps
    /// follow on, and notes the providers they name. A gap, or a log that starts elsewhere than
    /// it did, means a full load.
    private func readLog(_ redis: RedisSyncConnection, blockMillis: Int?) throws {
        let block = blockMillis.map { ["BLOCK", String($0)] } ?? []
        let reply = try redis.command(
            ["XREAD", "COUNT", String(Self.entriesPerRead)] + block + [
                "STREAMS", keys.auditLog, lastID,
            ])
        let entries = reply.items.first?.items.dropFirst().first?.items ?? []
        if entries.isEmpty {
            let first = try redis.command(["XRANGE", keys.auditLog, "-", "+", "COUNT", "1"]).items
                .first?.items.first?.string
            if first != firstID, firstID != nil || first != nil {
                fallBack("the audit log was replaced or trimmed")
            }
            return
        }
        for entry in entries {
            guard let id = entry.items.first?.string, let step = Self.position(of: entry) else {
                fallBack("an audit log entry without epoch and seq")
                return
            }
            let follows =
                step.epoch == position.epoch
                ? (step.seq == position.seq || step.seq == position.seq + 1)
                : (step.epoch > position.epoch && step.seq == 1)
            guard follows else {
                fallBack(
                    "the audit log has a gap: epoch \(step.epoch) seq \(step.seq) after epoch \(position.epoch) seq \(position.seq)"
                )
                return
            }
            position = step
            lastID = id
            if firstID == nil { firstID = id }
            let fields = entry.items.count > 1 ? entry.items[1].strings : []
            for index in stride(from: 4, to: fields.count - 1, by: 2) {
                apply(op: fields[index], value: fields[index + 1], at: step)
            }
        }
        windows.followed(to: position)
    }

    /// One change: applied in memory, or its provider noted to be read again.
    private func apply(op: String, value: String, at step: LogPosition) {
        let words = value.split(separator: " ")
        guard let first = words.first else { return }
        let id = String(first)
        switch windows.verdict(for: id, at: step) {
        case .read: return
        case .torn:
            changed.insert(id)
            return
        case .after: break
        }
        // A provider created since the load: its first change is its capacity, all it has.
        if op == "capacity", words.count == 2, table.provider(id) == nil,
            let capacity = Int(words[1])
        {
            _ = table.providerCreatingIfNeeded(id, capacity: capacity)
            return
        }
        guard words.count == 2, !changed.contains(id), let provider = table.provider(id),
            provider.applyLogged(op, String(words[1]), rules: table.rules)
        else {
            changed.insert(id)
            return
        }
        if op == "wait" { scoresFromLog.insert(id) }
        // The holder may have written this booking as a field of the provider's batches hash
        // (the log does not say): once this daemon holds the lease, a cancellation here must
        // mask it there too.
        if op == "book" { provider.noteBookedBatches() }
    }

    /// Reads changed providers again, `providersPerRead` a round trip, for at most `forMillis`.
    private func readChanged(_ redis: RedisSyncConnection, forMillis: Int) throws {
        let deadline = MonotonicClock.nanoseconds() + UInt64(forMillis) * 1_000_000
        let recovery = Recovery(keys: keys, table: table, log: log)
        var unsettledNow: Set<String> = []
        while !changed.isEmpty && MonotonicClock.nanoseconds() < deadline {
            let batch = Array(changed.prefix(Self.providersPerRead))
            changed.subtract(batch)
            var figures = Recovery.Figures()
            unsettledNow.formUnion(
                try unsettled(
                    recovery.restore(batch, from: redis, figures: &figures, windows: &windows)))
        }
        changed.formUnion(unsettledNow)
    }

    /// Providers whose reading found something to settle: a standby writes nothing, so they are
    /// read again, and settled, at the takeover.
    private func unsettled(_ settling: [MirrorWrite]) -> Set<String> {
        Set(settling.map(\.provider.id))
    }

    private func fallBack(_ reason: String) {
        loaded = false
        windows.removeAll()
        log.notice("standby: \(reason); loading everything again")
    }

    /// `epoch` and `seq` of an entry (`[id, [epoch, E, seq, S, …]]`).
    private static func position(of entry: RedisValue) -> LogPosition? {
        let fields = entry.items.count > 1 ? entry.items[1].strings : []
        guard fields.count >= 4, fields[0] == "epoch", fields[2] == "seq",
            let epoch = Int(fields[1]), let seq = Int(fields[3])
        else { return nil }
        return LogPosition(epoch: epoch, seq: seq)
    }

    private func connection() throws -> RedisSyncConnection {
        if let redis { return redis }
        let redis = try RedisSyncConnection(
            endpoint: primary.endpoint, user: settings.redisUser, password: settings.redisPassword)
        self.redis = redis
        return redis
    }
}
