import Foundation
import KezekTestSupport

/// Debian's prometheus-redis-exporter scraping a kezekd, as operators run it: started with the
/// address, credentials and TLS flags a test gives, serving its own /metrics on a free port,
/// its log kept in the test's directory.
final class RedisExporter {
    static let path = "/usr/bin/prometheus-redis-exporter"
    let port = freePort()
    private let process = Process()
    private let logPath: String

    /// Starts it with `arguments` (its -redis.* and -tls-* flags).
    init(directory: URL, arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.path) else {
            throw TestSetupError(
                "no \(Self.path): install prometheus-redis-exporter (scripts/ensure-deps.sh does)")
        }
        logPath = directory.appendingPathComponent("exporter.stderr").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.path)
        process.arguments = arguments + ["-web.listen-address", "127.0.0.1:\(port)"]
        process.environment = cleanEnvironment()
        process.standardOutput = FileHandle(forWritingAtPath: logPath)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
    }

    deinit { process.stop() }

    /// The first page it serves within `timeout` seconds (nil: none).
    func firstScrape(timeout: Double = 10) -> String? {
        poll(timeout: timeout, interval: 0.1) { () -> String? in
            guard let page = try? adminGet(port: self.port, path: "/metrics"), page.status == 200
            else { return nil }
            return page.body
        }
    }

    /// One more scrape.
    func scrape() throws -> String { try adminGet(port: port, path: "/metrics").body }

    /// Stops it; returns its log and the lines of it that are not `level=info`.
    func stop() -> (log: String, complaints: [Substring]) {
        process.stop()
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return (log, log.split(separator: "\n").filter { !$0.contains("level=info") })
    }
}
