import Foundation
import XCTest
import KezekTestSupport

/// The operations surface: admin probes and metrics, readiness following Redis, and -LOADING
/// while the state is not loaded yet.
final class OperationsTests: IntegrationTestCase {
    func testProbesAndMetricsCountWhatHappened() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER gym 1", "+OK")
        try expect(client, "BOOK gym a", "+BOOKED 0")
        try expect(client, "BOOK gym b", "+FULL gym")
        try expect(client, "CANCEL gym a", "+CANCELLED 1")

        XCTAssertEqual(try adminGet(port: kezekd.adminPort, path: "/healthz").status, 200)
        XCTAssertEqual(try adminGet(port: kezekd.adminPort, path: "/readyz").status, 200)
        XCTAssertEqual(try adminGet(port: kezekd.adminPort, path: "/nope").status, 404)
        let metrics = try adminGet(port: kezekd.adminPort, path: "/metrics")
        XCTAssertEqual(metrics.status, 200)
        let lines = Set(metrics.body.split(separator: "\n").map(String.init))
        for expected in [
            "kezek_bookings_total 1", "kezek_cancellations_total 1", "kezek_refused_total 1",
            "kezek_requests_total{command=\"book\",reply=\"booked\"} 1",
            "kezek_requests_total{command=\"book\",reply=\"full\"} 1",
            "kezek_requests_total{command=\"provider\",reply=\"ok\"} 1",
            "kezek_mirror_up 1", "kezek_ready 1", "kezek_open_connections 1",
        ] {
            XCTAssertTrue(lines.contains(expected), "metrics lack '\(expected)':\n\(metrics.body)")
        }
        XCTAssertTrue(
            lines.contains { $0.hasPrefix("kezek_request_duration_seconds_count ") }, metrics.body)
        XCTAssertTrue(
            lines.contains("# TYPE kezek_request_duration_seconds histogram"), metrics.body)
    }

    func testReadinessFollowsRedisWhileLivenessStays() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER gym 5", "+OK")
        try expect(client, "BOOK gym a", "+BOOKED 4")

        redis.kill9()
        let notReady = poll(timeout: 5) { () -> Bool? in
            (try? adminGet(port: kezekd.adminPort, path: "/readyz").status) == 503 ? true : nil
        }
        XCTAssertEqual(notReady, true, "/readyz did not turn 503 within 5 s of Redis dying")
        XCTAssertEqual(try adminGet(port: kezekd.adminPort, path: "/healthz").status, 200)
        try expect(client, "HEALTH", prefix: "-DOWN mirror=down")
        try expect(client, "BOOK gym b", prefix: "-UNAVAILABLE")
        try expect(client, "STATUS gym a", "+BOOKED")
        try expect(client, "SEATS gym", "+SEATS capacity=5 booked=1 free=4 waiting=0 refused=0")

        try redis.start()
        let ready = poll(timeout: 10) { () -> Bool? in
            (try? adminGet(port: kezekd.adminPort, path: "/readyz").status) == 200 ? true : nil
        }
        XCTAssertEqual(ready, true, "/readyz did not return to 200 after Redis came back")
        try expect(client, "BOOK gym b", "+BOOKED 3")
    }

    func testDataCommandsAnswerLoadingUntilRedisAnswers() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        kezekd = KezekdProcess(redisPort: redis.port, logDirectory: directory)
        try kezekd.start(waitUntilHealthy: false)
        let client = try XCTUnwrap(
            poll(timeout: 10) { try? LineClient(port: kezekd.port, timeout: 1) })
        try expect(client, "PING", "+PONG")
        try expect(client, "HEALTH", prefix: "-DOWN ")
        for request in [
            "BOOK gym a", "CANCEL gym a", "STATUS gym a", "SEATS gym", "PROVIDER gym 3",
        ] {
            try expect(client, request, prefix: "-LOADING")
        }
        XCTAssertEqual(try adminGet(port: kezekd.adminPort, path: "/readyz").status, 503)
        XCTAssertEqual(try adminGet(port: kezekd.adminPort, path: "/healthz").status, 200)

        try redis.start()
        try kezekd.waitHealthy(timeout: 15)
        try expect(client, "PROVIDER gym 3", "+OK")
        try expect(client, "BOOK gym a", "+BOOKED 2")
    }
}

/// Unmet demand is part of the record: it survives a restart.
final class RefusedCountTests: IntegrationTestCase {
    func testRefusedCountSurvivesRestart() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER tiny 1", "+OK")
        try expect(client, "BOOK tiny a", "+BOOKED 0")
        for holder in ["b", "c", "d"] { try expect(client, "BOOK tiny \(holder)", "+FULL tiny") }
        // The owner thread mirrors refused counts every 100 ms.
        let mirrored = poll(timeout: 5) { () -> Bool? in
            (try? redis.cli(["GET", "kezek:{tiny}:refused"]))?.trimmingCharacters(
                in: .whitespacesAndNewlines) == "3" ? true : nil
        }
        XCTAssertEqual(mirrored, true, "refused count never reached Redis")
        kezekd.kill9()
        try kezekd.start()
        let again = try connect()
        try expect(again, "SEATS tiny", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=3")
        try expect(again, "BOOK tiny e", "+FULL tiny")
        try expect(again, "SEATS tiny", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=4")
    }
}

/// Hostile clients on the admin port (issue 8, findings 1 and 2): nothing they send takes the
/// daemon down or starves the booking port.
final class AdminHostileInputTests: IntegrationTestCase {
    /// A head over the limit got 431 and then crashed the daemon (a second reply reused the
    /// write request of the first). Now the HTTP library refuses it with 400 and closes.
    func testOversizedHeadsAreRefusedAndTheDaemonLives() throws {
        try startStack()
        let heads =
            [8193, 13_000, 65_536, 300_000].map {
                "GET /healthz HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: $0) + "\r\n\r\n"
            }
            + ["GET /healthz HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: 3000) + "\r\n"]
        for head in heads {
            let client = try LineClient(port: kezekd.adminPort)
            try client.send(head, timeout: 10)
            let (lines, _) = client.readUntilClosed(timeout: 5)
            XCTAssertEqual(
                lines.first, "HTTP/1.1 400 Bad Request", "head of \(head.utf8.count) bytes")
            client.close()
        }
        XCTAssertTrue(kezekd.isRunning, "kezekd died")
        XCTAssertEqual(try adminGet(port: kezekd.adminPort, path: "/healthz").status, 200)
        let client = try connect()
        try expect(client, "PING", "+PONG")
    }

    /// A head with bare LF line ends was never answered; HTTP/1.1 parsing refuses it at once.
    func testBareLineFeedRequestIsAnswered() throws {
        try startStack()
        let client = try LineClient(port: kezekd.adminPort)
        try client.send("GET /healthz HTTP/1.0\n\n")
        XCTAssertEqual(client.readUntilClosed(timeout: 5).lines.first, "HTTP/1.1 400 Bad Request")
    }

    /// Idle admin connections are bounded and time out; the booking port keeps working.
    func testAdminConnectionsAreBoundedAndTimeOut() throws {
        try startStack(["--admin-max-connections", "8", "--admin-request-timeout", "1"])
        let pid = try XCTUnwrap(kezekd.process?.processIdentifier)
        let descriptorsBefore = openDescriptors(pid)
        var idle: [LineClient] = []
        for _ in 0..<40 { idle.append(try LineClient(port: kezekd.adminPort)) }
        // Half-sent requests: the head never ends.
        for client in idle.prefix(4) { try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n") }
        let client = try connect()
        try expect(client, "PING", "+PONG")
        // Beyond the limit each new connection closes the least recently active one, so
        // kezekd holds at most the limit (and the one being admitted); each is closed a
        // second after it opened.
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertLessThanOrEqual(
            openDescriptors(pid), descriptorsBefore + 8 + 3,
            "admin connections beyond the limit hold descriptors")
        let closed = poll(timeout: 12) { () -> Bool? in
            idle.allSatisfy { $0.isClosedByPeer(timeout: 0.05) } ? true : nil
        }
        XCTAssertEqual(
            closed, true, "idle admin connections were not all closed within the timeout")
        XCTAssertEqual(try adminGet(port: kezekd.adminPort, path: "/readyz").status, 200)
        try expect(client, "PING", "+PONG")
    }

    private func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }
}
