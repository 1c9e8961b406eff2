// The Redis Cluster topology the nemesis starts on loopback and breaks (`--topology cluster`):
// 3 Redis masters and 3 replicas (cluster mode, AOF on), made into a cluster by `redis-cli
// --cluster create`, then per shard two kezekd (`--redis-cluster`, `--shard-slot`): node N
// holds shard N and stands by for shard N+1, as scripts/cluster.sh. Clients reach each kezekd
// through a fault proxy; the kezekd reach Redis directly (the cluster announces its real
// ports). A supervisor restarts a kezekd that died, unless the nemesis holds it down.
import Foundation
import KezekClientSupport
#if canImport(Glibc)
    import Glibc
#endif

/// One kezekd of the cluster topology: one shard's holder or standby.
final class ClusterKezekd: HealthProbed, @unchecked Sendable {
    let name: String
    /// 0, 1, 2: the shard it serves (its lowest slot is `ClusterNemesisTopology.shardSlots`).
    let shard: Int
    let port: UInt16
    let process: ManagedProcess
    /// Clients reach this node through it.
    let clientProxy: FaultProxy

    init(name: String, shard: Int, port: UInt16, process: ManagedProcess, clientProxy: FaultProxy) {
        self.name = name
        self.shard = shard
        self.port = port
        self.process = process
        self.clientProxy = clientProxy
    }

}

/// One redis-server of the cluster, by its port.
struct ClusterRedis {
    let port: UInt16
    let process: ManagedProcess
    let directory: String
}

final class ClusterNemesisTopology: @unchecked Sendable {
    /// The lowest slot of each master's range as `redis-cli --cluster create` splits 3 masters.
    static let shardSlots = [0, 5461, 10923]
    let directory: String
    let redis: [ClusterRedis]
    let nodes: [ClusterKezekd]
    let keyPrefix = "nemesis"
    private let lock = NSLock()
    private var supervising = true

    init(
        directory: String, kezekd: String, leaseTTL: Double, holderLimit: Int,
        nodeTimeoutMilliseconds: Int, plantedBug: String?
    ) throws {
        self.directory = directory
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
        var redis: [ClusterRedis] = []
        for _ in 0..<6 {
            let port = Self.clusterPort()
            let dir = directory + "/redis-\(port)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // AOF `always`: a master killed and restarted before its replica took over comes
            // back with every write it confirmed (its replica then syncs from it).
            let process = ManagedProcess(
                name: "redis-\(port)", executable: "/usr/bin/redis-server",
                arguments: [
                    "--port", "\(port)", "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes",
                    "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction",
                    "--cluster-enabled", "yes", "--cluster-config-file", dir + "/nodes.conf",
                    "--cluster-node-timeout", "\(nodeTimeoutMilliseconds)",
                    "--cluster-replica-validity-factor", "0",
                ],
                environment: [:], logPath: dir + "/redis.log")
            redis.append(ClusterRedis(port: port, process: process, directory: dir))
        }
        self.redis = redis
        var environment: [String: String] = [:]
        if let plantedBug {
            environment["KEZEK_PLANTED_BUG"] = plantedBug
            environment["KEZEK_PLANTED_BUG_CONSENT"] = "this-daemon-breaks-its-contract"
        }
        let seeds = redis.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        var nodes: [ClusterKezekd] = []
        // Holders first (node N+1 holds shard N), then the standbys (node N+1 stands by for
        // shard N+1 modulo 3): index i < 3 is shard i's first holder.
        for (index, (node, shard)) in [(1, 0), (2, 1), (3, 2), (3, 0), (1, 1), (2, 2)].enumerated()
        {
            let port = UInt16(freePort())
            let name = "node\(node)-shard\(shard)"
            let arguments = [
                "--listen", "127.0.0.1:\(port)", "--redis-cluster", seeds,
                "--shard-slot", "\(Self.shardSlots[shard])", "--redis-replicas", "1",
                "--admin-listen", "127.0.0.1:\(UInt16(freePort()))", "--public-listen",
                "127.0.0.1:\(UInt16(freePort()))", "--node-id", "node\(node)",
                "--threads", "1", "--lease-ttl", "\(leaseTTL)", "--holder-limit", "\(holderLimit)",
                "--key-prefix", keyPrefix,
            ]
            let process = ManagedProcess(
                name: "kezekd-\(name)", executable: kezekd, arguments: arguments,
                environment: environment, logPath: directory + "/kezekd-\(index)-\(name).log")
            nodes.append(
                ClusterKezekd(
                    name: name, shard: shard, port: port, process: process,
                    clientProxy: try FaultProxy(upstream: port)))
        }
        self.nodes = nodes
    }

    func start() throws {
        for server in redis { try server.process.start() }
        for server in redis {
            try waitFor("redis \(server.port)", timeout: 10) {
                (try? self.redisCommand(server.port, ["PING"]).text) == "PONG"
            }
        }
        let create = Process()
        create.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        create.arguments =
            ["--cluster", "create"] + redis.map { "127.0.0.1:\($0.port)" } + [
                "--cluster-replicas", "1", "--cluster-yes",
            ]
        let log = directory + "/cluster-create.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        create.standardOutput = handle
        create.standardError = handle
        try create.run()
        create.waitUntilExit()
        guard create.terminationStatus == 0 else {
            throw NemesisError("redis-cli --cluster create failed (\(log))")
        }
        try waitFor("the Redis Cluster", timeout: 30) { self.clusterWhole() }
        for node in nodes.prefix(3) { try node.process.start() }
        try waitFor("a holder on every shard", timeout: 30) {
            self.nodes.prefix(3).allSatisfy(\.isServingPrimary)
        }
        for node in nodes.dropFirst(3) { try node.process.start() }
        Thread.detachNewThread { [self] in supervise() }
    }

    /// Every node says the cluster is ok, and every master has its replica linked.
    func clusterWhole() -> Bool {
        for server in redis {
            guard server.process.isRunning,
                let info = try? redisCommand(server.port, ["CLUSTER", "INFO"]).text,
                info.contains("cluster_state:ok")
            else { return false }
        }
        let shards = masters()
        guard shards.count == 3 else { return false }
        return shards.allSatisfy { master in
            let info = (try? redisCommand(master, ["INFO", "replication"]).text) ?? ""
            return info.contains("connected_slaves:1") && info.contains("state=online")
        }
    }

    /// The master of each shard now (by its lowest slot, in shard order), from any Redis that
    /// answers CLUSTER SLOTS.
    func masters() -> [UInt16] {
        for server in redis where server.process.isRunning {
            guard let reply = try? redisCommand(server.port, ["CLUSTER", "SLOTS"], timeout: 1)
            else { continue }
            var byShard: [Int: UInt16] = [:]
            for range in reply.items {
                let items = range.items
                guard items.count > 2, let first = items[0].text.flatMap(Int.init),
                    let shard = Self.shardSlots.firstIndex(of: first),
                    let port = items[2].items.dropFirst().first?.text.flatMap(UInt16.init)
                else { continue }
                byShard[shard] = port
            }
            if byShard.count == 3 { return (0..<3).compactMap { byShard[$0] } }
        }
        return []
    }

    /// A free port for a cluster Redis: its bus port (10000 above) must exist and be free too.
    static func clusterPort() -> UInt16 {
        while true {
            let port = freePort()
            guard port <= 55535 else { continue }
            if (try? LineClient(port: port + 10000, timeout: 0.2)) == nil { return UInt16(port) }
        }
    }

    func redisServer(port: UInt16) -> ClusterRedis? { redis.first { $0.port == port } }

    /// The node of `shard` that holds its lease now (serving or not), if one answers so.
    func holder(of shard: Int) -> ClusterKezekd? {
        nodes.first { $0.shard == shard && !$0.process.stopped && $0.claimsPrimary }
    }

    /// Whether every shard has a kezekd serving it.
    func everyShardServed() -> Bool {
        (0..<3).allSatisfy { shard in nodes.contains { $0.shard == shard && $0.isServingPrimary } }
    }

    /// Restarts every kezekd that died, unless held down.
    private func supervise() {
        while lock.withLock({ supervising }) {
            for node in nodes where !node.process.heldDown && !node.process.isRunning {
                try? node.process.start()
            }
            usleep(200_000)
        }
    }

    func stopSupervising() { lock.withLock { supervising = false } }

    /// One command straight to a Redis of the cluster.
    func redisCommand(_ port: UInt16, _ arguments: [String], timeout: Double = 2) throws
        -> RESPValue
    {
        let socket = try LineClient(port: Int(port), timeout: timeout)
        defer { socket.close() }
        return try socket.command(arguments, timeout: timeout)
    }

    /// The hash slot of `key`, as the cluster computes it.
    func slot(of key: String) throws -> Int {
        for server in redis where server.process.isRunning {
            if case .integer(let slot) = try redisCommand(server.port, ["CLUSTER", "KEYSLOT", key])
            {
                return slot
            }
        }
        throw NemesisError("no Redis answers CLUSTER KEYSLOT")
    }

    /// The shard (0, 1, 2) that serves `slot`.
    static func shard(ofSlot slot: Int) -> Int { shardSlots.lastIndex { $0 <= slot } ?? 0 }

    func stopAll() {
        stopSupervising()
        for node in nodes { node.process.killNow() }
        for server in redis { server.process.killNow() }
    }

    func waitFor(_ what: String, timeout: Double, _ condition: () -> Bool) throws {
        let deadline = monotonicNow() + timeout
        while !condition() {
            guard monotonicNow() < deadline else {
                throw NemesisError("timed out waiting for \(what)")
            }
            usleep(50_000)
        }
    }
}
