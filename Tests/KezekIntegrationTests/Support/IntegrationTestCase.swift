import Foundation
import XCTest
import KezekTestSupport

/// Base class: each test gets a temp directory, starts its own redis-server and kezekd with
/// `startStack`, and everything is stopped at teardown. When a test fails, kezekd's stderr
/// (and the end of Redis's log) is printed.
class IntegrationTestCase: XCTestCase {
    private(set) var directory: URL!
    var redis: RedisServerProcess!
    var kezekd: KezekdProcess!

    override func setUpWithError() throws {
        try super.setUpWithError()
        signal(SIGPIPE, SIG_IGN)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kezek-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Second daemons on the same Redis and prefix (`second`), stopped at teardown.
    private(set) var others: [KezekdProcess] = []

    override func tearDown() {
        for other in others { other.terminate(grace: 2) }
        others = []
        kezekd?.terminate()
        // `hasSucceeded` is false until the run stops, so count failures instead.
        if (testRun?.totalFailureCount ?? 0) > 0 {
            if let kezekd {
                print(
                    "---- kezekd stderr (\(kezekd.stderrPath)) ----\n\(kezekd.stderrTail(lines: 150))\n---- end ----"
                )
            }
            if let redis {
                let tail = redis.log.split(separator: "\n").suffix(20).joined(separator: "\n")
                print("---- redis log ----\n\(tail)\n---- end ----")
            }
        }
        redis?.stop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
        kezekd = nil
        redis = nil
        super.tearDown()
    }

    /// Starts redis-server and kezekd (with `arguments` after the address flags) and waits
    /// until kezekd is healthy.
    func startStack(_ arguments: [String] = [], environment: [String: String] = [:]) throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        let prefix = arguments.firstIndex(of: "--key-prefix").map { arguments[$0 + 1] } ?? "kezek"
        try redis.markNewInstallation(prefix: prefix)
        kezekd = KezekdProcess(
            redisPort: redis.port, logDirectory: directory,
            extraArguments: arguments, environment: environment)
        try kezekd.start()
    }

    /// A second kezekd on the same Redis and prefix (on `port` when given, as in an
    /// overlapping deploy); not waited for: it may stand by.
    func second(port: Int? = nil, arguments: [String] = []) throws -> KezekdProcess {
        let logs = directory.appendingPathComponent("second-\(others.count)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let other = KezekdProcess(
            redisPort: redis.port, logDirectory: logs, extraArguments: arguments,
            port: port ?? freePort())
        others.append(other)
        try other.start(waitUntilHealthy: false)
        return other
    }

    /// Waits until `other` reports itself a standby (/readyz 503 and a `standby:` log line).
    func waitForStandby(_ other: KezekdProcess, file: StaticString = #filePath, line: UInt = #line)
    {
        let standby = poll(timeout: 10) { () -> Bool? in
            (try? adminGet(port: other.adminPort, path: "/readyz"))?.status == 503
                && (try? String(contentsOfFile: other.stderrPath, encoding: .utf8))?.contains(
                    "standby:") == true
                ? true : nil
        }
        XCTAssertEqual(
            standby, true, "the second daemon did not report itself a standby", file: file,
            line: line)
    }

    /// A new client connection to kezekd.
    func connect() throws -> LineClient {
        try LineClient(port: kezekd.port)
    }

    /// Sends `request` and asserts the reply line equals `expected`.
    func expect(
        _ client: LineClient, _ request: String, _ expected: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let reply = try client.request(request)
        XCTAssertEqual(reply, expected, "request: \(request)", file: file, line: line)
    }

    /// Sends `request` and asserts the reply line starts with `prefix`.
    func expect(
        _ client: LineClient, _ request: String, prefix: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let reply = try client.request(request)
        XCTAssertTrue(
            reply.hasPrefix(prefix),
            "request: \(request): expected a reply starting \(prefix), got \(reply)",
            file: file, line: line)
    }

    /// `SEATS provider` parsed into its fields.
    func seats(
        _ client: LineClient, _ provider: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> [String: Int] {
        let reply = try client.request("SEATS \(provider)")
        guard let fields = parseSeats(reply) else {
            XCTFail("SEATS \(provider) answered \(reply)", file: file, line: line)
            return [:]
        }
        return fields
    }
}
