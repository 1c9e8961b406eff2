import Foundation
import KezekTestSupport

/// A real Redis Sentinel (`redis-server CONFIG --sentinel`) on a free loopback port,
/// monitoring one primary under `name` with quorum 1 and short timeouts, so a test sees a
/// failover within a few seconds of killing the primary.
final class RedisSentinelProcess {
    let port: Int
    let directory: URL
    let name: String
    private var process: Process?

    init(
        directory: URL, name: String, primaryPort: Int, downAfterMillis: Int = 1000,
        port: Int = freePort()
    ) throws {
        self.port = port
        self.directory = directory
        self.name = name
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Sentinel rewrites its configuration file as it learns: it must be a file of its own.
        let configuration = """
            port \(port)
            bind 127.0.0.1
            protected-mode no
            dir \(directory.path)
            logfile \(logPath)
            sentinel monitor \(name) 127.0.0.1 \(primaryPort) 1
            sentinel down-after-milliseconds \(name) \(downAfterMillis)
            sentinel failover-timeout \(name) 10000
            sentinel parallel-syncs \(name) 2

            """
        try configuration.write(to: configurationURL, atomically: true, encoding: .utf8)
    }

    private var configurationURL: URL { directory.appendingPathComponent("sentinel.conf") }
    var logPath: String { directory.appendingPathComponent("sentinel.log").path }

    func start(timeout: Double = 10) throws {
        let process = try RedisServerProcess.launch(
            [configurationURL.path, "--sentinel"], logPath: logPath)
        self.process = process
        let ready = poll(timeout: timeout) { () -> Bool? in
            if !process.isRunning { return false }
            return (try? self.cli(["PING"], timeout: 2))?.hasPrefix("PONG") == true ? true : nil
        }
        guard ready == true else {
            throw TestSetupError("redis sentinel on port \(port) did not start; log:\n\(log)")
        }
    }

    func stop() { process?.stop(grace: 5) }

    /// The primary's port as this Sentinel gives it now.
    func primaryPort() throws -> Int? {
        let lines = try cli(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]).split(separator: "\n")
        return lines.count == 2 ? Int(lines[1].trimmingCharacters(in: .whitespaces)) : nil
    }

    /// Replicas this Sentinel knows of the primary.
    func replicaCount() throws -> Int {
        try cli(["SENTINEL", "REPLICAS", name]).split(separator: "\n").filter { $0 == "name" }.count
    }

    func cli(_ arguments: [String], timeout: Double = 10) throws -> String {
        let result = try runProgram(
            RedisServerProcess.cliPath, ["-h", "127.0.0.1", "-p", "\(port)"] + arguments,
            timeout: timeout)
        guard result.status == 0 else {
            throw TestSetupError("redis-cli \(arguments) against the sentinel: \(result.stderr)")
        }
        return result.stdout
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
