import Foundation
import KezekTestSupport

/// A real Redis Cluster on loopback: `masters` masters with one replica each, made by
/// `redis-cli --cluster create --cluster-replicas 1`, a node declared failed after
/// `nodeTimeoutMillis`. Each node keeps its data and `nodes.conf` in its own directory, so a
/// killed node restarted on its port rejoins (as a replica, once its own replica took over).
final class RedisClusterProcesses {
    let nodes: [RedisServerProcess]
    let nodeTimeoutMillis: Int

    init(directory: URL, masters: Int = 3, nodeTimeoutMillis: Int = 1500) throws {
        self.nodeTimeoutMillis = nodeTimeoutMillis
        nodes = try (0..<(2 * masters)).map { index in
            let node = try RedisServerProcess(
                directory: directory.appendingPathComponent("redis-\(index)"))
            node.extraArguments = [
                "--cluster-enabled", "yes", "--cluster-port", "\(freePort())",
                "--cluster-config-file", node.directory.appendingPathComponent("nodes.conf").path,
                "--cluster-node-timeout", "\(nodeTimeoutMillis)",
            ]
            return node
        }
    }

    /// Starts every node, creates the cluster and waits until every node says it is whole.
    func start() throws {
        for node in nodes { try node.start() }
        let addresses = nodes.map { "127.0.0.1:\($0.port)" }
        let created = try runProgram(
            RedisServerProcess.cliPath,
            ["--cluster", "create"] + addresses + ["--cluster-replicas", "1", "--cluster-yes"],
            timeout: 60)
        guard created.status == 0 else {
            throw TestSetupError(
                "redis-cli --cluster create failed: \(created.stdout)\n\(created.stderr)")
        }
        try waitUntilWhole(timeout: 30)
    }

    /// Waits until every running node answers `cluster_state:ok` and has its replication
    /// link up (a master: a replica connected; a replica: its master link up), so `WAIT 1`
    /// can be answered.
    func waitUntilWhole(timeout: Double) throws {
        let whole = poll(timeout: timeout, interval: 0.2) { () -> Bool? in
            nodes.filter(\.isRunning).allSatisfy { node in
                guard (try? node.cli(["CLUSTER", "INFO"]))?.contains("cluster_state:ok") == true,
                    let replication = try? node.cli(["INFO", "replication"])
                else { return false }
                return replication.contains("master_link_status:up")
                    || (replication.contains("role:master")
                        && !replication.contains("connected_slaves:0"))
            } ? true : nil
        }
        guard whole == true else {
            throw TestSetupError("the redis cluster did not become whole in \(timeout) s")
        }
    }

    /// Every node seeds kezekd's `--redis-cluster`.
    var seeds: String { nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") }

    /// Master port -> its slot ranges, as a running node sees them (`CLUSTER NODES`).
    func masters() throws -> [Int: [ClosedRange<Int>]] {
        guard let node = nodes.first(where: \.isRunning) else { return [:] }
        var result: [Int: [ClosedRange<Int>]] = [:]
        for line in try node.cli(["CLUSTER", "NODES"]).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 9, fields[2].contains("master"), !fields[2].contains("fail"),
                let colon = fields[1].firstIndex(of: ":"), let at = fields[1].firstIndex(of: "@"),
                let port = Int(fields[1][fields[1].index(after: colon)..<at])
            else { continue }
            result[port] = fields[8...].compactMap { range -> ClosedRange<Int>? in
                let ends = range.split(separator: "-").compactMap { Int($0) }
                return ends.count == 2
                    ? ends[0]...ends[1] : ends.count == 1 ? ends[0]...ends[0] : nil
            }
        }
        return result
    }

    /// The node serving `slot` as master now.
    func master(ofSlot slot: Int) throws -> RedisServerProcess? {
        guard
            let port = try masters().first(where: { $0.value.contains { $0.contains(slot) } })?.key
        else { return nil }
        return nodes.first { $0.port == port }
    }

    /// The lowest slot of each master's ranges, sorted: the shards' names (`--shard-slot`).
    func shardSlots() throws -> [Int] {
        try masters().values.compactMap { $0.map(\.lowerBound).min() }.sorted()
    }

    func stop() {
        for node in nodes { node.stop() }
    }
}
