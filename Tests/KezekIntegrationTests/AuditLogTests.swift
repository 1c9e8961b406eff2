import Foundation
import KezekDraw
import XCTest
import KezekTestSupport

/// The audit log (PROTOCOL.md "Transparency"): one stream per lease, one entry per atomic step
/// (`epoch`, `seq`, then one field per change); replaying it rebuilds what kezekd serves after
/// bookings, cancellations, promotions, a round with offers, declines, expiries and the
/// cascade, a kill -9 at any instant, and a write-back after data loss; `kezek-audit replay`
/// checks it and catches a forged or reordered entry.
final class AuditLogTests: IntegrationTestCase {
    private func replay(_ extra: [String] = []) throws -> (
        status: Int32?, stdout: String, stderr: String
    ) {
        try runProgram(
            builtProgram("kezek-audit"),
            [
                "replay", "--redis", "127.0.0.1:\(redis.port)", "--kezekd",
                "127.0.0.1:\(kezekd.port)",
            ] + extra, timeout: 60)
    }

    /// The log's entries, each as its fields joined: `epoch=1 seq=2 book=p h1`.
    private func entries(_ key: String = "kezek:audit") throws -> [String] {
        let client = try LineClient(port: redis.port)
        guard case .array(let items?) = try client.command(["XRANGE", key, "-", "+"]) else {
            XCTFail("no audit log at \(key)")
            return []
        }
        return items.map { entry in
            guard case .array(let parts?) = entry, parts.count == 2,
                case .array(let fields?) = parts[1]
            else { return "?" }
            let texts = fields.compactMap {
                if case .bulk(let text) = $0 { return text } else { return nil }
            }
            return stride(from: 0, to: texts.count - 1, by: 2).map {
                "\(texts[$0])=\(texts[$0 + 1])"
            }.joined(separator: " ")
        }
    }

    func testOneEntryPerAtomicStepAndRetriesAddNothing() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER p 1", "+OK")
        try expect(client, "PROVIDER p 1", "+OK")  // a retry: the same capacity, no entry
        try expect(client, "BOOK p h1", "+BOOKED 0")
        try expect(client, "BOOK p h1", "+BOOKED 0")  // a retry: no entry
        try expect(client, "BOOK p h2 WAIT", "+WAITING 1")
        try expect(client, "BOOK p h2 WAIT", "+WAITING 1")
        // The cancellation and the promotion: one step
        try expect(client, "CANCEL p h1", "+CANCELLED 0")
        try expect(client, "PROVIDER p 2", "+OK")
        XCTAssertEqual(
            try entries(),
            [
                "epoch=1 seq=1 capacity=p 1",
                "epoch=1 seq=2 book=p h1",
                "epoch=1 seq=3 wait=p h2",
                "epoch=1 seq=4 unbook=p h1 book=p h2 unwait=p h2",
                "epoch=1 seq=5 capacity=p 2",
            ])
    }

    /// After Redis lost data the write-back replaces the log: its first step records the state
    /// written back, from empty, and the request that found the loss is logged once.
    func testWriteBackStartsANewLogAndTheRequestThatFoundTheLossIsLoggedOnce() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER gym 2", "+OK")
        try expect(client, "BOOK gym a", "+BOOKED 1")
        try expect(client, "BOOK gym b", "+BOOKED 0")
        _ = try redis.cli(["FLUSHALL"])
        try expect(client, "BOOK gym c WAIT", "+WAITING 1")
        try expect(client, "CANCEL gym a", "+CANCELLED 0")
        // The BOOK finds the loss (unless the lease renewal found it first, a few ms earlier).
        let log = try entries()
        if log.first?.hasSuffix("wait=gym c") == false {
            XCTAssertEqual(
                log,
                [
                    "epoch=2 seq=1 capacity=gym 2 book=gym a book=gym b",
                    "epoch=2 seq=2 wait=gym c",
                    "epoch=2 seq=3 unbook=gym a book=gym c unwait=gym c",
                ])
        } else {
            XCTAssertEqual(
                log,
                [
                    "epoch=2 seq=1 capacity=gym 2 book=gym a book=gym b wait=gym c",
                    "epoch=2 seq=2 unbook=gym a book=gym c unwait=gym c",
                ])
        }
        let audit = try replay()
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
    }

    /// A step with more changes than one Redis call carries (here a capacity change that
    /// promotes 4,000 waiters: 8,001 changes) is appended as consecutive entries sharing its
    /// seq, by the real script, and replays.
    func testAStepTooLargeForOneCallIsSplitIntoEntriesSharingItsSeq() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER big 0", "+OK")
        let waits = try client.pipeline((0..<4_000).map { "BOOK big w\($0) WAIT" })
        XCTAssertEqual(waits.filter { $0.hasPrefix("+WAITING") }.count, 4_000)
        try expect(client, "PROVIDER big 4000", "+OK")
        let last = try entries().suffix(3).map {
            $0.split(separator: " ").prefix(2).joined(separator: " ")
        }
        XCTAssertEqual(last.count, 3)
        XCTAssertEqual(Set(last).count, 1, "the step's entries share epoch and seq: \(last)")
        let audit = try replay()
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
    }

    /// A Redis written by a release that kept one stream per provider: the new log starts
    /// with the state loaded, the old streams are left alone, and the daemon says so.
    func testALogStartsOverStateFromTheOldPerProviderStreams() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        try redis.markNewInstallation()
        for command in [
            ["SADD", "kezek:providers", "old"], ["SET", "kezek:{old}:capacity", "1"],
            ["SADD", "kezek:{old}:booked", "a"], ["ZADD", "kezek:{old}:waiting", "1", "b"],
            ["XADD", "kezek:{old}:audit", "*", "op", "book", "holder", "a"],
        ] {
            _ = try redis.cli(command)
        }
        kezekd = KezekdProcess(redisPort: redis.port, logDirectory: directory)
        try kezekd.start()
        XCTAssertEqual(try entries(), ["epoch=1 seq=1 capacity=old 1 book=old a wait=old b"])
        XCTAssertEqual(
            try redis.cli(["XLEN", "kezek:{old}:audit"]).trimmingCharacters(
                in: .whitespacesAndNewlines), "1")
        XCTAssertTrue(
            kezekd.stderrTail().contains("the old per-provider audit streams are left alone"),
            kezekd.stderrTail())
        try expect(try connect(), "BOOK old c WAIT", "+WAITING 2")
        let audit = try replay()
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
    }

    func testReplayingTheLogRebuildsWhatKezekdServes() throws {
        try startStack(["--offer-ttl", "2"])
        let client = try connect()
        for line in ["PROVIDER north.a 2", "PROVIDER north.b 1", "PROVIDER south.c 3"] {
            try expect(client, line, "+OK")
        }
        // First come, first served with a waitlist, cancellations and promotions.
        let fcfs = try client.pipeline(
            (0..<12).map { "BOOK north.a walk\($0) WAIT" } + [
                "BOOK south.c walk0", "PROVIDER south.c 4",
            ])
        XCTAssertFalse(fcfs.contains { $0.hasPrefix("-") }, "\(fcfs)")
        // An offer to the head (offer-ttl 2)
        try expect(client, "CANCEL north.a walk0", prefix: "+CANCELLED")
        try expect(client, "CANCEL north.a walk5", "+CANCELLED 0")  // a waitlist place
        // A round: placements, waitlists, a confirmation, a decline, expiries and the cascade.
        try expect(client, "ROUND OPEN r \(SHA256.hex("s"))", "+OK")
        for a in 0..<20 {
            let choices = ["north.b south.c north.a", "south.c north.b", "north.a/2 south.c"][a % 3]
            try expect(client, "APPLY r kid\(a) \(choices)", prefix: "+APPLIED")
        }
        try expect(client, "ROUND CLOSE r", "+CLOSED 20")
        try expect(client, "ROUND DRAW r s", prefix: "+DRAWN ")
        var confirmed: String?
        for a in 0..<20 {
            let result = try client.request("RESULT r kid\(a)")
            let parts = result.split(separator: " ")
            guard parts.first == "+OFFERED" else { continue }
            if a % 4 == 0 {
                try expect(client, "CONFIRM \(parts[1]) kid\(a)", prefix: "+CONFIRMED")
                confirmed = confirmed ?? "kid\(a)"
            }
            if a % 4 == 1 { try expect(client, "CANCEL \(parts[1]) kid\(a)", prefix: "+CANCELLED") }
        }
        kezekd.kill9()
        try kezekd.start()
        // The rest of the offers expire (2 s) and pass down the waitlists.
        pause(2.5)
        let again = try connect()
        try expect(again, "BOOK south.c late", prefix: "+")
        let kid = try XCTUnwrap(confirmed, "no offer was confirmed")
        let audit = try replay(["--holder", kid])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        XCTAssertTrue(audit.stdout.contains("differences: 0"), audit.stdout)
        XCTAssertTrue(
            audit.stdout.contains("offer \(kid) (round r, choice"),
            "the offer came from the round: \(audit.stdout)")
        XCTAssertTrue(audit.stdout.contains("confirm \(kid) (round r, choice"), audit.stdout)

        // A forged entry that adds a booking is a difference.
        let redisClient = try LineClient(port: redis.port)
        let last = try XCTUnwrap(try entries().last)
        let lastSeq = Int(last.split(separator: " ")[1].dropFirst("seq=".count)) ?? 0
        let forged = try redisClient.request(
            LineClient.resp([
                "XADD", "kezek:audit", "*", "epoch", "2", "seq", String(lastSeq + 1),
                "book", "north.b ghost",
            ]))
        XCTAssertTrue(forged.hasPrefix("$"), forged)
        let caught = try replay()
        XCTAssertEqual(caught.status, 1, caught.stdout)
        XCTAssertTrue(caught.stdout.contains("north.b: booked replayed"), caught.stdout)
        // One out of order (a step that changes nothing, so only its place gives it away).
        _ = try redisClient.request(
            LineClient.resp([
                "XADD", "kezek:audit", "*", "epoch", "2", "seq", "1", "book", "north.b ghost",
            ]))
        let reordered = try replay()
        XCTAssertEqual(reordered.status, 1, reordered.stdout)
        XCTAssertTrue(
            reordered.stdout.contains("seq 1 after seq \(lastSeq + 1) in epoch 2"), reordered.stdout
        )
    }

    /// kill -9 at a seeded random instant of a burst of bookings, cancellations and waitlist
    /// joins: after the restart the log still rebuilds exactly what kezekd serves.
    func testReplayEqualsWhatIsServedAfterKillAtRandomInstants() throws {
        for seed: UInt64 in [1, 2, 3] {
            var random = SplitMix64(seed: seed)
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("redis"))
            try startStack()
            let setup = try connect()
            for p in 0..<4 { try expect(setup, "PROVIDER club\(p) 5", "+OK") }
            let requests = (0..<3000).map { _ -> String in
                let provider = "club\(Int.random(in: 0..<4, using: &random))"
                let holder = "h\(Int.random(in: 0..<40, using: &random))"
                return [
                    "BOOK \(provider) \(holder)", "BOOK \(provider) \(holder) WAIT",
                    "CANCEL \(provider) \(holder)",
                ][Int.random(in: 0..<3, using: &random)]
            }
            let killAfter = Double.random(in: 0.002...0.05, using: &random)
            let burst = Thread { [port = kezekd.port] in
                guard let client = try? LineClient(port: port) else { return }
                _ = try? client.pipeline(requests, timeout: 20)
            }
            burst.start()
            pause(killAfter)
            kezekd.kill9()
            try kezekd.start()
            let audit = try replay()
            XCTAssertEqual(
                audit.status, 0,
                "seed \(seed), killed after \(killAfter) s: " + audit.stdout + audit.stderr)
            kezekd.terminate()
            redis.stop()
        }
    }
}
