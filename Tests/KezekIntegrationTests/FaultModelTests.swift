import Foundation
import XCTest
import KezekTestSupport

/// The durability promise under the faults of real deployments (docs/PROTOCOL.md, "Durability
/// promise"): a second daemon, a crashed or frozen primary, Redis losing data, Redis refusing
/// writes, a stalled Redis, and a Redis that requires a password. Real processes throughout.
final class FaultModelTests: IntegrationTestCase {
    func testSecondDaemonOnTheSamePortSellsNothingAndWaitsAsStandby() throws {
        try startStack()
        try expect(try connect(), "PROVIDER solo 1", "+OK")
        let other = try second(port: kezekd.port)
        waitForStandby(other)

        // SO_REUSEPORT spreads new connections over both daemons' listeners.
        var booked: [String] = []
        var standbyReplies = 0
        var healthOfStandby: String?
        for index in 0..<40 {
            let client = try LineClient(port: kezekd.port)
            let health = try client.request("HEALTH")
            if health.contains("role=standby") { healthOfStandby = health }
            let reply = try client.request("BOOK solo h\(index)")
            if reply.hasPrefix("+BOOKED") { booked.append("h\(index)") }
            if reply == "-UNAVAILABLE standby: another daemon holds the lease of this key prefix" {
                standbyReplies += 1
            }
            if reply.hasPrefix("+BOOKED") == false && reply != "+FULL solo"
                && !reply.hasPrefix("-UNAVAILABLE standby")
            {
                XCTFail("unexpected reply \(reply)")
            }
        }
        XCTAssertEqual(booked.count, 1, "exactly one seat sold: \(booked)")
        XCTAssertGreaterThan(standbyReplies, 0, "no connection reached the standby")
        XCTAssertTrue(
            healthOfStandby?.hasPrefix("-DOWN ") == true,
            "standby HEALTH: \(healthOfStandby ?? "never reached")")

        // The first dies; the standby takes over with the one booking.
        kezekd.kill9()
        try other.waitHealthy(timeout: 15)
        let client = try LineClient(port: kezekd.port)
        let fields = try seats(client, "solo")
        XCTAssertEqual(fields["capacity"], 1)
        XCTAssertEqual(fields["booked"], 1, "after the takeover: \(fields)")
        try expect(client, "STATUS solo \(booked.first ?? "?")", "+BOOKED")
    }

    func testStandbyTakesOverAfterSigkillWithEveryAcknowledgedBooking() throws {
        try startStack(["--lease-ttl", "2"])
        let primary = try connect()
        try expect(primary, "PROVIDER hall 1000", "+OK")
        let other = try second(arguments: ["--lease-ttl", "2"])
        waitForStandby(other)
        let replies = try primary.pipeline((0..<300).map { "BOOK hall h\($0)" })
        let acknowledged = replies.indices.filter { replies[$0].hasPrefix("+BOOKED") }
        XCTAssertEqual(acknowledged.count, 300)

        kezekd.kill9()
        let killed = monotonicNow()
        try other.waitHealthy(timeout: 15)
        let takeover = monotonicNow() - killed
        XCTAssertLessThan(takeover, 2 + 3, "takeover took \(takeover) s with lease-ttl 2")
        let standby = try LineClient(port: other.port)
        let statuses = try standby.pipeline(acknowledged.map { "STATUS hall h\($0)" })
        XCTAssertEqual(Set(statuses), ["+BOOKED"])
        XCTAssertEqual(try seats(standby, "hall")["booked"], 300)
    }

    /// A primary frozen past its lease (SIGSTOP: alive, so nobody may assume it dead) loses
    /// the lease to the standby; woken, it answers no write and exits, and Redis refuses
    /// whatever it had in flight.
    func testFrozenPrimaryIsFencedWhenItWakes() throws {
        try startStack(["--lease-ttl", "1"])
        let primary = try connect()
        try expect(primary, "PROVIDER solo 1", "+OK")
        let other = try second(arguments: ["--lease-ttl", "1"])
        waitForStandby(other)

        kezekd.process?.send(signal: SIGSTOP)
        try other.waitHealthy(timeout: 10)
        let standby = try LineClient(port: other.port)
        try expect(standby, "BOOK solo new", "+BOOKED 0")
        try send(primary, "BOOK solo old")
        kezekd.process?.send(signal: SIGCONT)
        let reply = try primary.readLine()
        XCTAssertTrue(reply.hasPrefix("-UNAVAILABLE"), "the woken primary answered \(reply)")
        let exited = poll(timeout: 10) { () -> Int32? in
            guard let process = self.kezekd.process, !process.isRunning else { return nil }
            return process.terminationStatus
        }
        XCTAssertEqual(exited, 75, "the fenced primary should exit with status 75")
        try expect(standby, "SEATS solo", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=0")
        XCTAssertEqual(try redisBookings("solo"), ["new"])
    }

    /// A primary frozen past its lease answers no read once it wakes: the standby has taken
    /// over and written since, so the woken primary's memory is stale, and a STATUS or SEATS
    /// from it would break linearizability. Found by the nemesis (`sigstop-holder`): the
    /// build before answered `+SEATS … booked=0` and `+NONE` here after the standby's booking.
    func testFrozenPrimaryAnswersNoStaleRead() throws {
        try startStack(["--lease-ttl", "1"])
        let clients = try (0..<4).map { _ in try connect() }
        try expect(clients[0], "PROVIDER solo 1", "+OK")
        let other = try second(arguments: ["--lease-ttl", "1"])
        waitForStandby(other)

        kezekd.process?.send(signal: SIGSTOP)
        try other.waitHealthy(timeout: 10)
        let standby = try LineClient(port: other.port)
        try expect(standby, "BOOK solo new", "+BOOKED 0")
        // Queued while frozen, so the woken loop reads them at once.
        for (index, client) in clients.enumerated() {
            try send(client, index % 2 == 0 ? "SEATS solo" : "STATUS solo new")
        }
        kezekd.process?.send(signal: SIGCONT)
        for client in clients {
            // Closed as it exits: no answer
            guard let reply = try? client.readLine() else { continue }
            XCTAssertTrue(
                reply.hasPrefix("-UNAVAILABLE"), "the woken primary answered a read with \(reply)")
        }
        try expect(standby, "SEATS solo", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=0")
    }

    func testFlushallIsNoticedAndTheStateWrittenBack() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER gym 3", "+OK")
        try expect(client, "BOOK gym a", "+BOOKED 2")
        try expect(client, "BOOK gym b", "+BOOKED 1")
        try expect(client, "BOOK gym c", "+BOOKED 0")
        try expect(client, "BOOK gym d WAIT", "+WAITING 1")
        _ = try redis.cli(["FLUSHALL"])
        // The next write finds the loss before it is confirmed, and waits for the repair.
        try expect(client, "CANCEL gym a", "+CANCELLED 0")
        try expect(client, "BOOK gym e WAIT", "+WAITING 1")
        XCTAssertEqual(try redisBookings("gym"), ["b", "c", "d"])
        let metrics = try adminGet(port: kezekd.adminPort, path: "/metrics").body
        XCTAssertTrue(metrics.contains("kezek_repairs_total 1"), "metrics: repairs")
        XCTAssertTrue(
            try String(contentsOfFile: kezekd.stderrPath, encoding: .utf8).contains(
                "redis lost data this daemon had confirmed"))

        kezekd.kill9()
        try kezekd.start()
        let after = try connect()
        try expect(after, "SEATS gym", "+SEATS capacity=3 booked=3 free=0 waiting=1 refused=0")
        try expect(after, "STATUS gym e", "+WAITING 1")
    }

    /// A write-back cut short is tried again until it completes: the holder neither gives its
    /// state up nor loses a booking. Found by the nemesis (seed 20261206: FLUSHALL, then Redis
    /// restarted during the write-back): the holder renewed with its old epoch, read its own new
    /// one as another daemon's and exited (75) with the only copy of 4,100 bookings. Here Redis
    /// is emptied with too little memory left for the whole state (maxmemory), so the write-back
    /// fails part way; the build before exited at its next renewal.
    func testAWriteBackCutShortIsTriedAgainUntilItCompletes() throws {
        try startStack(["--lease-ttl", "2"])
        let (providers, empty) = try bookWriteBackProviders()
        try emptyRedisAndCutTheWriteBackShort(leaving: empty + 600_000)
        pause(2.5)  // more than a renewal (lease-ttl / 3) after the failed write-back
        XCTAssertTrue(kezekd.isRunning, "the holder gave its state up: \(kezekd.stderrTail())")
        _ = try redis.cli(["CONFIG", "SET", "maxmemory", "0"])
        try waitUntilEveryBookingIsBack(providers)
        try expect(try connect(), "BOOK wb0 late", "+BOOKED 2999")
    }

    /// A standby does not take over a Redis whose write-back is unfinished while the daemon
    /// writing it may be alive: that daemon holds the only whole copy. Here the write-back is
    /// cut short (maxmemory), then the holder is frozen past its lease (SIGSTOP). The build
    /// before let the standby take over at once and serve the part written back: acknowledged
    /// bookings gone. Now it waits; the holder, woken, finishes its write-back.
    func testStandbyDoesNotTakeOverAnUnfinishedWriteBack() throws {
        // A lease of 3 s: 40,000 pipelined BOOKs on a loaded machine must not see it lapse.
        try startStack(["--lease-ttl", "3"])
        let (providers, empty) = try bookWriteBackProviders()
        let other = try second(arguments: ["--lease-ttl", "3"])
        waitForStandby(other)
        try emptyRedisAndCutTheWriteBackShort(leaving: empty + 1_500_000)
        let written = try bookedInRedis(providers).reduce(0, +)
        XCTAssertGreaterThan(written, 0, "nothing was written back: \(kezekd.stderrTail())")
        XCTAssertLessThan(written, 40_000, "the write-back was not cut short")
        kezekd.pause()
        pause(7)  // more than two lease-ttls: the lease lapsed long ago
        let health = try? LineClient(port: other.port, timeout: 2).request("HEALTH")
        XCTAssertTrue(
            health?.hasPrefix("-DOWN") == true,
            "the standby took over a half-written Redis: \(health ?? "no answer")")
        _ = try redis.cli(["CONFIG", "SET", "maxmemory", "0"])
        kezekd.resume()
        try waitUntilEveryBookingIsBack(providers)
        XCTAssertTrue(kezekd.isRunning, "the holder gave its state up: \(kezekd.stderrTail())")
    }

    /// 20 providers with 2,000 acknowledged bookings each: 40,000 in all; and the memory Redis
    /// used before them.
    private func bookWriteBackProviders() throws -> (providers: [String], emptyBytes: Int) {
        let empty = try usedMemory()
        let client = try connect()
        let providers = (0..<20).map { "wb\($0)" }
        for provider in providers { try expect(client, "PROVIDER \(provider) 5000", "+OK") }
        let lines = providers.flatMap { provider in
            (0..<2_000).map { "BOOK \(provider) holder\($0)" }
        }
        XCTAssertEqual(
            try client.pipeline(lines).filter { $0.hasPrefix("+BOOKED") }.count, lines.count)
        return (providers, empty)
    }

    /// Empties Redis and sets its maxmemory to `maxBytes`, in one step (so no renewal comes
    /// between), then waits until the holder's write-back failed for lack of memory.
    private func emptyRedisAndCutTheWriteBackShort(leaving maxBytes: Int) throws {
        let admin = try LineClient(port: redis.port)
        let transaction = try admin.pipeline([
            "MULTI", "FLUSHALL", "CONFIG SET maxmemory \(maxBytes)", "EXEC",
        ])
        XCTAssertEqual(transaction.first, "+OK", "\(transaction)")
        let cut = poll(timeout: 10) { () -> Bool? in
            let log = (try? String(contentsOfFile: self.kezekd.stderrPath, encoding: .utf8)) ?? ""
            return log.contains("writing the whole state back") && log.contains("OOM") ? true : nil
        }
        XCTAssertEqual(
            cut, true, "the write-back did not fail for lack of memory: \(kezekd.stderrTail())")
    }

    private func bookedInRedis(_ providers: [String]) throws -> [Int] {
        try providers.map {
            try redisBookings($0).count
        }
    }

    private func waitUntilEveryBookingIsBack(_ providers: [String]) throws {
        let complete = poll(timeout: 20, interval: 0.2) { () -> Bool? in
            (try? self.bookedInRedis(providers))?.allSatisfy { $0 == 2_000 } == true ? true : nil
        }
        XCTAssertEqual(
            complete, true,
            "not every acknowledged booking is back in Redis: \(kezekd.stderrTail())")
    }

    private func usedMemory() throws -> Int {
        let info = try redis.cli(["INFO", "memory"])
        let line =
            info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") } ?? ""
        return Int(line.dropFirst("used_memory:".count).trimmingCharacters(in: .whitespaces)) ?? 0
    }

    /// A daemon started just after Redis lost its data (a rebooted host, a supervisor's
    /// restart) must not take the emptied Redis from a live holder: the holder notices the loss
    /// at its next renewal and writes its state back, and the newcomer waits as a standby.
    /// Tried with the newcomer started 0, 50, 100 and 200 ms after a FLUSHALL, and at once
    /// after a restart without persistence.
    func testNewcomerOverAnEmptiedRedisLeavesTheLiveHolderItsBookings() throws {
        for (delayMillis, restart) in [
            (0, false), (50, false), (100, false), (200, false), (0, true),
        ] {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("redis"))
            try startStack(["--lease-ttl", "2"])
            let primary = try connect()
            try expect(primary, "PROVIDER club 100", "+OK")
            let replies = try primary.pipeline((0..<60).map { "BOOK club h\($0)" })
            XCTAssertEqual(replies.filter { $0.hasPrefix("+BOOKED") }.count, 60)
            if restart { try redis.restartEmpty() } else { _ = try redis.cli(["FLUSHALL"]) }
            usleep(UInt32(delayMillis * 1000))
            let newcomer = try second(arguments: ["--lease-ttl", "2"])
            waitForStandby(newcomer)
            XCTAssertTrue(
                kezekd.isRunning,
                "the holder lost the city to a newcomer \(delayMillis) ms after the FLUSHALL")
            let restored = poll(timeout: 10) {
                (try? self.redisBookings("club"))?.count == 60 ? true : nil
            }
            XCTAssertEqual(
                restored, true,
                "the bookings were not written back (newcomer after \(delayMillis) ms)")
            XCTAssertEqual(
                Set(try primary.pipeline((0..<60).map { "STATUS club h\($0)" })), ["+BOOKED"])

            // The newcomer, now a standby, takes over with every booking when the holder dies.
            kezekd.kill9()
            try newcomer.waitHealthy(timeout: 15)
            let standby = try LineClient(port: newcomer.port)
            XCTAssertEqual(
                Set(try standby.pipeline((0..<60).map { "STATUS club h\($0)" })), ["+BOOKED"],
                "after the takeover (newcomer after \(delayMillis) ms)")
            newcomer.terminate(grace: 2)
            redis.stop()
        }
    }

    /// Epochs never go backwards: a lease found at an epoch not above the holder's own, held
    /// by another daemon, was taken over a Redis that had lost the holder's state. The holder
    /// writes its state back under a higher epoch instead of yielding.
    func testHolderRepairsWhenItsLeaseIsFoundAtAnEpochNotAboveItsOwn() throws {
        try startStack(["--lease-ttl", "1"])
        let client = try connect()
        try expect(client, "PROVIDER gym 2", "+OK")
        try expect(client, "BOOK gym a", "+BOOKED 1")
        let epoch = try redis.cli(["GET", "kezek:{lease}:epoch"]).trimmingCharacters(
            in: .whitespacesAndNewlines)
        _ = try redis.cli(["FLUSHALL"])
        _ = try redis.cli(["SET", "kezek:{lease}:epoch", epoch])
        _ = try redis.cli(["SET", "kezek:{lease}:owner", "rogue@elsewhere/1", "PX", "60000"])
        let repaired = poll(timeout: 10) { () -> Bool? in
            (try? self.redisBookings("gym")) == ["a"] ? true : nil
        }
        XCTAssertEqual(repaired, true, "the holder did not write its state back")
        XCTAssertTrue(
            kezekd.isRunning, "the holder yielded to a lease at an epoch not above its own")
        let owner = try redis.cli(["GET", "kezek:{lease}:owner"])
        XCTAssertFalse(owner.contains("rogue"), "the lease is still the rogue's: \(owner)")
        let after = try redis.cli(["GET", "kezek:{lease}:epoch"]).trimmingCharacters(
            in: .whitespacesAndNewlines)
        XCTAssertGreaterThan(Int(after) ?? 0, Int(epoch) ?? 0)
        try expect(client, "BOOK gym b", "+BOOKED 0")
    }

    func testRedisRestartedEmptyIsRepairedWhileIdle() throws {
        try startStack(["--lease-ttl", "1"])
        let client = try connect()
        try expect(client, "PROVIDER gym 2", "+OK")
        try expect(client, "BOOK gym a", "+BOOKED 1")
        try redis.restartEmpty()
        // No request needed: the lease renewal finds the keys gone and writes the state back.
        let repaired = poll(timeout: 10) { () -> Bool? in
            (try? self.redisBookings("gym")) == ["a"] ? true : nil
        }
        XCTAssertEqual(repaired, true, "the state was not written back to the emptied Redis")
        kezekd.kill9()
        try kezekd.start()
        try expect(try connect(), "STATUS gym a", "+BOOKED")
    }

    /// With Redis refusing writes (maxmemory), a cancellation and the promotion it causes are
    /// applied together or not at all, and the daemon backs off instead of hammering Redis.
    func testPromotionUnderMaxmemoryIsAllOrNothing() throws {
        try startStack(["--write-timeout", "0.5"])
        let client = try connect()
        try expect(client, "PROVIDER club 1", "+OK")
        try expect(client, "BOOK club a", "+BOOKED 0")
        try expect(client, "BOOK club b WAIT", "+WAITING 1")
        _ = try redis.cli(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
        _ = try redis.cli(["CONFIG", "SET", "maxmemory", "1"])
        try expect(client, "CANCEL club a", prefix: "-UNAVAILABLE")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(
            try redisBookings("club"), ["a"], "part of the decision reached Redis")
        XCTAssertEqual(
            try redis.cli(["ZRANGE", "kezek:{club}:waiting", "0", "-1"]).trimmingCharacters(
                in: .whitespacesAndNewlines), "b")
        let refusals =
            try String(contentsOfFile: kezekd.stderrPath, encoding: .utf8)
            .components(separatedBy: "redis refused a mirror batch").count - 1
        XCTAssertLessThanOrEqual(
            refusals, 2, "refusals should be logged at most every 10 s, found \(refusals) lines")
        let refusedBatches = try adminGet(port: kezekd.adminPort, path: "/metrics").body
            .split(separator: "\n").first { $0.hasPrefix("kezek_mirror_refused_batches_total ") }
        let count = refusedBatches.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        XCTAssertLessThan(count, 12, "backoff: \(count) refused batches in about 2 s")

        // Crash now: the decision never reached Redis, so it never happened.
        kezekd.kill9()
        _ = try redis.cli(["CONFIG", "SET", "maxmemory", "0"])
        try kezekd.start()
        let after = try connect()
        try expect(after, "STATUS club a", "+BOOKED")
        try expect(after, "STATUS club b", "+WAITING 1")
        try expect(after, "BOOK club newcomer", "+FULL club")
        try expect(after, "CANCEL club a", "+CANCELLED 0")
        try expect(after, "STATUS club b", "+BOOKED")
    }

    /// With several mirror batches in flight, Redis refusing the oldest (here a key of the
    /// wrong type) makes it refuse every later one too, by its sequence check: that is not
    /// data loss. They are all resent in order once Redis takes them, no repair starts, and
    /// every booking admitted before the refusal lands. Bookings read after it find the
    /// mirror down and are refused at once (`-UNAVAILABLE`, never applied): how many depends
    /// on the machine's timing, so the check is that Redis holds exactly the acknowledged ones.
    func testRefusedBatchWithLaterBatchesInFlightIsResentInOrder() throws {
        try startStack(["--mirror-pipeline", "8", "--write-timeout", "30"])
        let admin = try connect()
        try expect(admin, "PROVIDER good 100000", "+OK")
        try expect(admin, "PROVIDER broken 100000", "+OK")
        let epochBefore = try redis.cli(["GET", "kezek:{lease}:epoch"])
        // Every booking write there fails, to the set or to the batches' hash (BookedBatches).
        _ = try redis.cli(["SET", "kezek:{broken}:booked", "not a set"])
        _ = try redis.cli(["SET", "kezek:{broken}:booked-batches", "not a hash"])

        let clients = try (0..<4).map { _ in try connect() }
        let perClient = 2_000
        let requests = (0..<clients.count).map { index in
            (0..<perClient).map {
                (provider: $0 % 2 == 0 ? "good" : "broken", holder: "c\(index)-\($0)")
            }
        }
        let sent = runConcurrently(clients.count, timeout: 60) { index in
            let lines = requests[index].map { "BOOK \($0.provider) \($0.holder)" }
            try? clients[index].send(lines.joined(separator: "\r\n") + "\r\n")
        }
        XCTAssertTrue(sent)
        let refused = poll(timeout: 10, interval: 0.1) { () -> Int? in
            let line = try? adminGet(port: kezekd.adminPort, path: "/metrics").body
                .split(separator: "\n").first {
                    $0.hasPrefix("kezek_mirror_refused_batches_total ")
                }
            let count = line.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            return count > 0 ? count : nil
        }
        XCTAssertNotNil(refused, "Redis refused no batch")
        _ = try redis.cli(["DEL", "kezek:{broken}:booked", "kezek:{broken}:booked-batches"])

        var acknowledged = ["good": [String](), "broken": [String]()]
        for (client, sentLines) in zip(clients, requests) {
            for request in sentLines {
                let reply = try client.readLine(timeout: 30)
                if reply.hasPrefix("+BOOKED") {
                    acknowledged[request.provider]!.append(request.holder)
                } else {
                    XCTAssertEqual(
                        reply, "-UNAVAILABLE mirror down, retry",
                        "BOOK \(request.provider) \(request.holder)")
                }
            }
        }
        XCTAssertFalse(acknowledged["broken"]!.isEmpty, "the refused batch was never resent")
        XCTAssertEqual(try redisBookings("good"), acknowledged["good"]!.sorted())
        XCTAssertEqual(try redisBookings("broken"), acknowledged["broken"]!.sorted())
        XCTAssertEqual(
            try redis.cli(["GET", "kezek:{lease}:epoch"]), epochBefore,
            "a repair started: the refusal was taken for data loss")
        let log = try String(contentsOfFile: kezekd.stderrPath, encoding: .utf8)
        XCTAssertFalse(
            log.contains("for its epoch or sequence"),
            "a later batch's refusal was taken for data loss")
    }

    /// With Redis stalled, no reply reveals a change Redis does not have: STATUS and SEATS of
    /// an unconfirmed booking wait (and fail at the write timeout); a holder whose state is
    /// confirmed still gets its answer at once.
    func testStalledRedisDoesNotLeakUnconfirmedChangesToReaders() throws {
        // 3 s: STATUS b is sent a moment after BOOK b, and must still find it unconfirmed
        // for more than 0.3 s on a loaded machine.
        try startStack(["--write-timeout", "3"])
        let writer = try connect()
        let reader = try connect()
        try expect(writer, "PROVIDER room 2", "+OK")
        try expect(writer, "BOOK room a", "+BOOKED 1")
        redis.pause()
        defer { redis.resume() }
        try send(writer, "BOOK room b")
        Thread.sleep(forTimeInterval: 0.1)
        try expect(reader, "STATUS room a", "+BOOKED")
        let started = monotonicNow()
        let status = try reader.request("STATUS room b")
        XCTAssertNotEqual(status, "+BOOKED", "STATUS revealed an unconfirmed booking")
        XCTAssertTrue(status.hasPrefix("-UNAVAILABLE"), "STATUS room b: \(status)")
        XCTAssertGreaterThan(monotonicNow() - started, 0.3, "STATUS should have waited for Redis")
        let seats = try reader.request("SEATS room")
        XCTAssertFalse(
            seats.contains("booked=2"), "SEATS revealed an unconfirmed booking: \(seats)")
        XCTAssertTrue(try writer.readLine().hasPrefix("-UNAVAILABLE"))

        // Crash while Redis is stalled, then let Redis go on: whatever b's fate, no reader
        // was told more than Redis held.
        kezekd.kill9()
        redis.resume()
        try kezekd.start()
        let after = try connect()
        try expect(after, "STATUS room a", "+BOOKED")
    }

    /// A daemon started while Redis is stalled takes the lease once Redis answers again. Its
    /// first look at the lease times out (a third of `lease-ttl`); the build before kept that
    /// connection, on which hiredis fails every later command at once with the same error, so
    /// the daemon answered `-LOADING` until it was killed (found by the nemesis, seed
    /// 685874560: a holder restarted while the link to Redis was slowed).
    func testDaemonStartedWhileRedisStallsServesOnceRedisAnswersAgain() throws {
        try startStack(["--lease-ttl", "2"])
        try expect(try connect(), "PROVIDER hall 3", "+OK")
        try expect(try connect(), "BOOK hall a", "+BOOKED 2")
        kezekd.kill9()
        redis.pause()
        let restarted = try second(arguments: ["--lease-ttl", "2"])
        let timedOut = poll(timeout: 10) { () -> Bool? in
            (try? String(contentsOfFile: restarted.stderrPath, encoding: .utf8))?.contains(
                "cannot load state from redis yet") == true ? true : nil
        }
        redis.resume()
        XCTAssertEqual(timedOut, true, "the restarted daemon never found Redis stalled")
        try restarted.waitHealthy(timeout: 10)
        try expect(try LineClient(port: restarted.port), "STATUS hall a", "+BOOKED")
    }

    func testRedisWithAPasswordAndAnACLUser() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        redis.extraArguments = ["--requirepass", "s3cret"]
        redis.password = "s3cret"
        try redis.start()
        _ = try redis.cli(["ACL", "SETUSER", "kezek", "on", ">userpw", "~*", "&*", "+@all"])

        // Without credentials: a bad setting (exit 2), and the line says what to set.
        kezekd = KezekdProcess(redisPort: redis.port, logDirectory: directory)
        try kezekd.start(waitUntilHealthy: false)
        let exited = kezekd.process!.waitForExit(timeout: 10)
        if !exited { kezekd.terminate() }
        XCTAssertTrue(exited, "kezekd kept running without the password Redis requires")
        XCTAssertEqual(kezekd.process!.exitStatus, 2)
        XCTAssertTrue(
            kezekd.stderrTail().contains("set redis-password"),
            "no hint about redis-password in the log")

        for credentials in [
            ["--redis-password", "s3cret"],
            ["--redis-user", "kezek", "--redis-password", "userpw"],
        ] {
            kezekd = KezekdProcess(
                redisPort: redis.port, logDirectory: directory, extraArguments: credentials)
            try kezekd.start()
            let client = try connect()
            try expect(client, "PROVIDER p\(credentials.count) 1", "+OK")
            try expect(client, "BOOK p\(credentials.count) h", "+BOOKED 0")
            kezekd.kill9()
            try kezekd.start()
            try expect(try connect(), "STATUS p\(credentials.count) h", "+BOOKED")
            kezekd.terminate()
        }
    }

    /// `redis-replicas 1`: a reply waits until a replica has the batch (without one, writes
    /// fail closed), so a failover to the replica loses nothing acknowledged.
    func testReplicaFailoverLosesNothingAcknowledgedWithRedisReplicas() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        let replica = try RedisServerProcess(directory: directory.appendingPathComponent("replica"))
        replica.extraArguments = ["--replicaof", "127.0.0.1", "\(redis.port)"]
        defer { replica.stop() }
        try startReplica(replica)
        kezekd = KezekdProcess(
            redisPort: redis.port, logDirectory: directory,
            extraArguments: ["--redis-replicas", "1", "--write-timeout", "1"])
        try kezekd.start()
        let client = try connect()
        try expect(client, "PROVIDER hall 1000", "+OK")
        let replies = try client.pipeline((0..<200).map { "BOOK hall h\($0)" })
        XCTAssertEqual(replies.filter { $0.hasPrefix("+BOOKED") }.count, 200)

        // No replica: the booking is not acknowledged.
        replica.kill9()
        try expect(client, "BOOK hall late", prefix: "-UNAVAILABLE")
        try startReplica(replica)
        let settled = poll(timeout: 15, interval: 0.2) { () -> Bool? in
            (try? client.request("BOOK hall late"))?.hasPrefix("+BOOKED") == true ? true : nil
        }
        XCTAssertEqual(settled, true, "BOOK did not succeed once the replica was back")

        // Failover: the primary dies, the replica is promoted, kezekd restarts against it.
        redis.kill9()
        _ = try replica.cli(["REPLICAOF", "NO", "ONE"])
        kezekd.kill9()
        kezekd.redisPort = replica.port
        try kezekd.start()
        let after = try connect()
        let statuses = try after.pipeline(
            (0..<200).map { "STATUS hall h\($0)" } + ["STATUS hall late"])
        XCTAssertEqual(
            Set(statuses), ["+BOOKED"], "acknowledged bookings missing after the failover")
    }

    private func startReplica(_ replica: RedisServerProcess) throws {
        try replica.start()
        let linked = poll(timeout: 15, interval: 0.1) { () -> Bool? in
            (try? replica.cli(["INFO", "replication"]))?.contains("master_link_status:up") == true
                ? true : nil
        }
        guard linked == true else {
            throw TestSetupError("the replica did not link to its primary")
        }
    }

    // MARK: Helpers

    private func send(_ client: LineClient, _ line: String) throws {
        try client.send(line + "\r\n")
    }

    private func redisBookings(_ provider: String) throws -> [String] {
        try StoredBookings.holders(provider, in: redis)
    }
}
