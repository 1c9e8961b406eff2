import XCTest
import KezekTestSupport

/// Framing (inline lines, RESP arrays), the utility commands and the error replies of
/// PROTOCOL.md, including the ones that close the connection.
final class ConformanceProtocolTests: IntegrationTestCase {
    func testPing() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PING", "+PONG")
        try expect(client, "PING hello", "$hello")
        try expect(client, "ping", "+PONG")
        try client.send(LineClient.resp(["PING", "hello world"]))
        XCTAssertEqual(try client.readReply(), "$hello world")
    }

    func testHealth() throws {
        try startStack()
        try expect(try connect(), "HEALTH", prefix: "+OK mirror=up")
    }

    func testQuitAnswersByeThenCloses() throws {
        try startStack()
        let client = try connect()
        try expect(client, "QUIT", "+BYE")
        XCTAssertTrue(client.isClosedByPeer(timeout: 5), "connection still open after +BYE")
        // Pipelined requests after QUIT get no reply.
        let second = try connect()
        try second.send("PING a\r\nQUIT\r\nPING b\r\n")
        let (lines, closed) = second.readUntilClosed(timeout: 5)
        XCTAssertEqual(lines, ["$1", "a", "+BYE"])
        XCTAssertTrue(closed)
    }

    func testVerbsAreCaseInsensitive() throws {
        try startStack()
        let client = try connect()
        try expect(client, "provider room 5", "+OK")
        try expect(client, "Provider room 6", "+OK")
        try expect(client, "book room h1", "+BOOKED 5")
        try expect(client, "bOoK room h2 wait", "+BOOKED 4")
        try expect(client, "Status room h1", "+BOOKED")
        try expect(client, "seats room", "+SEATS capacity=6 booked=2 free=4 waiting=0 refused=0")
        try expect(client, "cancel room h2", "+CANCELLED 5")
        try expect(client, "PiNg", "+PONG")
        try expect(client, "health", prefix: "+OK")
        try expect(client, "quit", "+BYE")
    }

    func testUnknownCommand() throws {
        try startStack()
        let client = try connect()
        try expect(client, "frob", "-ERR unknown command 'frob'")
        try expect(client, "frob a b", prefix: "-ERR unknown command 'frob'")
        try expect(client, "PING", "+PONG")
    }

    func testWrongNumberOfArguments() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        for request in [
            "BOOK", "BOOK room", "BOOK room h1 WAIT extra", "CANCEL room", "CANCEL room h1 x",
            "STATUS room", "STATUS room h1 x", "SEATS", "SEATS room x", "PROVIDER room",
            "PROVIDER room 1 2", "PING a b", "HEALTH x", "AUTH",
        ] {
            try expect(client, request, prefix: "-ERR wrong number of arguments for '")
        }
        // Nothing was changed, and the connection still works.
        try expect(client, "SEATS room", "+SEATS capacity=1 booked=0 free=1 waiting=0 refused=0")
    }

    func testBookWithUnknownFourthTokenIsAnError() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1 LATER", prefix: "-ERR")
        try expect(client, "STATUS room h1", "+NONE")
    }

    func testEmptyLinesGetNoReply() throws {
        try startStack()
        let client = try connect()
        try client.send("\r\n\n\r\n\nPING a\r\n\n\r\nPING b\n")
        XCTAssertEqual(try client.readReply(), "$a")
        XCTAssertEqual(try client.readReply(), "$b")
        // Nothing more is pending: the next reply is the next request's.
        try expect(client, "PING c", "$c")
        // An empty RESP array is an empty request too.
        try client.send("*0\r\nPING d\r\n")
        XCTAssertEqual(try client.readReply(), "$d")
    }

    func testLineEndingsTabsAndSpaces() throws {
        try startStack()
        let client = try connect()
        try client.send(
            "PROVIDER room 9\nPROVIDER\troom\t9\r\n   BOOK  room \t h1   \r\nBOOK\t\troom\th2\t\n")
        XCTAssertEqual(try client.readLine(), "+OK")
        XCTAssertEqual(try client.readLine(), "+OK")
        XCTAssertEqual(try client.readLine(), "+BOOKED 8")
        XCTAssertEqual(try client.readLine(), "+BOOKED 7")
        try expect(client, "STATUS room h1", "+BOOKED")
    }

    func testRESPArraysAndMixedPipeline() throws {
        try startStack()
        let client = try connect()
        try client.send(
            LineClient.resp(["PROVIDER", "room", "4"]) + "BOOK room h1\r\n"
                + LineClient.resp(["BOOK", "room", "h2"])
                + LineClient.resp(["book", "room", "h3", "WAIT"])
                + "SEATS room\r\n" + LineClient.resp(["STATUS", "room", "h2"])
                + LineClient.resp(["PING"]))
        XCTAssertEqual(try client.readLine(), "+OK")
        XCTAssertEqual(try client.readLine(), "+BOOKED 3")
        XCTAssertEqual(try client.readLine(), "+BOOKED 2")
        XCTAssertEqual(try client.readLine(), "+BOOKED 1")
        XCTAssertEqual(
            try client.readLine(), "+SEATS capacity=4 booked=3 free=1 waiting=0 refused=0")
        XCTAssertEqual(try client.readLine(), "+BOOKED")
        XCTAssertEqual(try client.readLine(), "+PONG")
        // RESP carries the same validation as inline requests.
        try client.send(LineClient.resp(["BOOK", "room", "bad id"]))
        XCTAssertEqual(try client.readLine(), "-ERR invalid id 'bad id'")
        try client.send(LineClient.resp(["BOOK", "room"]))
        XCTAssertTrue(try client.readLine().hasPrefix("-ERR wrong number of arguments for '"))
    }

    func testRequestsSplitByteByByte() throws {
        try startStack()
        let client = try connect()
        let bytes = Array(
            (LineClient.resp(["PROVIDER", "room", "2"]) + "BOOK room h1\r\n"
                + LineClient.resp(["BOOK", "room", "h2"]) + LineClient.resp(["SEATS", "room"])).utf8
        )
        for (index, byte) in bytes.enumerated() {
            try client.send(bytes: [byte])
            if index % 4 == 0 { pause(0.001) }
        }
        XCTAssertEqual(try client.readLine(), "+OK")
        XCTAssertEqual(try client.readLine(), "+BOOKED 1")
        XCTAssertEqual(try client.readLine(), "+BOOKED 0")
        XCTAssertEqual(
            try client.readLine(), "+SEATS capacity=2 booked=2 free=0 waiting=0 refused=0")
    }

    func testMalformedRESPAnswersProtocolErrorThenCloses() throws {
        try startStack()
        for garbage in ["*2\r\n$x\r\n", "*1\r\n:5\r\n", "*x\r\n"] {
            let client = try connect()
            try client.send(garbage)
            let reply = try client.readLine()
            XCTAssertTrue(
                reply.hasPrefix("-ERR Protocol error"),
                "\(garbage.debugDescription) answered \(reply)")
            XCTAssertTrue(
                client.isClosedByPeer(timeout: 5),
                "\(garbage.debugDescription): connection left open")
        }
        try expect(try connect(), "PING", "+PONG")
    }

    func testOverlongInlineLineAnswersErrorThenCloses() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PING first", "$first")
        try client.send("PING " + String(repeating: "a", count: 4993) + "\r\n")
        XCTAssertEqual(try client.readLine(), "-ERR line too long")
        XCTAssertTrue(
            client.isClosedByPeer(timeout: 5), "connection left open after a line too long")
        // Without any newline at all.
        let second = try connect()
        try second.send(String(repeating: "b", count: 5000))
        XCTAssertEqual(try second.readLine(), "-ERR line too long")
        XCTAssertTrue(second.isClosedByPeer(timeout: 5))
        // A long line within the limit is still served.
        let third = try connect()
        try expect(
            third, "PING " + String(repeating: "c", count: 4000),
            "$" + String(repeating: "c", count: 4000))
    }

    func testOverlongRESPRequestAnswersErrorThenCloses() throws {
        try startStack()
        let client = try connect()
        try client.send(LineClient.resp(["PING", String(repeating: "a", count: 5000)]))
        XCTAssertTrue(try client.readLine().hasPrefix("-ERR"))
        XCTAssertTrue(
            client.isClosedByPeer(timeout: 5), "connection left open after an overlong RESP request"
        )
        // Many small elements adding up past the limit.
        let second = try connect()
        try second.send(
            LineClient.resp(
                ["PING"] + Array(repeating: String(repeating: "x", count: 100), count: 60)))
        XCTAssertTrue(try second.readLine().hasPrefix("-ERR"))
        XCTAssertTrue(second.isClosedByPeer(timeout: 5))
        try expect(try connect(), "PING", "+PONG")
    }

    func testMaxClients() throws {
        // Refusal, not shedding: with the default idle-shed-after (1 s) a stall of this busy
        // machine between the fifth PING and the sixth connect would shed the first client
        // instead (ProbeStarvationTests covers shedding).
        try startStack(["--max-clients", "5", "--idle-shed-after", "0"])
        var clients: [LineClient] = []
        for index in 0..<5 {
            let client = try connect()
            try expect(client, "PING c\(index)", "$c\(index)")
            clients.append(client)
        }
        let sixth = try connect()
        XCTAssertEqual(try sixth.readLine(), "-ERR max number of clients reached")
        XCTAssertTrue(sixth.isClosedByPeer(timeout: 5))
        // The five are still served; once one leaves, a new client gets in.
        for client in clients { try expect(client, "PING", "+PONG") }
        clients.removeLast().close()
        let admitted = poll(timeout: 10, interval: 0.1) { () -> Bool? in
            guard let client = try? LineClient(port: kezekd.port),
                let reply = try? client.request("PING again", timeout: 2)
            else { return nil }
            if reply == "$again" { clients.append(client); return true }
            return nil
        }
        XCTAssertEqual(admitted, true, "no new client admitted after one of five left")
    }

    func testAbruptDisconnectsDoNotHurtOthers() throws {
        try startStack()
        let setup = try connect()
        try expect(setup, "PROVIDER room 5000", "+OK")
        let observer = try connect()
        // Mid-request: half a line, then a reset; half a RESP array, then a close.
        let half = try connect()
        try half.send("BOOK room half")
        half.abort()
        let halfRESP = try connect()
        try halfRESP.send("*3\r\n$4\r\nBOOK\r\n$4\r\nro")
        halfRESP.close()
        // Mid-pipeline: 500 BOOKs sent, no reply read, then gone.
        for round in 0..<4 {
            let client = try connect()
            try client.send((0..<500).map { "BOOK room r\(round)-\($0)\r\n" }.joined())
            if round % 2 == 0 { client.abort() } else { client.close() }
        }
        try expect(observer, "PING", "+PONG")
        try expect(try connect(), "BOOK room after", prefix: "+BOOKED")
        // Whatever the gone clients got is counted consistently: SEATS agrees with STATUS.
        let holders =
            ["half", "after"] + (0..<4).flatMap { round in (0..<500).map { "r\(round)-\($0)" } }
        let statuses = try observer.pipeline(holders.map { "STATUS room \($0)" })
        let booked = statuses.filter { $0 == "+BOOKED" }.count
        XCTAssertEqual(statuses.filter { $0 != "+BOOKED" && $0 != "+NONE" }, [])
        XCTAssertEqual(statuses[0], "+NONE", "a half-sent request was executed")
        let fields = try seats(observer, "room")
        XCTAssertEqual(fields["booked"], booked)
        XCTAssertEqual(fields["free"], 5000 - booked)
    }

    func testAdminHTTPEndpoints() throws {
        try startStack()
        for path in ["/healthz", "/readyz", "/metrics"] {
            let client = try LineClient(port: kezekd.adminPort)
            try client.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let status = try client.readLine()
            XCTAssertTrue(
                status.hasPrefix("HTTP/1.") && status.contains(" 200"), "GET \(path): \(status)")
        }
    }
}
