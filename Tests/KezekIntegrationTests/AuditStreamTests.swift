import Foundation
import KezekDraw
import XCTest

/// The audit stream (PROTOCOL.md "Transparency"): replaying every provider's stream rebuilds
/// what kezekd serves, after bookings, cancellations, promotions, a round with offers,
/// declines, expiries and the cascade, and a kill -9; `kezek-audit replay` checks it.
final class AuditStreamTests: IntegrationTestCase {
    private func replay(_ extra: [String] = []) throws -> (status: Int32?, stdout: String, stderr: String) {
        try runProgram(builtProgram("kezek-audit"),
                       ["replay", "--redis", "127.0.0.1:\(redis.port)", "--kezekd", "127.0.0.1:\(kezekd.port)"] + extra, timeout: 60)
    }

    func testReplayingTheAuditStreamsRebuildsWhatKezekdServes() throws {
        try startStack(["--offer-ttl", "2"])
        let client = try connect()
        for line in ["PROVIDER north.a 2", "PROVIDER north.b 1", "PROVIDER south.c 3"] { try expect(client, line, "+OK") }
        // First come, first served with a waitlist, cancellations and promotions.
        let fcfs = try client.pipeline((0..<12).map { "BOOK north.a walk\($0) WAIT" } + ["BOOK south.c walk0", "PROVIDER south.c 4"])
        XCTAssertFalse(fcfs.contains { $0.hasPrefix("-") }, "\(fcfs)")
        try expect(client, "CANCEL north.a walk0", prefix: "+CANCELLED")   // an offer to the head (offer-ttl 2)
        try expect(client, "CANCEL north.a walk5", "+CANCELLED 0")          // a waitlist place
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
        XCTAssertTrue(audit.stdout.contains("history of \(kid):"), audit.stdout)
        XCTAssertTrue(audit.stdout.contains("offer (round r, choice"), "the offer came from the round: \(audit.stdout)")
        XCTAssertTrue(audit.stdout.contains("confirm (round r, choice"), audit.stdout)
        // Every acknowledged change is in the stream: a forged entry is a difference.
        let redisClient = try LineClient(port: redis.port)
        let forged = try redisClient.request(LineClient.resp(["XADD", "kezek:{north.b}:audit", "*", "op", "book", "holder", "ghost"]))
        XCTAssertTrue(forged.hasPrefix("$") || forged.hasPrefix("+"), forged)
        let caught = try replay()
        XCTAssertEqual(caught.status, 1, caught.stdout)
        XCTAssertTrue(caught.stdout.contains("north.b: booked replayed"), caught.stdout)
    }

    func testAStateChangeAndItsAuditEntryAreOneStep() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER p 1", "+OK")
        try expect(client, "BOOK p h1", "+BOOKED 0")
        try expect(client, "BOOK p h1", "+BOOKED 0")   // a retry writes the fact again, not a second entry
        try expect(client, "BOOK p h2 WAIT", "+WAITING 1")
        try expect(client, "CANCEL p h1", "+CANCELLED 0")
        let redisClient = try LineClient(port: redis.port)
        let inspector = RedisInspector(redis: redis)
        guard case .array(let entries)? = try inspector.command(redisClient, ["XRANGE", "kezek:{p}:audit", "-", "+"]) else {
            return XCTFail("no audit stream")
        }
        let ops: [String] = entries.map { entry in
            guard case .array(let parts) = entry, parts.count == 2, case .array(let fields) = parts[1] else { return "?" }
            let texts = fields.compactMap { if case .bulk(let text) = $0 { return text } else { return nil } }
            return stride(from: 0, to: texts.count - 1, by: 2).map { "\(texts[$0])=\(texts[$0 + 1])" }.joined(separator: " ")
        }
        XCTAssertEqual(ops, ["op=capacity capacity=1", "op=book holder=h1", "op=wait holder=h2", "op=unbook holder=h1",
                             "op=book holder=h2", "op=unwait holder=h2"])
    }
}
