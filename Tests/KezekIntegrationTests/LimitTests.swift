import Foundation
import XCTest
import KezekTestSupport

/// Settings the contract names as limits, each checked by what a client sees.
final class LimitTests: IntegrationTestCase {
    /// A Redis that stops answering without closing the connection: writes are answered
    /// -UNAVAILABLE once write-timeout passes, then at once while it stays stalled; reads go on;
    /// retries settle everything once Redis answers again.
    func testStalledRedisAnswersUnavailableWithinWriteTimeout() throws {
        try startStack(["--write-timeout", "0.5"])
        let client = try connect()
        try expect(client, "PROVIDER gym 5", "+OK")
        try expect(client, "BOOK gym a", "+BOOKED 4")
        redis.pause()
        defer { redis.resume() }
        let started = monotonicNow()
        try expect(client, "BOOK gym b", prefix: "-UNAVAILABLE")
        let waited = monotonicNow() - started
        XCTAssertGreaterThanOrEqual(waited, 0.4, "answered before the write timeout")
        XCTAssertLessThan(waited, 3, "took \(waited) s with --write-timeout 0.5")
        try expect(client, "HEALTH", prefix: "-DOWN mirror=down")
        let fastStarted = monotonicNow()
        try expect(client, "BOOK gym c", prefix: "-UNAVAILABLE")
        XCTAssertLessThan(
            monotonicNow() - fastStarted, 0.4, "a stalled mirror should fail new writes at once")
        try expect(client, "STATUS gym a", "+BOOKED")

        redis.resume()
        let up = poll(timeout: 10) { () -> Bool? in
            (try? client.request("HEALTH"))?.hasPrefix("+OK") == true ? true : nil
        }
        XCTAssertEqual(up, true, "HEALTH did not recover after Redis resumed")
        try expect(client, "BOOK gym b", "+BOOKED 3")
        try expect(client, "BOOK gym c", "+BOOKED 2")
        kezekd.kill9()
        try kezekd.start()
        try expect(
            try connect(), "SEATS gym", "+SEATS capacity=5 booked=3 free=2 waiting=0 refused=0")
    }

    func testIdleClientsAreClosedActiveOnesAreNot() throws {
        // The active client's pings leave it 1.9 s of slack: a loaded machine's stall of a
        // second must not make it look idle.
        try startStack(["--idle-timeout", "2"])
        let idle = try connect()
        let active = try connect()
        let deadline = monotonicNow() + 4
        while monotonicNow() < deadline {
            try expect(active, "PING", "+PONG")
            pause(0.1)
        }
        XCTAssertTrue(idle.isClosedByPeer(timeout: 6), "an idle client was not closed")
        try expect(active, "PING", "+PONG")
    }

    func testRequestsBeforeAuthAreKeptSmall() throws {
        try startStack(["--token", "secret", "--max-unauthenticated-request-bytes", "64"])
        let stranger = try connect()
        try stranger.send("PING " + String(repeating: "x", count: 100) + "\r\n")
        XCTAssertEqual(try stranger.readLine(), "-ERR line too long")
        XCTAssertTrue(stranger.isClosedByPeer(timeout: 3))

        let member = try connect()
        try expect(member, "AUTH secret", "+OK")
        let text = String(repeating: "x", count: 100)
        try expect(member, "PING \(text)", "$\(text)")
    }
}
