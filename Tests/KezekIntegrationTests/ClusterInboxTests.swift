import Foundation
import XCTest
@testable import KezekCore
import KezekTestSupport

/// Fair rounds across shards, step 2 (docs/SCALING.md): a shard's inbox. The test posts as
/// shard 0's holder would (the round's shard, once OPEN and DRAW post these): a message is
/// refused below the sender's fence, applied by the receiver's holder in the batch that records
/// its id, carried on by its successor after a SIGKILL from where Redis says it got to, and
/// written back with the rest of the shard's state when its master loses its data.
extension ClusterTests {
    func testAShardAppliesItsInboxOnceAcrossItsHoldersDeath() throws {
        let layout = try startThreeNodes()
        let entry = layout.holders[0].port
        var clubs: [Int: String] = [:]
        for index in 0..<500 where clubs.count < 3 {
            let name = "club-\(index)"
            let shard = layout.shard(ofSlot: try slot(of: name, at: entry))
            if clubs[shard] == nil { clubs[shard] = name }
        }
        for (shard, club) in clubs {
            try expect(
                try LineClient(port: layout.holders[shard].port), "PROVIDER \(club) 5", "+OK")
        }
        let receiverSlot = layout.shardSlots[1]
        let receiverTag = ShardTag.forSlot(receiverSlot)
        let receiver = KeyLayout(prefix: "kezek", shardTag: receiverTag)
        let master = try XCTUnwrap(try cluster!.master(ofSlot: receiverSlot))
        let redis = try RedisSyncConnection(
            endpoint: ServerSettings.Endpoint(host: "127.0.0.1", port: master.port))
        // The sender's fence on the receiver's master, as shard 0's holder raises it before
        // its first post (step 3's; the holder limit's reserves use the same fences).
        let fence = HolderUnitKeys(prefix: "kezek").fence(
            homeTag: receiverTag, shard: layout.shardSlots[0])
        let epoch = 7
        _ = try redis.command(["EVAL", HolderUnitScripts.raiseFence, "1", fence, String(epoch)])
        func post(_ kind: ShardInbox.Message.Kind, _ round: String, epoch: Int) throws -> String {
            try ShardInbox.post(
                ShardInbox.Message(
                    kind: kind, round: round, from: layout.shardSlots[0], epoch: epoch),
                to: receiver, fence: fence, on: redis)
        }
        func applied() throws -> String? {
            try redis.command(["HGET", receiver.inboxState, "applied"]).string
        }
        func book(_ shard: Int, _ holder: String, at port: Int? = nil) throws -> String {
            try LineClient(port: port ?? layout.holders[shard].port).request(
                "BOOK \(clubs[shard]!) \(holder)")
        }

        XCTAssertThrowsError(try post(.freeze, "spring", epoch: epoch - 1)) {
            XCTAssertTrue("\($0)".contains("KZFENCED"), "\($0)")
        }
        let frozen = try post(.freeze, "spring", epoch: epoch)
        XCTAssertEqual(
            poll(timeout: 10) { (try? book(1, "aruzhan")) == "+ROUND spring" ? true : nil }, true,
            "shard 1 did not apply the freeze")
        XCTAssertEqual(
            poll(timeout: 10) { (try? applied()) == frozen ? true : nil }, true,
            "the freeze's id is not recorded as applied")
        XCTAssertEqual(try redis.command(["HKEYS", receiver.foreignRounds]).strings, ["spring"])
        // The other shards got no message: first come, first served there.
        XCTAssertEqual(try book(0, "bolat"), "+BOOKED 4")
        XCTAssertEqual(try book(2, "bolat"), "+BOOKED 4")

        // Shard 1's holder dies; a message posted meanwhile is applied by its successor, which
        // also keeps the freeze it loads.
        layout.holders[1].kill9()
        let autumn = try post(.freeze, "autumn", epoch: epoch)
        let thawed = try post(.thaw, "spring", epoch: epoch)
        let successor = layout.standbys[0]
        try successor.waitHealthy(timeout: 20)
        XCTAssertEqual(
            poll(timeout: 10) { (try? applied()) == thawed ? true : nil }, true,
            "the successor did not apply what was posted while shard 1 had no holder")
        XCTAssertEqual(try book(1, "aruzhan", at: successor.port), "+ROUND autumn")
        XCTAssertEqual(try redis.command(["HKEYS", receiver.foreignRounds]).strings, ["autumn"])
        XCTAssertGreaterThan(thawed, autumn)
        let metrics = try adminGet(port: successor.adminPort, path: "/metrics").body
        XCTAssertTrue(metrics.contains("\nkezek_foreign_rounds 1\n"), "metrics: frozen rounds")
        XCTAssertTrue(
            metrics.contains("\nkezek_inbox_applied_total 2\n"),
            "metrics: the successor applied the two messages after the last one Redis had")
        guard case .integer(3) = try redis.command(["XLEN", receiver.inbox]) else {
            return XCTFail("the inbox does not hold the three messages posted")
        }

        // Shard 1's master loses its data: the holder writes back the freeze it applied and
        // where it got to in the inbox, with its bookings.
        XCTAssertEqual(try redis.command(["FLUSHALL"]).string, "OK")
        XCTAssertEqual(
            poll(timeout: 15) { (try? applied()) == thawed ? true : nil }, true,
            "the write-back did not record the last message applied")
        XCTAssertEqual(try redis.command(["HKEYS", receiver.foreignRounds]).strings, ["autumn"])
        XCTAssertEqual(try book(1, "aruzhan", at: successor.port), "+ROUND autumn")
        _ = try post(.thaw, "autumn", epoch: epoch)
        XCTAssertEqual(
            poll(timeout: 10) {
                (try? book(1, "aruzhan", at: successor.port)) == "+BOOKED 4" ? true : nil
            },
            true, "shard 1 stayed frozen after the last thaw")
        XCTAssertEqual(try redis.command(["HKEYS", receiver.foreignRounds]).strings, [])
    }
}
