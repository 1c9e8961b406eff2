import Foundation
import XCTest
import KezekTestSupport

/// Many connections, deep pipelines and contention for the last seats. These check
/// outcomes (counts, order), never speed.
final class ConformanceLoadTests: IntegrationTestCase {
    func testThreeHundredConcurrentConnections() throws {
        try startStack()
        try expect(try connect(), "PROVIDER room 1000", "+OK")
        // All 300 are open at once; each sends its request before any reply is read.
        let clients = try (0..<300).map { _ in try connect() }
        for (index, client) in clients.enumerated() { try client.send("BOOK room c\(index)\r\n") }
        for (index, client) in clients.enumerated() {
            let reply = try client.readLine()
            XCTAssertTrue(reply.hasPrefix("+BOOKED "), "connection \(index) got \(reply)")
        }
        for (index, client) in clients.enumerated() {
            try expect(client, "STATUS room c\(index)", "+BOOKED")
        }
        try expect(
            try connect(), "SEATS room",
            "+SEATS capacity=1000 booked=300 free=700 waiting=0 refused=0")
    }

    func testPipelineOfFiveThousandKeepsOrder() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1000", "+OK")
        // Even requests are PINGs with a unique text, odd ones BOOKs for distinct holders.
        let requests = (0..<5000).map { $0 % 2 == 0 ? "PING m\($0)" : "BOOK room h\($0)" }
        let replies = try client.pipeline(requests)
        XCTAssertEqual(replies.count, 5000)
        var bookings = 0
        for (index, reply) in replies.enumerated() {
            if index % 2 == 0 {
                XCTAssertEqual(reply, "$m\(index)", "reply \(index) out of order")
            } else if bookings < 1000 {
                bookings += 1
                XCTAssertEqual(reply, "+BOOKED \(1000 - bookings)", "reply \(index)")
            } else {
                XCTAssertEqual(reply, "+FULL room", "reply \(index)")
            }
        }
        try expect(
            client, "SEATS room", "+SEATS capacity=1000 booked=1000 free=0 waiting=0 refused=1500")
    }

    /// The key case: 40 connections race 8,000 distinct holders for 1,000 seats.
    func testFortyConnectionsRaceForOneThousandSeats() throws {
        try startStack()
        try expect(try connect(), "PROVIDER arena 1000", "+OK")
        let connections = 40, perConnection = 200
        let clients = try (0..<connections).map { _ in try connect() }
        let results = Locked([Int: [String]]())
        let errors = Locked([String]())
        let finished = runConcurrently(connections, timeout: 180) { index in
            let requests = (0..<perConnection).map { "BOOK arena h\(index)-\($0)" }
            do {
                let replies = try clients[index].pipeline(requests, timeout: 170)
                results.withLock { $0[index] = replies }
            } catch {
                errors.withLock { $0.append("connection \(index): \(error)") }
            }
        }
        XCTAssertTrue(finished, "the pipelines did not finish")
        XCTAssertEqual(errors.current, [])
        let all = results.current
        XCTAssertEqual(all.count, connections)
        var booked: [String] = [], full: [String] = [], other: [String] = []
        var freeCounts: [Int] = []
        for (index, replies) in all {
            for (number, reply) in replies.enumerated() {
                let holder = "h\(index)-\(number)"
                if reply.hasPrefix("+BOOKED "), let free = Int(reply.dropFirst(8)) {
                    booked.append(holder)
                    freeCounts.append(free)
                } else if reply == "+FULL arena" {
                    full.append(holder)
                } else {
                    other.append("\(holder): \(reply)")
                }
            }
        }
        XCTAssertEqual(booked.count, 1000)
        XCTAssertEqual(full.count, 7000)
        XCTAssertEqual(other, [])
        XCTAssertTrue(
            freeCounts.allSatisfy { (0..<1000).contains($0) },
            "a +BOOKED free count outside 0..<1000")
        let checker = try connect()
        try expect(
            checker, "SEATS arena", "+SEATS capacity=1000 booked=1000 free=0 waiting=0 refused=7000"
        )
        // Every reply matches the holder's state afterwards.
        let bookedStatus = try checker.pipeline(booked.map { "STATUS arena \($0)" })
        XCTAssertEqual(
            bookedStatus.filter { $0 != "+BOOKED" }.count, 0,
            "holders answered BOOKED are not booked")
        let fullStatus = try checker.pipeline(full.map { "STATUS arena \($0)" })
        XCTAssertEqual(
            fullStatus.filter { $0 != "+NONE" }.count, 0, "holders answered FULL hold something")
    }

    func testRedisCliIsAClient() throws {
        try startStack()
        try expect(try connect(), "PROVIDER prov 3", "+OK")
        let cli = RedisServerProcess.cliPath
        let book = try runProgram(
            cli, ["-h", "127.0.0.1", "-p", "\(kezekd.port)", "BOOK", "prov", "h1"])
        XCTAssertEqual(book.status, 0, book.stderr)
        XCTAssertEqual(book.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "BOOKED 2")
        let status = try runProgram(
            cli, ["-h", "127.0.0.1", "-p", "\(kezekd.port)", "STATUS", "prov", "h1"])
        XCTAssertEqual(status.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "BOOKED")
        let ping = try runProgram(cli, ["-h", "127.0.0.1", "-p", "\(kezekd.port)", "PING"])
        XCTAssertEqual(ping.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "PONG")
        let error = try runProgram(
            cli, ["-h", "127.0.0.1", "-p", "\(kezekd.port)", "BOOK", "nowhere", "h1"])
        XCTAssertTrue(
            error.stdout.contains("NOPROVIDER nowhere"), "redis-cli printed \(error.stdout)")
    }
}
