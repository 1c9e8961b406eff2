import Logging

/// Keeps a standby's seat table close to Redis while another daemon holds the lease, so that
/// taking over costs the lease's lapse plus the tail of the audit log, not a load of the whole
/// state (PROTOCOL.md "Standby").
///
/// It loads every provider once, then follows the audit log with a blocking `XREAD`. Each
/// entry names the providers its step changed; the standby reads those providers again from
/// Redis (the same reads and the same `Provider.restore` as a cold start), a bounded number per
/// look. Why read the providers rather than apply the entries: Redis's keys stay the one source
/// of the state (offer expiries, waitlist scores and round tags are in the keys, not the log),
/// and no second interpreter of the state can drift from the first; the log says what changed.
/// The price is a read of a changed provider per look, which the holder's burst does not wait on.
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
    private var position = (epoch: 0, seq: 0)
    private var firstID: String?
    /// Providers changed since the standby last read them.
    private var changed: Set<String> = []
    /// Providers read per look at most, so the standby keeps up without a burst of reads.
    static let providersPerLook = 4_096
    /// Log entries read per XREAD at most.
    static let entriesPerRead = 10_000
    private var lastFailureLog: UInt64 = 0

    init(keys: KeyLayout, table: SeatTable, settings: ServerSettings, primary: RedisPrimary, log: Logger) {
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
            try readChanged(redis, limit: Self.providersPerLook)
        } catch {
            loaded = false
            self.redis = nil
            let now = MonotonicClock.nanoseconds()
            if now &- lastFailureLog >= 10_000_000_000 {
                lastFailureLog = now
                log.warning("standby: cannot follow the audit log; loading everything again at the next look", metadata: ["error": "\(error)"])
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
        } catch {
            return nil
        }
        defer { self.redis = nil }
        return loaded ? changed : nil
    }

    // MARK: Loading and following

    private func loadEverything(_ redis: RedisSyncConnection) throws {
        let started = MonotonicClock.nanoseconds()
        // Where the log ends before the load: whatever comes after is read again after it.
        let tail = try redis.command(["XREVRANGE", keys.auditLog, "+", "-", "COUNT", "1"]).items.first
        firstID = try redis.command(["XRANGE", keys.auditLog, "-", "+", "COUNT", "1"]).items.first?.items.first?.string
        lastID = tail?.items.first?.string ?? "0-0"
        position = tail.map { Self.epochAndSeq(of: $0) ?? (0, 0) } ?? (0, 0)
        var figures = Recovery.Figures()
        let ids = try redis.command(["SMEMBERS", keys.providers]).strings
        let recovery = Recovery(keys: keys, table: table, log: log)
        changed = try unsettled(recovery.restore(ids, from: redis, figures: &figures))
        loaded = true
        log.notice("standby: state loaded; following the audit log", metadata: [
            "providers": "\(figures.providers)", "bookings": "\(figures.bookings)",
            "millis": "\((MonotonicClock.nanoseconds() - started) / 1_000_000)",
        ])
    }

    /// Reads new entries (waiting up to `blockMillis` when given), checks that their steps
    /// follow on, and notes the providers they name. A gap, or a log that starts elsewhere than
    /// it did, means a full load.
    private func readLog(_ redis: RedisSyncConnection, blockMillis: Int?) throws {
        let block = blockMillis.map { ["BLOCK", String($0)] } ?? []
        let reply = try redis.command(["XREAD", "COUNT", String(Self.entriesPerRead)] + block + ["STREAMS", keys.auditLog, lastID])
        let entries = reply.items.first?.items.dropFirst().first?.items ?? []
        if entries.isEmpty {
            let first = try redis.command(["XRANGE", keys.auditLog, "-", "+", "COUNT", "1"]).items.first?.items.first?.string
            if first != firstID, firstID != nil || first != nil {
                fallBack("the audit log was replaced or trimmed")
            }
            return
        }
        for entry in entries {
            guard let id = entry.items.first?.string, let (epoch, seq) = Self.epochAndSeq(of: entry) else {
                fallBack("an audit log entry without epoch and seq")
                return
            }
            let follows = epoch == position.epoch ? (seq == position.seq || seq == position.seq + 1) : (epoch > position.epoch && seq == 1)
            guard follows else {
                fallBack("the audit log has a gap: epoch \(epoch) seq \(seq) after epoch \(position.epoch) seq \(position.seq)")
                return
            }
            position = (epoch, seq)
            lastID = id
            if firstID == nil { firstID = id }
            let fields = entry.items.count > 1 ? entry.items[1].strings : []
            for index in stride(from: 5, to: fields.count, by: 2) {
                if let provider = fields[index].split(separator: " ", maxSplits: 1).first { changed.insert(String(provider)) }
            }
        }
    }

    /// Reads up to `limit` changed providers again.
    private func readChanged(_ redis: RedisSyncConnection, limit: Int) throws {
        guard !changed.isEmpty else { return }
        let batch = Array(changed.prefix(limit))
        changed.subtract(batch)
        var figures = Recovery.Figures()
        changed.formUnion(try unsettled(Recovery(keys: keys, table: table, log: log).restore(batch, from: redis, figures: &figures)))
    }

    /// Providers whose reading found something to settle: a standby writes nothing, so they are
    /// read again, and settled, at the takeover.
    private func unsettled(_ settling: [MirrorWrite]) -> Set<String> {
        Set(settling.map(\.provider.id))
    }

    private func fallBack(_ reason: String) {
        loaded = false
        log.notice("standby: \(reason); loading everything again")
    }

    /// `epoch` and `seq` of an entry (`[id, [epoch, E, seq, S, …]]`).
    private static func epochAndSeq(of entry: RedisValue) -> (Int, Int)? {
        let fields = entry.items.count > 1 ? entry.items[1].strings : []
        guard fields.count >= 4, fields[0] == "epoch", fields[2] == "seq",
              let epoch = Int(fields[1]), let seq = Int(fields[3]) else { return nil }
        return (epoch, seq)
    }

    private func connection() throws -> RedisSyncConnection {
        if let redis { return redis }
        let redis = try RedisSyncConnection(endpoint: primary.endpoint, user: settings.redisUser, password: settings.redisPassword)
        self.redis = redis
        return redis
    }
}
