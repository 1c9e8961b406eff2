// After the faults healed on the cluster topology: every kezekd is killed (kill -9) and one per
// shard is started, so that what they serve is what the cluster kept; SEATS of every provider
// and STATUS of every holder are read into the history (client -1) from the shard's node, and
// `kezek-audit replay --cluster` compares every shard's audit log with what the nodes serve.
import Foundation
import KezekNemesis
import KezekClientSupport

struct ClusterFinalState {
    let topology: ClusterNemesisTopology

    init(
        topology: ClusterNemesisTopology, workload: NemesisWorkload, recorder: HistoryRecorder,
        shardOf: [String: Int]
    ) throws {
        self.topology = topology
        // Let the survivors settle first (a write-back after a loss of Redis's data).
        try? topology.waitFor("every shard served after the faults", timeout: 30) {
            topology.everyShardServed()
        }
        topology.stopSupervising()
        for node in topology.nodes {
            node.process.heldDown = true
            node.process.killNow()
        }
        let serving = Array(topology.nodes.prefix(3))
        for node in serving { try node.process.start() }
        try topology.waitFor("a kezekd per shard serving again from the cluster alone", timeout: 60)
        {
            serving.allSatisfy(\.isServingPrimary)
        }
        let sockets = try serving.map { try LineClient(port: Int($0.port), timeout: 2) }
        try FinalReads(workload: workload, recorder: recorder) { provider in
            sockets[shardOf[provider] ?? 0]
        }.readAll()
    }

    /// `kezek-audit replay --cluster`: an anomaly for each difference.
    func replayAudit(_ binary: String) -> [Anomaly] {
        let redis = topology.masters().first ?? topology.redis[0].port
        return AuditReplay.anomalies(
            binary: binary,
            arguments: [
                "--cluster", "--redis", "127.0.0.1:\(redis)", "--kezekd",
                "127.0.0.1:\(topology.nodes[0].port)", "--key-prefix", topology.keyPrefix,
            ], logPath: topology.directory + "/audit-replay.log")
    }
}
