import Logging
import Synchronization

/// Where the Redis primary is: the `redis` address, or, with `sentinel`, the address the
/// Redis Sentinels give for `sentinel-master` (asked in the order listed; the first that
/// answers wins), or, with `redis-cluster`, the master of the shard named by `shard-slot`
/// (from `CLUSTER SLOTS`). Connections read `endpoint` each time they connect; the lease
/// keeper asks again at every renewal and after every Redis error (so does the cluster
/// directory, twice a second), and a changed answer raises `generation`, which tells the
/// loops' mirror connections to reconnect.
public final class RedisPrimary: Sendable {
    private let address: Mutex<ServerSettings.Endpoint>
    /// Raised each time the address changes (an atomic, so the loops look at it for free).
    let generation = Atomic<Int>(0)
    let sentinels: [ServerSettings.Endpoint]
    private let masterName: String
    private let password: String?
    /// A slow Sentinel is skipped rather than waited for (`sentinel-timeout`).
    private let sentinelTimeoutMillis: Int
    /// Redis Cluster: the nodes given, the shard served, the last slot map read.
    private let clusterNodes: [ServerSettings.Endpoint]
    let shardSlot: Int
    private let user: String?
    private let dataPassword: String?
    private let lastTopology = Mutex<ClusterTopology?>(nil)
    private let clusterTimeoutMillis: Int

    init(settings: ServerSettings) {
        address = Mutex(settings.redis)
        sentinels = settings.sentinels
        masterName = settings.sentinelMaster
        password = settings.sentinelPassword
        sentinelTimeoutMillis = max(Int(settings.sentinelTimeout * 1000), 1)
        clusterNodes = settings.clusterNodes
        shardSlot = settings.shardSlot
        clusterTimeoutMillis = max(Int(settings.clusterTimeout * 1000), 1)
        user = settings.redisUser
        dataPassword = settings.redisPassword
    }

    var usesSentinels: Bool { !sentinels.isEmpty }
    var usesCluster: Bool { !clusterNodes.isEmpty }
    /// The primary's address can change under the daemon (Sentinel or Cluster failover).
    var moves: Bool { usesSentinels || usesCluster }
    /// The slot map as last read (cluster mode).
    var topology: ClusterTopology? { lastTopology.withLock { $0 } }

    var endpoint: ServerSettings.Endpoint { address.withLock { $0 } }

    /// Asks the Sentinels where the primary is now. Returns true when the address changed;
    /// throws when none of them answered with one.
    @discardableResult
    func refresh(log: Logger) throws -> Bool {
        if usesCluster { return try refreshFromCluster(log: log) }
        guard usesSentinels else { return false }
        var failures: [String] = []
        for sentinel in sentinels {
            do {
                let connection = try RedisSyncConnection(
                    endpoint: sentinel, password: password,
                    connectTimeoutMillis: sentinelTimeoutMillis,
                    replyTimeoutMillis: sentinelTimeoutMillis)
                let reply = try connection.command([
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName,
                ])
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
                log.notice(
                    "redis primary from sentinel",
                    metadata: [
                        "redis": "\(found)", "previous": "\(previous)", "sentinel": "\(sentinel)",
                        "master": "\(masterName)",
                    ])
                return true
            } catch {
                failures.append("\(sentinel): \(error)")
            }
        }
        throw RedisSyncConnection.Failure(
            description: "no sentinel gave the primary of '\(masterName)': "
                + failures.joined(separator: "; "))
    }

    /// Reads the slot map (asking the nodes it last named first, then those configured) and
    /// takes the master of this daemon's shard.
    private func refreshFromCluster(log: Logger) throws -> Bool {
        var asked = lastTopology.withLock { $0?.nodes ?? [] }
        for node in clusterNodes where !asked.contains(node) { asked.append(node) }
        let topology = try ClusterTopology.fetch(
            from: asked, user: user, password: dataPassword, timeoutMillis: clusterTimeoutMillis)
        lastTopology.withLock { $0 = topology }
        guard let shard = topology.shard(ofSlot: shardSlot), shard.identitySlot == shardSlot else {
            let inside = topology.shard(ofSlot: shardSlot).map {
                "slot \(shardSlot) is inside the shard whose lowest slot is \($0.identitySlot): set shard-slot to that"
            }
            throw RedisSyncConnection.Failure(
                description: "shard-slot \(shardSlot) names no shard of the cluster: "
                    + (inside ?? "no master serves it") + "; shards: "
                    + topology.shards.map { "\($0.identitySlot)" }.joined(separator: ", "))
        }
        let previous = address.withLock { current in
            defer { current = shard.master }
            return current
        }
        guard previous != shard.master else { return false }
        generation.add(1, ordering: .releasing)
        log.notice(
            "redis master of this shard from the cluster",
            metadata: [
                "redis": "\(shard.master)", "previous": "\(previous)", "shard_slot": "\(shardSlot)",
            ])
        return true
    }
}
