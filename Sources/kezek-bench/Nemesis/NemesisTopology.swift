// The topology the nemesis starts on loopback and breaks: one Redis (AOF on) and two kezekd
// nodes on the same Redis and key prefix (one holds the lease, the other waits as a warm
// standby), each kezekd reaching Redis through its own fault proxy, and the clients reaching
// each kezekd through another. With `--topology sentinel`, a Sentinel group (SentinelGroup)
// takes the single Redis's place, and kezekd reaches it without a proxy. A supervisor restarts a kezekd that died (as systemd would)
// unless the nemesis is holding it down.
import Foundation
import KezekClientSupport
#if canImport(Glibc)
    import Glibc
#endif

final class ManagedProcess: @unchecked Sendable {
    let name: String
    let executable: String
    let arguments: [String]
    let environment: [String: String]
    let logPath: String
    private let lock = NSLock()
    private var process: Process?
    /// While set, the supervisor leaves it down (a kill or stop the nemesis is playing out).
    var heldDown = false
    var stopped = false

    init(
        name: String, executable: String, arguments: [String], environment: [String: String],
        logPath: String
    ) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.logPath = logPath
        askPid = nil
    }

    /// A kezekd the tool did not start (`--nodes`): never started here, and its pid is asked
    /// of it (`askPid`) before a signal, since its own supervisor may have restarted it.
    init(adopting name: String, askPid: @escaping @Sendable () -> pid_t?) {
        self.name = name
        executable = ""
        arguments = []
        environment = [:]
        logPath = ""
        self.askPid = askPid
    }

    private let askPid: (@Sendable () -> pid_t?)?
    /// The adopted process's pid as last asked (a stopped process cannot answer).
    private var adoptedPid: pid_t?

    var isRunning: Bool {
        guard askPid != nil else { return lock.withLock { process?.isRunning ?? false } }
        return currentPid() != nil
    }

    /// The adopted process's pid while it lives: the one last asked, else asked again.
    private func currentPid() -> pid_t? {
        if let pid = lock.withLock({ adoptedPid }), kill(pid, 0) == 0 { return pid }
        let pid = askPid?()
        lock.withLock { adoptedPid = pid }
        return pid
    }

    func start() throws {
        guard askPid == nil else { return }
        try lock.withLock {
            if process?.isRunning == true { return }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment.filter {
                !$0.key.hasPrefix("KEZEK_")
            }
            environment.merge(self.environment) { $1 }
            process.environment = environment
            process.standardInput = FileHandle.nullDevice
            if !FileManager.default.fileExists(atPath: logPath) {
                FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            log.seekToEndOfFile()
            process.standardError = log
            process.standardOutput = log
            try process.run()
            self.process = process
        }
    }

    func signal(_ number: Int32) {
        if askPid != nil {
            if let pid = currentPid() { kill(pid, number) }
        } else {
            lock.withLock {
                guard let process, process.isRunning else { return }
                kill(process.processIdentifier, number)
            }
        }
        if number == SIGSTOP { stopped = true }
        if number == SIGCONT { stopped = false }
    }

    /// SIGKILL and wait until it is gone.
    func killNow() {
        signal(SIGCONT)
        signal(SIGKILL)
        waitGone(timeout: 10)
    }

    func waitGone(timeout: Double) {
        let deadline = monotonicNow() + timeout
        while isRunning && monotonicNow() < deadline { usleep(10_000) }
    }
}

final class KezekNode: HealthProbed, @unchecked Sendable {
    let name: String
    let port: UInt16
    /// Its public HTTP listener (the rounds' draw.csv).
    let publicPort: UInt16
    let process: ManagedProcess
    /// Clients reach this node through it.
    let clientProxy: FaultProxy
    /// This node reaches Redis through it (none under Sentinel).
    let redisProxy: FaultProxy?

    init(
        name: String, port: UInt16, publicPort: UInt16, process: ManagedProcess,
        clientProxy: FaultProxy, redisProxy: FaultProxy?
    ) {
        self.name = name
        self.port = port
        self.publicPort = publicPort
        self.process = process
        self.clientProxy = clientProxy
        self.redisProxy = redisProxy
    }

}

final class NemesisTopology: @unchecked Sendable {
    let directory: String
    /// The single Redis's port (`single`); under Sentinel, the first primary's.
    let redisPort: UInt16
    /// The single Redis; nil under Sentinel.
    let redis: ManagedProcess?
    let sentinel: SentinelGroup?
    let nodes: [KezekNode]
    let keyPrefix: String
    /// Nodes the tool did not start (`--nodes`): nothing is started, restarted or killed at
    /// the end; their own supervisor restarts a node a fault killed.
    let pointed: Bool
    private var supervising = true

    /// A deployment already running (`--nodes`), on loopback: the clients reach each node
    /// through a fault proxy of the tool's; Redis (`redisPort`, 0 when not given) is reached
    /// straight for its faults and the audit log's replay.
    init(pointedAt ports: [UInt16], redisPort: UInt16, keyPrefix: String, directory: String)
        throws
    {
        self.directory = directory
        self.redisPort = redisPort
        self.keyPrefix = keyPrefix
        pointed = true
        redis = nil
        sentinel = nil
        nodes = try ports.enumerated().map { index, port in
            KezekNode(
                name: "n\(index + 1)", port: port, publicPort: 0,
                process: ManagedProcess(adopting: "kezekd-n\(index + 1)") {
                    Self.processID(port: port)
                },
                clientProxy: try FaultProxy(upstream: port), redisProxy: nil)
        }
    }

    /// The pid a kezekd reports (`INFO server`, `process_id`), nil when it does not answer.
    static func processID(port: UInt16) -> pid_t? {
        guard let socket = try? LineClient(port: Int(port), timeout: 0.5),
            (try? socket.send("INFO server\r\n", timeout: 0.5)) != nil,
            let header = try? socket.readLine(timeout: 0.5), header.hasPrefix("$")
        else { return nil }
        for _ in 0..<64 {
            guard let line = try? socket.readLine(timeout: 0.5) else { return nil }
            if line.hasPrefix("process_id:") { return pid_t(line.dropFirst(11)) }
        }
        return nil
    }

    init(
        kind: NemesisTopologyKind = .single, directory: String, kezekd: String, leaseTTL: Double,
        holderLimit: Int, plantedBug: String?
    ) throws {
        self.directory = directory
        keyPrefix = "nemesis"
        pointed = false
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
        sentinel = kind == .sentinel ? SentinelGroup(directory: directory) : nil
        redisPort = sentinel?.redisPorts[0] ?? UInt16(freePort())
        redis =
            sentinel != nil
            ? nil
            : ManagedProcess(
                name: "redis", executable: "/usr/bin/redis-server",
                arguments: [
                    "--port", "\(redisPort)", "--bind", "127.0.0.1", "--dir", directory,
                    "--appendonly",
                    "yes",
                    "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction",
                ],
                environment: [:], logPath: directory + "/redis.log")
        var environment: [String: String] = [:]
        if let plantedBug {
            environment["KEZEK_PLANTED_BUG"] = plantedBug
            environment["KEZEK_PLANTED_BUG_CONSENT"] = "this-daemon-breaks-its-contract"
        }
        var nodes: [KezekNode] = []
        for name in ["a", "b"] {
            let port = UInt16(freePort())
            let publicPort = UInt16(freePort())
            let redisProxy = sentinel == nil ? try FaultProxy(upstream: redisPort) : nil
            let reachRedis =
                sentinel?.kezekdArguments ?? ["--redis", "127.0.0.1:\(redisProxy?.port ?? 0)"]
            let arguments =
                ["--listen", "127.0.0.1:\(port)"] + reachRedis + [
                    "--admin-listen", "127.0.0.1:\(UInt16(freePort()))", "--public-listen",
                    "127.0.0.1:\(publicPort)",
                    "--threads", "2", "--lease-ttl", "\(leaseTTL)", "--holder-limit",
                    "\(holderLimit)",
                    "--key-prefix", keyPrefix,
                ]
            let process = ManagedProcess(
                name: "kezekd-\(name)", executable: kezekd, arguments: arguments,
                environment: environment, logPath: directory + "/kezekd-\(name).log")
            nodes.append(
                KezekNode(
                    name: name, port: port, publicPort: publicPort, process: process,
                    clientProxy: try FaultProxy(upstream: port), redisProxy: redisProxy))
        }
        self.nodes = nodes
    }

    /// Redis's `maxmemory` when the run began, which its fault puts back.
    private(set) var maxMemoryBefore = "0"

    func start() throws {
        if pointed {
            try waitFor("a primary among the nodes", timeout: 30) { self.primary() != nil }
            if redisPort != 0 {
                guard let value = configValue("maxmemory") else {
                    throw NemesisError("Redis at 127.0.0.1:\(redisPort) does not answer CONFIG GET")
                }
                maxMemoryBefore = value
            }
            return
        }
        if let sentinel { try sentinel.start() }
        try redis?.start()
        try waitFor("Redis", timeout: 10) { (try? self.redisCommand("PING")) == "+PONG" }
        for node in nodes { try node.process.start() }
        try waitFor("a primary kezekd", timeout: 30) { self.primary() != nil }
        Thread.detachNewThread { [self] in supervise() }
    }

    /// The node serving as primary now, if any.
    func primary() -> KezekNode? { nodes.first { $0.isServingPrimary } }

    /// The node that holds the lease now (serving or not), if any answers so.
    func leaseHolder() -> KezekNode? { nodes.first { !$0.process.stopped && $0.claimsPrimary } }

    /// Restarts every kezekd that died, unless held down.
    private func supervise() {
        while lock.withLock({ supervising }) {
            for node in nodes where !node.process.heldDown && !node.process.isRunning {
                try? node.process.start()
            }
            usleep(200_000)
        }
    }

    private let lock = NSLock()
    func stopSupervising() { lock.withLock { supervising = false } }

    /// The Redis primary's port now (read from the Sentinels under Sentinel).
    func redisPrimaryPort() -> UInt16 { sentinel.map { $0.primaryPort() ?? 0 } ?? redisPort }

    /// `CONFIG GET <name>` of the Redis primary: the value, nil when it does not answer.
    func configValue(_ name: String) -> String? {
        guard let socket = try? LineClient(port: Int(redisPrimaryPort()), timeout: 2),
            (try? socket.send("CONFIG GET \(name)\r\n", timeout: 2)) != nil,
            (try? socket.readLine(timeout: 2)) == "*2", (try? socket.readReply(timeout: 2)) != nil,
            let value = try? socket.readReply(timeout: 2), value.hasPrefix("$")
        else { return nil }
        return String(value.dropFirst())
    }

    /// One command straight to Redis (its primary, inline), its first reply line.
    func redisCommand(_ line: String, timeout: Double = 2) throws -> String {
        let socket = try LineClient(port: Int(redisPrimaryPort()), timeout: timeout)
        return try socket.request(line, timeout: timeout)
    }

    func stopAll() {
        stopSupervising()
        if pointed { return }
        for node in nodes { node.process.killNow() }
        redis?.killNow()
        sentinel?.stopAll()
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
