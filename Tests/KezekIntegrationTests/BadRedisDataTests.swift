import Foundation
import XCTest
import KezekTestSupport

/// Bad data in Redis at start (issue 8, finding 5): a waitlist score of +inf, -inf or 1e19
/// trapped recovery on every start. Now each bad value is logged with its key and skipped or
/// settled, and the daemon starts and serves.
final class BadRedisDataTests: IntegrationTestCase {
    func testDaemonStartsOverBadDataAndSettlesIt() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        let plant: [[String]] = [
            [
                "SADD", "kezek:providers", "odd-scores", "bad-capacity", "wrong-types",
                "not a valid id", "fine", "batches",
            ],
            ["SET", "kezek:{odd-scores}:capacity", "1"],
            [
                "ZADD", "kezek:{odd-scores}:waiting", "+inf", "w-last", "-inf", "w-first", "1e19",
                "w-huge", "5", "w-five",
            ],
            ["SET", "kezek:{bad-capacity}:capacity", "lots"],
            ["SADD", "kezek:{bad-capacity}:booked", "b1", "b2"],
            ["SET", "kezek:{wrong-types}:capacity", "3"],
            ["SET", "kezek:{wrong-types}:booked", "a string, not a set"],
            ["SET", "kezek:{wrong-types}:booked-batches", "a string, not a hash"],
            ["HSET", "kezek:{wrong-types}:waiting", "a", "hash"],
            ["SET", "kezek:{wrong-types}:refused", "-7"],
            ["SET", "kezek:{fine}:capacity", "2"],
            ["SADD", "kezek:{fine}:booked", "f1"],
            // x1 booked; x2 masked after its booking; "b@d!" not an id (its field still
            // counts x1 and x2); a field that is no id; a mask whose value is no id (x3 stays).
            ["SET", "kezek:{batches}:capacity", "5"],
            [
                "HSET", "kezek:{batches}:booked-batches", "2.1.0", "x1 x2 b@d!", "2.2.0", "x3",
                "!x2", "2.1.5", "oops", "x4", "!x3", "garbage",
            ],
        ]
        for command in plant { _ = try redis.cli(command) }
        kezekd = KezekdProcess(redisPort: redis.port, logDirectory: directory)
        try kezekd.start()
        let client = try connect()
        // -inf sorts first, then 5, then 1e19, then +inf: the order stays; the head was promoted.
        try expect(client, "STATUS odd-scores w-first", "+BOOKED")
        try expect(client, "STATUS odd-scores w-five", "+WAITING 1")
        try expect(client, "STATUS odd-scores w-huge", "+WAITING 2")
        try expect(client, "STATUS odd-scores w-last", "+WAITING 3")
        try expect(
            client, "SEATS bad-capacity", "+SEATS capacity=2 booked=2 free=0 waiting=0 refused=0")
        XCTAssertEqual(
            try redis.cli(["GET", "kezek:{bad-capacity}:capacity"]), "2\n",
            "the capacity served was not written back")
        try expect(
            client, "SEATS wrong-types", "+SEATS capacity=3 booked=0 free=3 waiting=0 refused=0")
        try expect(client, "SEATS fine", "+SEATS capacity=2 booked=1 free=1 waiting=0 refused=0")
        try expect(
            client, "SEATS batches", "+SEATS capacity=5 booked=2 free=3 waiting=0 refused=0")
        for (holder, status) in [("x1", "+BOOKED"), ("x2", "+NONE"), ("x3", "+BOOKED")] {
            try expect(client, "STATUS batches \(holder)", status)
        }
        try expect(client, "BOOK fine f2", "+BOOKED 0")
        try expect(client, "BOOK odd-scores newcomer WAIT", "+WAITING 4")
        let log = try String(contentsOfFile: kezekd.stderrPath, encoding: .utf8)
        for key in [
            "kezek:{odd-scores}:waiting", "kezek:{bad-capacity}:capacity",
            "kezek:{wrong-types}:booked", "not a valid id",
            "key=kezek:{wrong-types}:booked-batches",
            "key=kezek:{batches}:booked-batches member=2.1.0",
            "key=kezek:{batches}:booked-batches member=oops",
            "key=kezek:{batches}:booked-batches member=!x3",
        ] {
            XCTAssertTrue(log.contains(key), "no log line names \(key)")
        }
        // The scores were written back as whole numbers in the same order, so a restart
        // finds the same waitlist and logs nothing about it.
        let scores = try redis.cli([
            "ZRANGE", "kezek:{odd-scores}:waiting", "0", "-1", "WITHSCORES",
        ])
        XCTAssertFalse(scores.contains("inf") || scores.contains("e+"), scores)
        try kezekd.restart()
        let again = try connect()
        try expect(again, "STATUS odd-scores w-five", "+WAITING 1")
        try expect(again, "STATUS odd-scores w-last", "+WAITING 3")
        try expect(again, "STATUS odd-scores newcomer", "+WAITING 4")
    }

    private func plant(_ commands: [[String]]) throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        try redis.markNewInstallation()
        for command in commands { _ = try redis.cli(command) }
        kezekd = KezekdProcess(redisPort: redis.port, logDirectory: directory)
        try kezekd.start()
    }

    private func logLines(containing text: String) -> Int {
        ((try? String(contentsOfFile: kezekd.stderrPath, encoding: .utf8)) ?? "").split(
            separator: "\n"
        ).filter { $0.contains(text) }.count
    }

    /// A busy provider's run of bookings names its place in the audit log
    /// (`BookedBatches.LogPlace`). A place the log does not hold (the entry gone, a change
    /// there that is no booking at that provider, a value that does not parse) books nobody:
    /// each is logged with its field, and the runs the log does hold are served.
    func testRunsInTheLogThatTheLogDoesNotHoldAreLoggedNotBooked() throws {
        try plant([
            ["SADD", "kezek:providers", "runs"],
            ["SET", "kezek:{runs}:capacity", "5"],
            [
                "XADD", "kezek:audit", "5-0", "epoch", "1", "seq", "1", "book", "runs y1", "book",
                "runs y2", "wait", "runs y3",
            ],
            [
                "HSET", "kezek:{runs}:booked-batches", "1.1.0", ">5-0 0 2", "1.1.1", ">9-0 0 2",
                "1.1.2", ">5-0 1 2", "1.1.3", ">oops",
            ],
        ])
        let client = try connect()
        try expect(client, "SEATS runs", "+SEATS capacity=5 booked=2 free=3 waiting=0 refused=0")
        for (holder, status) in [("y1", "+BOOKED"), ("y2", "+BOOKED"), ("y3", "+NONE")] {
            try expect(client, "STATUS runs \(holder)", status)
        }
        for field in ["1.1.1", "1.1.2", "1.1.3"] {
            XCTAssertEqual(
                logLines(containing: "member=\(field)"), 1, "no one log line names \(field)")
        }
        XCTAssertEqual(logLines(containing: "that the log does not hold"), 3)
        XCTAssertEqual(logLines(containing: "runs_not_in_the_log=3"), 1)
    }

    /// A capacity Redis holds as `lots` (or not at all) is never served from elsewhere: the
    /// seats held become the capacity, written back to Redis with one log line, so a restart
    /// finds a number and logs nothing.
    func testUnreadableCapacityIsWrittenBackAsTheOneServed() throws {
        try plant([
            ["SADD", "kezek:providers", "lots-cap", "no-cap"],
            ["SET", "kezek:{lots-cap}:capacity", "lots"],
            ["SADD", "kezek:{lots-cap}:booked", "b1", "b2", "b3"],
            ["SADD", "kezek:{no-cap}:booked", "x1"],
        ])
        let client = try connect()
        try expect(
            client, "SEATS lots-cap", "+SEATS capacity=3 booked=3 free=0 waiting=0 refused=0")
        try expect(client, "SEATS no-cap", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=0")
        XCTAssertEqual(try redis.cli(["GET", "kezek:{lots-cap}:capacity"]), "3\n")
        XCTAssertEqual(try redis.cli(["GET", "kezek:{no-cap}:capacity"]), "1\n")
        XCTAssertEqual(logLines(containing: "kezek:{lots-cap}:capacity"), 1)
        XCTAssertEqual(logLines(containing: "kezek:{no-cap}:capacity"), 1)
        try kezekd.restart()
        try expect(
            try connect(), "SEATS lots-cap", "+SEATS capacity=3 booked=3 free=0 waiting=0 refused=0"
        )
        XCTAssertEqual(
            logLines(containing: "kezek:{lots-cap}:capacity"), 1, "a restart still found bad data")
        try expect(try connect(), "PROVIDER lots-cap 4", "+OK")
        try expect(try connect(), "BOOK lots-cap b4", "+BOOKED 0")
    }

    /// 8 bookings in Redis at a provider of capacity 5: all 8 kept and reported (`over=3`, a
    /// metric, one log line), the capacity stays 5, and a seat freed goes to the waitlist
    /// only once the bookings are below 5.
    func testOversoldProviderKeepsItsBookingsAndBooksNobodyUntilBelowCapacity() throws {
        try plant([
            ["SADD", "kezek:providers", "bad"],
            ["SET", "kezek:{bad}:capacity", "5"],
            ["SADD", "kezek:{bad}:booked", "a", "b", "c", "d", "e", "f", "g", "h"],
            ["ZADD", "kezek:{bad}:waiting", "1", "w1", "2", "w2"],
        ])
        let client = try connect()
        try expect(
            client, "SEATS bad", "+SEATS capacity=5 booked=8 free=0 waiting=2 refused=0 over=3")
        XCTAssertEqual(
            logLines(containing: "provider=bad"), 1, "one log line for the oversold provider")
        let metrics = try adminGet(port: kezekd.adminPort, path: "/metrics").body
        XCTAssertTrue(metrics.contains("\nkezek_oversold_seats 3\n"), metrics)
        XCTAssertTrue(metrics.contains("\nkezek_oversold_providers 1\n"), metrics)
        try expect(client, "BOOK bad newcomer", "+FULL bad")
        try expect(client, "BOOK bad a", "+BOOKED 0")
        // Down to 5 bookings: still not below the capacity, so nobody is promoted.
        for holder in ["a", "b", "c"] {
            try expect(client, "CANCEL bad \(holder)", "+CANCELLED 0")
            try expect(client, "STATUS bad w1", "+WAITING 1")
        }
        try expect(client, "SEATS bad", "+SEATS capacity=5 booked=5 free=0 waiting=2 refused=1")
        try expect(client, "CANCEL bad d", "+CANCELLED 0")
        try expect(client, "STATUS bad w1", "+BOOKED")
        try expect(client, "STATUS bad w2", "+WAITING 1")
        try expect(client, "SEATS bad", "+SEATS capacity=5 booked=5 free=0 waiting=1 refused=1")
        XCTAssertEqual(try redis.cli(["GET", "kezek:{bad}:capacity"]), "5\n")
        XCTAssertEqual(try StoredBookings.holders("bad", in: redis), ["e", "f", "g", "h", "w1"])
        try kezekd.restart()
        let after = try seats(try connect(), "bad")
        XCTAssertEqual(
            [after["capacity"], after["booked"], after["free"], after["waiting"], after["over"]],
            [5, 5, 0, 1, nil])
    }
}
