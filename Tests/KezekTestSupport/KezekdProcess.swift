import Foundation
import KezekClientSupport

/// A real `kezekd` process on fixed loopback ports. `restart` reuses the same ports, so
/// clients reconnect to the same address after a crash.
/// Unchecked Sendable: configured before it starts; afterwards a worker thread only sends
/// it signals, which Process allows from any thread.
public final class KezekdProcess: @unchecked Sendable {
    /// `KEZEKD_BIN`, else `kezekd` next to the test bundle's executable.
    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["KEZEKD_BIN"], !path.isEmpty {
            return path
        }
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On macOS the executable sits in Foo.xctest/Contents/MacOS.
        if directory.path.hasSuffix(".xctest/Contents/MacOS") {
            directory = directory.deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
        }
        return directory.appendingPathComponent("kezekd").path
    }

    public let port: Int
    public let adminPort: Int
    public let publicPort: Int
    public var redisPort: Int
    /// Flags added after the address flags.
    public var extraArguments: [String]
    /// Extra environment variables (on top of this process's, minus any `KEZEK_`).
    public var environment: [String: String]
    /// When false, no `--listen` flag is given (configuration tests set it another way).
    public var passListenFlag = true
    public let stderrPath: String
    public let stdoutPath: String
    public private(set) var process: Process?

    public init(
        redisPort: Int, logDirectory: URL, extraArguments: [String] = [],
        environment: [String: String] = [:],
        port: Int = freePort(), adminPort: Int = freePort(), publicPort: Int = freePort()
    ) {
        self.port = port
        self.adminPort = adminPort
        self.publicPort = publicPort
        self.redisPort = redisPort
        self.extraArguments = extraArguments
        self.environment = environment
        stderrPath = logDirectory.appendingPathComponent("kezekd.stderr").path
        stdoutPath = logDirectory.appendingPathComponent("kezekd.stdout").path
    }

    public var arguments: [String] {
        (passListenFlag ? ["--listen", "127.0.0.1:\(port)"] : [])
            + [
                "--redis", "127.0.0.1:\(redisPort)", "--admin-listen", "127.0.0.1:\(adminPort)",
                "--public-listen", "127.0.0.1:\(publicPort)", "--threads", "2",
            ]
            + extraArguments
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    /// Starts it and waits until `HEALTH` answers `+OK` (at most `timeout` seconds).
    public func start(waitUntilHealthy: Bool = true, timeout: Double = 10) throws {
        let path = Self.binaryPath
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSetupError("no kezekd at \(path): build it or set KEZEKD_BIN")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = cleanEnvironment(adding: environment)
        process.standardInput = FileHandle.nullDevice
        let err = appendingHandle(stderrPath)
        let out = appendingHandle(stdoutPath)
        err.write("==== kezekd \(arguments.joined(separator: " ")) ====\n".data(using: .utf8)!)
        process.standardError = err
        process.standardOutput = out
        try process.run()
        self.process = process
        if waitUntilHealthy { try waitHealthy(timeout: timeout) }
    }

    /// Polls `HEALTH` until it answers a line starting `+OK`.
    public func waitHealthy(timeout: Double = 10) throws {
        let port = self.port
        let healthy = poll(timeout: timeout, interval: 0.05) { () -> Bool? in
            if let process = self.process, !process.isRunning { return false }
            guard let client = try? LineClient(port: port, timeout: 1),
                let reply = try? client.request("HEALTH", timeout: 2)
            else { return nil }
            return reply.hasPrefix("+OK") ? true : nil
        }
        guard healthy == true else {
            throw TestSetupError(
                "kezekd on port \(port) not healthy within \(timeout) s (running: \(isRunning)); stderr:\n\(stderrTail())"
            )
        }
    }

    /// SIGSTOP: alive but answering nothing, as a machine that stopped answering.
    public func pause() { process?.send(signal: SIGSTOP) }

    /// SIGCONT after `pause`.
    public func resume() { process?.send(signal: SIGCONT) }

    /// SIGKILL, as in a crash; waits until it is gone.
    public func kill9() {
        guard let process else { return }
        process.send(signal: SIGKILL)
        process.waitForExit(timeout: 10)
    }

    /// SIGTERM; SIGKILL after `grace` seconds. Returns the exit status (nil: killed by signal).
    @discardableResult
    public func terminate(grace: Double = 5) -> Int32? {
        guard let process else { return nil }
        process.stop(grace: grace)
        return process.exitStatus
    }

    /// Sends SIGTERM without waiting.
    public func sendTerm() { process?.send(signal: SIGTERM) }

    /// Stops it if running (SIGTERM), then starts it again on the same ports.
    public func restart(timeout: Double = 10) throws {
        terminate()
        try start(timeout: timeout)
    }

    /// The last `lines` lines of its standard error.
    public func stderrTail(lines: Int = 80) -> String {
        let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(
            separator: "\n")
    }
}
