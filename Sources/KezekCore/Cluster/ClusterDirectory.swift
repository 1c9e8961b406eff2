import Glibc
import Logging
import Synchronization

/// On Redis Cluster: which kezekd serves which shard, for `-MOVED` replies and
/// `CLUSTER SLOTS`. A thread of its own reads the slot map (through `RedisPrimary`, which
/// also moves this daemon to its shard's new master after a failover) and every shard's
/// lease (`ShardLease`: its value, epoch and the holder's announced address, written by the
/// holder's lease keeper and lapsing with its lease), every `period` seconds and at once when
/// a lease change is announced (`LeaseAnnouncements`), and publishes them as one snapshot.
/// An address is named only once the kezekd there confirmed it holds that lease.
///
/// Unchecked Sendable: `connections`, `confirmed`, `refused`, `tags` and `thread` are used by the
/// refreshing thread only (and by `stop` after joining it); the snapshot sits behind a mutex.
final class ClusterDirectory: @unchecked Sendable {
    struct Snapshot: Sendable {
        let topology: ClusterTopology
        /// Client address of each shard's holder (by shard index); nil while nobody holds it.
        let holders: [ServerSettings.Endpoint?]
        /// The shard this daemon serves, by index.
        let ownShard: Int?
    }

    /// Where a provider's requests go.
    enum Route: Equatable {
        /// This daemon's shard: answered here (or `-LOADING`/`-UNAVAILABLE` while not serving).
        case here
        /// Another daemon holds the provider's shard.
        case moved(slot: Int, to: ServerSettings.Endpoint)
        /// Nobody holds the provider's shard right now (a takeover in progress).
        case nobody(slot: Int)
    }

    private let primary: RedisPrimary
    private let settings: ServerSettings
    private let state: ServerState
    private let log: Logger
    /// Set by `LeaseAnnouncements` when a holder announced a lease change: read now.
    private let refreshWanted = Atomic<Bool>(false)
    private var announcements: LeaseAnnouncements?
    /// The last lease confirmed per shard (by identity slot), so a confirmation is asked for
    /// once per lease, not at every read.
    private var confirmed: [Int: ShardLease] = [:]
    /// The leases whose confirmation failed and was logged, to log each once.
    private var refused: [Int: ShardLease] = [:]
    private let current = Mutex<Snapshot?>(nil)
    /// Raised at each change of the snapshot, so readers copy it only then.
    let generation = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private var thread: pthread_t?
    private var connections: [String: RedisSyncConnection] = [:]
    private var tags: [Int: String] = [:]
    /// Seconds between refreshes: a fifth of lease-ttl, at most half a second, so a takeover
    /// is seen well within the time it takes.
    let period: Double

    init(primary: RedisPrimary, settings: ServerSettings, state: ServerState, log: Logger) {
        self.primary = primary
        self.settings = settings
        self.state = state
        self.log = log
        period = min(settings.leaseTTL / 5, 0.5)
        state.clusterMapComplete.set(false)
    }

    var snapshot: Snapshot? { current.withLock { $0 } }

    /// Where requests for the key `token` (a provider id) go, by `snapshot`. `serving`: this
    /// daemon holds (or is taking) its shard's lease; a standby sends its own shard's
    /// requests to the holder too.
    static func route(
        _ token: some Collection<UInt8>, in snapshot: Snapshot, own listen: ServerSettings.Endpoint,
        serving: Bool
    ) -> Route {
        let slot = HashSlot.of(token)
        let shard = Int(snapshot.topology.shardOfSlot[slot])
        guard shard != Int(ClusterTopology.unassigned) else { return .nobody(slot: slot) }
        let own = shard == snapshot.ownShard
        if own && serving { return .here }
        guard let holder = snapshot.holders[shard], holder != listen else {
            return own ? .here : .nobody(slot: slot)
        }
        return .moved(slot: slot, to: holder)
    }

    /// Blocks until the first snapshot is published (at most one `lease-ttl`), so a daemon
    /// does not serve before it can route: its CLUSTER SLOTS would be empty.
    func waitForFirstSnapshot() {
        let deadline = MonotonicClock.nanoseconds() + UInt64(settings.leaseTTL * 1e9)
        while generation.load(ordering: .acquiring) == 0 {
            guard MonotonicClock.nanoseconds() < deadline else {
                log.warning(
                    "serving before the cluster's slot map was read; provider requests answer -UNAVAILABLE until it is"
                )
                return
            }
            usleep(10_000)
        }
    }

    func start() {
        let announcements = LeaseAnnouncements(primary: primary, settings: settings, log: log) {
            [unowned self] in self.refreshSoon()
        }
        self.announcements = announcements
        announcements.start()
        thread = NativeThread.start { self.run() }
    }

    /// Asks for a read of the holders now (this daemon just took or gave up its lease).
    func refreshSoon() {
        refreshWanted.store(true, ordering: .releasing)
    }

    func stop() {
        announcements?.stop()
        stopped.store(true, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func run() {
        var lastProblem = ""
        while !stopped.load(ordering: .acquiring) {
            do {
                try refresh()
                lastProblem = ""
            } catch {
                let problem = "\(error)"
                if problem != lastProblem {
                    log.warning(
                        "cannot read the cluster's slot map", metadata: ["error": "\(problem)"])
                }
                lastProblem = problem
            }
            waitForNextRefresh()
        }
        connections = [:]
    }

    /// Sleeps until `period` passed or a refresh is wanted, in short naps so an announced
    /// lease change is read within a few milliseconds.
    private func waitForNextRefresh() {
        let until = MonotonicClock.nanoseconds() + UInt64(period * 1e9)
        while MonotonicClock.nanoseconds() < until, !stopped.load(ordering: .acquiring) {
            if refreshWanted.exchange(false, ordering: .acquiringAndReleasing) { return }
            usleep(Self.napMicros)
        }
    }

    static let napMicros: UInt32 = 2_000

    /// Reads the slot map and every shard's holder; publishes a snapshot when either changed.
    func refresh() throws {
        try primary.refresh(log: log)
        guard let topology = primary.topology else { return }
        let previous = snapshot
        var holders: [ServerSettings.Endpoint?] = []
        for shard in topology.shards {
            // A master that did not answer: keep what was known of its shard.
            let known = previous.flatMap { snapshot in
                snapshot.topology.shards.firstIndex { $0.identitySlot == shard.identitySlot }
                    .flatMap { snapshot.holders[$0] }
            }
            do {
                holders.append(try holder(of: shard))
            } catch {
                holders.append(known)
            }
        }
        let ownShard = topology.shards.firstIndex { $0.identitySlot == settings.shardSlot }
        let changed = current.withLock { snapshot -> Bool in
            if let snapshot, snapshot.topology.shards == topology.shards,
                snapshot.holders == holders
            {
                return false
            }
            snapshot = Snapshot(topology: topology, holders: holders, ownShard: ownShard)
            return true
        }
        // Whole: every shard at a confirmed holder, and, once this daemon took its lease, its
        // own shard at itself (not at a holder it replaced).
        let tookLease = state.epoch.load(ordering: .acquiring) > 0
        state.clusterMapComplete.set(
            !holders.contains(nil)
                && (!tookLease || ownShard.map { holders[$0] == settings.listen } == true))
        if changed {
            generation.add(1, ordering: .releasing)
            log.info(
                "cluster directory",
                metadata: [
                    "shards":
                        "\(zip(topology.shards, holders).map { "\($0.identitySlot)->\($1.map(\.description) ?? "none")" }.joined(separator: " "))"
                ])
        }
    }

    /// The address of the shard's holder, confirmed against its lease; nil when nobody holds
    /// the shard or the kezekd at the announced address does not confirm it. Throws when the
    /// shard's master does not answer (nothing is known then).
    private func holder(of shard: ClusterTopology.Shard) throws -> ServerSettings.Endpoint? {
        let tag = tags[shard.identitySlot] ?? ShardTag.forSlot(shard.identitySlot)
        tags[shard.identitySlot] = tag
        let keys = KeyLayout(prefix: settings.keyPrefix, shardTag: tag)
        let name = shard.master.description
        let timeout = max(Int(settings.clusterTimeout * 1000), 1)
        let lease: ShardLease?
        do {
            let redis =
                try connections[name]
                ?? RedisSyncConnection(
                    endpoint: shard.master, user: settings.redisUser,
                    password: settings.redisPassword,
                    connectTimeoutMillis: timeout, replyTimeoutMillis: timeout)
            connections[name] = redis
            lease = try ShardLease.read(keys, from: redis)
        } catch {
            connections[name] = nil
            throw error
        }
        guard let lease else { return nil }
        if confirmed[shard.identitySlot] == lease { return lease.address }
        let ok =
            lease.address == settings.listen
            ? shard.identitySlot == settings.shardSlot
                && state.epoch.load(ordering: .acquiring) == lease.epoch
            : lease.confirmed(shardSlot: shard.identitySlot, timeoutMillis: timeout)
        guard ok else {
            if refused[shard.identitySlot] != lease {
                refused[shard.identitySlot] = lease
                log.warning(
                    "a shard's announced holder does not confirm its lease: its requests answer -UNAVAILABLE until one does",
                    metadata: [
                        "shard_slot": "\(shard.identitySlot)", "address": "\(lease.address)",
                        "epoch": "\(lease.epoch)",
                    ])
            }
            return nil
        }
        confirmed[shard.identitySlot] = lease
        return lease.address
    }

    /// `HOST:PORT` or `[V6]:PORT`.
    static func endpoint(_ text: String) -> ServerSettings.Endpoint? {
        guard let colon = text.lastIndex(of: ":"),
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return host.isEmpty ? nil : ServerSettings.Endpoint(host: String(host), port: port)
    }
}
