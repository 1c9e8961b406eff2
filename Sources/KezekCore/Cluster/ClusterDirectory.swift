import Glibc
import Logging
import Synchronization

/// On Redis Cluster: which kezekd serves which shard, for `-MOVED` replies and
/// `CLUSTER SLOTS`. A thread of its own reads the slot map (through `RedisPrimary`, which
/// also moves this daemon to its shard's new master after a failover) and every shard's
/// holder address (`<prefix>:{<shard>}:address`, written by the holder's lease keeper and
/// lapsing with its lease), every `period` seconds, and publishes them as one snapshot.
///
/// Unchecked Sendable: `connections` and `thread` are used by the refreshing thread only
/// (and by `stop` after joining it); the snapshot sits behind a mutex.
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
    private let log: Logger
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

    init(primary: RedisPrimary, settings: ServerSettings, log: Logger) {
        self.primary = primary
        self.settings = settings
        self.log = log
        period = min(settings.leaseTTL / 5, 0.5)
    }

    var snapshot: Snapshot? { current.withLock { $0 } }

    /// Where requests for the key `token` (a provider id) go, by `snapshot`. `serving`: this
    /// daemon holds (or is taking) its shard's lease; a standby sends its own shard's
    /// requests to the holder too.
    static func route(_ token: some Collection<UInt8>, in snapshot: Snapshot, own listen: ServerSettings.Endpoint, serving: Bool) -> Route {
        let slot = HashSlot.of(token)
        let shard = Int(snapshot.topology.shardOfSlot[slot])
        guard shard != Int(ClusterTopology.unassigned) else { return .nobody(slot: slot) }
        let own = shard == snapshot.ownShard
        if own && serving { return .here }
        guard let holder = snapshot.holders[shard], holder != listen else { return own ? .here : .nobody(slot: slot) }
        return .moved(slot: slot, to: holder)
    }

    /// Blocks until the first snapshot is published (at most one `lease-ttl`), so a daemon
    /// does not serve before it can route: its CLUSTER SLOTS would be empty.
    func waitForFirstSnapshot() {
        let deadline = MonotonicClock.nanoseconds() + UInt64(settings.leaseTTL * 1e9)
        while generation.load(ordering: .acquiring) == 0 {
            guard MonotonicClock.nanoseconds() < deadline else {
                log.warning("serving before the cluster's slot map was read; provider requests answer -UNAVAILABLE until it is")
                return
            }
            usleep(10_000)
        }
    }

    func start() {
        thread = NativeThread.start { self.run() }
    }

    func stop() {
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
                if problem != lastProblem { log.warning("cannot read the cluster's slot map", metadata: ["error": "\(problem)"]) }
                lastProblem = problem
            }
            usleep(UInt32(period * 1_000_000))
        }
        connections = [:]
    }

    /// Reads the slot map and every shard's holder; publishes a snapshot when either changed.
    func refresh() throws {
        try primary.refresh(log: log)
        guard let topology = primary.topology else { return }
        var holders: [ServerSettings.Endpoint?] = []
        for shard in topology.shards {
            holders.append(holder(of: shard))
        }
        let ownShard = topology.shards.firstIndex { $0.identitySlot == settings.shardSlot }
        let changed = current.withLock { snapshot -> Bool in
            if let snapshot, snapshot.topology.shards == topology.shards, snapshot.holders == holders { return false }
            snapshot = Snapshot(topology: topology, holders: holders, ownShard: ownShard)
            return true
        }
        if changed {
            generation.add(1, ordering: .releasing)
            log.info("cluster directory", metadata: ["shards": "\(zip(topology.shards, holders).map { "\($0.identitySlot)->\($1.map(\.description) ?? "none")" }.joined(separator: " "))"])
        }
    }

    /// The address its holder announced, read from the shard's master; nil when there is
    /// none or the master does not answer.
    private func holder(of shard: ClusterTopology.Shard) -> ServerSettings.Endpoint? {
        let tag = tags[shard.identitySlot] ?? ShardTag.forSlot(shard.identitySlot)
        tags[shard.identitySlot] = tag
        let key = KeyLayout(prefix: settings.keyPrefix, shardTag: tag).ownerAddress
        let name = shard.master.description
        do {
            let timeout = max(Int(settings.clusterTimeout * 1000), 1)
            let redis = try connections[name] ?? RedisSyncConnection(endpoint: shard.master, user: settings.redisUser, password: settings.redisPassword,
                                                                  connectTimeoutMillis: timeout, replyTimeoutMillis: timeout)
            connections[name] = redis
            return try redis.command(["GET", key]).string.flatMap(Self.endpoint)
        } catch {
            connections[name] = nil
            return nil
        }
    }

    /// `HOST:PORT` or `[V6]:PORT`.
    static func endpoint(_ text: String) -> ServerSettings.Endpoint? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return host.isEmpty ? nil : ServerSettings.Endpoint(host: String(host), port: port)
    }
}
