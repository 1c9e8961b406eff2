import Foundation
import XCTest
import KezekTestSupport

/// Clients that misbehave on the booking port (issue 8): each gets a clear answer or is
/// closed, and nobody else notices.
final class HostileClientTests: IntegrationTestCase {
    /// A client that half-closes after its requests still gets every reply (finding 11),
    /// including one that waits for Redis, then the server closes.
    func testHalfCloseStillAnswersEverythingSent() throws {
        try startStack()
        let admin = try connect()
        try expect(admin, "PROVIDER gym 2", "+OK")
        let client = try connect()
        try client.send("PING\r\nBOOK gym h1\r\nSTATUS gym h1\r\n")
        client.shutdownWrite()
        let (lines, closed) = client.readUntilClosed(timeout: 5)
        XCTAssertEqual(lines, ["+PONG", "+BOOKED 1", "+BOOKED"])
        XCTAssertTrue(closed, "the server did not close after answering")
        try expect(admin, "STATUS gym h1", "+BOOKED")
    }
}

extension HostileClientTests {
    /// A client that trickles a request byte by byte is closed at request-timeout (finding 8),
    /// though it is never silent long enough for idle-timeout.
    func testTricklingRequestIsClosedAtRequestTimeout() throws {
        try startStack(["--request-timeout", "1", "--idle-timeout", "30"])
        let client = try connect()
        let started = Date()
        var closed = false
        for byte in Array("BOOK gym someone-who-never-finishes".utf8) {
            guard (try? client.send(bytes: [byte], timeout: 1)) != nil else { closed = true; break }
            if client.isClosedByPeer(timeout: 0.3) { closed = true; break }
        }
        XCTAssertTrue(closed, "a trickling client was not closed")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(client.readUntilClosed(timeout: 1).lines.first, "-ERR request timeout")
        try expect(try connect(), "PING", "+PONG")
    }

    /// 20,000 pipelined wrong AUTHs (finding 9): a few are answered, slowly, then the
    /// connection is closed; the right token still works on a new connection.
    func testAuthGuessingIsThrottledAndClosed() throws {
        try startStack([
            "--token", "right-token", "--auth-max-failures", "5", "--auth-failure-delay", "0.2",
        ])
        let guesser = try connect()
        let started = Date()
        try? guesser.send(String(repeating: "AUTH wrong\r\n", count: 20_000), timeout: 5)
        let (lines, closed) = guesser.readUntilClosed(timeout: 10)
        XCTAssertTrue(closed, "the guessing connection was not closed")
        XCTAssertEqual(lines, Array(repeating: "-WRONGPASS invalid token", count: 5))
        XCTAssertGreaterThanOrEqual(
            Date().timeIntervalSince(started), 0.2, "failures were answered without delay")
        let client = try connect()
        try expect(client, "AUTH right-token", "+OK")
        let metrics = try adminGet(port: kezekd.adminPort, path: "/metrics")
        XCTAssertTrue(metrics.body.contains("kezek_auth_failures_total 5"), metrics.body)
    }

    /// PING's argument came back as a `+` line, so CR LF inside a RESP bulk argument forged a
    /// reply (finding 10). Now it is a bulk string whose length covers every byte.
    func testPingCannotForgeAReply() throws {
        try startStack()
        let client = try connect()
        try client.send(LineClient.resp(["PING", "x\r\n+BOOKED 0"]))
        XCTAssertEqual(
            try client.readLine(), "$12", "a + line would let the argument forge a reply")
        XCTAssertEqual(try client.readLine(), "x")
        XCTAssertEqual(
            try client.readLine(), "+BOOKED 0", "the bulk string's body, read line by line")
        try expect(client, "PING", "+PONG")
    }
}
