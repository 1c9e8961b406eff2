import Foundation
import KezekClientSupport

/// A real `redis-server` on a free loopback port with its own data directory, append-only
/// file fsynced on every write and no RDB snapshots. Restarts reuse the port and directory,
/// so data written before a SIGKILL is loaded again.
public final class RedisServerProcess {
    public static let serverPath = "/usr/bin/redis-server"
    public static let cliPath = "/usr/bin/redis-cli"

    public let port: Int
    public let directory: URL
    /// Flags added to every start (e.g. `--requirepass`).
    public var extraArguments: [String] = []
    /// The password `cli` and the readiness probe use, when the server requires one.
    public var password: String?
    private var process: Process?

    public init(directory: URL, port: Int = freePort()) throws {
        self.port = port
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    public var isRunning: Bool { process?.isRunning ?? false }
    /// The server's process id while it runs.
    public var processIdentifier: Int32? { process?.processIdentifier }
    public var logPath: String { directory.appendingPathComponent("redis.log").path }

    /// Starts it and waits (at most `timeout` seconds) until it answers commands.
    public func start(timeout: Double = 10) throws {
        let process = try Self.launch(
            [
                "--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory.path,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--daemonize", "no", "--protected-mode", "no", "--logfile", logPath,
            ] + extraArguments, logPath: logPath)
        self.process = process
        // EXISTS is refused while the append-only file is still loading: ":0" means ready (so
        // does -CLUSTERDOWN from a cluster node that owns no slots yet).
        let ready = poll(timeout: timeout) { () -> Bool? in
            if !process.isRunning { return false }
            guard let client = try? LineClient(port: port, timeout: 1),
                (self.password.map { (try? client.request("AUTH \($0)", timeout: 1)) == "+OK" }
                    ?? true),
                let reply = try? client.request("EXISTS kezek-test-probe", timeout: 1)
            else { return nil }
            return reply.hasPrefix(":") || reply.hasPrefix("-CLUSTERDOWN")
                || reply.hasPrefix("-MOVED") ? true : nil
        }
        guard ready == true else {
            throw TestSetupError("redis-server on port \(port) did not become ready; log:\n\(log)")
        }
    }

    /// Runs redis-server in the foreground with `arguments`, its stderr appended to `logPath`
    /// (a Sentinel too: `CONFIG --sentinel`).
    public static func launch(_ arguments: [String], logPath: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: serverPath)
        process.arguments = arguments
        process.environment = cleanEnvironment()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = appendingHandle(logPath)
        try process.run()
        return process
    }

    /// SIGKILL: the server dies at once, as in a crash.
    public func kill9() {
        guard let process else { return }
        process.send(signal: SIGKILL)
        process.waitForExit(timeout: 10)
    }

    /// SIGSTOP: the server keeps its connections but answers nothing, as a stalled Redis.
    public func pause() { process?.send(signal: SIGSTOP) }

    /// SIGCONT after `pause()`.
    public func resume() { process?.send(signal: SIGCONT) }

    /// SIGTERM, then SIGKILL after 5 s.
    public func stop() {
        process?.stop(grace: 5)
    }

    /// SIGKILL, then its data is deleted: it comes back empty, as a Redis restarted without
    /// persistence.
    public func restartEmpty(timeout: Double = 10) throws {
        kill9()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where name != "redis.log" {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        try start(timeout: timeout)
    }

    /// Starts it again on the same port with the same data directory.
    public func restart(timeout: Double = 10) throws {
        stop()
        try start(timeout: timeout)
    }

    /// Marks this Redis as a new Kezek installation (the lease epoch key, as
    /// README's "Durability" tells an installer), so the first kezekd takes it at once instead of
    /// waiting a lease-ttl in case a live holder is writing back lost data.
    public func markNewInstallation(prefix: String = "kezek") throws {
        _ = try cli(["SET", "\(prefix):{lease}:epoch", "0", "NX"])
    }

    /// Runs `redis-cli` against this server (its input read from the file `stdin`, as
    /// `--pipe` wants); returns its standard output.
    public func cli(_ arguments: [String], stdin: String? = nil, timeout: Double = 20) throws
        -> String
    {
        let result = try runProgram(
            Self.cliPath,
            ["-h", "127.0.0.1", "-p", "\(port)", "--no-auth-warning"]
                + (password.map { ["-a", $0] } ?? []) + arguments, stdin: stdin, timeout: timeout)
        guard result.status == 0 else {
            throw TestSetupError(
                "redis-cli \(arguments) ended with \(String(describing: result.status)): \(result.stderr)"
            )
        }
        return result.stdout
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// A test environment problem (a process would not start), as opposed to a failed check.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
