import Glibc
import Logging
import Synchronization

/// The serving holder of a shard on Redis Cluster follows its inbox (`ShardInbox`) on a thread
/// of its own, as a warm standby follows the audit log: a blocking `XREAD` after the last
/// message applied, each message handed to the rounds (`RoundRegistry.applyFromInbox`), whose
/// batch records its id with its effects. The position is read from Redis whenever this daemon
/// starts serving (again): a new holder goes on after the last message Redis says was applied,
/// and one applied in memory but not yet in Redis is applied again, which changes nothing.
final class InboxFollower: @unchecked Sendable {
    private let keys: KeyLayout
    private let primary: RedisPrimary
    private let settings: ServerSettings
    private let state: ServerState
    private let rounds: RoundRegistry
    private let log: Logger
    private let stopped = Atomic<Bool>(false)
    /// Messages applied so far (`kezek_inbox_applied_total`).
    let applied = Atomic<Int>(0)
    private var thread: pthread_t?
    /// The follower's thread's own.
    private var redis: RedisSyncConnection?
    private var lastID: String?
    private var failureWarning = OncePer(seconds: 10)

    /// Messages read per `XREAD`, and how long one waits for the next.
    static let entriesPerRead = 100
    static let blockMillis = 500

    init(
        keys: KeyLayout, primary: RedisPrimary, settings: ServerSettings, state: ServerState,
        rounds: RoundRegistry, log: Logger
    ) {
        self.keys = keys
        self.primary = primary
        self.settings = settings
        self.state = state
        self.rounds = rounds
        self.log = log
    }

    func start() {
        guard thread == nil else { return }
        thread = NativeThread.start { self.run() }
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func run() {
        while !stopped.load(ordering: .acquiring) {
            guard state.ready.load(ordering: .acquiring), state.currentRole == .primary else {
                lastID = nil  // serving again later: Redis says where to go on from
                usleep(100_000)
                continue
            }
            do {
                try follow()
            } catch {
                redis = nil
                lastID = nil
                if failureWarning.due() {
                    log.warning(
                        "cannot follow this shard's inbox; trying again",
                        metadata: ["error": "\(error)"])
                }
                usleep(500_000)
            }
        }
    }

    private func follow() throws {
        let redis = try connection()
        if lastID == nil {
            lastID =
                try redis.command(["HGET", keys.inboxState, ShardInbox.appliedField]).string
                ?? "0-0"
        }
        let reply = try redis.command([
            "XREAD", "COUNT", String(Self.entriesPerRead), "BLOCK", String(Self.blockMillis),
            "STREAMS", keys.inbox, lastID ?? "0-0",
        ])
        let entries = reply.items.first?.items.dropFirst().first?.items ?? []
        for entry in entries {
            guard let id = entry.items.first?.string else { continue }
            let fields = entry.items.count > 1 ? entry.items[1].strings : []
            if let message = ShardInbox.Message(fields: fields) {
                rounds.applyFromInbox(message, id: id)
                applied.add(1, ordering: .relaxed)
            } else {
                log.error(
                    "bad data in redis: inbox message ignored",
                    metadata: ["key": "\(keys.inbox)", "id": "\(id)"])
            }
            lastID = id
        }
    }

    private func connection() throws -> RedisSyncConnection {
        if let redis { return redis }
        let redis = try RedisSyncConnection(
            endpoint: primary.endpoint, user: settings.redisUser, password: settings.redisPassword,
            // Short: a shutdown waits for this thread.
            connectTimeoutMillis: 1_000, replyTimeoutMillis: Self.blockMillis + 2_000)
        self.redis = redis
        return redis
    }
}
