// `kezek-bench nemesis --topology cluster`: the same run as on one Redis (clients, a seeded
// schedule, the final state, the audit replay, the checker) on the Redis Cluster topology.
// Providers are picked so that each shard has as many (the count rounded up to a multiple of
// 3); the clients follow -MOVED. With a holder limit (the default, 2: counted across shards,
// the cluster's own mechanism) kezekd refuses BOOK … WAIT, so the clients send BOOK instead and
// no waitlist forms; `--holder-limit 0` keeps waitlists and drops the limit.
import ArgumentParser
import Foundation
import KezekNemesis
import KezekClientSupport

extension NemesisCommand {
    func runCluster(seed: UInt64, classes: [FaultClass], directory: String, binDirectory: String)
        throws
    {
        let topology = try ClusterNemesisTopology(
            directory: directory, kezekd: kezekd ?? binDirectory + "/kezekd", leaseTTL: leaseTTL,
            holderLimit: holderLimit, nodeTimeoutMilliseconds: 1000, plantedBug: plantedBug)
        do { try topology.start() } catch {
            topology.stopAll()
            print("nemesis: cannot start the topology: \(error)")
            throw ExitCode(2)
        }
        defer { topology.stopAll() }
        let (workload, shardOf) = try clusterWorkload(topology)
        let capacities =
            workload.providers.map { ($0, capacity) } + [
                (workload.freshProvider, workload.freshCapacity)
            ]
        for (provider, capacity) in capacities {
            let node = topology.nodes[shardOf[provider] ?? 0]
            guard let admin = try? LineClient(port: Int(node.port), timeout: 2),
                (try? admin.request("PROVIDER \(provider) \(capacity)", timeout: 5)) == "+OK"
            else {
                print("nemesis: PROVIDER \(provider) was refused")
                throw ExitCode(2)
            }
        }
        print(
            "nemesis: providers by shard: "
                + (0..<3).map { (shard: Int) in
                    "\(shard): "
                        + capacities.map(\.0).filter { shardOf[$0] == shard }.joined(separator: ",")
                }.joined(separator: "; "))

        let recorder = HistoryRecorder()
        let clientFaults = ClientFaults()
        let recent = RecentHolders()
        let nemesis = ClusterNemesis(
            topology: topology, clientFaults: clientFaults, leaseTTL: leaseTTL
        ) { line in
            if !quiet { print(line) }
        }
        let schedule = FaultSchedule.draw(
            seed: seed, seconds: seconds, meanGap: faultGap, leaseTTL: leaseTTL, classes: classes)
        let start = monotonicNow()
        let deadline = start + seconds
        let nodePorts = topology.nodes.map(\.port)
        let gateways = (0..<clients).map { id in
            GatewayClient(
                id: id, seed: seed, ports: topology.nodes.map(\.clientProxy.port),
                workload: workload, recorder: recorder, faults: clientFaults, recent: recent,
                timeout: timeout, routes: ClusterRoutes(nodePorts: nodePorts),
                waitlists: holderLimit == 0)
        }
        ClientThreads.run(gateways, until: deadline) { nemesis.play(schedule, from: start) }
        nemesis.healAll()

        let final = try ClusterFinalState(
            topology: topology, workload: workload, recorder: recorder, shardOf: shardOf)
        let audit = final.replayAudit(kezekAudit ?? binDirectory + "/kezek-audit")
        try judge(
            recorder.all, capacities: capacities, found: audit, rounds: 0, roundOperations: [],
            counts: nemesis.counts, classes: classes, seed: seed, directory: directory,
            stop: topology.stopAll)
    }

    /// `providers` (rounded up to a multiple of 3) named `nem.p<N>`, as many on each shard,
    /// and the shard of each provider the run uses.
    private func clusterWorkload(_ topology: ClusterNemesisTopology) throws -> (
        NemesisWorkload, [String: Int]
    ) {
        let perShard = (max(providers, 1) + 2) / 3
        var byShard: [[String]] = [[], [], []]
        var shardOf: [String: Int] = [:]
        var number = 0
        while byShard.contains(where: { $0.count < perShard }) {
            number += 1
            let name = "nem.p\(number)"
            let shard = ClusterNemesisTopology.shard(ofSlot: try topology.slot(of: name))
            guard byShard[shard].count < perShard else { continue }
            byShard[shard].append(name)
            shardOf[name] = shard
        }
        let workload = NemesisWorkload(
            providerNames: byShard.flatMap { $0 }, holders: holders, capacity: capacity)
        shardOf[workload.freshProvider] = ClusterNemesisTopology.shard(
            ofSlot: try topology.slot(of: workload.freshProvider))
        return (workload, shardOf)
    }
}

extension NemesisWorkload {
    init(providerNames: [String], holders: Int, capacity: Int) {
        self.providers = providerNames
        self.holders = (1...holders).map { "h\($0)" }
        self.capacity = capacity
        namespace = "nem"
        freshProvider = "nem.fresh"
    }
}
