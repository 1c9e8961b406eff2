import Foundation
import XCTest
import KezekTestSupport

/// `holder-limit` across the shards of a Redis Cluster (issue 26): a holder's count lives at
/// its home master, where each shard's holder reserves a unit before it takes a seat
/// (docs/SCALING.md, "The holder limit across shards").
extension ClusterTests {
    func testHolderLimitOneHoldsAcrossShardsThroughANodesDeath() throws {
        try burstAcrossShards(limit: 1)
    }

    func testHolderLimitTwoHoldsAcrossShardsThroughANodesDeath() throws {
        try burstAcrossShards(limit: 2)
    }

    /// 2,000 holders each BOOK 6 providers (2 per shard) at once, over 6 connections that
    /// route by `-MOVED`; a quarter in, node 1 (the holder of shard 1 and a standby) is
    /// SIGKILLed. Afterwards, in Redis: no holder over the limit, no provider over its seats,
    /// every acknowledged booking there and no other, and every holder's units naming exactly
    /// the providers where it has a seat (the unit of a booking cut short by the kill settled
    /// by shard 1's new holder).
    private func burstAcrossShards(limit: Int) throws {
        let layout = try startThreeNodes(extraArguments: ["--holder-limit", "\(limit)"])
        let entry = layout.holders[0].port
        let holders = 2_000
        let capacity = 300 * limit
        let providers = try providersPerShard(layout, count: 2, at: entry)
        var slots: [String: Int] = [:]
        for provider in providers {
            slots[provider] = try slot(of: provider, at: entry)
            let holder = layout.holders[layout.shard(ofSlot: slots[provider]!)]
            try expect(try LineClient(port: holder.port), "PROVIDER \(provider) \(capacity)", "+OK")
        }
        // Holder-major: worker w of 6 books provider w, so a holder's six BOOKs run at once.
        let requests: [(provider: String, holder: String)] = (0..<(holders * providers.count)).map {
            (providers[$0 % providers.count], "h\($0 / providers.count)")
        }
        let burst = BookingBurst(
            nodePorts: daemons.map(\.port), requests: requests, slots: slots, connections: 6,
            chunk: 40)
        burst.thresholds = [requests.count / 4]
        let killed = Locked(false)
        burst.onThreshold = { _ in
            layout.holders[1].kill9()
            layout.standbys[1].kill9()
            killed.withLock { $0 = true }
        }
        let outcome = burst.run(timeout: 150)
        print(
            "holder-limit \(limit) burst: \(outcome.booked.count) +BOOKED, "
                + "\(outcome.limited.count) +LIMIT, \(outcome.full.count) +FULL, "
                + "\(outcome.movedReplies) -MOVED, \(outcome.unavailableReplies) -UNAVAILABLE, "
                + "\(outcome.brokenConnections) broken connections")
        XCTAssertTrue(killed.current, "the node was killed mid-burst")
        XCTAssertEqual(outcome.unexpected, [])
        XCTAssertEqual(outcome.unsettled.count, 0, "requests left unanswered after retries")
        XCTAssertGreaterThan(outcome.limited.count, 0)
        XCTAssertGreaterThan(outcome.brokenConnections, 0, "the node's death was not felt")

        // Shard 1's new holder settles the units before it serves; wait until it does.
        let successor = layout.standbys[0]
        let served = poll(timeout: 30) { () -> Bool? in
            (try? LineClient(port: successor.port, timeout: 1).request("HEALTH", timeout: 1))?
                .hasPrefix("+OK") == true ? true : nil
        }
        XCTAssertEqual(served, true)
        let cluster = try XCTUnwrap(cluster)
        try cluster.waitUntilWhole(timeout: 30)
        let stored = try redisCollections(cluster)
        var seatsOf: [String: Set<String>] = [:]
        for provider in providers {
            let booked = stored["kezek:{\(provider)}:booked"] ?? []
            XCTAssertLessThanOrEqual(
                booked.count, capacity, "\(provider): Redis holds more bookings than seats")
            for holder in booked { seatsOf[holder, default: []].insert(provider) }
            let indexes = stride(
                from: providers.firstIndex(of: provider)!, to: requests.count, by: providers.count)
            let acknowledged = Set(
                indexes.filter(outcome.booked.contains).map { requests[$0].holder })
            XCTAssertEqual(
                acknowledged.subtracting(booked), [],
                "\(provider): acknowledged bookings missing from Redis")
            XCTAssertEqual(
                booked.subtracting(acknowledged), [],
                "\(provider): bookings in Redis never acknowledged")
        }
        let over = seatsOf.filter { $0.value.count > limit }
        XCTAssertEqual(over.count, 0, "holders over the limit of \(limit): \(over.prefix(5))")
        XCTAssertGreaterThan(seatsOf.count, holders / 2)
        var unitsDiffer: [String] = []
        for index in 0..<holders {
            let holder = "h\(index)"
            let units = stored["kezek:{h:\(holder)}:units"] ?? []
            let seats = seatsOf[holder, default: []]
            if units != seats {
                unitsDiffer.append("\(holder): units \(units.sorted()), seats \(seats.sorted())")
            }
        }
        XCTAssertEqual(
            unitsDiffer.count, 0, "units that do not match the seats: \(unitsDiffer.prefix(5))")
        let sold = providers.map { stored["kezek:{\($0)}:booked"]?.count ?? 0 }
        print("holder-limit \(limit): seats sold per provider \(sold) of \(capacity)")
    }

    /// A unit granted for a booking whose batch never reached Redis (its kezekd and its shard's
    /// master die between the two) is given back by the shard's next holder; a CANCEL gives
    /// the holder's unit back too, so it books elsewhere.
    func testAUnitLeftByACrashIsReleasedAndACancelGivesTheUnitBack() throws {
        let layout = try startThreeNodes(extraArguments: ["--holder-limit", "1"])
        let cluster = try XCTUnwrap(cluster)
        let entry = layout.holders[0].port
        let providers = try createOneProviderPerShard(layout)
        // A holder whose home is not shard 1's master (which dies with the booking).
        let holder = try firstHolder(layout) { $0 != 1 }
        let master1 = try XCTUnwrap(try cluster.master(ofSlot: layout.shardSlots[1]))
        master1.pause()
        let booking = try LineClient(port: layout.holders[1].port, timeout: 5)
        try booking.send("BOOK \(providers[1]) \(holder)\r\n")
        // The home granted the unit; the batch waits at the frozen master.
        let home = try XCTUnwrap(
            try cluster.master(ofSlot: try slot(of: "{h:\(holder)}", at: entry)))
        let granted = poll(timeout: 5, interval: 0.05) { () -> Bool? in
            (try? units(of: holder, at: home))?.contains(providers[1]) == true
                ? true : nil
        }
        XCTAssertEqual(granted, true, "the unit was not granted at the holder's home")
        // Frozen past cluster-node-timeout (a slow machine), the master makes the cluster
        // answer CLUSTERDOWN until its replica takes over: shard 2 answers -UNAVAILABLE, which
        // asks for a retry, meanwhile.
        let limited = poll(timeout: 15, interval: 0.1) { () -> String? in
            let reply = try? LineClient(port: layout.holders[2].port).request(
                "BOOK \(providers[2]) \(holder)")
            return reply?.hasPrefix("-UNAVAILABLE") == false ? reply : nil
        }
        XCTAssertEqual(limited, "+LIMIT \(holder)")
        // The crash: shard 1's kezekd and its master die; the replica, promoted, lacks the batch.
        layout.holders[1].kill9()
        master1.kill9()
        // Back as the promoted master's replica (with redis-replicas 1 the shard waits for one).
        let promoted = poll(timeout: 30, interval: 0.1) { () -> Int? in
            guard let now = try? cluster.master(ofSlot: layout.shardSlots[1]),
                now.port != master1.port
            else { return nil }
            return now.port
        }
        XCTAssertNotNil(promoted, "shard 1's replica was not promoted")
        try master1.start(timeout: 20)
        let successor = layout.standbys[0]
        let served = poll(timeout: 40, interval: 0.1) { () -> Bool? in
            (try? LineClient(port: successor.port, timeout: 1).request("HEALTH", timeout: 1))?
                .hasPrefix("+OK") == true ? true : nil
        }
        XCTAssertEqual(
            served, true, "shard 1's standby did not take over:\n\(successor.stderrTail())")
        try cluster.waitUntilWhole(timeout: 30)
        XCTAssertEqual(
            try units(of: holder, at: home), [],
            "the unit without a seat is still there")
        try expect(
            try LineClient(port: successor.port), "STATUS \(providers[1]) \(holder)", "+NONE")

        // Booked elsewhere now; a CANCEL gives the unit back for a third shard.
        try expect(
            try LineClient(port: layout.holders[2].port), "BOOK \(providers[2]) \(holder)",
            prefix: "+BOOKED")
        try expect(
            try LineClient(port: layout.holders[0].port), "BOOK \(providers[0]) \(holder)",
            "+LIMIT \(holder)")
        try expect(
            try LineClient(port: layout.holders[2].port), "CANCEL \(providers[2]) \(holder)",
            prefix: "+CANCELLED")
        let released = poll(timeout: 5, interval: 0.05) { () -> Bool? in
            (try? units(of: holder, at: home)) == [] ? true : nil
        }
        XCTAssertEqual(released, true, "CANCEL did not give the unit back")
        try expect(
            try LineClient(port: layout.holders[0].port), "BOOK \(providers[0]) \(holder)",
            prefix: "+BOOKED")
        XCTAssertEqual(try units(of: holder, at: home), [providers[0]])
        // BOOK WAIT cannot keep the limit across shards yet: refused, not half kept.
        try expect(
            try LineClient(port: successor.port), "BOOK \(providers[1]) \(holder) WAIT",
            prefix: "-ERR BOOK WAIT is not offered")
    }

    /// A FLUSHALL of a holder's home master empties the units every shard kept there for it
    /// (RELIABILITY.md, "Found"). With holder-limit 2 and seats at shards 0 and 1, a BOOK at
    /// shard 2 right after the flush must not be `+BOOKED`: the build before granted it (the
    /// reserve read the missing units as nothing held; nemesis seeds 2702 and 2704). Now the
    /// home refuses while any shard's fence is missing there (`-UNAVAILABLE`), each shard puts
    /// its units back, and the BOOK answers `+LIMIT`; a CANCEL gives a unit back as before.
    func testAFlushOfAHoldersHomeMasterKeepsTheLimit() throws {
        let layout = try startThreeNodes(extraArguments: ["--holder-limit", "2"])
        let cluster = try XCTUnwrap(cluster)
        let providers = try createOneProviderPerShard(layout)
        let holder = try firstHolder(layout) { $0 == 0 }
        for shard in 0..<2 {
            try expect(
                try LineClient(port: layout.holders[shard].port),
                "BOOK \(providers[shard]) \(holder)", prefix: "+BOOKED")
        }
        let home = try XCTUnwrap(try cluster.master(ofSlot: layout.shardSlots[0]))
        XCTAssertEqual(try units(of: holder, at: home), Set(providers[0..<2]))
        _ = try home.cli(["FLUSHALL"])
        let third = try LineClient(port: layout.holders[2].port, timeout: 5)
        var answers: Set<String> = []
        let settled = poll(timeout: 30, interval: 0.02) { () -> String? in
            let answer =
                (try? third.request("BOOK \(providers[2]) \(holder)", timeout: 5))
                ?? "-ERR no answer"
            answers.insert(answer)
            return answer.hasPrefix("-UNAVAILABLE") ? nil : answer
        }
        print("BOOK after the FLUSHALL of the holder's home: \(answers.sorted())")
        XCTAssertEqual(settled, "+LIMIT \(holder)", "answers after the FLUSHALL: \(answers)")
        let restored = poll(timeout: 20, interval: 0.05) { () -> Bool? in
            (try? units(of: holder, at: home)) == Set(providers[0..<2]) ? true : nil
        }
        XCTAssertEqual(
            restored, true, "units at the home: \((try? units(of: holder, at: home)) ?? [])")
        try expect(
            try LineClient(port: layout.holders[1].port), "CANCEL \(providers[1]) \(holder)",
            prefix: "+CANCELLED")
        let released = poll(timeout: 5, interval: 0.05) { () -> Bool? in
            (try? units(of: holder, at: home)) == [providers[0]] ? true : nil
        }
        XCTAssertEqual(released, true, "CANCEL did not give the unit back")
        try expect(
            try LineClient(port: layout.holders[2].port), "BOOK \(providers[2]) \(holder)",
            prefix: "+BOOKED")
        XCTAssertEqual(try units(of: holder, at: home), [providers[0], providers[2]])
        try expect(
            try LineClient(port: layout.holders[0].port), "STATUS \(providers[0]) \(holder)",
            "+BOOKED")
    }

    /// One provider per shard with 10 seats, created at its shard's holder, in shard order.
    private func createOneProviderPerShard(_ layout: Layout) throws -> [String] {
        let providers = try providersPerShard(layout, count: 1, at: layout.holders[0].port)
        for (shard, provider) in providers.enumerated() {
            try expect(
                try LineClient(port: layout.holders[shard].port), "PROVIDER \(provider) 10", "+OK")
        }
        return providers
    }

    /// The first `kid<n>` whose home master's shard passes `wanted`.
    private func firstHolder(_ layout: Layout, homeShard wanted: (Int) -> Bool) throws -> String {
        for index in 0..<10_000 {
            let holder = "kid\(index)"
            let slot = try slot(of: "{h:\(holder)}", at: layout.holders[0].port)
            if wanted(layout.shard(ofSlot: slot)) { return holder }
        }
        throw TestSetupError("no holder name in 10,000 has its home there")
    }

    /// The providers where `holder` has a unit, as its home master holds them.
    private func units(of holder: String, at home: RedisServerProcess) throws -> Set<String> {
        let fields = try home.cli(["HKEYS", "kezek:{h:\(holder)}:units"]).split(separator: "\n")
        return Set(fields.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    /// `count` provider names in each shard, in shard order (as `club-<n>`).
    private func providersPerShard(_ layout: Layout, count: Int, at port: Int) throws -> [String] {
        var found: [[String]] = Array(repeating: [], count: 3)
        for index in 0..<500 where found.contains(where: { $0.count < count }) {
            let name = "club-\(index)"
            let shard = layout.shard(ofSlot: try slot(of: name, at: port))
            if found[shard].count < count { found[shard].append(name) }
        }
        return found.flatMap { $0 }
    }

    /// Every collection under `kezek:` on the masters serving now, merged. A master is asked
    /// itself (ROLE): another node's CLUSTER NODES may flag a busy one `fail?` for a moment.
    private func redisCollections(_ cluster: RedisClusterProcesses) throws -> [String: Set<String>]
    {
        var merged: [String: Set<String>] = [:]
        var masters = 0
        for node in cluster.nodes where node.isRunning {
            guard (try? node.cli(["ROLE"]))?.hasPrefix("master") == true else { continue }
            masters += 1
            merged.merge(try RedisInspector(redis: node).collections(prefix: "kezek:")) {
                $0.union($1)
            }
        }
        XCTAssertEqual(masters, 3, "every master read")
        return merged
    }
}
