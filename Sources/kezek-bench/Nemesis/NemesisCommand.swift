// `kezek-bench nemesis`: starts Redis and two kezekd nodes on loopback, drives them with
// gateway-like clients while a seeded nemesis injects faults, then checks the recorded history
// (docs/RELIABILITY.md).
import ArgumentParser
import Foundation
import KezekNemesis
import KezekClientSupport

struct NemesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nemesis",
        abstract:
            "Seeded mixed faults against a private Redis + holder + standby; checks the history.",
        discussion: """
            Exit status 0 when the history is linearizable and every invariant holds, 1 on an \
            anomaly (printed by class, with the smallest failing sub-history and the seed), 2 when \
            the topology could not start. Re-run with the printed --seed to replay the same \
            schedule of faults and requests.
            """)

    @Option(
        help:
            "single (one Redis, a holder, a standby), sentinel (not built yet), or cluster (Redis Cluster: 3 masters, 3 replicas, a holder and a standby per shard)."
    )
    var topology = "single"
    @Option(help: "Seconds of load and faults.") var seconds = 120.0
    @Option(help: "Seed of the fault schedule and the workload (default: from the clock).")
    var seed: UInt64?
    @Option(help: "Concurrent clients.") var clients = 12
    @Option(help: "Providers.") var providers = 4
    @Option(help: "Holders (each books at any provider).") var holders = 24
    @Option(help: "Seats per provider.") var capacity = 4
    @Option(name: .customLong("holder-limit"), help: "kezekd's per-holder limit.") var holderLimit =
        2
    @Option(name: .customLong("lease-ttl"), help: "kezekd's lease-ttl (seconds).") var leaseTTL =
        2.0
    @Option(help: "Seconds a client waits for an answer before it counts the request unknown.")
    var timeout = 1.5
    @Option(name: .customLong("fault-gap"), help: "Mean seconds between faults.") var faultGap = 1.0
    @Option(help: "Only these fault classes (comma-separated; default all).") var faults: String?
    @Option(help: "kezekd binary (default: next to kezek-bench).") var kezekd: String?
    @Option(
        name: .customLong("kezek-audit"), help: "kezek-audit binary (default: next to kezek-bench)."
    ) var kezekAudit: String?
    @Option(help: "Directory for Redis's data and the logs (default: a new one under /tmp).")
    var directory: String?
    @Option(help: "Write the recorded history here, one request a line.") var history: String?
    @Flag(help: "Do not print each fault as it is injected.") var quiet = false
    @Option(name: .customLong("planted-bug"), help: .hidden) var plantedBug: String?

    func run() throws {
        let seed = self.seed ?? UInt64(Date().timeIntervalSince1970 * 1000) % 1_000_000_007
        let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0])
            .deletingLastPathComponent().path
        let directory =
            self.directory ?? NSTemporaryDirectory() + "kezek-nemesis-\(seed)-\(getpid())"
        guard let kind = NemesisTopologyKind(rawValue: topology), kind != .sentinel else {
            let known = NemesisTopologyKind.allCases.map(\.rawValue).joined(separator: ", ")
            let why = topology == "sentinel" ? "is not built yet" : "is unknown (\(known))"
            FileHandle.standardError.write(Data("nemesis: topology '\(topology)' \(why)\n".utf8))
            throw ExitCode(2)
        }
        var classes = kind.faultClasses
        if let faults {
            classes = try faults.split(separator: ",").map { name in
                guard let fault = FaultClass(rawValue: String(name)) else {
                    throw ValidationError("unknown fault '\(name)'")
                }
                guard kind.faultClasses.contains(fault) else {
                    FileHandle.standardError.write(
                        Data("nemesis: fault '\(name)' is not one of the \(kind) topology's\n".utf8)
                    )
                    throw ExitCode(2)
                }
                return fault
            }
        }
        print(
            "nemesis: seed \(seed), \(Int(seconds)) s, \(clients) clients, "
                + "faults every \(faultGap) s on average; data in \(directory)"
        )
        if let plantedBug { print("nemesis: kezekd runs with the planted bug '\(plantedBug)'") }
        if kind == .cluster {
            return try runCluster(
                seed: seed, classes: classes, directory: directory, binDirectory: binDirectory)
        }
        let topology = try NemesisTopology(
            directory: directory, kezekd: kezekd ?? binDirectory + "/kezekd",
            leaseTTL: leaseTTL, holderLimit: holderLimit, plantedBug: plantedBug)
        do { try topology.start() } catch {
            topology.stopAll()
            print("nemesis: cannot start the topology: \(error)")
            throw ExitCode(2)
        }
        defer { topology.stopAll() }
        let workload = NemesisWorkload(providers: providers, holders: holders, capacity: capacity)
        guard let primary = topology.primary(),
            let admin = try? LineClient(port: Int(primary.port), timeout: 2)
        else {
            throw ExitCode(2)
        }
        let capacities =
            workload.providers.map { ($0, capacity) } + [
                (workload.freshProvider, workload.freshCapacity)
            ]
        for (provider, capacity) in capacities {
            guard (try? admin.request("PROVIDER \(provider) \(capacity)", timeout: 5)) == "+OK"
            else {
                print("nemesis: PROVIDER \(provider) was refused")
                throw ExitCode(2)
            }
        }

        let recorder = HistoryRecorder()
        let clientFaults = ClientFaults()
        let recent = RecentHolders()
        let nemesis = Nemesis(topology: topology, clientFaults: clientFaults, leaseTTL: leaseTTL) {
            line in
            if !quiet { print(line) }
        }
        let schedule = FaultSchedule.draw(
            seed: seed, seconds: seconds, meanGap: faultGap, leaseTTL: leaseTTL, classes: classes)
        let start = monotonicNow()
        let deadline = start + seconds
        let done = DispatchGroup()
        for id in 0..<clients {
            done.enter()
            let client = GatewayClient(
                id: id, seed: seed, ports: topology.nodes.map(\.clientProxy.port),
                workload: workload, recorder: recorder,
                faults: clientFaults, recent: recent, timeout: timeout)
            Thread.detachNewThread {
                client.run(until: deadline)
                done.leave()
            }
        }
        nemesis.play(schedule, from: start)
        done.wait()
        nemesis.healAll()

        let final = try FinalState(topology: topology, workload: workload, recorder: recorder)
        let audit = final.replayAudit(kezekAudit ?? binDirectory + "/kezek-audit")
        let operations = recorder.all
        if let history {
            try operations.map(\.description).joined(separator: "\n").write(
                toFile: history, atomically: true, encoding: .utf8)
        }
        var result = HistoryChecker(
            operations: operations, capacity: Dictionary(uniqueKeysWithValues: capacities),
            holderLimit: holderLimit
        ).check()
        result.anomalies += audit
        let report = NemesisReport(
            seed: seed, seconds: seconds, result: result, operations: operations,
            counts: nemesis.counts, plantedBug: plantedBug)
        report.print()
        if !result.anomalies.isEmpty {
            print("nemesis: logs and Redis's data kept in \(directory)")
            throw ExitCode(1)
        }
        topology.stopAll()
        if self.directory == nil { try? FileManager.default.removeItem(atPath: directory) }
    }
}
