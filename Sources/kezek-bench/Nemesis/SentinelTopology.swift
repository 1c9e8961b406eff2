// The Redis side of `kezek-bench nemesis --topology sentinel`: a primary and two replicas (AOF
// on) watched by three Sentinels (quorum 2), all on loopback under the run's directory. kezekd
// asks the Sentinels where the primary is, so no proxy sits between kezekd and Redis here; the
// nemesis reads the primary from the Sentinels whenever it needs it.
import Foundation
import KezekClientSupport
#if canImport(Glibc)
    import Glibc
#endif

final class SentinelGroup: @unchecked Sendable {
    let masterName = "kezek"
    let directory: String
    /// The Redis servers' ports; the first starts as the primary.
    let redisPorts: [UInt16]
    let sentinelPorts: [UInt16]
    /// Milliseconds without an answer before a Sentinel deems a server down.
    let downAfterMilliseconds: Int
    private let lock = NSLock()
    private var servers: [UInt16: ManagedProcess] = [:]
    private var sentinels: [ManagedProcess] = []

    init(directory: String, downAfterMilliseconds: Int = 2000) {
        self.directory = directory
        self.downAfterMilliseconds = downAfterMilliseconds
        redisPorts = (0..<3).map { _ in UInt16(freePort()) }
        sentinelPorts = (0..<3).map { _ in UInt16(freePort()) }
    }

    /// kezekd's options to follow the Sentinels (each batch on one replica before its replies).
    var kezekdArguments: [String] {
        [
            "--sentinel", sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ","),
            "--sentinel-master", masterName, "--redis-replicas", "1",
        ]
    }

    func start() throws {
        try startServer(redisPorts[0], replicaOf: nil)
        for port in redisPorts.dropFirst() { try startServer(port, replicaOf: redisPorts[0]) }
        for port in sentinelPorts {
            let folder = directory + "/sentinel-\(port)"
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true)
            // Failover-timeout also spaces two failovers of the same primary (twice it).
            let configuration = """
                port \(port)
                bind 127.0.0.1
                dir \(folder)
                sentinel monitor \(masterName) 127.0.0.1 \(redisPorts[0]) 2
                sentinel down-after-milliseconds \(masterName) \(downAfterMilliseconds)
                sentinel failover-timeout \(masterName) 2000
                sentinel parallel-syncs \(masterName) 2

                """
            try configuration.write(
                toFile: folder + "/sentinel.conf", atomically: true, encoding: .utf8)
            let sentinel = ManagedProcess(
                name: "sentinel-\(port)", executable: "/usr/bin/redis-server",
                arguments: [folder + "/sentinel.conf", "--sentinel"], environment: [:],
                logPath: folder + "/sentinel.log")
            try sentinel.start()
            lock.withLock { sentinels.append(sentinel) }
        }
        try waitHealthy(timeout: 30)
    }

    /// Starts (or restarts, from its AOF) the server on `port`, a replica of `replicaOf`.
    func startServer(_ port: UInt16, replicaOf primary: UInt16?) throws {
        let folder = directory + "/redis-\(port)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--dir", folder, "--appendonly", "yes",
            "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction",
            "--repl-diskless-sync-delay", "0",
        ]
        if let primary { arguments += ["--replicaof", "127.0.0.1", "\(primary)"] }
        let server = ManagedProcess(
            name: "redis-\(port)", executable: "/usr/bin/redis-server", arguments: arguments,
            environment: [:], logPath: folder + "/redis.log")
        try server.start()
        lock.withLock { servers[port] = server }
    }

    func server(_ port: UInt16) -> ManagedProcess? { lock.withLock { servers[port] } }

    /// The primary the Sentinels name now (the first that answers), nil if none does.
    func primaryPort() -> UInt16? {
        for port in sentinelPorts {
            if let primary = Self.primaryNamed(by: port, masterName) { return primary }
        }
        return nil
    }

    static func primaryNamed(by sentinel: UInt16, _ name: String) -> UInt16? {
        guard let socket = try? LineClient(port: Int(sentinel), timeout: 0.5),
            (try? socket.request("SENTINEL get-master-addr-by-name \(name)", timeout: 0.5))
                == "*2",
            (try? socket.readReply(timeout: 0.5)) != nil,
            let port = try? socket.readReply(timeout: 0.5)
        else { return nil }
        return UInt16(port.dropFirst())
    }

    /// `ROLE` of one server: "master", or "slave" with its primary's port and link state.
    static func role(_ port: UInt16) -> (role: String, primary: UInt16?, state: String)? {
        guard let socket = try? LineClient(port: Int(port), timeout: 0.5),
            let head = try? socket.request("ROLE", timeout: 0.5), head.hasPrefix("*"),
            let role = try? socket.readReply(timeout: 0.5)
        else { return nil }
        guard role == "$slave" else { return (String(role.dropFirst()), nil, "") }
        guard (try? socket.readReply(timeout: 0.5)) != nil,
            let primary = try? socket.readReply(timeout: 0.5),
            let state = try? socket.readReply(timeout: 0.5)
        else { return nil }
        return ("slave", UInt16(primary.dropFirst()), String(state.dropFirst()))
    }

    /// One command to the primary the Sentinels name (inline), its first reply line.
    func primaryCommand(_ line: String, timeout: Double = 2) throws -> String {
        guard let port = primaryPort() else { throw NemesisError("no primary named by Sentinel") }
        let socket = try LineClient(port: Int(port), timeout: timeout)
        return try socket.request(line, timeout: timeout)
    }

    /// Whole again: every Sentinel names the same primary, it says it is one, and the two other
    /// servers replicate it with their link up.
    var isHealthy: Bool {
        let named = sentinelPorts.map { Self.primaryNamed(by: $0, masterName) }
        guard let primary = named[0], named.allSatisfy({ $0 == primary }),
            Self.role(primary)?.role == "master"
        else { return false }
        return redisPorts.filter { $0 != primary }.allSatisfy { port in
            guard let role = Self.role(port) else { return false }
            return role.role == "slave" && role.primary == primary && role.state == "connected"
        }
    }

    func waitHealthy(timeout: Double) throws {
        let deadline = monotonicNow() + timeout
        while !isHealthy {
            guard monotonicNow() < deadline else {
                throw NemesisError("the Sentinel group is not whole after \(Int(timeout)) s")
            }
            usleep(100_000)
        }
    }

    /// Waits until the Sentinels name a primary other than `old`; nil after `timeout`.
    func waitPrimaryChange(from old: UInt16, timeout: Double) -> UInt16? {
        let deadline = monotonicNow() + timeout
        while monotonicNow() < deadline {
            if let now = primaryPort(), now != old { return now }
            usleep(50_000)
        }
        return nil
    }

    /// Every server and Sentinel running and not stopped (the end of the run).
    func healAll() {
        let stopped = lock.withLock { Array(servers.values) + sentinels }
        for process in stopped { process.signal(SIGCONT) }
        for port in redisPorts where server(port)?.isRunning != true {
            try? startServer(port, replicaOf: primaryPort())
        }
        try? waitHealthy(timeout: 30)
    }

    func stopAll() {
        let all = lock.withLock { sentinels + Array(servers.values) }
        for process in all { process.killNow() }
    }
}
