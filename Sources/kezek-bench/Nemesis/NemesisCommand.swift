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
        help: """
            single (one Redis, a fault proxy on each link), sentinel (a primary, two replicas, \
            three Sentinels) or cluster (Redis Cluster: 3 masters, 3 replicas, a holder and a \
            standby per shard).
            """)
    var topology = "single"
    @Option(help: "Seconds of load and faults.") var seconds = 120.0
    @Option(help: "Seed of the fault schedule and the workload (default: from the clock).")
    var seed: UInt64?
    @Option(help: "Concurrent clients.") var clients = 12
    @Option(help: "Providers.") var providers = 4
    @Option(help: "Holders (each books at any provider).") var holders = 24
    @Option(help: "Seats per provider.") var capacity = 4
    @Option(
        name: .customLong("holder-limit"),
        help: "kezekd's per-holder limit (with --nodes: the deployment's; 0: none).")
    var holderLimit =
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
    @Flag(
        inversion: .prefixedNo,
        help: "Play fair rounds (APPLY, WITHDRAW, RESULT, DRAW) one after another meanwhile.")
    var rounds = true
    @Option(name: .customLong("planted-bug"), help: .hidden) var plantedBug: String?
    @Option(
        help: """
            Drive a deployment already running instead of starting one: its kezekd nodes             (loopback HOST:PORT, comma-separated). Ids of the run's own are used; nothing is             started or killed at the end.
            """)
    var nodes: String?
    @Option(
        help: """
            With --nodes: its Redis (loopback HOST:PORT), for redis-maxmemory (put back as it             was) and kezek-audit replay.
            """)
    var redis: String?
    @Option(name: .customLong("key-prefix"), help: "With --nodes: the deployment's key prefix.")
    var keyPrefix = "kezek"
    @Flag(
        help: """
            With --nodes: something restarts a node that dies (systemd, make cluster), so             kill9 and sigterm faults are played too.
            """)
    var supervised = false
    @Flag(
        name: .customLong("allow-data-loss"),
        help: "With --nodes and --redis: redis-flushall is played too (it empties that Redis).")
    var allowDataLoss = false

    /// The ports of comma-separated loopback `HOST:PORT`s (only loopback is ever a target).
    static func loopbackPorts(_ list: String, what: String) throws -> [UInt16] {
        try list.split(separator: ",").map { address in
            let parts = address.split(separator: ":")
            guard parts.count == 2, let port = UInt16(parts[1]), port > 0,
                parts[0] == "localhost" || parts[0] == "127.0.0.1"
            else {
                throw badInput("\(what): '\(address)' is not 127.0.0.1:PORT (loopback only)")
            }
            return port
        }
    }

    /// A one-line error on standard error; exit status 2.
    static func badInput(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("kezek-bench nemesis: \(message)\n".utf8))
        return ExitCode(2)
    }

    func run() throws {
        let seed = self.seed ?? UInt64(Date().timeIntervalSince1970 * 1000) % 1_000_000_007
        let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0])
            .deletingLastPathComponent().path
        let directory =
            self.directory ?? NSTemporaryDirectory() + "kezek-nemesis-\(seed)-\(getpid())"
        guard let kind = NemesisTopologyKind(rawValue: topology) else {
            let known = NemesisTopologyKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw Self.badInput("topology '\(topology)' is unknown (\(known))")
        }
        let pointedPorts = try nodes.map { try Self.loopbackPorts($0, what: "--nodes") }
        let redisPort = try redis.map { try Self.loopbackPorts($0, what: "--redis") }
        if pointedPorts == nil && (redis != nil || supervised || allowDataLoss) {
            throw Self.badInput("--redis, --supervised and --allow-data-loss go with --nodes")
        }
        if redisPort.map({ $0.count != 1 }) == true {
            throw Self.badInput("--redis names one address")
        }
        if pointedPorts != nil && kind == .cluster {
            throw Self.badInput("--nodes drives a holder and its standbys, not a cluster")
        }
        let fits =
            pointedPorts == nil
            ? kind.faultClasses
            : FaultClass.pointed(
                supervised: supervised, redis: redis != nil, dataLoss: allowDataLoss)
        var classes = fits
        if let faults {
            classes = try faults.split(separator: ",").map { name in
                guard let fault = FaultClass(rawValue: String(name)) else {
                    throw Self.badInput("unknown fault '\(name)'")
                }
                guard fits.contains(fault) else {
                    throw Self.badInput(
                        "fault '\(name)' does not fit "
                            + (pointedPorts == nil
                                ? "the \(kind) topology" : "these --nodes and their options"))
                }
                return fault
            }
        }
        print(
            "nemesis: seed \(seed), "
                + (pointedPorts.map { "pointed at \($0.count) nodes (ids nem\(seed).*)" }
                    ?? "\(kind) topology") + ", \(Int(seconds)) s, \(clients) clients, "
                + "faults every \(faultGap) s on average"
                + (pointedPorts == nil ? "; data in \(directory)" : "")
        )
        if let plantedBug { print("nemesis: kezekd runs with the planted bug '\(plantedBug)'") }
        if kind == .cluster {
            return try runCluster(
                seed: seed, classes: classes, directory: directory, binDirectory: binDirectory)
        }
        let topology =
            try pointedPorts.map {
                try NemesisTopology(
                    pointedAt: $0, redisPort: redisPort?.first ?? 0, keyPrefix: keyPrefix,
                    directory: directory)
            }
            ?? NemesisTopology(
                kind: kind, directory: directory, kezekd: kezekd ?? binDirectory + "/kezekd",
                leaseTTL: leaseTTL, holderLimit: holderLimit, plantedBug: plantedBug)
        do { try topology.start() } catch {
            topology.stopAll()
            print("nemesis: cannot start the topology: \(error)")
            throw ExitCode(2)
        }
        defer { topology.stopAll() }
        let workload = NemesisWorkload(
            providers: providers, holders: holders, capacity: capacity,
            namespace: pointedPorts == nil ? "nem" : "nem\(seed)")
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
        // Not against a deployment of someone's (a round makes every BOOK there answer +ROUND).
        let roundPlay =
            rounds && pointedPorts == nil ? NemesisRounds(clients: clients, seed: seed) : nil
        if let roundPlay {
            done.enter()
            let admin = GatewayClient(
                id: NemesisRounds.adminClient, seed: seed,
                ports: topology.nodes.map(\.clientProxy.port),
                workload: workload, recorder: recorder, faults: ClientFaults(), recent: recent,
                timeout: timeout)
            Thread.detachNewThread {
                roundPlay.drive(admin: admin, until: deadline)
                done.leave()
            }
        }
        let gateways = (0..<clients).map { id in
            GatewayClient(
                id: id, seed: seed, ports: topology.nodes.map(\.clientProxy.port),
                workload: workload, recorder: recorder,
                faults: clientFaults, recent: recent, timeout: timeout, rounds: roundPlay)
        }
        ClientThreads.run(gateways, until: deadline, done: done) {
            nemesis.play(schedule, from: start)
        }
        nemesis.healAll()

        let final = try FinalState(topology: topology, workload: workload, recorder: recorder)
        let roundFinals = try roundPlay.map { try final.readRounds($0, recorder: recorder) } ?? [:]
        let replays = pointedPorts == nil || redisPort != nil
        if !replays { print("nemesis: no --redis given, so the audit log is not replayed") }
        let audit = replays ? final.replayAudit(kezekAudit ?? binDirectory + "/kezek-audit") : []
        let roundAnomalies =
            roundPlay.map {
                RoundHistoryChecker(
                    rounds: $0.all, operations: recorder.allRounds, finals: roundFinals
                ).check()
            } ?? []
        try judge(
            recorder.all, capacities: capacities, found: audit + roundAnomalies,
            rounds: roundPlay?.all.count ?? 0, roundOperations: recorder.allRounds,
            counts: nemesis.counts, classes: classes, seed: seed, directory: directory,
            stop: topology.stopAll)
    }
}
