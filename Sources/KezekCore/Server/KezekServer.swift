import CKezekShims
import CLibUV
import Glibc
import Logging
import Synchronization

/// The daemon: loop threads around one seat table, state loaded from and mirrored to Redis.
///
/// Lifecycle: `start()` binds every thread's listener and runs the loops (data commands answer
/// `-LOADING`), `recover()` loads the state from Redis and opens for business, `shutdown()`
/// (SIGTERM/SIGINT) drains, `wait()` returns when every loop has stopped.
public final class KezekServer {
    public let settings: ServerSettings
    public let table: SeatTable
    public let state: ServerState
    public let metrics: ServerMetrics
    /// Fair rounds: applications, draws, offers and the cascade.
    public let rounds: RoundRegistry
    let outboxes: [MirrorOutbox]
    /// This process's node id in `CLUSTER` replies: 40 random hex digits, as Redis's.
    let clusterNodeID = (0..<40).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
    /// Where Redis's primary is (`redis`, or what the Sentinels say).
    let redisPrimary: RedisPrimary
    let keys: KeyLayout
    /// On Redis Cluster: who serves which shard (nil otherwise).
    let directory: ClusterDirectory?
    /// On Redis Cluster with holder-limit: the holders' counts at their home masters (nil
    /// otherwise: one Redis counts in `HolderLimits`, with no hop).
    let units: HolderUnits?
    /// On Redis Cluster: applies the messages other shards' holders post to this one.
    let inbox: InboxFollower?
    let log: Logger
    /// The retry delay and log gate shared by every Redis connection while Redis refuses the
    /// credentials.
    let credentialsBackoff: CredentialsBackoff
    /// Every open client connection, for CLIENT LIST and CLIENT KILL.
    let openClients = OpenClients()
    /// The ACL users (the tokens' and the acl-file's); SIGHUP reloads the file.
    let users: Mutex<UserDirectory>
    /// Failed AUTHs per client address, across threads.
    let authAddresses: AuthAddressThrottle
    /// The TLS context of `tls-port` (nil without one); SIGHUP reloads its files.
    private(set) var tls: TLSContextHolder?
    private(set) var threads: [LoopThread] = []
    private(set) var lease: LeaseKeeper!
    /// Keeps the seat table warm while another daemon holds the lease (the keeper's thread).
    let standby: WarmStandby
    /// The process's exit status once the loops stop: 0, or 75 when the lease was lost.
    public let exitStatus = Atomic<Int32>(0)

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public init(settings: ServerSettings, log: Logger) {
        self.settings = settings
        self.log = log
        outboxes = (0..<settings.threads).map { _ in MirrorOutbox() }
        redisPrimary = RedisPrimary(settings: settings)
        let cluster = !settings.clusterNodes.isEmpty
        keys = KeyLayout(
            prefix: settings.keyPrefix,
            shardTag: cluster ? ShardTag.forSlot(settings.shardSlot) : nil)
        state = ServerState(threads: settings.threads)
        directory =
            cluster
            ? ClusterDirectory(primary: redisPrimary, settings: settings, state: state, log: log)
            : nil
        units =
            cluster && settings.holderLimit > 0
            ? HolderUnits(settings: settings, primary: redisPrimary, state: state, log: log) : nil
        rounds = RoundRegistry(keys: keys, ledgerOutbox: outboxes[0])
        // With `units` the count is not kept here: each BOOK brings its own (`UnitGrant`).
        let localLimit = units == nil ? settings.holderLimit : 0
        table = SeatTable(
            outboxes: outboxes,
            rules: Provider.BookingRules(
                waitlistLimit: settings.waitlistLimit, limits: HolderLimits(limit: localLimit),
                offerMillis: Int((settings.offerTTL * 1000).rounded()), rounds: rounds))
        rounds.table = table
        credentialsBackoff = CredentialsBackoff(maxSeconds: settings.redisAuthRetryMax)
        metrics = ServerMetrics(threads: settings.threads)
        standby = WarmStandby(
            keys: keys, table: table, settings: settings, primary: redisPrimary, log: log)
        users = Mutex(UserDirectory(token: settings.token, adminToken: settings.adminToken))
        authAddresses = AuthAddressThrottle(
            maxFailures: settings.authAddressMaxFailures, windowSeconds: settings.authAddressWindow)
        inbox =
            cluster
            ? InboxFollower(
                keys: keys, primary: redisPrimary, settings: settings, state: state, rounds: rounds,
                log: log) : nil
        lease = LeaseKeeper(server: self)
    }

    /// Reads the users again: the tokens' and the acl-file's. On an error the users stay as
    /// they were. Connections keep the rights they authenticated with.
    public func loadUsers() throws {
        do {
            let directory = try UserDirectory.load(
                token: settings.token, adminToken: settings.adminToken, aclFile: settings.aclFile)
            users.withLock { $0 = directory }
        } catch {
            throw StartFailure(description: error.description)
        }
    }

    /// Binds the client port on every thread and starts the loops.
    public func start() throws {
        try loadUsers()
        if settings.listen.port == 0 && settings.tls.port == 0 {
            throw StartFailure(
                description:
                    "listen port 0 turns the plain port off: set tls-port, or there is no client port"
            )
        }
        if settings.tls.port != 0 {
            guard !settings.tls.certFile.isEmpty, !settings.tls.keyFile.isEmpty else {
                throw StartFailure(description: "tls-port needs tls-cert-file and tls-key-file")
            }
            guard settings.tls.authClients == .no || settings.tls.caCertFile != nil else {
                throw StartFailure(
                    description:
                        "tls-auth-clients \(settings.tls.authClients.rawValue) needs tls-ca-cert-file (or tls-auth-clients no)"
                )
            }
            do { tls = try TLSContextHolder(settings.tls) } catch {
                throw StartFailure(description: error.description)
            }
        }
        var address = sockaddr_storage()
        guard kz_parse_endpoint(settings.listen.host, Int32(settings.listen.port), &address) == 0
        else {
            throw StartFailure(description: "invalid listen address \(settings.listen)")
        }
        var tlsAddress = sockaddr_storage()
        guard kz_parse_endpoint(settings.listen.host, Int32(settings.tls.port), &tlsAddress) == 0
        else {
            throw StartFailure(description: "invalid tls-port \(settings.tls.port)")
        }
        threads = (0..<settings.threads).map { LoopThread(index: $0, server: self, log: log) }
        // Fixed once started; wake() is uv_async_send, safe from any thread.
        nonisolated(unsafe) let loops = threads
        rounds.wake = { target in loops[target].wake() }
        for thread in threads {
            // `listen` with port 0 turns the plain port off (Redis's `port 0`).
            if settings.listen.port != 0 {
                let status = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { thread.listen(on: $0) }
                }
                guard status == 0 else {
                    throw StartFailure(
                        description:
                            "cannot listen on \(settings.listen): \(String(cString: uv_strerror(status)))"
                    )
                }
            }
            if settings.tls.port != 0 {
                let status = withUnsafePointer(to: &tlsAddress) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        thread.listenTLS(on: $0)
                    }
                }
                guard status == 0 else {
                    throw StartFailure(
                        description:
                            "cannot listen on tls-port \(settings.tls.port): \(String(cString: uv_strerror(status)))"
                    )
                }
            }
        }
        let loopback = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { kz_is_loopback($0) }
        }
        if loopback == 0 && settings.token == nil && settings.adminToken == nil {
            log.warning(
                "listening beyond loopback without a token: anyone who can reach the port can book and change providers",
                metadata: ["listen": "\(settings.listen)"])
        }
        if directory != nil, ["0.0.0.0", "::"].contains(settings.listen.host) {
            // The listen address is what the other nodes name in their -MOVED replies.
            log.warning(
                "on redis-cluster, listen on the address clients reach this daemon at: other nodes send clients to it",
                metadata: ["listen": "\(settings.listen)"])
        }
        for thread in threads { thread.start() }
        units?.start(table: table)
        directory?.start()
    }

    /// Takes the lease of the key prefix (waiting as a standby while another live daemon
    /// holds it), loads the state from Redis (retrying with backoff until Redis answers or a
    /// shutdown begins), creates catalog providers Redis lacks, then serves data commands.
    /// Throws `StartFailure` when Redis refuses the credentials: a bad setting, not a Redis
    /// that is not up yet.
    public func recover(catalog: [CatalogEntry]) throws {
        var delayMillis: UInt32 = 100
        var keeping = false
        while !state.draining.load(ordering: .acquiring) {
            do {
                try redisPrimary.refresh(log: log)
                if !keeping {
                    guard try lease.acquire() else { return }
                    lease.startKeeping()
                    keeping = true
                }
                // Before loading: no unit of an older holder of this shard lands after it.
                try units?.raiseFences(epoch: state.epoch.load(ordering: .acquiring))
                let started = MonotonicClock.nanoseconds()
                // A warm standby reads only what changed since it last looked; else everything.
                let changed = standby.takeover()
                let connect = { [settings, redisPrimary] in
                    try RedisSyncConnection(
                        endpoint: redisPrimary.endpoint, user: settings.redisUser,
                        password: settings.redisPassword)
                }
                let redis = try connect()
                var recovery = Recovery(keys: keys, table: table, log: log)
                recovery.parallelReaders = try (1..<settings.threads).map { _ in try connect() }
                let figures = try recovery.load(
                    from: redis, catalog: ownCatalog(catalog),
                    epoch: state.epoch.load(ordering: .acquiring), changed: changed)
                if let units {
                    let settled = try units.settleUnits(
                        of: table, epoch: state.epoch.load(ordering: .acquiring))
                    log.info(
                        "holder units settled",
                        metadata: [
                            "removed": "\(settled.removed)", "added": "\(settled.added)",
                            "holder_limit": "\(units.limit)",
                        ])
                }
                let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
                // Loading parsed every reply into short-lived objects: give that memory back.
                kz_release_free_memory()
                // A repair may have begun while loading (Redis emptied meanwhile): it sets the role.
                _ = state.role.compareExchange(
                    expected: ServerState.Role.starting.rawValue,
                    desired: ServerState.Role.primary.rawValue,
                    ordering: .acquiringAndReleasing)
                _ = state.role.compareExchange(
                    expected: ServerState.Role.standby.rawValue,
                    desired: ServerState.Role.primary.rawValue,
                    ordering: .acquiringAndReleasing)
                directory?.waitForFirstSnapshot()
                state.ready.store(true, ordering: .releasing)
                inbox?.start()
                for thread in threads { thread.wake() }
                log.info(
                    changed == nil
                        ? "state loaded from redis"
                        : "state taken over warm: changed providers read from redis",
                    metadata: [
                        "providers": "\(figures.providers)", "bookings": "\(figures.bookings)",
                        "waiting": "\(figures.waiting)",
                        "settling_writes": "\(figures.settlingWrites)",
                        "catalog_created": "\(figures.createdFromCatalog)",
                        "skipped_bad_data": "\(figures.skipped)",
                        "capacities_repaired": "\(figures.capacitiesRepaired)",
                        "oversold_providers": "\(figures.oversold)",
                        "runs_not_in_the_log": "\(figures.runsNotInTheLog)",
                        "millis": "\(Int(seconds * 1000))",
                    ])
                return
            } catch let refused as CredentialsRefused {
                throw StartFailure(description: "\(refused) at \(redisPrimary.endpoint)")
            } catch {
                log.warning(
                    "cannot load state from redis yet; retrying",
                    metadata: ["redis": "\(redisPrimary.endpoint)", "error": "\(error)"])
                usleep(delayMillis * 1000)
                delayMillis = min(delayMillis * 2, 2000)
            }
        }
    }

    /// The catalog entries this daemon creates: on Redis Cluster, those of its own shard.
    private func ownCatalog(_ catalog: [CatalogEntry]) -> [CatalogEntry] {
        guard let topology = redisPrimary.topology else { return catalog }
        return catalog.filter {
            topology.shard(ofSlot: HashSlot.of($0.provider.utf8))?.identitySlot
                == settings.shardSlot
        }
    }

    /// Stop accepting, answer every request already read (waiting for Redis where a reply
    /// needs it, at most `drainTimeout`), then stop the loops.
    public func shutdown() {
        guard !state.draining.exchange(true, ordering: .acquiringAndReleasing) else { return }
        log.info("shutting down: draining", metadata: ["drain_timeout": "\(settings.drainTimeout)"])
        for thread in threads { thread.wake() }
    }

    /// Returns once every loop thread has stopped, then gives the lease up (a standby takes
    /// over at once). Returns the process's exit status.
    public func wait() -> Int32 {
        for thread in threads { thread.join() }
        units?.stop()
        inbox?.stop()
        lease.release()
        directory?.stop()
        return exitStatus.load(ordering: .acquiring)
    }

    /// A loop found Redis refusing its batch for its epoch or sequence (fenced, or data lost):
    /// the lease keeper looks at the lease and repairs. `epoch` is the batch's.
    func requestRepair(epoch: Int) {
        state.repairRequested.store(epoch, ordering: .releasing)
    }

    /// The one readiness rule behind HEALTH and /readyz (see `ServerState.readiness`).
    public var readiness: (isReady: Bool, detail: String) { state.readiness }

    /// HEALTH: `+OK` when ready, else `-DOWN`, with the details and a few counts. On Redis
    /// Cluster also the shard and the lease epoch this daemon holds (0: none), which the
    /// other nodes' directories check before they send clients here (`ShardLease`).
    func health() -> Reply {
        let (isReady, detail) = readiness
        var line =
            detail + " threads=\(threads.count) clients=\(state.clients.load(ordering: .relaxed))"
        if directory != nil {
            line += " shard=\(settings.shardSlot) epoch=\(state.epoch.load(ordering: .acquiring))"
        }
        return isReady ? .simple("OK " + line) : .down(line)
    }

}
