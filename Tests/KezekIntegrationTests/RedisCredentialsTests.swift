import Foundation
import XCTest
import KezekTestSupport

/// Credentials Redis refuses (docs/PROTOCOL.md, "Redis credentials"): at start a bad setting
/// (one line, exit status 2); under a running daemon (a password rotated) writes fail closed,
/// the connections retry with backoff and log once per step, and serve again once let in.
final class RedisCredentialsTests: IntegrationTestCase {
    private func startPasswordRedis() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        redis.extraArguments = ["--requirepass", "s3cret"]
        redis.password = "s3cret"
        try redis.start()
        try redis.markNewInstallation()
        _ = try redis.cli(["ACL", "SETUSER", "kezek", "on", ">userpw", "~*", "&*", "+@all"])
    }

    /// Lines of kezekd's standard error that report refused credentials.
    private func refusalLines() -> [Substring] {
        let text = (try? String(contentsOfFile: kezekd.stderrPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains("refused the credentials") }
    }

    func testRefusedCredentialsStopTheDaemonAtStartWithOneLine() throws {
        try startPasswordRedis()
        for credentials in [
            ["--redis-password", "wrong"], ["--redis-user", "kezek", "--redis-password", "s3cret"],
            ["--redis-user", "nobody", "--redis-password", "userpw"],
        ] {
            kezekd = KezekdProcess(
                redisPort: redis.port, logDirectory: directory, extraArguments: credentials)
            try? FileManager.default.removeItem(atPath: kezekd.stderrPath)
            let started = Date()
            try kezekd.start(waitUntilHealthy: false)
            let exited = kezekd.process!.waitForExit(timeout: 10)
            if !exited { kezekd.terminate() }
            XCTAssertTrue(
                exited, "\(credentials): kezekd kept running with credentials Redis refuses")
            XCTAssertEqual(kezekd.process!.exitStatus, 2, "\(credentials)")
            XCTAssertLessThan(
                Date().timeIntervalSince(started), 5, "\(credentials): not stopped at once")
            let lines = refusalLines()
            XCTAssertEqual(lines.count, 1, "\(credentials): \(lines)")
            XCTAssertTrue(
                lines.first?.hasPrefix(
                    "kezekd: redis refused the credentials: check redis-password") == true,
                "\(lines)")
            XCTAssertTrue(
                lines.first?.contains("WRONGPASS") == true, "Redis's own error is named: \(lines)")
        }
    }

    func testPasswordRotatedUnderARunningDaemonFailsClosedRetriesAndRecovers() throws {
        try startPasswordRedis()
        kezekd = KezekdProcess(
            redisPort: redis.port, logDirectory: directory,
            extraArguments: [
                "--redis-password", "s3cret", "--redis-auth-retry-max", "2", "--write-timeout",
                "0.5",
            ])
        try kezekd.start()
        let client = try connect()
        try expect(client, "PROVIDER gym 10", "+OK")
        try expect(client, "BOOK gym before", "+BOOKED 9")

        // The password changes in Redis, and every connection has to log in again.
        _ = try redis.cli(["CONFIG", "SET", "requirepass", "rotated"])
        redis.password = "rotated"
        _ = try redis.cli(["CLIENT", "KILL", "TYPE", "normal"])
        let refusedAt = Date()
        let failedClosed = poll(timeout: 5, interval: 0.1) { () -> Bool? in
            (try? client.request("BOOK gym during"))?.hasPrefix("-UNAVAILABLE") == true ? true : nil
        }
        XCTAssertEqual(
            failedClosed, true, "BOOK was not refused while Redis refused the credentials")
        try expect(client, "HEALTH", prefix: "-DOWN")
        Thread.sleep(forTimeInterval: max(0, 8 - Date().timeIntervalSince(refusedAt)))
        // Steps of 1, 2, 2, 2 s: refusals logged at about 0, 1, 3, 5 and 7 s, whatever the
        // number of connections retrying (two loops and the lease keeper).
        let logged = refusalLines().count
        XCTAssertGreaterThanOrEqual(logged, 3, "the refusal is logged")
        XCTAssertLessThanOrEqual(
            logged, 6,
            "more than one line per backoff step: \(refusalLines().joined(separator: "\n"))")
        XCTAssertTrue(kezekd.isRunning, "a rotated password must not stop a running daemon")

        // The password comes back: served again within a step, nothing acknowledged lost.
        _ = try redis.cli(["CONFIG", "SET", "requirepass", "s3cret"])
        redis.password = "s3cret"
        let served = poll(timeout: 6, interval: 0.1) { () -> Bool? in
            (try? client.request("BOOK gym after"))?.hasPrefix("+BOOKED") == true ? true : nil
        }
        XCTAssertEqual(served, true, "not serving again once Redis took the credentials")
        try expect(client, "STATUS gym before", "+BOOKED")
        XCTAssertTrue(kezekd.stderrTail().contains("redis takes the credentials again"))
    }
}
