import XCTest
@testable import KezekCore

/// The slot map read from `CLUSTER SLOTS`, the shards' own key tags, and where a provider's
/// requests are routed. The real cluster behind them is in ClusterTests.
final class ClusterTopologyTests: XCTestCase {
    private func node(_ port: Int) -> RedisValue {
        .array([.string("127.0.0.1"), .integer(port), .string("id\(port)")])
    }

    /// What `redis-cli --cluster create` with 3 masters and 1 replica each gives, with the
    /// first master also serving a second range (after a rebalance).
    private var slotsReply: RedisValue {
        .array([
            .array([.integer(5461), .integer(10922), node(7002), node(7005)]),
            .array([.integer(0), .integer(5000), node(7001), node(7004)]),
            .array([.integer(10923), .integer(16383), node(7003), node(7006)]),
            .array([.integer(5001), .integer(5460), node(7001), node(7004)]),
        ])
    }

    func testShardsAreMastersWithAllTheirRangesNamedByTheirLowestSlot() throws {
        let topology = try ClusterTopology.parse(slotsReply)
        XCTAssertEqual(topology.shards.map(\.identitySlot), [0, 5461, 10923])
        XCTAssertEqual(topology.shards[0].ranges, [0...5000, 5001...5460])
        XCTAssertEqual(
            topology.shards[0].master, ServerSettings.Endpoint(host: "127.0.0.1", port: 7001))
        XCTAssertEqual(
            topology.shards[0].replicas, [ServerSettings.Endpoint(host: "127.0.0.1", port: 7004)])
        XCTAssertEqual(topology.shard(ofSlot: 5460)?.identitySlot, 0)
        XCTAssertEqual(topology.shard(ofSlot: 5461)?.identitySlot, 5461)
        XCTAssertEqual(topology.shard(ofSlot: 16383)?.identitySlot, 10923)
        XCTAssertFalse(topology.shardOfSlot.contains(ClusterTopology.unassigned))
        XCTAssertEqual(topology.nodes.map(\.port), [7001, 7002, 7003, 7004, 7005, 7006])
    }

    func testMalformedSlotMapsAreRefused() {
        for bad: RedisValue in [
            .string("OK"),
            .array([.array([.integer(0), .integer(16384), node(7001)])]),
            .array([.array([.integer(10), .integer(5), node(7001)])]),
            .array([.array([.integer(0), .integer(5)])]),
            .array([
                .array([.integer(0), .integer(5), .array([.string("127.0.0.1"), .integer(0)])])
            ]),
        ] {
            XCTAssertThrowsError(try ClusterTopology.parse(bad), "\(bad.summary)")
        }
    }

    func testHashSlotsAreRedisClusters() {
        // The reference value of Redis Cluster's spec (CRC16/XMODEM) and slots Redis gives.
        XCTAssertEqual(HashSlot.crc16("123456789".utf8), 0x31C3)
        XCTAssertEqual(HashSlot.of("foo".utf8), 12182)
        XCTAssertEqual(HashSlot.of("{user1000}.following".utf8), HashSlot.of("user1000".utf8))
    }

    func testEverySlotHasAShardTagThatHashesToIt() {
        var seen = Set<String>()
        for slot in stride(from: 0, to: HashSlot.count, by: 997) + [HashSlot.count - 1] {
            let tag = ShardTag.forSlot(slot)
            XCTAssertEqual(HashSlot.of(tag.utf8), slot)
            XCTAssertEqual(
                HashSlot.of("kezek:{\(tag)}:epoch".utf8), slot,
                "the lease keys live in the shard's own slot")
            seen.insert(tag)
        }
        XCTAssertEqual(ShardTag.forSlot(0), ShardTag.forSlot(0), "every daemon finds the same tag")
        XCTAssertEqual(seen.count, HashSlot.count / 997 + 2)
        XCTAssertEqual(ShardTag.forSlot(HashSlot.of("s10".utf8)), "s10", "counting goes on past s9")
    }

    func testClusterKeyLayoutTagsTheShardsOwnKeys() {
        let keys = KeyLayout(prefix: "kezek", shardTag: "s42")
        XCTAssertEqual(keys.leaseOwner, "kezek:{s42}:owner")
        XCTAssertEqual(keys.leaseEpoch, "kezek:{s42}:epoch")
        XCTAssertEqual(keys.batchSequence(thread: 1), "kezek:{s42}:seq:1")
        XCTAssertEqual(keys.providers, "kezek:{s42}:providers")
        XCTAssertEqual(keys.ownerAddress, "kezek:{s42}:address")
        XCTAssertEqual(keys.booked("p1"), "kezek:{p1}:booked")
        // A round's keys in the slot of its id, the slot clients route its commands by.
        XCTAssertEqual(keys.roundMeta("spring"), "kezek:{spring}:meta")
        XCTAssertEqual(keys.roundApplications("spring"), "kezek:{spring}:apps")
        XCTAssertEqual(keys.roundFreeSeats("spring"), "kezek:{spring}:free")
        let alone = KeyLayout(prefix: "kezek")
        XCTAssertEqual(alone.leaseOwner, "kezek:{lease}:owner")
        XCTAssertEqual(alone.providers, "kezek:providers")
        XCTAssertEqual(alone.roundMeta("spring"), "kezek:{round:spring}:meta", "as before")
    }

    func testRoutesFollowTheShardsHolders() throws {
        let topology = try ClusterTopology.parse(slotsReply)
        let me = ServerSettings.Endpoint(host: "127.0.0.1", port: 7411)
        let other = ServerSettings.Endpoint(host: "127.0.0.1", port: 7422)
        let snapshot = ClusterDirectory.Snapshot(
            topology: topology, holders: [me, other, nil], ownShard: 0)
        func provider(inShard shard: Int) -> String {
            (0...).lazy.map { "p\($0)" }.first {
                topology.shard(ofSlot: HashSlot.of($0.utf8))?.identitySlot
                    == topology.shards[shard].identitySlot
            }!
        }
        let inShard0 = provider(inShard: 0), inShard1 = provider(inShard: 1),
            inShard2 = provider(inShard: 2)
        XCTAssertEqual(
            ClusterDirectory.route(inShard0.utf8, in: snapshot, own: me, serving: true), .here)
        XCTAssertEqual(
            ClusterDirectory.route(inShard1.utf8, in: snapshot, own: me, serving: true),
            .moved(slot: HashSlot.of(inShard1.utf8), to: other))
        XCTAssertEqual(
            ClusterDirectory.route(inShard2.utf8, in: snapshot, own: me, serving: true),
            .nobody(slot: HashSlot.of(inShard2.utf8)))
        // A standby of shard 0 sends its shard's requests to the holder; with no holder
        // known it answers them itself (-UNAVAILABLE standby, -LOADING).
        let standby = ClusterDirectory.Snapshot(
            topology: topology, holders: [other, other, nil], ownShard: 0)
        XCTAssertEqual(
            ClusterDirectory.route(inShard0.utf8, in: standby, own: me, serving: false),
            .moved(slot: HashSlot.of(inShard0.utf8), to: other))
        let orphan = ClusterDirectory.Snapshot(
            topology: topology, holders: [nil, other, nil], ownShard: 0)
        XCTAssertEqual(
            ClusterDirectory.route(inShard0.utf8, in: orphan, own: me, serving: false), .here)
    }

    func testAnnouncedAddressesParse() {
        XCTAssertEqual(
            ClusterDirectory.endpoint("127.0.0.1:7411"),
            ServerSettings.Endpoint(host: "127.0.0.1", port: 7411))
        XCTAssertEqual(
            ClusterDirectory.endpoint("[::1]:7411"),
            ServerSettings.Endpoint(host: "::1", port: 7411))
        for bad in ["", "127.0.0.1", "127.0.0.1:0", ":7411", "host:99999"] {
            XCTAssertNil(ClusterDirectory.endpoint(bad), bad)
        }
    }

    func testTheClusterBatchScriptReadsEveryKeyBeforeItWrites() {
        let script = FencingScripts.clusterBatch
        XCTAssertTrue(script.hasPrefix("#!lua flags=allow-cross-slot-keys\n"))
        let read = try! XCTUnwrap(script.range(of: "redis.call('EXISTS'"))
        let write = try! XCTUnwrap(script.range(of: "redis.call(verbs[ARGV[i]]"))
        XCTAssertLessThan(read.lowerBound, write.lowerBound)
        XCTAssertTrue(FencingScripts.batch.hasPrefix("#!lua\n"))
        XCTAssertFalse(FencingScripts.batch.contains("EXISTS"))
    }
}
