import Glibc
import Logging
import Synchronization

/// The ownership lease of the key prefix: at most one daemon writes it at a time.
///
/// The holder's lease value sits in `<prefix>:{lease}:owner` with a TTL of `lease-ttl`, and
/// every takeover raises `<prefix>:{lease}:epoch`. Every mirror batch carries the epoch and
/// Redis applies it only while the epoch is current (FencingScripts.batch), so a daemon that
/// lost its lease cannot write, whatever its clock says. It also stops answering writes by
/// itself, before its lease could have lapsed (`ServerState.leaseValidUntil`).
///
/// On its own thread, with its own blocking connection: waits as a standby while another live
/// daemon holds the lease, renews it every third of the TTL, writes the whole state back when
/// Redis lost what this daemon confirmed, and gives the lease up at a clean stop.
///
/// Unchecked Sendable: its mutable fields (`epoch`, `redis`, `thread`) are used by one thread
/// at a time, in sequence: `acquire` on the thread that runs `recover`, then the keeper thread
/// (started after `acquire` returned), then `release` after joining it. pthread_create and
/// pthread_join order those hand-overs.
final class LeaseKeeper: @unchecked Sendable {
    private unowned let server: KezekServer
    private let settings: ServerSettings
    private let keys: KeyLayout
    private let log: Logger
    /// This process in the lease: `<node-id>@<machine>/<pid>`, unique per process.
    let value: String
    private let machine: String
    private let ttlMillis: Int
    /// The epoch this daemon holds (only this thread and `acquire` touch it).
    private var epoch = 0
    /// The last renewal could not reach Redis (its warning is logged once per outage).
    private var renewalFailing = false
    private var redis: RedisSyncConnection?
    /// `RedisPrimary.generation` when `redis` connected: a newer one means the primary moved.
    private var redisGeneration = 0
    private let stopped = Atomic<Bool>(false)
    private var thread: pthread_t?
    /// While standing by: a holder was seen, the primary's generation at the last look, and
    /// when the primary last moved (kept across `acquire` calls: a move often shows first as
    /// an error that ends one). See `primaryMoveWaitNanos`.
    private var standbySawHolder = false
    private var standbyGeneration: Int?
    private var primaryMovedAt: UInt64?

    init(server: KezekServer) {
        self.server = server
        settings = server.settings
        keys = server.keys
        log = server.log
        machine = Self.machineIdentity()
        value =
            "\(settings.nodeID.isEmpty ? Self.hostName() : settings.nodeID)@\(machine)/\(getpid())"
        ttlMillis = Int(settings.leaseTTL * 1000)
    }

    /// Renewal period: three chances per TTL.
    private var renewNanos: UInt64 { UInt64(ttlMillis) * 1_000_000 / 3 }
    /// After a renewal failed (Redis unreachable), the next try comes this soon, so the lease
    /// is held again, and reads and writes served, within moments of Redis's return.
    private var retryNanos: UInt64 { min(renewNanos, 200_000_000) }
    /// How often a standby looks at the lease.
    private var standbyPollMillis: Int { min(max(ttlMillis / 10, 50), 500) }
    /// The lease counts as held for this share of the TTL after a renewal was sent: the rest
    /// covers clock rate differences and the time the reply took to arrive.
    static let validShare = 0.8

    // MARK: Taking the lease

    /// Blocks until this daemon holds the lease (waiting as a standby while another live
    /// daemon holds it). Returns false when a shutdown began first. Throws on Redis errors,
    /// and then drops its connection: hiredis keeps a timed-out context's error and fails every
    /// later command with it at once (and a late reply would answer the next command), so
    /// reusing it kept a daemon restarted during a slow link out of the lease, answering
    /// `-LOADING`, until it was killed (nemesis seed 685874560).
    func acquire() throws -> Bool {
        do {
            return try acquireOnce()
        } catch {
            redis = nil
            throw error
        }
    }

    private func acquireOnce() throws -> Bool {
        var sawHolder = false
        var emptySince: UInt64?
        var announcedHolder = ""
        while !server.state.draining.load(ordering: .acquiring) {
            // Asked at every look, as the holder asks at every renewal: a standby still on a
            // primary the Sentinels replaced would find the holder's lease lapsed there (the
            // holder renews on the new one) and take it (nemesis, Sentinel, seed 27021).
            followPrimary()
            let redis = try connection()
            let holder = try redis.command(["GET", keys.leaseOwner]).string
            let now = MonotonicClock.nanoseconds()
            if primaryJustMoved(now: now) {
                // A holder that is alive renews on the new primary first, and writes its state
                // back if that primary lacks what it confirmed (a lagging replica promoted).
                server.standby.follow(waitMillis: standbyPollMillis)
                let spent = MonotonicClock.nanoseconds() - now
                let poll = UInt64(standbyPollMillis) * 1_000_000
                if spent < poll { usleep(UInt32((poll - spent) / 1000)) }
                continue
            }
            let requireEpoch =
                emptySince.map { now - $0 < emptyRedisWaitNanos(sawHolder: sawHolder) } ?? true
            let gone = holder.flatMap { isDeadProcessOnThisMachine($0) ? $0 : nil } ?? ""
            let writer = try redis.command(["GET", keys.writeBackMarker]).string
            let goneWriter = writer.flatMap { isDeadProcessOnThisMachine($0) ? $0 : nil } ?? ""
            let sent = MonotonicClock.nanoseconds()
            let reply = try redis.command(
                acquireCommand(
                    requireEpoch: requireEpoch, gone: gone, repair: false,
                    goneWriter: goneWriter))
            guard case .array(let items) = reply, items.count == 2 else {
                throw RedisSyncConnection.Failure(
                    description: "unexpected reply to the lease script: \(reply.summary)")
            }
            if case .integer(1) = items[0], case .integer(let taken) = items[1] {
                if !gone.isEmpty {
                    log.warning(
                        "the lease holder's process is gone from this machine: taking over at once",
                        metadata: ["holder": "\(gone)"])
                }
                if !goneWriter.isEmpty {
                    log.error(
                        "a write-back after data loss was cut short by its writer's death: Redis holds only part of that state",
                        metadata: ["writer": "\(goneWriter)"])
                }
                took(epoch: taken, sentAt: sent)
                try announce(redis)
                announceChange(redis)
                return true
            }
            let current = items[1].string ?? ""
            if current.isEmpty, emptySince == nil {
                emptySince = now
                log.notice(
                    "redis holds no lease epoch for this key prefix: waiting in case a live holder is writing back lost data",
                    metadata: [
                        "wait_seconds": "\(Double(emptyRedisWaitNanos(sawHolder: sawHolder)) / 1e9)"
                    ])
            }
            if !current.isEmpty {
                sawHolder = true
                standbySawHolder = true
                emptySince = nil
                server.state.role.store(ServerState.Role.standby.rawValue, ordering: .releasing)
                if current != announcedHolder {
                    announcedHolder = current
                    if current.hasPrefix("writeback ") {
                        log.error(
                            "standby: another daemon's write-back after data loss is unfinished; waiting for it, since it may hold the only whole copy (if it is surely gone, DEL the marker to take over what redis holds)",
                            metadata: [
                                "writer": "\(current.dropFirst("writeback ".count))",
                                "marker": "\(keys.writeBackMarker)",
                            ])
                    } else {
                        log.notice(
                            "standby: another daemon holds the lease of this key prefix; taking over when it lapses",
                            metadata: ["holder": "\(current)", "lease_ttl": "\(settings.leaseTTL)"])
                    }
                }
            }
            if sawHolder {
                // Stand by warm: follow the holder's audit log until the next look at the lease.
                server.standby.follow(waitMillis: standbyPollMillis)
            } else {
                usleep(UInt32(standbyPollMillis * 1000))
            }
        }
        return false
    }

    /// How long a Redis with no lease epoch must stay so before this daemon takes it. An empty
    /// Redis is either a new installation or one that lost its data under a live holder
    /// (FLUSHALL, a restart without persistence), and nothing in Redis tells the two apart. A
    /// live holder notices the loss at its next renewal (a third of the TTL) and writes its
    /// state back, epoch first; so an empty Redis is taken only once it stayed empty for a
    /// whole `lease-ttl` (two for a standby that saw a holder). An installer that knows its
    /// Redis is new skips the wait by creating the epoch key (README, "Durability").
    private func emptyRedisWaitNanos(sawHolder: Bool) -> UInt64 {
        (sawHolder ? 2 : 1) * UInt64(ttlMillis) * 1_000_000
    }

    /// How long a standby that saw a holder leaves a Redis primary that just took over (a
    /// Sentinel or Cluster failover) before it takes a lapsed lease there. The promoted replica
    /// may lack what the holder confirmed, and nothing in it says so: its copy of the lease
    /// lapsed while it lagged. A live holder follows the move and renews there within a third
    /// of the TTL (retrying every 200 ms), finds its batch sequence behind and writes its whole
    /// state back; a standby that took the lease first would have served the older copy and
    /// deposed the one daemon holding the rest (found by the nemesis: docs/RELIABILITY.md).
    private var primaryMoveWaitNanos: UInt64 { 2 * UInt64(ttlMillis) * 1_000_000 }

    /// Whether this standby must still leave the lease alone because the primary moved lately.
    private func primaryJustMoved(now: UInt64) -> Bool {
        let generation = server.redisPrimary.generation.load(ordering: .acquiring)
        if let seen = standbyGeneration, seen != generation, standbySawHolder {
            primaryMovedAt = now
            log.notice(
                "standby: the redis primary moved; leaving the lease to a live holder for a while, since the new primary may lack what it confirmed",
                metadata: ["wait_seconds": "\(Double(primaryMoveWaitNanos) / 1e9)"])
        }
        standbyGeneration = generation
        guard let moved = primaryMovedAt else { return false }
        if now - moved < primaryMoveWaitNanos { return true }
        primaryMovedAt = nil
        return false
    }

    /// The lease script's call: take the lease for the next epoch (see FencingScripts.acquire).
    private func acquireCommand(
        requireEpoch: Bool, gone: String, repair: Bool, goneWriter: String = ""
    ) -> [String] {
        [
            "EVAL", FencingScripts.acquire, String(4 + settings.threads), keys.leaseOwner,
            keys.leaseEpoch,
            keys.writeBackMarker, keys.logSteps,
        ]
            + (0..<settings.threads).map { keys.batchSequence(thread: $0) }
            + [
                value, String(ttlMillis), String(epoch + 1), requireEpoch ? "1" : "0", gone,
                repair ? "1" : "0", goneWriter,
            ]
    }

    private func took(epoch taken: Int, sentAt: UInt64) {
        epoch = taken
        server.state.leaseValidUntil.store(
            sentAt + UInt64(Double(ttlMillis) * Self.validShare * 1e6), ordering: .releasing)
        server.state.epoch.store(taken, ordering: .releasing)
        log.info("lease taken", metadata: ["epoch": "\(taken)", "lease": "\(value)"])
    }

    // MARK: Keeping it

    /// Starts the thread that renews the lease and repairs after data loss.
    func startKeeping() {
        thread = NativeThread.start { self.keep() }
    }

    private func keep() {
        var nextRenewal: UInt64 = 0
        while !stopped.load(ordering: .acquiring) {
            let now = MonotonicClock.nanoseconds()
            let requested = server.state.repairRequested.load(ordering: .acquiring)
            let repairWanted = requested != 0 && requested == epoch
            if repairWanted || now >= nextRenewal {
                // A repair cut short (Redis failed during the write-back) is tried again at
                // each renewal until one completes: this daemon may hold the only copy.
                let renewed = renew(
                    repairWanted: repairWanted || server.state.currentRole == .repairing)
                nextRenewal = now + (renewed ? renewNanos : retryNanos)
            }
            usleep(20_000)
        }
    }

    /// Whether Redis answered (the lease renewed, repaired or found lost); false when it could
    /// not be reached, to be tried again soon.
    @discardableResult
    private func renew(repairWanted: Bool) -> Bool {
        guard server.state.currentRole != .fenced else { return true }
        followPrimary()
        do {
            let redis = try connection()
            let sent = MonotonicClock.nanoseconds()
            let reply = try redis.command([
                "EVAL", FencingScripts.renew, "2", keys.leaseOwner, keys.leaseEpoch,
                value, String(ttlMillis), String(epoch),
            ])
            guard case .integer(let result) = reply else { return false }
            if renewalFailing {
                renewalFailing = false
                log.notice("lease renewed again")
            }
            switch result {
            case 1:
                server.state.leaseValidUntil.store(
                    sent + UInt64(Double(ttlMillis) * Self.validShare * 1e6), ordering: .releasing)
                try announce(redis)
                // The epoch is ours but a loop's sequence did not match: Redis is older than
                // what this daemon confirmed (a failover to a lagging replica).
                if repairWanted {
                    try repair(redis, finding: "batch sequence behind what this daemon confirmed")
                }
            case -1:
                try repair(
                    redis,
                    finding:
                        "lease epoch missing or behind this daemon's (emptied, restarted without persistence, or taken over an emptied redis)"
                )
            default:
                lost(redis)
            }
            return true
        } catch let refusal as CredentialsRefused {
            // Logged once per step of the backoff the loops' mirror connections share.
            if server.credentialsBackoff.refused().log {
                log.error(
                    "redis refused the credentials: cannot renew the lease; writes stop when it lapses",
                    metadata: ["error": "\(refusal)"])
            }
            self.redis = nil
        } catch {
            // Logged once per outage: retries come every `retryNanos`.
            if !renewalFailing {
                log.warning(
                    "cannot renew the lease; reads and writes stop when it lapses",
                    metadata: ["error": "\(error)"])
            }
            renewalFailing = true
            self.redis = nil
            followPrimary()
        }
        return false
    }

    /// Another daemon took the lease: this one must not write again. It stops serving and
    /// exits (status 75), so a supervisor starts it afresh, as a standby.
    private func lost(_ redis: RedisSyncConnection) {
        let holder = (try? redis.command(["GET", keys.leaseOwner]).string) ?? nil
        server.state.role.store(ServerState.Role.fenced.rawValue, ordering: .releasing)
        server.state.leaseValidUntil.store(0, ordering: .releasing)
        log.critical(
            "lease lost: another daemon took over this key prefix; stopping",
            metadata: ["holder": "\(holder ?? "none")", "epoch": "\(epoch)"])
        server.exitStatus.store(75, ordering: .releasing)
        server.shutdown()
    }

    // MARK: Repair after data loss

    /// Redis no longer has what this daemon confirmed. Writes stop (fail closed); a new epoch
    /// is taken, which also fences any batch still in flight; the whole state is written
    /// back; then the loops resend what they had not confirmed, under the new epoch.
    private func repair(_ redis: RedisSyncConnection, finding: String) throws {
        let started = MonotonicClock.nanoseconds()
        server.state.role.store(ServerState.Role.repairing.rawValue, ordering: .releasing)
        server.metrics.repairs.add(1, ordering: .relaxed)
        log.error(
            "redis lost data this daemon had confirmed: writing the whole state back",
            metadata: ["finding": "\(finding)"])
        let reply = try redis.command(acquireCommand(requireEpoch: false, gone: "", repair: true))
        guard case .array(let items) = reply, items.count == 2, case .integer(1) = items[0],
            case .integer(let taken) = items[1]
        else {
            lost(redis)
            return
        }
        // The new epoch is this daemon's from now on, write-back done or not: renewing with
        // the old one would read the new one as another daemon's and give the state up.
        epoch = taken
        let sent = MonotonicClock.nanoseconds()
        let writeBack = StateWriteBack(keys: keys, log: log)
        let figures = try writeBack.write(server.table.allProviders, epoch: taken, to: redis) {
            // Keep the lease while a large state is written.
            try self.holdDuringWriteBack(redis)
        }
        try writeBack.write(server.rounds.allRounds, to: redis)
        if keys.isShard { try writeBack.writeForeign(server.rounds.foreignState, to: redis) }
        try holdDuringWriteBack(redis)
        // Whole again: another daemon may take the lease over it from now on.
        _ = try redis.command(["DEL", keys.writeBackMarker])
        server.state.leaseValidUntil.store(
            sent + UInt64(Double(ttlMillis) * Self.validShare * 1e6), ordering: .releasing)
        server.state.repairRequested.store(0, ordering: .releasing)
        server.state.epoch.store(taken, ordering: .releasing)
        server.state.role.store(ServerState.Role.primary.rawValue, ordering: .releasing)
        for thread in server.threads { thread.wake() }
        announceChange(redis)
        log.notice(
            "state written back to redis; serving again",
            metadata: [
                "epoch": "\(taken)", "providers": "\(figures.providers)",
                "bookings": "\(figures.bookings)",
                "waiting": "\(figures.waiting)",
                "millis": "\((MonotonicClock.nanoseconds() - started) / 1_000_000)",
            ])
    }

    /// Renews the lease during a write-back, and takes it back if it lapsed meanwhile (this
    /// daemon frozen past the TTL): the marker kept every other daemon out, so the owner key
    /// is this epoch's to set again. A `PEXPIRE` did not set a lapsed key: the marker then went
    /// with no owner, a standby took over at once, and the holder that had just written its
    /// state back gave it up (found by `testStandbyDoesNotTakeOverAnUnfinishedWriteBack`).
    /// Throws when the epoch is no longer ours: the repair fails and is tried again.
    private func holdDuringWriteBack(_ redis: RedisSyncConnection) throws {
        let reply = try redis.command([
            "EVAL", FencingScripts.renew, "2", keys.leaseOwner, keys.leaseEpoch,
            value, String(ttlMillis), String(epoch),
        ])
        guard case .integer(1) = reply else { throw WriteBackInterrupted(renewal: reply.summary) }
    }

    /// The lease could not be renewed during a write-back (another epoch, or the epoch lost).
    struct WriteBackInterrupted: Error, CustomStringConvertible {
        let renewal: String
        var description: String { "write-back interrupted: the lease renewal answered \(renewal)" }
    }

    // MARK: Stopping

    /// Stops renewing and, when this daemon still holds the lease, gives it up so a standby
    /// takes over at once instead of after the TTL.
    func release() {
        stopped.store(true, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        guard epoch > 0, server.state.currentRole != .fenced, let redis = try? connection() else {
            return
        }
        let released =
            server.directory == nil ? [keys.leaseOwner] : [keys.leaseOwner, keys.ownerAddress]
        if case .integer(1)? = try? redis.command(
            ["EVAL", FencingScripts.release, String(released.count)] + released + [value])
        {
            log.info("lease released")
            announceChange(redis)
        }
    }

    // MARK: Helpers

    /// On Redis Cluster: where clients reach the holder, for the other daemons' `-MOVED`
    /// replies and `CLUSTER SLOTS`; it lapses with the lease.
    private func announce(_ redis: RedisSyncConnection) throws {
        guard server.directory != nil else { return }
        _ = try redis.command([
            "SET", keys.ownerAddress, settings.listen.description, "PX", String(ttlMillis),
        ])
    }

    /// On Redis Cluster: tells every kezekd that this shard's holder changed, so their
    /// `-MOVED` replies name the new one within milliseconds (`LeaseAnnouncements`).
    private func announceChange(_ redis: RedisSyncConnection) {
        guard let directory = server.directory else { return }
        LeaseAnnouncements.publish(
            on: redis, prefix: settings.keyPrefix, shardSlot: settings.shardSlot, epoch: epoch)
        directory.refreshSoon()
    }

    /// With Sentinels: asks them where the primary is (on Redis Cluster the directory reads
    /// the slot map twice a second already). The connection is dropped in `connection()` when
    /// the primary moved (the loops see the same change and reconnect on their own).
    private func followPrimary() {
        guard server.redisPrimary.usesSentinels else { return }
        do {
            try server.redisPrimary.refresh(log: log)
        } catch {
            // A standby asks at every look (up to 20 a second): one line per 10 s at most.
            guard sentinelWarning.due() else { return }
            log.warning(
                "cannot ask the sentinels where the redis primary is",
                metadata: ["error": "\(error)"])
        }
    }

    /// When "cannot ask the sentinels" was last logged (0: never).
    private var sentinelWarning = OncePer(seconds: 10)

    private func connection() throws -> RedisSyncConnection {
        let generation = server.redisPrimary.generation.load(ordering: .acquiring)
        if let redis, generation == redisGeneration { return redis }
        redisGeneration = generation
        let redis = try RedisSyncConnection(
            endpoint: server.redisPrimary.endpoint, user: settings.redisUser,
            password: settings.redisPassword,
            replyTimeoutMillis: max(ttlMillis / 3, 100))
        if server.credentialsBackoff.accepted() { log.notice("redis takes the credentials again") }
        self.redis = redis
        return redis
    }

    /// A lease value written by another process of this machine (same boot and pid
    /// namespace) that no longer exists: a daemon restarted after a crash need not wait.
    private func isDeadProcessOnThisMachine(_ holder: String) -> Bool {
        guard let at = holder.lastIndex(of: "@") else { return false }
        let rest = holder[holder.index(after: at)...]
        guard let slash = rest.lastIndex(of: "/"), rest[..<slash] == machine[...],
            let pid = Int32(rest[rest.index(after: slash)...]), pid > 0, pid != getpid()
        else { return false }
        if kill(pid, 0) == -1 { return errno == ESRCH }
        return Self.isZombie(pid)
    }

    /// A process that exited but was not yet reaped by its parent (state Z in /proc).
    private static func isZombie(_ pid: Int32) -> Bool {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return false }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return false }
        let line = String(
            decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // "pid (comm) S ...": the state follows the last ')'.
        guard let close = line.lastIndex(of: ")") else { return false }
        return line[line.index(after: close)...].trimmingPrefix(" ").first == "Z"
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "kezekd" }
        return String(
            decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The boot id and pid namespace: process ids are comparable only within both.
    private static func machineIdentity() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        var boot = "unknown"
        if let file = fopen("/proc/sys/kernel/random/boot_id", "r") {
            if fgets(&buffer, Int32(buffer.count), file) != nil {
                boot = String(
                    decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) },
                    as: UTF8.self)
            }
            fclose(file)
        }
        buffer = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/self/ns/pid", &buffer, buffer.count - 1)
        let namespace =
            length > 0
            ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "pid:[?]"
        return "\(boot)/\(namespace.filter(\.isNumber))"
    }
}
