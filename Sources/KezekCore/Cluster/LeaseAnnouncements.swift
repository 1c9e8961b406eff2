import Glibc
import Logging
import Synchronization

/// On Redis Cluster: a lease change told to every kezekd at once, so no node keeps sending
/// clients to a holder that died for longer than the takeover takes.
///
/// A holder that takes its shard's lease (or gives it up) publishes `<shard-slot> <epoch>`
/// on the channel `<prefix>:leases` (`PUBLISH`: Redis Cluster carries it to every node of the
/// cluster). Every kezekd listens on a thread of its own, subscribed at its own shard's
/// master, and asks its directory to read the holders again at once when a message comes.
/// A message lost (the subscription was being remade) costs only the wait for the
/// directory's next periodic read, as before.
///
/// Unchecked Sendable: `thread` is set once by `start`; the rest is immutable or atomic.
final class LeaseAnnouncements: @unchecked Sendable {
    static func channel(prefix: String) -> String { "\(prefix):leases" }

    private let primary: RedisPrimary
    private let settings: ServerSettings
    private let log: Logger
    private let heard: @Sendable () -> Void
    private let stopped = Atomic<Bool>(false)
    private var thread: pthread_t?
    /// How long the subscription may stay silent before it is remade: a master that died
    /// under it shows up as this timeout, and the new subscription goes to the shard's
    /// master as `RedisPrimary` knows it then.
    static let silenceMillis = 1000
    /// The pause before subscribing again after an error (a master down, refused).
    static let retryMicros: UInt32 = 100_000

    init(
        primary: RedisPrimary, settings: ServerSettings, log: Logger,
        heard: @escaping @Sendable () -> Void
    ) {
        self.primary = primary
        self.settings = settings
        self.log = log
        self.heard = heard
    }

    func start() {
        thread = NativeThread.start { self.listen() }
    }

    /// The listening thread ends at its next message or timeout; it is not waited for (it
    /// holds nothing but its own connection).
    func stop() {
        stopped.store(true, ordering: .releasing)
    }

    private func listen() {
        let channel = Self.channel(prefix: settings.keyPrefix)
        var lastProblem = ""
        while !stopped.load(ordering: .acquiring) {
            // Until the slot map is first read, `primary.endpoint` is not yet the shard's master.
            guard primary.topology != nil else {
                usleep(Self.retryMicros)
                continue
            }
            do {
                let redis = try RedisSyncConnection(
                    endpoint: primary.endpoint, user: settings.redisUser,
                    password: settings.redisPassword,
                    connectTimeoutMillis: max(Int(settings.clusterTimeout * 1000), 1),
                    replyTimeoutMillis: Self.silenceMillis)
                _ = try redis.command(["SUBSCRIBE", channel])
                lastProblem = ""
                while !stopped.load(ordering: .acquiring) {
                    let message = try redis.reply()
                    if message.items.first?.string == "message" { heard() }
                }
            } catch {
                // A silent channel times out here every `silenceMillis`: subscribe again at once.
                let problem = "\(error)"
                guard !problem.contains("temporarily unavailable") else { continue }
                if problem != lastProblem {
                    log.warning(
                        "cannot listen for lease changes; the directory still reads the holders periodically",
                        metadata: ["error": "\(problem)"])
                    lastProblem = problem
                }
                usleep(Self.retryMicros)
            }
        }
    }

    /// Tells every kezekd that this shard's lease changed (best effort: the periodic read
    /// of the directory covers a message that did not go out).
    static func publish(on redis: RedisSyncConnection, prefix: String, shardSlot: Int, epoch: Int) {
        _ = try? redis.command(["PUBLISH", channel(prefix: prefix), "\(shardSlot) \(epoch)"])
    }
}
