import Foundation
import XCTest
import KezekTestSupport

/// The durability promise of PROTOCOL.md, checked with real crashes: kezekd and redis-server
/// are killed with SIGKILL mid-burst and restarted on the same ports.
final class DurabilityTests: IntegrationTestCase {
    // MARK: (a) restarts

    func testBookingsSurviveSigtermAndSigkill() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 3", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 2")
        try expect(client, "BOOK room h2", "+BOOKED 1")
        try expect(client, "CANCEL room h2", "+CANCELLED 2")
        XCTAssertEqual(kezekd.terminate(), 0, "SIGTERM did not end kezekd with status 0")
        try kezekd.start()
        let second = try connect()
        try expect(second, "STATUS room h1", "+BOOKED")
        try expect(second, "STATUS room h2", "+NONE")
        try expect(second, "BOOK room h3", "+BOOKED 1")
        kezekd.kill9()
        try kezekd.start()
        let third = try connect()
        try expect(third, "STATUS room h1", "+BOOKED")
        try expect(third, "STATUS room h3", "+BOOKED")
        try expect(third, "STATUS room h2", "+NONE")
        let fields = try seats(third, "room")
        XCTAssertEqual(fields["capacity"], 3)
        XCTAssertEqual(fields["booked"], 2)
        XCTAssertEqual(fields["free"], 1)
        // Retrying an acknowledged booking after the crash answers BOOKED again.
        try expect(third, "BOOK room h1", "+BOOKED 1")
    }

    /// Refused counts reach Redis on a tick; SIGTERM right after `+FULL` answers still
    /// writes them before the daemon stops.
    func testSigtermRightAfterFullAnswersKeepsTheRefusedCount() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        for index in 1...5 { try expect(client, "BOOK room late\(index)", "+FULL room") }
        XCTAssertEqual(kezekd.terminate(), 0, "SIGTERM did not end kezekd with status 0")
        try kezekd.start()
        XCTAssertEqual(try seats(try connect(), "room")["refused"], 5)
    }

    // MARK: (b) kezekd crashes mid-burst

    func testAcknowledgedBookingsSurviveRepeatedKezekdCrashes() throws {
        try startStack()
        let plan = CrashPlan()
        try createProviders(plan)
        let total = plan.requests.count
        let burst = BookingBurst(
            port: kezekd.port, requests: plan.requests, connections: 20, chunk: 50)
        burst.thresholds = [total / 4, total / 2, total * 3 / 4]
        // Connections broken so far, recorded at each crash: each crash must break some.
        let brokenAtCrash = Locked([Int]()), restartErrors = Locked([String]())
        burst.onThreshold = { _ in
            let broken = burst.snapshot().brokenConnections
            self.kezekd.kill9()
            brokenAtCrash.withLock { $0.append(broken) }
            do { try self.kezekd.start(timeout: 15) } catch {
                restartErrors.withLock { $0.append("\(error)") }
            }
        }
        let outcome = burst.run(timeout: 240)
        let marks = brokenAtCrash.current + [outcome.brokenConnections]
        XCTAssertEqual(marks.count, 4, "kezekd was not killed three times mid-burst")
        XCTAssertEqual(restartErrors.current, [])
        for crash in 0..<(marks.count - 1) {
            XCTAssertGreaterThan(
                marks[crash + 1], marks[crash],
                "crash \(crash + 1) broke no connection: it did not land mid-burst")
        }
        try verify(outcome, plan: plan)
    }

    // MARK: (c) redis-server crashes mid-burst

    func testAcknowledgedBookingsSurviveRedisCrashes() throws {
        try startStack()
        let plan = CrashPlan()
        try createProviders(plan)
        let total = plan.requests.count
        let burst = BookingBurst(
            port: kezekd.port, requests: plan.requests, connections: 20, chunk: 50)
        burst.thresholds = [total * 3 / 10, total * 6 / 10]
        // -UNAVAILABLE replies so far, recorded as each outage ends: each outage must add some.
        let unavailableMarks = Locked([Int]()), restartErrors = Locked([String]())
        burst.onThreshold = { _ in
            let before = burst.snapshot().unavailableReplies
            self.redis.kill9()
            // Writes must be answered -UNAVAILABLE once --write-timeout (2 s) passes: wait
            // for one (a loaded machine may answer late), then bring Redis back.
            let during =
                poll(timeout: 15, interval: 0.1) { () -> Int? in
                    let now = burst.snapshot().unavailableReplies
                    return now > before ? now : nil
                } ?? burst.snapshot().unavailableReplies
            unavailableMarks.withLock { $0 += [before, during] }
            do { try self.redis.start() } catch { restartErrors.withLock { $0.append("\(error)") } }
        }
        let outcome = burst.run(timeout: 240)
        let marks = unavailableMarks.current
        XCTAssertEqual(marks.count, 4, "redis-server was not killed twice mid-burst")
        XCTAssertEqual(restartErrors.current, [])
        for outage in stride(from: 0, to: marks.count - 1, by: 2) {
            XCTAssertGreaterThan(
                marks[outage + 1], marks[outage],
                "no BOOK answered -UNAVAILABLE during outage \(outage / 2 + 1)")
        }
        try verify(outcome, plan: plan)
    }

    // MARK: (d) waitlist order

    func testWaitlistOrderSurvivesRestart() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        try expect(client, "BOOK room w1 WAIT", "+WAITING 1")
        try expect(client, "BOOK room w2 WAIT", "+WAITING 2")
        try expect(client, "BOOK room w3 WAIT", "+WAITING 3")
        XCTAssertEqual(kezekd.terminate(), 0)
        try kezekd.start()
        let second = try connect()
        try expect(second, "STATUS room w1", "+WAITING 1")
        try expect(second, "STATUS room w2", "+WAITING 2")
        try expect(second, "STATUS room w3", "+WAITING 3")
        try expect(second, "SEATS room", "+SEATS capacity=1 booked=1 free=0 waiting=3 refused=0")
        try expect(second, "CANCEL room h1", "+CANCELLED 0")
        try expect(second, "STATUS room w1", "+BOOKED")
        try expect(second, "STATUS room w2", "+WAITING 1")
        try expect(second, "STATUS room w3", "+WAITING 2")
        // The promotion was acknowledged with +CANCELLED, so it survives a crash.
        kezekd.kill9()
        try kezekd.start()
        let third = try connect()
        try expect(third, "STATUS room h1", "+NONE")
        try expect(third, "STATUS room w1", "+BOOKED")
        try expect(third, "STATUS room w2", "+WAITING 1")
        try expect(third, "STATUS room w3", "+WAITING 2")
    }

    /// A load of more providers than one round trip reads (`Recovery.providersPerRoundTrip`,
    /// 256), on both of kezekd's reader connections, each sending its next round trip before
    /// it restores the last: every provider's seats and every holder's place come back as
    /// they were, whichever connection read them and in whichever order.
    func testALoadOfManyRoundTripsOnTwoConnectionsRestoresEveryProvider() throws {
        try startStack()
        let client = try connect()
        let providers = (0..<1_300).map { "many-\($0)" }
        var requests: [String] = []
        var holders: [(provider: String, holder: String)] = []
        for (index, provider) in providers.enumerated() {
            requests.append("PROVIDER \(provider) \(1 + index % 3)")
            for seat in 0..<(index % 4) {
                holders.append((provider, "b\(index)-\(seat)"))
                requests.append("BOOK \(provider) b\(index)-\(seat) WAIT")
            }
            // Some cancel, moving the first waiter up.
            if index % 4 == 3 && index % 3 == 0 {
                requests.append("CANCEL \(provider) b\(index)-0")
            }
        }
        let replies = try client.pipeline(requests)
        XCTAssertEqual(replies.filter { $0.hasPrefix("-") }, [], "requests refused")
        let seatsQuery = providers.map { "SEATS \($0)" }
        let statusQuery = holders.map { "STATUS \($0.provider) \($0.holder)" }
        let seatsBefore = try client.pipeline(seatsQuery)
        let statusBefore = try client.pipeline(statusQuery)
        XCTAssertTrue(statusBefore.contains { $0.hasPrefix("+WAITING") }, "no waiters to restore")
        XCTAssertTrue(statusBefore.contains("+NONE"), "no cancellation to restore")
        kezekd.kill9()
        try kezekd.start()
        let after = try connect()
        XCTAssertEqual(try after.pipeline(seatsQuery), seatsBefore)
        XCTAssertEqual(try after.pipeline(statusQuery), statusBefore)
    }

    // MARK: (e) Redis down: health, reads from memory, writes fail closed

    func testRedisOutageIsReportedAndReadsContinue() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 2", "+OK")
        try expect(client, "PROVIDER small 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 1")
        try expect(client, "BOOK small s1", "+BOOKED 0")
        redis.kill9()
        let down = poll(timeout: 15, interval: 0.1) { () -> String? in
            guard let reply = try? client.request("HEALTH") else { return nil }
            return reply.hasPrefix("-DOWN") ? reply : nil
        }
        XCTAssertNotNil(down, "HEALTH never answered -DOWN with Redis dead")
        XCTAssertTrue(
            down?.hasPrefix("-DOWN mirror=down") ?? false, "HEALTH answered \(down ?? "nothing")")
        // Reads answer from memory.
        try expect(client, "STATUS room h1", "+BOOKED")
        try expect(client, "STATUS room h9", "+NONE")
        try expect(client, "SEATS room", "+SEATS capacity=2 booked=1 free=1 waiting=0 refused=0")
        // A sold-out provider answers FULL from memory.
        try expect(client, "BOOK small s2", "+FULL small")
        // Writes fail closed.
        try expect(client, "BOOK room h2", prefix: "-UNAVAILABLE")
        try expect(client, "CANCEL room h1", prefix: "-UNAVAILABLE")
        try expect(client, "PING", "+PONG")
        try redis.start()
        let up = poll(timeout: 30, interval: 0.2) { () -> Bool? in
            guard let reply = try? client.request("HEALTH") else { return nil }
            return reply.hasPrefix("+OK") ? true : nil
        }
        XCTAssertEqual(up, true, "HEALTH did not answer +OK again after Redis returned")
        // Retrying settles the requests that got -UNAVAILABLE (their writes may or may not
        // have reached Redis later, so the cancel's retry may find nothing left to cancel).
        let cancel = try client.request("CANCEL room h1")
        XCTAssertTrue(
            ["+CANCELLED 1", "+CANCELLED 2", "+NOTFOUND h1"].contains(cancel),
            "retried CANCEL answered \(cancel)")
        try expect(client, "BOOK room h2", "+BOOKED 1")
        try expect(client, "STATUS room h1", "+NONE")
        try expect(client, "SEATS room", "+SEATS capacity=2 booked=1 free=1 waiting=0 refused=0")
        kezekd.kill9()
        try kezekd.start()
        let after = try connect()
        try expect(after, "STATUS room h1", "+NONE")
        try expect(after, "STATUS room h2", "+BOOKED")
        try expect(after, "STATUS small s1", "+BOOKED")
    }

    // MARK: (f) SIGTERM mid-burst

    func testSigtermMidBurstExitsZeroAndKeepsAcknowledgedBookings() throws {
        try startStack()
        let providers = 40, capacity = 400, connections = 10, perConnection = 2000
        let setup = try connect()
        let created = try setup.pipeline((0..<providers).map { "PROVIDER prov-\($0) \(capacity)" })
        XCTAssertEqual(created, Array(repeating: "+OK", count: providers))
        setup.close()
        @Sendable func request(_ connection: Int, _ number: Int) -> (
            provider: String, holder: String
        ) {
            let holder = connection * perConnection + number
            return ("prov-\(holder % providers)", "holder-\(holder)")
        }
        let clients = try (0..<connections).map { _ in try connect() }
        let sent = Locked((count: 0, signalled: false))
        let replies = Locked([Int: [String]]())
        let daemon = kezekd!
        let finished = runConcurrently(connections, timeout: 120) { connection in
            let client = clients[connection]
            for start in stride(from: 0, to: perConnection, by: 100) {
                let text = (start..<start + 100).map {
                    let r = request(connection, $0); return "BOOK \(r.provider) \(r.holder)\r\n"
                }.joined()
                do { try client.send(text, timeout: 20) } catch { break }
                let signal = sent.withLock { state -> Bool in
                    state.count += 100
                    if state.count >= connections * perConnection / 2 && !state.signalled {
                        state.signalled = true
                        return true
                    }
                    return false
                }
                if signal {
                    // Sent is not read: wait until the daemon answered some BOOKs, so the
                    // signal lands mid-burst rather than before kezekd read anything.
                    _ = poll(timeout: 10, interval: 0.01) { () -> Bool? in
                        let page =
                            (try? adminGet(port: daemon.adminPort, path: "/metrics"))?.body ?? ""
                        return page.contains(
                            "kezek_requests_total{command=\"book\",reply=\"booked\"}") ? true : nil
                    }
                    daemon.sendTerm()
                }
            }
            let (lines, _) = client.readUntilClosed(timeout: 60)
            replies.withLock { $0[connection] = lines }
        }
        XCTAssertTrue(finished)
        XCTAssertTrue(sent.current.signalled, "SIGTERM was never sent")
        let exited = kezekd.process?.waitForExit(timeout: 20) ?? false
        XCTAssertTrue(exited, "kezekd did not exit within 20 s of SIGTERM")
        XCTAssertEqual(
            kezekd.process?.exitStatus, 0, "kezekd did not exit with status 0 after SIGTERM")
        if !exited { kezekd.kill9() }

        var acked: [String: Set<String>] = [:], full: [String] = [], unanswered: [String: Int] = [:]
        var unexpected: [String] = []
        for connection in 0..<connections {
            let lines = replies.current[connection] ?? []
            XCTAssertLessThanOrEqual(lines.count, perConnection)
            for number in 0..<perConnection {
                let (provider, holder) = request(connection, number)
                guard number < lines.count else { unanswered[provider, default: 0] += 1; continue }
                let reply = lines[number]
                if reply.hasPrefix("+BOOKED ") {
                    acked[provider, default: []].insert(holder)
                } else if reply == "+FULL \(provider)" {
                    full.append("STATUS \(provider) \(holder)")
                } else {
                    unexpected.append("BOOK \(provider) \(holder): \(reply)")
                }
            }
        }
        XCTAssertEqual(unexpected, [])
        let ackedCount = acked.values.map(\.count).reduce(0, +)
        print(
            "sigterm: \(ackedCount) booked, \(full.count) full, \(unanswered.values.reduce(0, +)) unanswered of \(connections * perConnection)"
        )
        XCTAssertGreaterThan(ackedCount, 0, "no booking was acknowledged before SIGTERM")

        try kezekd.start()
        let checker = try connect()
        for provider in (0..<providers).map({ "prov-\($0)" }) {
            let holders = acked[provider, default: []].sorted()
            let statuses = try checker.pipeline(holders.map { "STATUS \(provider) \($0)" })
            let lost = zip(holders, statuses).filter { $0.1 != "+BOOKED" }.map {
                "\($0.0): \($0.1)"
            }
            XCTAssertEqual(lost, [], "acknowledged bookings lost at \(provider)")
            let fields = try seats(checker, provider)
            let booked = fields["booked"] ?? -1
            XCTAssertLessThanOrEqual(booked, capacity, provider)
            XCTAssertGreaterThanOrEqual(booked, holders.count, provider)
            XCTAssertLessThanOrEqual(
                booked, holders.count + unanswered[provider, default: 0],
                "\(provider): phantom bookings")
        }
        let fullStatuses = try checker.pipeline(full)
        XCTAssertEqual(
            fullStatuses.filter { $0 != "+NONE" }.count, 0, "holders answered FULL hold a seat")
    }

    // MARK: Helpers

    /// 200 providers of 100 seats and 15,000 holders, one BOOK each: holders 0..<10,000 go
    /// to provider i % 200 (50 each), the other 5,000 to providers 0..<50 (100 more each),
    /// so providers 0..<50 are oversubscribed (150 for 100 seats) and the rest are not.
    struct CrashPlan {
        let providers = 200
        let capacity = 100
        let requests: [(provider: String, holder: String)]
        let oversubscribed = 50

        init() {
            requests = (0..<15_000).map { index in
                let provider = index < 10_000 ? index % 200 : index % 50
                return ("prov-\(provider)", "holder-\(index)")
            }
        }

        var providerIDs: [String] { (0..<providers).map { "prov-\($0)" } }
    }

    private func createProviders(_ plan: CrashPlan) throws {
        let client = try connect()
        let replies = try client.pipeline(
            plan.providerIDs.map { "PROVIDER \($0) \(plan.capacity)" })
        XCTAssertEqual(replies, Array(repeating: "+OK", count: plan.providers))
    }

    /// Checks the outcome against kezekd now, against Redis directly, and against kezekd
    /// again after a clean restart (which loads everything from Redis).
    private func verify(
        _ outcome: BookingBurst.Outcome, plan: CrashPlan,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        print(
            "burst: \(outcome.booked.count) booked, \(outcome.full.count) full, \(outcome.unavailableReplies) -UNAVAILABLE, "
                + "\(outcome.loadingReplies) -LOADING, \(outcome.brokenConnections) broken connections"
        )
        XCTAssertEqual(outcome.unexpected.prefix(20), [], file: file, line: line)
        XCTAssertEqual(
            outcome.unsettled.count, 0, "holders left without an answer", file: file, line: line)
        XCTAssertEqual(
            outcome.booked.count + outcome.full.count, plan.requests.count, file: file, line: line)
        XCTAssertTrue(outcome.booked.isDisjoint(with: outcome.full), file: file, line: line)
        var acked: [String: Set<String>] = [:]
        for index in outcome.booked {
            acked[plan.requests[index].provider, default: []].insert(plan.requests[index].holder)
        }

        try checkDaemon(
            outcome, plan: plan, acked: acked, stage: "after the burst", file: file, line: line)
        try checkRedis(plan: plan, acked: acked, file: file, line: line)
        XCTAssertEqual(
            kezekd.terminate(), 0, "SIGTERM did not end kezekd with status 0", file: file,
            line: line)
        try kezekd.start(timeout: 15)
        try checkDaemon(
            outcome, plan: plan, acked: acked, stage: "after a clean restart", file: file,
            line: line)
    }

    private func checkDaemon(
        _ outcome: BookingBurst.Outcome, plan: CrashPlan, acked: [String: Set<String>],
        stage: String, file: StaticString, line: UInt
    ) throws {
        // Reads need the lease, renewed within moments of Redis's return after an outage.
        try kezekd.waitHealthy(timeout: 15)
        let client = try connect()
        let ackedIndexes = outcome.booked.sorted()
        let statuses = try client.pipeline(
            ackedIndexes.map { "STATUS \(plan.requests[$0].provider) \(plan.requests[$0].holder)" })
        let lost = zip(ackedIndexes, statuses).filter { $0.1 != "+BOOKED" }
        XCTAssertEqual(
            lost.count, 0,
            "\(stage): \(lost.count) acknowledged bookings not BOOKED, e.g. "
                + lost.prefix(5).map {
                    "\(plan.requests[$0.0].holder)@\(plan.requests[$0.0].provider): \($0.1)"
                }.joined(separator: ", "),
            file: file, line: line)
        let fullIndexes = outcome.full.sorted()
        let fullStatuses = try client.pipeline(
            fullIndexes.map { "STATUS \(plan.requests[$0].provider) \(plan.requests[$0].holder)" })
        let phantom = zip(fullIndexes, fullStatuses).filter { $0.1 != "+NONE" }
        XCTAssertEqual(
            phantom.count, 0,
            "\(stage): \(phantom.count) holders answered FULL hold something, e.g. "
                + phantom.prefix(5).map {
                    "\(plan.requests[$0.0].holder)@\(plan.requests[$0.0].provider): \($0.1)"
                }.joined(separator: ", "),
            file: file, line: line)
        let seatReplies = try client.pipeline(plan.providerIDs.map { "SEATS \($0)" })
        for (index, (provider, reply)) in zip(plan.providerIDs, seatReplies).enumerated() {
            guard let fields = parseSeats(reply) else {
                XCTFail("\(stage): SEATS \(provider) answered \(reply)", file: file, line: line)
                continue
            }
            let expected = index < plan.oversubscribed ? plan.capacity : 50
            XCTAssertEqual(
                fields["capacity"], plan.capacity, "\(stage): \(provider)", file: file, line: line)
            XCTAssertEqual(
                fields["booked"], acked[provider, default: []].count,
                "\(stage): \(provider) booked differs from acknowledged holders", file: file,
                line: line)
            XCTAssertEqual(
                fields["booked"], expected,
                "\(stage): \(provider) (demand \(index < plan.oversubscribed ? 150 : 50))",
                file: file, line: line)
            XCTAssertEqual(
                fields["free"], plan.capacity - (fields["booked"] ?? 0), "\(stage): \(provider)",
                file: file, line: line)
        }
    }

    /// Finds, for every provider, a collection in Redis holding exactly its acknowledged
    /// holders. Skipped (with a note) when no collection of holder ids exists at all.
    private func checkRedis(
        plan: CrashPlan, acked: [String: Set<String>], file: StaticString, line: UInt
    ) throws {
        let collections = try RedisInspector(redis: redis).collections(prefix: "kezek")
        let holderSets = collections.filter { $0.value.contains { $0.hasPrefix("holder-") } }
        guard !holderSets.isEmpty else {
            print(
                "note: no Redis set/zset/hash of holder ids under 'kezek' (\(collections.count) collections); direct Redis check not done"
            )
            return
        }
        print(
            "redis: \(collections.count) collections under 'kezek', \(holderSets.count) hold holder ids"
        )
        let available = Set(holderSets.values)
        for provider in plan.providerIDs {
            let expected = acked[provider, default: []]
            guard !expected.isEmpty else { continue }
            XCTAssertTrue(
                available.contains(expected),
                "Redis has no collection with exactly the \(expected.count) acknowledged holders of \(provider); "
                    + "nearest: \(holderSets.map { ($0.key, $0.value.symmetricDifference(expected).count) }.min { $0.1 < $1.1 }.map { "\($0.0) differs by \($0.1)" } ?? "none")",
                file: file, line: line)
        }
    }
}
