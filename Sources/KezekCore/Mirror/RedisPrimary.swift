import Logging
import Synchronization

/// Where the Redis primary is: the `redis` address, or, with `sentinel`, the address the
/// Redis Sentinels give for `sentinel-master` (asked in the order listed; the first that
/// answers wins). Connections read `endpoint` each time they connect; the lease keeper asks
/// the Sentinels again at every renewal and after every Redis error, and a changed answer
/// raises `generation`, which tells the loops' mirror connections to reconnect.
public final class RedisPrimary: Sendable {
    private let address: Mutex<ServerSettings.Endpoint>
    /// Raised each time the address changes (an atomic, so the loops look at it for free).
    let generation = Atomic<Int>(0)
    let sentinels: [ServerSettings.Endpoint]
    private let masterName: String
    private let password: String?
    /// A slow Sentinel is skipped rather than waited for (`sentinel-timeout`).
    private let timeoutMillis: Int

    init(settings: ServerSettings) {
        address = Mutex(settings.redis)
        sentinels = settings.sentinels
        masterName = settings.sentinelMaster
        password = settings.sentinelPassword
        timeoutMillis = max(Int(settings.sentinelTimeout * 1000), 1)
    }

    var usesSentinels: Bool { !sentinels.isEmpty }

    var endpoint: ServerSettings.Endpoint { address.withLock { $0 } }

    /// Asks the Sentinels where the primary is now. Returns true when the address changed;
    /// throws when none of them answered with one.
    @discardableResult
    func refresh(log: Logger) throws -> Bool {
        guard usesSentinels else { return false }
        var failures: [String] = []
        for sentinel in sentinels {
            do {
                let connection = try RedisSyncConnection(endpoint: sentinel, password: password,
                                                         connectTimeoutMillis: timeoutMillis, replyTimeoutMillis: timeoutMillis)
                let reply = try connection.command(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName])
                let parts = reply.strings
                guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
                    failures.append("\(sentinel): does not know master '\(masterName)'")
                    continue
                }
                let found = ServerSettings.Endpoint(host: parts[0], port: port)
                let previous = address.withLock { current in
                    defer { current = found }
                    return current
                }
                guard previous != found else { return false }
                generation.add(1, ordering: .releasing)
                log.notice("redis primary from sentinel", metadata: [
                    "redis": "\(found)", "previous": "\(previous)", "sentinel": "\(sentinel)", "master": "\(masterName)",
                ])
                return true
            } catch {
                failures.append("\(sentinel): \(error)")
            }
        }
        throw RedisSyncConnection.Failure(description: "no sentinel gave the primary of '\(masterName)': " + failures.joined(separator: "; "))
    }
}
