import Foundation
import XCTest

/// Bad data in Redis at start (issue 8, finding 5): a waitlist score of +inf, -inf or 1e19
/// trapped recovery on every start. Now each bad value is logged with its key and skipped or
/// settled, and the daemon starts and serves.
final class BadRedisDataTests: IntegrationTestCase {
    func testDaemonStartsOverBadDataAndSettlesIt() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        let plant: [[String]] = [
            ["SADD", "kezek:providers", "odd-scores", "bad-capacity", "wrong-types", "not a valid id", "fine"],
            ["SET", "kezek:{odd-scores}:capacity", "1"],
            ["ZADD", "kezek:{odd-scores}:waiting", "+inf", "w-last", "-inf", "w-first", "1e19", "w-huge", "5", "w-five"],
            ["SET", "kezek:{bad-capacity}:capacity", "lots"],
            ["SADD", "kezek:{bad-capacity}:booked", "b1", "b2"],
            ["SET", "kezek:{wrong-types}:capacity", "3"],
            ["SET", "kezek:{wrong-types}:booked", "a string, not a set"],
            ["HSET", "kezek:{wrong-types}:waiting", "a", "hash"],
            ["SET", "kezek:{wrong-types}:refused", "-7"],
            ["SET", "kezek:{fine}:capacity", "2"],
            ["SADD", "kezek:{fine}:booked", "f1"],
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
        try expect(client, "SEATS bad-capacity", "+SEATS capacity=2 booked=2 free=0 waiting=0 refused=0")
        try expect(client, "SEATS wrong-types", "+SEATS capacity=3 booked=0 free=3 waiting=0 refused=0")
        try expect(client, "SEATS fine", "+SEATS capacity=2 booked=1 free=1 waiting=0 refused=0")
        try expect(client, "BOOK fine f2", "+BOOKED 0")
        try expect(client, "BOOK odd-scores newcomer WAIT", "+WAITING 4")
        let log = try String(contentsOfFile: kezekd.stderrPath, encoding: .utf8)
        for key in ["kezek:{odd-scores}:waiting", "kezek:{bad-capacity}:capacity", "kezek:{wrong-types}:booked", "not a valid id"] {
            XCTAssertTrue(log.contains(key), "no log line names \(key)")
        }
        // The scores were written back as whole numbers in the same order, so a restart
        // finds the same waitlist and logs nothing about it.
        let scores = try redis.cli(["ZRANGE", "kezek:{odd-scores}:waiting", "0", "-1", "WITHSCORES"])
        XCTAssertFalse(scores.contains("inf") || scores.contains("e+"), scores)
        try kezekd.restart()
        let again = try connect()
        try expect(again, "STATUS odd-scores w-five", "+WAITING 1")
        try expect(again, "STATUS odd-scores w-last", "+WAITING 3")
        try expect(again, "STATUS odd-scores newcomer", "+WAITING 4")
    }
}
